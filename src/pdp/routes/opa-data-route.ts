import { McpPolicyError } from '../../errors.js'
import { readJsonBody } from '../http/read-body.js'
import { sendJson } from '../http/respond.js'
import type { Route } from './route.js'

/**
 * `POST /v1/data/{path}` — OPA's Data API: `{input}` → `{result, decision_id}`; an undefined
 * result answers `200` without `result`, as OPA does. Any OPA client or gateway plugin works
 * unchanged. Only compiled entrypoints can be evaluated (WebAssembly has no ad-hoc queries).
 */
export const opaDataRoute: Route = async (req, res, url, context) => {
  if (!url.pathname.startsWith('/v1/data/')) return false
  if (req.method !== 'POST')
    throw new McpPolicyError('ERR_PDP_METHOD_NOT_ALLOWED', 'use POST /v1/data/{path} with {"input": …}')
  const path = decodeURIComponent(url.pathname.slice('/v1/data/'.length)).replace(/\/+$/, '')
  const body = await readJsonBody(req, context.limits)
  if (body === null || typeof body !== 'object' || Array.isArray(body))
    throw new McpPolicyError('ERR_PDP_BODY_INVALID', 'body must be a JSON object {"input": …}')
  if (!context.ready()) throw new McpPolicyError('ERR_PDP_NOT_READY', 'no bundle loaded yet')
  const entrypoints = context.service.engine.entrypoints
  if (!entrypoints.includes(path))
    throw new McpPolicyError(
      'ERR_PDP_NOT_FOUND',
      `${path} is not an entrypoint of the loaded bundle (entrypoints: ${entrypoints.join(', ')})`,
    )
  const { decision_id, result } = await context.service.evaluatePath(
    path,
    (body as { input?: unknown }).input,
  )
  sendJson(res, 200, result === undefined ? { decision_id } : { result, decision_id })
  return true
}
