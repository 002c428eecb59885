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
// - GET (the server's standalone SSE stream: its sampling, elicitation and roots requests and its
//   notifications) and DELETE (session end) carry no MCP message. They are decided too, never
//   passed unauthenticated: the PDP judges a synthetic `ping` request (id "mcp-gateway:GET" or
//   "mcp-gateway:DELETE") with the caller's headers, so the token must verify for this server (a
//   401 answers with WWW-Authenticate) and the policy may refuse; every decision carries
//   context.attributes.http_method, which tells these apart from a client's own ping. An allowed GET
//   or DELETE goes to @mcp_stream. The server → client messages on a GET stream are not decided one
//   by one (njs cannot ask the PDP from a body filter), but a JSON-RPC result on it — which only a
//   resumption (Last-Event-ID) replaying an earlier POST's stream carries — is replaced by an error
//   (reason response_replay_refused): replaying it would bypass tools/list filtering and result
//   judging.
//
// Variables (set in nginx.conf): $mcp_server (server id for the PDP), $mcp_judge_results (on|off),
// $mcp_destination (where results go, input.destination.model of mcp/response; empty = policy default).
// Internal locations: /_mcp_pdp/decide, /_mcp_pdp/response (proxy to the PDP), @mcp_upstream,
// @mcp_stream and /_mcp_upstream (proxy to the MCP server).
//
// njs 0.7 (Debian 12's libnginx-mod-http-js) has no optional chaining, no `??`, no for…of and no
// destructuring: keep to plain loops, forEach and ES5-style checks.

const POLICY_DENIED = -31001

// Headers the PDP normalizes (identity, session, protocol, MCP 2026-07-28 routing, tracing).
// Nothing else leaves the gateway.
const FORWARDED_HEADERS = [
  'authorization',
  'mcp-session-id',
  'mcp-protocol-version',
  'mcp-method',
  'mcp-name',
  'user-agent',
  'x-request-id',
  'traceparent',
  'tracestate',
]

// Every copy of each forwarded header, as the client sent them (r.headersIn keeps one, or joins
// them): a header sent twice reaches the PDP as a list, which it refuses for MCP's own headers
// (ERR_NORMALIZE_MCP_HEADER_DUPLICATE) and for Authorization. The upstream gets the same request.
function forwardedHeaders(r) {
  const headers = {}
  const raw = r.rawHeadersIn || []
  for (let i = 0; i < raw.length; i++) {
    const name = String(raw[i][0]).toLowerCase()
    if (FORWARDED_HEADERS.indexOf(name) < 0) continue
    const value = raw[i][1]
    if (headers[name] === undefined) headers[name] = value
    else if (Array.isArray(headers[name])) headers[name].push(value)
    else headers[name] = [headers[name], value]
  }
  return headers
}

function envelope(r, message) {
  const headers = forwardedHeaders(r)
  return {
    message: message,
    headers: headers,
    server: r.variables.mcp_server,
    context: {
      source_ip: r.remoteAddress,
      host: r.headersIn.host,
      path: r.uri,
      attributes: { gateway: 'nginx', http_method: r.method },
    },
  }
}

