import { McpPolicyError } from '../../errors.js'
import type { HeaderBag } from '../../normalize/http-envelope.js'
import type { RequestEnvelope } from '../../normalize/request-normalizer.js'
import { readJsonBody } from '../http/read-body.js'
import { sendJson } from '../http/respond.js'
import type { PdpContext, Route } from './route.js'

/**
 * `POST /v1/mcp/decide` — `{message, headers, server, context}` → normalize → decide →
 * `{decision_id, allow, status, reasons, obligations}`; and `POST /v1/mcp/response` —
 * `{request | message+headers+server, result, destination}` → `{decision_id, allow, redactions, reasons}`.
 * A deny is still `200`: the decision is the answer; HTTP errors mean the question was malformed.
 */
export const mcpRoutes: Route = async (req, res, url, context) => {
  if (url.pathname !== '/v1/mcp/decide' && url.pathname !== '/v1/mcp/response') return false
  if (req.method !== 'POST')
    throw new McpPolicyError('ERR_PDP_METHOD_NOT_ALLOWED', `use POST ${url.pathname}`)
  const body = await readObject(req, context)
  if (!context.ready()) throw new McpPolicyError('ERR_PDP_NOT_READY', 'no bundle loaded yet')
  if (url.pathname === '/v1/mcp/decide') {
    sendJson(res, 200, await context.service.decideMcp(facts(body)))
  } else {
    if (!('result' in body)) throw new McpPolicyError('ERR_PDP_BODY_INVALID', 'body needs the tool `result`')
    sendJson(
      res,
      200,
      await context.service.judgeResponse({
        request: body.request,
        facts: body.request === undefined ? facts(body) : undefined,
        result: body.result,
        destination: body.destination,
      }),
    )
  }
  return true
}

async function readObject(req: Parameters<Route>[0], context: PdpContext): Promise<Record<string, unknown>> {
  const body = await readJsonBody(req, context.limits)
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new McpPolicyError('ERR_PDP_BODY_INVALID', 'body must be a JSON object')
  return body as Record<string, unknown>
}

/** The envelope facts of a `/v1/mcp/*` body; shapes are checked by the normalizer, which fails closed. */
function facts(body: Record<string, unknown>): RequestEnvelope {
  const context = isObject(body.context) ? body.context : {}
  if (body.headers !== undefined && !isObject(body.headers))
    throw new McpPolicyError('ERR_PDP_BODY_INVALID', '`headers` must be an object of header name → value')
  if (body.server !== undefined && typeof body.server !== 'string')
    throw new McpPolicyError('ERR_PDP_BODY_INVALID', '`server` must be a server id string')
  return {
    message: body.message,
    headers: body.headers as HeaderBag | undefined,
    server: body.server as string | undefined,
    host: typeof context.host === 'string' ? context.host : undefined,
    path: typeof context.path === 'string' ? context.path : undefined,
    sourceIp: typeof context.source_ip === 'string' ? context.source_ip : undefined,
    attributes: isObject(context.attributes) ? context.attributes : undefined,
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
