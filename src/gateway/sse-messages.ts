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
  // The text not yet split into lines: after each chunk, at most one partial line (no line end,
  // or a lone CR a CRLF may complete). Each chunk is searched from there on only, once, so a
  // large event arriving in many chunks costs linear, not quadratic, time on the I/O thread.
  let buffer = ''
  let data: string[] = []
  let size = 0
  const lineEnd = /\r\n?|\n/g
  const reader = body.getReader()
  try {
    for (;;) {
      const { done, value } = await reader.read()
      lineEnd.lastIndex = Math.max(0, buffer.length - 1)
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true })
      let start = 0
      for (let end = lineEnd.exec(buffer); end !== null; end = lineEnd.exec(buffer)) {
        // A CR at the end may be the first half of a CRLF that the next chunk completes.
        if (!done && end[0] === '\r' && end.index === buffer.length - 1) break
        const line = buffer.slice(start, end.index)
        start = end.index + end[0].length
        if (line === '') {
          if (carriesData(data)) yield parseEvent(data.join('\n'))
          data = []
          size = 0
        } else if (line.startsWith('data:')) {
          const text = line.slice(line.startsWith('data: ') ? 6 : 5)
          size += text.length + 1
          if (size > maxEventBytes) throw new Error(`an upstream event exceeds ${maxEventBytes} bytes`)
          data.push(text)
        }
        // `event:`, `id:`, `retry:` and `:` comments carry no message.
      }
      buffer = buffer.slice(start)
      if (buffer.length > maxEventBytes) throw new Error(`an upstream event exceeds ${maxEventBytes} bytes`)
      if (done) break
    }
    if (carriesData(data)) yield parseEvent(data.join('\n'))
  } finally {
    reader.cancel().catch(() => {})
  }
}

/** Whether an event is dispatched: one with no data, or only an empty `data:` line (a priming event), is not (WHATWG). */
function carriesData(data: string[]): boolean {
  return data.length > 1 || (data.length === 1 && data[0] !== '')
}

function parseEvent(text: string): Record<string, unknown> {
  const value: unknown = JSON.parse(text)
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error('an upstream event is not a JSON-RPC message')
  return value as Record<string, unknown>
}