function isObject(value) {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function parse(text) {
  try {
    const value = JSON.parse(text)
    return isObject(value) ? value : {}
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

function denial(id, status, decisionReasons, decisionId) {
  const reasons = decisionReasons.map(publicReason)
  const first = reasons[0] || { code: 'denied', message: 'denied by policy' }
  const data = { reason: first.code, reasons: reasons, status: status }
  if (decisionId) data.decision_id = decisionId
  return {
    jsonrpc: '2.0',
    id: id === undefined ? null : id,
    error: { code: POLICY_DENIED, message: first.message, data: data },
  }
}

function deny(r, id, status, decisionReasons, decisionId) {
  r.headersOut['Content-Type'] = 'application/json'
  r.headersOut['Cache-Control'] = 'no-store'
  if (status === 401) r.headersOut['WWW-Authenticate'] = 'Bearer error="invalid_token"'
  r.return(status, JSON.stringify(denial(id, status, decisionReasons, decisionId)))
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

// ----- Streamable HTTP bodies: one JSON-RPC message (application/json) or an SSE stream -----

// `rewrite(message)` sees every JSON-RPC message (an object; each member of a batch array) and
// returns its replacement, or undefined to keep it. What it keeps is relayed byte for byte.
function rewriteValue(value, rewrite) {
  if (isObject(value)) return rewrite(value)
  if (!Array.isArray(value)) return undefined
  let changed = false
  const next = value.map((member) => {
    const replacement = isObject(member) ? rewrite(member) : undefined
    if (replacement === undefined) return member
    changed = true
    return replacement
  })
  return changed ? next : undefined
}

// One SSE event (its lines, each with the terminator it came with), parsed per the WHATWG rules:
// a line starting with ':' is a comment; `field: value` or `field:value` (one leading space
// dropped) or a bare `field` (empty value); the `data` lines joined with '\n'. An event without
// data, or whose data is empty or blank (a priming event, a keep-alive), is relayed as it came; so
// is an event whose data is JSON but no message the rewrite replaces. A rewritten event keeps its
// other lines (id:, event:, retry:, comments) and carries the replacement in one data line where its
// first data line was. Data that is not JSON cannot be checked: `unreadable` is "throw" (the caller
// answers 502) or "drop" (the event is left out).
function rewriteEvent(lines, rewrite, unreadable) {
  let data = null
  let first = -1
  const isData = []
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i].line
    isData.push(false)
    if (line.charAt(0) === ':') continue
    const colon = line.indexOf(':')
    if ((colon === -1 ? line : line.slice(0, colon)) !== 'data') continue
    let value = colon === -1 ? '' : line.slice(colon + 1)
    if (value.charAt(0) === ' ') value = value.slice(1)
    data = data === null ? value : `${data}\n${value}`
    isData[i] = true
    if (first === -1) first = i
  }
  const original = lines.map((l) => l.line + l.term).join('')
  if (data === null || data.trim() === '') return original
  let message
  try {
    message = JSON.parse(data)
  } catch (_e) {
    if (unreadable === 'drop') return ''
    throw new Error('an SSE event carries data that is not JSON')
  }
  const replacement = rewriteValue(message, rewrite)
  if (replacement === undefined) return original
  let out = ''
  for (let i = 0; i < lines.length; i++) {
    if (i === first) out += `data: ${JSON.stringify(replacement)}${lines[i].term}`
    else if (!isData[i]) out += lines[i].line + lines[i].term
  }
  return out
}

// An SSE stream: events end at a blank line; lines end with \r\n, \n or \r. A last event without
// its blank line (the stream ended early) is rewritten too: some parsers dispatch it at the end.
function rewriteEventStream(text, rewrite, unreadable) {
  let out = ''
  let body = text
  // A byte order mark may open the stream (parsers skip it): keep it out of the first field name.
  if (body.charCodeAt(0) === 0xfeff) {
    out = body.charAt(0)
    body = body.slice(1)
  }
  const parts = body.split(/(\r\n|\r|\n)/)
  let event = []
  for (let i = 0; i < parts.length; i += 2) {
    const line = parts[i]
    const term = i + 1 < parts.length ? parts[i + 1] : ''
    if (line === '' && term === '') continue
    if (line === '') {
      const rewritten = rewriteEvent(event, rewrite, unreadable)
      // A dropped event takes its blank line with it.
      if (event.length === 0 || rewritten !== '') out += rewritten + term
      event = []
    } else {
      event.push({ line: line, term: term })
    }
  }
  return out + rewriteEvent(event, rewrite, unreadable)
}

// A Streamable HTTP response body is one JSON-RPC message (application/json) or an SSE stream of
// them; `rewrite` sees each message (see rewriteValue). Throws when the body cannot be read.
function rewriteMessages(contentType, text, rewrite) {
  if (/text\/event-stream/i.test(contentType || '')) return rewriteEventStream(text, rewrite, 'throw')
  const replacement = rewriteValue(JSON.parse(text), rewrite)
  return replacement === undefined ? text : JSON.stringify(replacement)
}

// Fetches the upstream answer whole (for the two responses the gateway rewrites) and copies its
// headers; undefined when it was not a 200 with a body, which is then relayed as it is.
async function fetchUpstream(r) {
  const reply = await r.subrequest('/_mcp_upstream', { method: 'POST', body: r.requestText })
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

// The answer to request `id`: any message carrying that id and a result (even one that also names
// a method: whatever a lenient client could take for the answer is rewritten).
function isResultFor(message, id) {
  return message.id === id && message.result !== undefined
}

async function relayFilteredTools(r, id, visible) {
  const reply = await fetchUpstream(r)
  if (!reply) return
  let body
  try {
    body = rewriteMessages(reply.headersOut['Content-Type'], reply.responseText, (message) => {
      if (!isResultFor(message, id)) return undefined
      const tools =
        isObject(message.result) && Array.isArray(message.result.tools) ? message.result.tools : []
      const result = Object.assign({}, message.result)
      // Fail closed: an allowed tools/list without visible_tools shows nothing.
      result.tools = tools.filter((tool) => isObject(tool) && visible.indexOf(tool.name) !== -1)
      // MCP 2026-07-28: the list is filtered for one caller, so no cache may share it.
      if (result.cacheScope !== undefined) result.cacheScope = 'private'
      return Object.assign({}, message, { result: result })
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
      if (isResultFor(message, id)) result = message.result
      return undefined
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
    rewriteMessages(contentType, reply.responseText, (message) =>
      isResultFor(message, id) ? Object.assign({}, message, { result: redacted }) : undefined,
    ),
  )
}

// GET and DELETE: no MCP message, so the PDP judges a synthetic ping in the caller's name (see the
// top of this file); allowed, the request goes to the MCP server as it came.
async function authorizeStream(r) {
  const id = `mcp-gateway:${r.method}`
  let decision
  try {
    decision = await ask(
      r,
      '/_mcp_pdp/decide',
      envelope(r, JSON.stringify({ jsonrpc: '2.0', id: id, method: 'ping' })),
    )
  } catch (e) {
    return unavailable(r, null, e.message)
  }
  if (!decision.allow) {
    return deny(r, null, decision.status || 403, decision.reasons || [], decision.decision_id)
  }
  const obligations = decision.obligations || {}
  if (obligations.require_approval) {
    const reason = `a human must approve this: ${obligations.require_approval.reason || 'required by policy'}`
    return deny(r, null, 403, [{ code: 'approval_required', message: reason }], decision.decision_id)
  }
  r.internalRedirect('@mcp_stream')
}

async function authorize(r) {
  if (r.method === 'GET' || r.method === 'DELETE') return authorizeStream(r)
  if (r.method !== 'POST') {
    r.headersOut.Allow = 'GET, POST, DELETE'
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

// ----- The GET stream (@mcp_stream): a header and a body filter -----
//
// The stream is relayed event by event as it arrives. A JSON-RPC result on it is replaced by a
// policy error for the same id: MCP servers send results on a GET stream only when a client resumes
// (Last-Event-ID) and the server replays an earlier POST's stream — which would hand the client a
// tools/list result the gateway did not filter, or a tool result it did not judge. Requests and
// notifications (and errors) pass as they came; data that is not JSON is left out.

// An event still incomplete after this many bytes ends the stream (the client may reconnect).
const MAX_PENDING_EVENT_BYTES = 1048576

// njs gives every request its own VM: these module variables are this response's state.
let streamFiltered
// Bytes not relayed yet (an incomplete event), how far they were scanned and whether that point
// starts a line.
let streamPending = null
let streamScanned = 0
let streamLineStart = true
let streamEnded = false

function filtersStream(r) {
  if (streamFiltered === undefined) {
    streamFiltered =
      r.method === 'GET' && r.status === 200 && /text\/event-stream/i.test(r.headersOut['Content-Type'] || '')
  }
  return streamFiltered
}

function streamHeaders(r) {
  // The body filter may change the body's length.
  if (filtersStream(r)) delete r.headersOut['Content-Length']
}

// Where the complete events of the pending bytes end (just past the blank line closing the last of
// them), 0 when none is complete; each byte is scanned once, however many chunks an event spans.
// Line terminators are ASCII, so this never splits a UTF-8 sequence; a \r at the very end may be
// the first half of \r\n and waits for the next chunk.
function completeEventsEnd(bytes) {
  let end = 0
  let i = streamScanned
  for (; i < bytes.length; i++) {
    const c = bytes[i]
    if (c !== 10 && c !== 13) {
      streamLineStart = false
      continue
    }
    if (c === 13) {
      if (i + 1 === bytes.length) break
      if (bytes[i + 1] === 10) i++
    }
    if (streamLineStart) end = i + 1
    streamLineStart = true
  }
  streamScanned = i
  return end
}

function refuseReplayedResult(message) {
  if (message.id === undefined || message.result === undefined) return undefined
  return denial(message.id, 403, [
    {
      code: 'response_replay_refused',
      message: 'the gateway does not relay a result replayed on the GET stream: it could not be checked',
    },
  ])
}

function filterStream(r, data, flags) {
  if (streamEnded) return
  if (!filtersStream(r)) {
    r.sendBuffer(data, flags)
    return
  }
  streamPending = streamPending === null ? data : Buffer.concat([streamPending, data])
  const end = flags.last ? streamPending.length : completeEventsEnd(streamPending)
  let out = ''
  if (end > 0) {
    const text = streamPending.slice(0, end).toString()
    streamPending = streamPending.slice(end)
    streamScanned = Math.max(0, streamScanned - end)
    out = rewriteEventStream(
      text,
      (message) => {
        const replacement = refuseReplayedResult(message)
        if (replacement !== undefined) r.warn('mcp-policy: a result replayed on a GET stream was refused')
        return replacement
      },
      'drop',
    )
  }
  if (!flags.last && streamPending.length > MAX_PENDING_EVENT_BYTES) {
    r.error(
      `mcp-policy: an SSE event on the GET stream exceeds ${MAX_PENDING_EVENT_BYTES} bytes; stream ended`,
    )
    streamEnded = true
    r.sendBuffer(out, { last: true })
    return
  }
  // Always pass something on, even nothing with a flush: nginx sends the response headers with the
  // first buffer it flushes, and a quiet stream must not hold them back.
  r.sendBuffer(out, flags.last ? { last: true } : { flush: true })
}

export default { authorize, streamHeaders, filterStream, rewriteMessages }
