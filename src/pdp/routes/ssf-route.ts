import type { ServerResponse } from 'node:http'
import { McpPolicyError, toMcpPolicyError } from '../../errors.js'
import { setErrorCode } from '../../signals/set-error-code.js'
import type { SsfReceiver } from '../../signals/ssf-receiver.js'
import { readBody } from '../http/read-body.js'
import { sendError } from '../http/respond.js'
import type { Route } from './route.js'

/** The path transmitters push SETs to. */
export const SSF_EVENTS_PATH = '/ssf/events'

/**
 * `POST /ssf/events` — RFC 8935 push delivery: the body is one SET (`application/secevent+jwt`),
 * the `Authorization` header one of a configured transmitter's push credentials (the stream's
 * `authorization_header`), which also says whose keys verify the SET. The PDP's own caller
 * authentication does not apply here: a transmitter holds no PDP credential, and it presents its
 * own.
 *
 * Answers `202 Accepted` once the SET is applied (or ignored as an event type without
 * consequence) and logged; `400` with the RFC 8935 error body `{err, description}` (plus the
 * stable `code`) for a SET refused for good; `401` with `err: authentication_failed` without a
 * valid credential; `503` (`Retry-After`) when it cannot be applied now, so the transmitter
 * delivers it again.
 */
export function ssfRoute(receiver: SsfReceiver): Route {
  return async (req, res, url, context) => {
    if (url.pathname !== SSF_EVENTS_PATH) return false
    try {
      if (req.method !== 'POST')
        throw new McpPolicyError('ERR_PDP_METHOD_NOT_ALLOWED', `use POST ${SSF_EVENTS_PATH}`)
      const transmitter = receiver.transmitterForPush(req.headers.authorization)
      if (!transmitter)
        throw new McpPolicyError(
          'ERR_SSF_UNAUTHORIZED',
          'push authentication failed: no Authorization header of a configured SSF stream',
        )
      const body = await readBody(req, Math.min(receiver.maxSetBytes, context.limits.maxBodyBytes))
      const receipt = await receiver.receive(body.toString('utf8'), transmitter, 'push')
      if (receipt.outcome === 'replayed')
        throw new McpPolicyError(
          'ERR_SSF_SET_REPLAYED',
          `a SET with this jti was already received from ${transmitter.issuer}`,
        )
      res.writeHead(202, { 'cache-control': 'no-store', 'content-length': 0 })
      res.end()
    } catch (err) {
      const error = toMcpPolicyError(err, 'ERR_SSF_SIGNATURE_INVALID')
      context.metrics.httpError(error.code)
      sendSetError(res, error)
    }
    return true
  }
}

function sendSetError(res: ServerResponse, error: McpPolicyError): void {
  const err =
    setErrorCode(error.code) ?? (error.code === 'ERR_PDP_BODY_TOO_LARGE' ? 'invalid_request' : undefined)
  if (err === undefined || res.headersSent) {
    if (error.status === 503 && !res.headersSent) res.setHeader('retry-after', '5')
    sendError(res, error, error.code === 'ERR_PDP_BODY_INVALID')
    return
  }
  const text = JSON.stringify({ err, description: error.message, code: error.code })
  res.writeHead(error.status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...(error.status === 401 && { 'www-authenticate': 'Bearer' }),
    ...(error.code === 'ERR_PDP_BODY_TOO_LARGE' && { connection: 'close' }),
  })
  res.end(text)
}
