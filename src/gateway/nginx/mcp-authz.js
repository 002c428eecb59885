// mcp-policy authorization for nginx (njs >= 0.7): every MCP message posted to the gateway is
// decided by the mcp-policy PDP (POST /v1/mcp/decide) before it reaches the MCP server.
//
// - allow: the request is handed to the upstream location as it came (streaming / SSE intact);
//   tools/list results are filtered by the decision's obligations.visible_tools and, when
//   $mcp_judge_results is "on", tools/call results are judged by POST /v1/mcp/response (blocked or
//   redacted) — those two are buffered, since their body must be rewritten.
// - deny: a JSON-RPC error answers with the decision's HTTP status, code -31001 and the policy's
//   reason code in error.data.reason; the upstream never sees the request.
// - an allow that carries obligations.require_approval is denied (reason approval_required): the
//   gateway has no human to ask.
// - anything else (PDP unreachable, malformed answer): 503 with reason "pdp_unavailable". Nothing
//   ever fails open.
//
// Variables (set in nginx.conf): $mcp_server (server id for the PDP), $mcp_judge_results (on|off),
// $mcp_destination (where results go, input.destination.model of mcp/response; empty = policy default).
// Internal locations: /_mcp_pdp/decide, /_mcp_pdp/response (proxy to the PDP), @mcp_upstream and
// /_mcp_upstream (proxy to the MCP server).

const POLICY_DENIED = -31001

// Headers the PDP normalizes (identity, session, protocol, tracing). Nothing else leaves the gateway.
const FORWARDED_HEADERS = [
  'authorization',
  'mcp-session-id',
  'mcp-protocol-version',
  'user-agent',
  'x-request-id',
  'traceparent',
]

function envelope(r, message) {
  const headers = {}
  FORWARDED_HEADERS.forEach((name) => {
    const value = r.headersIn[name]
    if (value !== undefined) headers[name] = value
  })
  return {
    message: message,
    headers: headers,
    server: r.variables.mcp_server,
    context: { source_ip: r.remoteAddress, host: r.headersIn.host, path: r.uri },
  }
}

function parse(text) {
  try {
    const value = JSON.parse(text)
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : {}
  } catch (_e) {
    return {}
  }
}

// Reasons the policy wrote are meant for the caller; ERR_* ones (malformed message, engine or log
// failure) keep their stable code, but their text stays in the PDP's log, not in the client's error.
function publicReason(reason) {
  if (String(reason.code).indexOf('ERR_') !== 0) return { code: reason.code, message: reason.message }
  return { code: reason.code, message: `the request could not be decided (${reason.code})` }
}

function deny(r, id, status, decisionReasons, decisionId) {
  const reasons = decisionReasons.map(publicReason)
  const first = reasons[0] || { code: 'denied', message: 'denied by policy' }
  const data = { reason: first.code, reasons: reasons, status: status }
  if (decisionId) data.decision_id = decisionId
  r.headersOut['Content-Type'] = 'application/json'
  r.headersOut['Cache-Control'] = 'no-store'
  if (status === 401) r.headersOut['WWW-Authenticate'] = 'Bearer error="invalid_token"'
  r.return(
    status,
    JSON.stringify({
      jsonrpc: '2.0',
      id: id === undefined ? null : id,
      error: { code: POLICY_DENIED, message: first.message, data: data },
    }),
  )
}

function unavailable(r, id, what) {
  r.error(`mcp-policy: ${what}`)
  deny(r, id, 503, [{ code: 'pdp_unavailable', message: 'the policy decision point cannot be reached' }])
}

async function ask(r, uri, body) {
  const reply = await r.subrequest(uri, { method: 'POST', body: JSON.stringify(body) })
  if (reply.status !== 200) throw new Error(`${uri} answered HTTP ${reply.status}`)
  const answer = JSON.parse(reply.responseText)
  if (answer === null || typeof answer.allow !== 'boolean') throw new Error(`${uri} gave no decision`)
  return answer
}

// A Streamable HTTP response body is one JSON-RPC message (application/json) or an SSE stream of
// them; `rewrite` sees each message and returns its replacement.
function rewriteMessages(contentType, text, rewrite) {
  if (!/text\/event-stream/i.test(contentType || '')) return JSON.stringify(rewrite(JSON.parse(text)))
  return text
    .split(/\r?\n\r?\n/)
    .map((event) => {
      const lines = event.split(/\r?\n/)
      const data = lines.filter((l) => l.indexOf('data:') === 0)
      if (data.length === 0) return event
      const message = JSON.parse(data.map((l) => l.slice(5).replace(/^ /, '')).join('\n'))
      const others = lines.filter((l) => l.indexOf('data:') !== 0)
      return others.concat([`data: ${JSON.stringify(rewrite(message))}`]).join('\n')
    })
    .join('\n\n')
}

