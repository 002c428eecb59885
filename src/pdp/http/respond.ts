import type { ServerResponse } from 'node:http'
import { type McpPolicyError, toMcpPolicyError } from '../../errors.js'

/** Writes a JSON body with the given status (and extra headers). */
export function sendJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  })
  res.end(text)
}

/**
 * Answers an error in the PDP's one error shape — OPA's `{code, message}` with a stable `ERR_*`
 * code — and the code's HTTP status. Internal failures never expose their detail (stack, paths):
 * a 5xx says only what kind of failure it was.
 */
export function sendError(res: ServerResponse, err: unknown, close = false): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  const error: McpPolicyError = toMcpPolicyError(err, 'ERR_ENGINE_TRAP')
  const message = error.status >= 500 && !isOperational(error) ? 'internal error' : error.message
  sendJson(res, error.status, { code: error.code, message }, close ? { connection: 'close' } : {})
}

/** 5xx codes whose message is meant for the caller (they say what to fix, not how we failed). */
function isOperational(error: McpPolicyError): boolean {
  return (
    error.code === 'ERR_PDP_NOT_READY' ||
    error.code === 'ERR_ENGINE_NO_BUNDLE' ||
    error.code === 'ERR_ENGINE_ENTRYPOINT_UNKNOWN' ||
    error.code === 'ERR_LOG_WRITE_FAILED'
  )
}
