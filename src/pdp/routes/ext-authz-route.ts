import type { IncomingHttpHeaders } from 'node:http'
import { McpPolicyError } from '../../errors.js'
import { type HeaderBag, withDistinctMcpHeaders } from '../../normalize/http-envelope.js'
import { readBody } from '../http/read-body.js'
import { sendJson } from '../http/respond.js'
import { jsonRpcDenial } from '../jsonrpc-denial.js'
import type { Route } from './route.js'

/** Path prefix of the Envoy ext_authz HTTP-service check (`path_prefix` in Envoy's config). */
export const EXT_AUTHZ_PREFIX = '/envoy/ext_authz'

// Headers that describe the hop to the PDP, not the original request.
const HOP_HEADERS = new Set([
  'content-length',
  'transfer-encoding',
  'connection',
  'keep-alive',
  'x-mcp-policy-authorization',
])

/**
 * Envoy ext_authz in HTTP mode: Envoy forwards the original request — method, `path_prefix` +
 * path, headers, and (with `with_request_body`) the MCP body — and this answers 200 to let it
 * through (with `x-mcp-policy-decision-id` for the upstream) or the decision's 401/403 with a
 * JSON-RPC error body Envoy hands back to the client.
 *
 * Streamable HTTP also sends bodyless `GET` (open an SSE stream) and `DELETE` (end a session);
 * those are judged as the notification `notifications/http/get|delete` so a policy can tell them
 * apart (the reference policy treats them as lifecycle traffic for authenticated callers).
 */
export const extAuthzRoute: Route = async (req, res, url, context) => {
  if (url.pathname !== EXT_AUTHZ_PREFIX && !url.pathname.startsWith(`${EXT_AUTHZ_PREFIX}/`)) return false
  const body = await readBody(req, context.limits.maxBodyBytes)
  if (!context.ready()) throw new McpPolicyError('ERR_PDP_NOT_READY', 'no bundle loaded yet')
  const method = (req.method ?? 'GET').toUpperCase()
  const message =
    body.byteLength > 0 || method === 'POST'
      ? body
      : { jsonrpc: '2.0', method: `notifications/http/${method.toLowerCase()}` }
  const originalPath = url.pathname.slice(EXT_AUTHZ_PREFIX.length) || '/'
  const decision = await context.service.decideMcp({
    message,
    // Node joins a header sent twice into one value: MCP's own headers are handed over apart, so
    // the normalizer sees a copy as the duplicate it is.
    headers: originalHeaders(withDistinctMcpHeaders(req.headers, req.headersDistinct)),
    host: hostOf(req.headers),
    path: `${originalPath}${url.search}`,
    sourceIp: firstForwarded(req.headers['x-forwarded-for']) ?? req.socket.remoteAddress,
  })
  const decisionHeader = { 'x-mcp-policy-decision-id': decision.decision_id }
  if (decision.allow) {
    res.writeHead(200, { ...decisionHeader, ...(decision.obligations.headers ?? {}), 'content-length': 0 })
    res.end()
    return true
  }
  const status = decision.status === 401 ? 401 : decision.status >= 400 ? decision.status : 403
  const extra: Record<string, string> = { ...decisionHeader }
  if (status === 401) extra['www-authenticate'] = 'Bearer'
  sendJson(res, status, jsonRpcDenial(idOf(body), decision, decision.decision_id), extra)
  return true
}

function originalHeaders(
  headers: IncomingHttpHeaders | HeaderBag,
): Record<string, string | string[] | undefined> {
  const out: Record<string, string | string[] | undefined> = {}
  for (const [name, value] of Object.entries(headers)) if (!HOP_HEADERS.has(name)) out[name] = value
  return out
}

function hostOf(headers: IncomingHttpHeaders): string | undefined {
  const host = headers.host
  return typeof host === 'string' ? host.replace(/:\d+$/, '') : undefined
}

function firstForwarded(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value
  return text?.split(',')[0]?.trim() || undefined
}

/** The JSON-RPC id of the original body, when it has one (the denial must echo it). */
function idOf(body: Buffer): unknown {
  if (body.byteLength === 0 || body.byteLength > 65_536) return null
  try {
    const parsed = JSON.parse(body.toString('utf8')) as { id?: unknown }
    return parsed && typeof parsed === 'object' ? parsed.id : null
  } catch {
    return null
  }
}
