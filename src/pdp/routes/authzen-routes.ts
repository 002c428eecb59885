import { McpPolicyError } from '../../errors.js'
import type { AuthzenEvaluation, AuthzenMapper } from '../authzen-mapping.js'
import { parseJson, readBody } from '../http/read-body.js'
import { sendJson } from '../http/respond.js'
import type { Route } from './route.js'

/** Most evaluations accepted in one `/access/v1/evaluations` call. */
const MAX_BATCH = 100

/**
 * Most evaluations × body bytes in one batch. Each item inherits the top-level subject, action,
 * resource and context, so one item can cost a whole body's evaluation and log event: 100 empty
 * items under a 979 KB top level took 20.8 s and wrote 100 MB of log.
 */
const MAX_BATCH_WORK_BYTES = 4 * 1024 * 1024

/**
 * OpenID AuthZEN Access Evaluation API 1.0: `POST /access/v1/evaluation`,
 * `POST /access/v1/evaluations` (each item inherits the top-level subject, action, resource and
 * context; `options.evaluations_semantic` is honoured) and `GET /.well-known/authzen-configuration`.
 */
export function authzenRoutes(mapper: AuthzenMapper): Route {
  return async (req, res, url, context) => {
    if (url.pathname === '/.well-known/authzen-configuration' && req.method === 'GET') {
      const base = `${url.protocol}//${url.host}`
      sendJson(res, 200, {
        policy_decision_point: base,
        access_evaluation_endpoint: `${base}/access/v1/evaluation`,
        access_evaluations_endpoint: `${base}/access/v1/evaluations`,
      })
      return true
    }
    if (url.pathname !== '/access/v1/evaluation' && url.pathname !== '/access/v1/evaluations') return false
    if (req.method !== 'POST')
      throw new McpPolicyError('ERR_PDP_METHOD_NOT_ALLOWED', `use POST ${url.pathname}`)
    const raw = await readBody(req, context.limits.maxBodyBytes)
    const body = parseJson(raw, context.limits)
    if (body === null || typeof body !== 'object' || Array.isArray(body))
      throw new McpPolicyError('ERR_PDP_BODY_INVALID', 'body must be a JSON object')
    if (!context.ready()) throw new McpPolicyError('ERR_PDP_NOT_READY', 'no bundle loaded yet')
    const request = body as AuthzenEvaluation & {
      evaluations?: AuthzenEvaluation[]
      options?: { evaluations_semantic?: string }
    }
    const evaluate = async (item: AuthzenEvaluation) => {
      const input = mapper.toInput(item)
      // The arguments are analysed as a message's would be, so the policy judges them alike.
      await context.service.analyzeToolArguments(input)
      context.service.validateToolArguments(input)
      const decided = await context.service.decideInput(input)
      return {
        decision: decided.allow,
        context: {
          decision_id: decided.decision_id,
          status: decided.status,
          reasons: decided.reasons,
          obligations: decided.obligations,
        },
      }
    }
    if (url.pathname === '/access/v1/evaluation') {
      sendJson(res, 200, await evaluate(request))
      return true
    }
    const items = request.evaluations ?? []
    if (!Array.isArray(items) || items.length > MAX_BATCH)
      throw new McpPolicyError('ERR_PDP_BODY_INVALID', `evaluations must be an array of at most ${MAX_BATCH}`)
    if (items.length * raw.byteLength > MAX_BATCH_WORK_BYTES)
      throw new McpPolicyError(
        'ERR_PDP_BODY_INVALID',
        `${items.length} evaluations in a ${raw.byteLength}-byte body are too much work for one batch ` +
          `(evaluations × body bytes at most ${MAX_BATCH_WORK_BYTES}): send fewer or smaller`,
      )
    if (items.length === 0) {
      sendJson(res, 200, await evaluate(request))
      return true
    }
    const semantic = request.options?.evaluations_semantic ?? 'execute_all'
    const results: { decision: boolean; context: unknown }[] = []
    for (const item of items) {
      const merged: AuthzenEvaluation = {
        subject: item.subject ?? request.subject,
        action: item.action ?? request.action,
        resource: item.resource ?? request.resource,
        context: item.context ?? request.context,
      }
      const result = await evaluate(merged)
      results.push(result)
      if (semantic === 'deny_on_first_deny' && !result.decision) break
      if (semantic === 'permit_on_first_permit' && result.decision) break
    }
    sendJson(res, 200, { evaluations: results })
    return true
  }
}
