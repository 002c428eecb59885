import { McpPolicyError, toMcpPolicyError } from '../../errors.js'
import {
  type BackchannelLogoutReceiver,
  MAX_LOGOUT_TOKEN_BYTES,
} from '../../signals/backchannel-logout-receiver.js'
import { readBody } from '../http/read-body.js'
import type { Route } from './route.js'

/** The path an IdP posts logout tokens to: each client's `backchannel_logout_uri`. */
export const BACKCHANNEL_LOGOUT_PATH = '/oidc/backchannel-logout'

/**
 * `POST /oidc/backchannel-logout` — OIDC Back-Channel Logout 1.0 §2.5: a form-encoded body with
 * one `logout_token`. Answers `200` (empty, `Cache-Control: no-store`) once the session or user
 * is revoked and logged, and `400` with `{error: "invalid_request", error_description, code}`
 * otherwise — also when the logout failed on this side (store unavailable), as §2.8 requires; the
 * `code` tells the two apart. The logout token, signed by the IdP, is the caller's credential:
 * the PDP's own caller authentication does not apply here.
 */
export function backchannelLogoutRoute(receiver: BackchannelLogoutReceiver): Route {
  return async (req, res, url, context) => {
    if (url.pathname !== BACKCHANNEL_LOGOUT_PATH) return false
    let status = 400
    let body = ''
    let close = false
    try {
      if (req.method !== 'POST')
        throw new McpPolicyError('ERR_PDP_METHOD_NOT_ALLOWED', `use POST ${BACKCHANNEL_LOGOUT_PATH}`)
      const type = String(req.headers['content-type'] ?? '')
        .split(';')[0]!
        .trim()
        .toLowerCase()
      if (type !== 'application/x-www-form-urlencoded')
        throw new McpPolicyError(
          'ERR_LOGOUT_TOKEN_INVALID',
          'the body must be application/x-www-form-urlencoded with a logout_token',
        )
      const form = new URLSearchParams((await readBody(req, MAX_LOGOUT_TOKEN_BYTES + 1024)).toString('utf8'))
      const tokens = form.getAll('logout_token')
      if (tokens.length !== 1)
        throw new McpPolicyError(
          'ERR_LOGOUT_TOKEN_INVALID',
          tokens.length === 0 ? 'the body has no logout_token' : 'the body has more than one logout_token',
        )
      await receiver.receive(tokens[0])
      status = 200
    } catch (err) {
      const error = toMcpPolicyError(err, 'ERR_LOGOUT_TOKEN_INVALID')
      context.metrics.httpError(error.code)
      status = error.code === 'ERR_PDP_METHOD_NOT_ALLOWED' ? 405 : 400
      // After a refused body the rest of it may still be in flight: close rather than read it.
      close = error.code === 'ERR_PDP_BODY_TOO_LARGE' || error.code === 'ERR_PDP_BODY_INVALID'
      body = JSON.stringify({ error: 'invalid_request', error_description: error.message, code: error.code })
    }
    res.writeHead(status, {
      'cache-control': 'no-store',
      'content-length': Buffer.byteLength(body),
      ...(body !== '' && { 'content-type': 'application/json' }),
      ...(close && { connection: 'close' }),
    })
    res.end(body)
    return true
  }
}
