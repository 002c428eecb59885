/**
 * Reading an HTTP answer from a peer that may be slow, hostile or broken: the body is read up to a
 * size limit (a peer cannot make us buffer without end), and a failure is described in a few words
 * fit for an error message.
 */

/**
 * Reads `body` as UTF-8 text, stopping (and destroying the stream) once it passes `maxBytes`.
 *
 * @throws Error `answered more than <maxBytes> bytes` when the body is larger.
 */
export async function readBounded(
  body: AsyncIterable<Buffer | Uint8Array> & { destroy?: () => void },
  maxBytes: number,
): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > maxBytes) {
      body.destroy?.()
      throw new Error(`answered more than ${maxBytes} bytes`)
    }
    chunks.push(Buffer.from(chunk))
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Why a request failed, in words that follow the peer's name: `was stopped` (our own abort),
 * `timed out`, or `failed: <message> (<code>)`.
 */
export function describe(err: unknown): string {
  const error = err as
    | { name?: string; message?: string; code?: string; cause?: { code?: string } }
    | undefined
  if (error?.name === 'AbortError') return 'was stopped'
  if (
    error?.name === 'TimeoutError' ||
    error?.code === 'UND_ERR_HEADERS_TIMEOUT' ||
    error?.code === 'UND_ERR_BODY_TIMEOUT'
  )
    return 'timed out'
  const code = error?.code ?? error?.cause?.code
  return `failed: ${error?.message ?? String(err)}${code ? ` (${code})` : ''}`
}