// Fetches the upstream answer whole (for the two responses the gateway rewrites) and copies its
// headers; undefined when it was not a 200 with a body, which is then relayed as it is.
async function fetchUpstream(r) {
  const reply = await r.subrequest('/_mcp_upstream', { method: 'POST', body: r.requestText })
  // njs 0.7 (Debian 12) has no for…of.
  ;['Content-Type', 'Mcp-Session-Id', 'Cache-Control'].forEach((name) => {
    if (reply.headersOut[name] !== undefined) r.headersOut[name] = reply.headersOut[name]
  })
  if (reply.status === 200 && reply.responseText) return reply
  r.return(reply.status, reply.responseText || '')
  return undefined
}

function unreadable(r, id) {
  deny(r, id, 502, [{ code: 'response_unreadable', message: 'the MCP server answer cannot be checked' }])
}

async function relayFilteredTools(r, id, visible) {
  const reply = await fetchUpstream(r)
  if (!reply) return
  let body
  try {
    body = rewriteMessages(reply.headersOut['Content-Type'], reply.responseText, (message) => {
      if (message.id !== id || !message.result) return message
      const tools = Array.isArray(message.result.tools) ? message.result.tools : []
      // Fail closed: an allowed tools/list without visible_tools shows nothing.
      message.result.tools = tools.filter((tool) => tool && visible.indexOf(tool.name) !== -1)
      return message
    })
  } catch (_e) {
    return unreadable(r, id)
  }
  r.return(200, body)
}

function setPointer(root, pointer, value) {
  const tokens = pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
  let node = root
  for (let i = 0; i < tokens.length - 1; i++) {
    if (node === null || typeof node !== 'object' || !(tokens[i] in node)) return false
    node = node[tokens[i]]
  }
  if (node === null || typeof node !== 'object' || !(tokens[tokens.length - 1] in node)) return false
  node[tokens[tokens.length - 1]] = value
  return true
}

// Two passes over the answer: find the result, ask /v1/mcp/response, then write the verdict back.
async function judgeResult(r, id, request) {
  const reply = await fetchUpstream(r)
  if (!reply) return
  const contentType = reply.headersOut['Content-Type']
  let result
  try {
    rewriteMessages(contentType, reply.responseText, (message) => {
      if (message.id === id && message.result) result = message.result
      return message
    })
  } catch (_e) {
    return unreadable(r, id)
  }
  if (result === undefined) return r.return(200, reply.responseText)
  const body = request
  body.result = result
  if (r.variables.mcp_destination) body.destination = { model: r.variables.mcp_destination }
  let judgement
  try {
    judgement = await ask(r, '/_mcp_pdp/response', body)
  } catch (e) {
    return unavailable(r, id, e.message)
  }
  if (!judgement.allow) return deny(r, id, 403, judgement.reasons || [], judgement.decision_id)
  const redacted = JSON.parse(JSON.stringify(result))
  const redactions = judgement.redactions || []
  for (let i = 0; i < redactions.length; i++) {
    const replacement = redactions[i].replacement === undefined ? '[REDACTED]' : redactions[i].replacement
    if (!setPointer(redacted, redactions[i].path, replacement)) {
      return deny(r, id, 500, [
        { code: 'redaction_failed', message: 'a redaction of the tool result could not be applied' },
      ])
    }
  }
  r.return(
    200,
    rewriteMessages(contentType, reply.responseText, (message) => {
      if (message.id === id && message.result) message.result = redacted
      return message
    }),
  )
}

async function authorize(r) {
  if (r.method !== 'POST') {
    // GET (server-initiated SSE stream) and DELETE (session end) carry no MCP message to decide.
    r.headersOut.Allow = 'POST'
    r.return(405)
    return
  }
  const text = r.requestText || ''
  const message = parse(text)
  let decision
  try {
    decision = await ask(r, '/_mcp_pdp/decide', envelope(r, text))
  } catch (e) {
    return unavailable(r, message.id, e.message)
  }
  if (!decision.allow) {
    return deny(r, message.id, decision.status || 403, decision.reasons || [], decision.decision_id)
  }
  // No optional chaining in njs 0.7.
  const obligations = decision.obligations || {}
  const approval = obligations.require_approval
  if (approval) {
    // A gateway cannot ask a human: an obligation it cannot meet is not met.
    const reason = `a human must approve this call: ${approval.reason || 'required by policy'}`
    return deny(r, message.id, 403, [{ code: 'approval_required', message: reason }], decision.decision_id)
  }
  if (message.method === 'tools/list' && message.id !== undefined) {
    return relayFilteredTools(r, message.id, obligations.visible_tools || [])
  }
  if (message.method === 'tools/call' && message.id !== undefined && r.variables.mcp_judge_results === 'on') {
    return judgeResult(r, message.id, envelope(r, text))
  }
  r.internalRedirect('@mcp_upstream')
}

export default { authorize }
