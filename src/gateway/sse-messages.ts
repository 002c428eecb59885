/**
 * The JSON-RPC messages of a Server-Sent Events body, in order: each event's `data` lines joined
 * by newlines and parsed as JSON (events without data, comments and keep-alives skipped). An event
 * larger than `maxEventBytes`, or data that is not a JSON object, ends the stream with an error:
 * the caller answers the client with an error rather than relay what it could not judge.
 *
 * @example
 * ```ts
 * for await (const message of sseMessages(response.body!, 16 * 1024 * 1024)) console.log(message)
 * ```
 */
export async function* sseMessages(
  body: ReadableStream<Uint8Array>,
  maxEventBytes: number,
): AsyncGenerator<Record<string, unknown>> {
  const decoder = new TextDecoder('utf-8')
  let buffer = ''
  let data: string[] = []
  let size = 0
  const reader = body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true })
      let newline = buffer.search(/\r\n|\r|\n/)
      while (newline >= 0) {
        // A CR at the end may be the first half of a CRLF that the next chunk completes.
        if (!done && newline === buffer.length - 1 && buffer[newline] === '\r') break
        const line = buffer.slice(0, newline)
        buffer = buffer.slice(newline + (buffer.startsWith('\r\n', newline) ? 2 : 1))
        if (line === '') {
          if (data.length > 0) yield parseEvent(data.join('\n'))
          data = []
          size = 0
        } else if (line.startsWith('data:')) {
          const text = line.slice(line.startsWith('data: ') ? 6 : 5)
          size += text.length + 1
          if (size > maxEventBytes) throw new Error(`an upstream event exceeds ${maxEventBytes} bytes`)
          data.push(text)
        }
        // `event:`, `id:`, `retry:` and `:` comments carry no message.
        newline = buffer.search(/\r\n|\r|\n/)
      }
      if (buffer.length > maxEventBytes) throw new Error(`an upstream event exceeds ${maxEventBytes} bytes`)
      if (done) break
    }
    if (data.length > 0) yield parseEvent(data.join('\n'))
  } finally {
    reader.cancel().catch(() => {})
  }
}

function parseEvent(text: string): Record<string, unknown> {
  const value: unknown = JSON.parse(text)
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error('an upstream event is not a JSON-RPC message')
  return value as Record<string, unknown>
}
