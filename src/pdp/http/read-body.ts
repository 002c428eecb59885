import type { IncomingMessage } from 'node:http'
import { McpPolicyError } from '../../errors.js'
import { parseMessageBody } from '../../normalize/parse-message.js'

/**
 * Reads a request body of at most `maxBytes`: a `Content-Length` above the bound is refused before
 * any byte is read, and a chunked body is cut off as soon as it passes the bound.
 *
 * @throws McpPolicyError `ERR_PDP_BODY_TOO_LARGE`, `ERR_PDP_BODY_INVALID` (aborted upload).
 */
export async function readBody(req: IncomingMessage, maxBytes: number): Promise<Buffer> {
  const declared = Number(req.headers['content-length'])
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes)
  const chunks: Buffer[] = []
  let size = 0
  try {
    for await (const chunk of req) {
      size += (chunk as Buffer).byteLength
      if (size > maxBytes) throw tooLarge(maxBytes)
      chunks.push(chunk as Buffer)
    }
  } catch (err) {
    if (err instanceof McpPolicyError) throw err
    throw new McpPolicyError('ERR_PDP_BODY_INVALID', 'the request body was not received completely', {
      cause: err,
    })
  }
  return Buffer.concat(chunks, size)
}

/**
 * Reads and parses a JSON body within the size and depth bounds (depth is checked on the text,
 * before the parser runs).
 *
 * @throws McpPolicyError `ERR_PDP_BODY_TOO_LARGE`, `ERR_PDP_BODY_INVALID`.
 */
export async function readJsonBody(
  req: IncomingMessage,
  limits: { maxBodyBytes: number; maxDepth: number },
): Promise<unknown> {
  const body = await readBody(req, limits.maxBodyBytes)
  return parseJson(body, limits)
}

/** {@link readJsonBody} for bytes already read. */
export function parseJson(body: Buffer, limits: { maxBodyBytes: number; maxDepth: number }): unknown {
  if (body.byteLength === 0) throw new McpPolicyError('ERR_PDP_BODY_INVALID', 'the request body is empty')
  try {
    return parseMessageBody(body, { maxBytes: limits.maxBodyBytes, maxDepth: limits.maxDepth })
  } catch (err) {
    const cause = err as McpPolicyError
    if (cause.code === 'ERR_NORMALIZE_TOO_LARGE') throw tooLarge(limits.maxBodyBytes)
    throw new McpPolicyError('ERR_PDP_BODY_INVALID', cause.message, { cause })
  }
}

function tooLarge(maxBytes: number): McpPolicyError {
  return new McpPolicyError('ERR_PDP_BODY_TOO_LARGE', `the request body exceeds ${maxBytes} bytes`)
}
