import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { POLICY_DENIED_ERROR_CODE, verifyLog } from '../../src/index.js'
import { buildReferenceBundle, startTestPdp, type TestPdp } from '../helpers/pdp.js'

// Issue #15 class 5 through the PDP: a message holding a key twice is never decided as the value
// JSON.parse keeps (the last); it is refused, on every endpoint that reads one.

const review =
  '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_repository","arguments":{},"name":"get_issue"}}'
const escaped =
  '{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"delete_repository","arguments":{},"n\\u0061me":"get_issue"}}'

let pdp: TestPdp
let alice: string

beforeAll(async () => {
  const bundle = await buildReferenceBundle()
  pdp = await startTestPdp(bundle.path)
  alice = await pdp.token('alice', ['developer'])
}, 120_000)

afterAll(async () => {
  await pdp?.close()
})

/** POSTs `body` as it is written: the duplicate keys must reach the PDP, not a JSON.stringify of them. */
async function postRaw(path: string, body: string, headers: Record<string, string> = {}) {
  const res = await request(`${pdp.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  })
  const text = await res.body.text()
  return { status: res.statusCode, body: text ? JSON.parse(text) : undefined }
}

function decide(messageText: string) {
  return postRaw(
    '/v1/mcp/decide',
    `{"server":"github","headers":{"authorization":${JSON.stringify(`Bearer ${alice}`)}},"message":${JSON.stringify(messageText)}}`,
  )
}

describe('duplicate JSON keys at the PDP', () => {
  it('decides each spelling alone as the policy says (the baseline the duplicate would pick from)', async () => {
    const allowed = await decide(review.replace('"name":"delete_repository",', ''))
    expect(allowed.body).toMatchObject({ allow: true, status: 200 })
    const denied = await decide(review.replace(',"name":"get_issue"', ''))
    expect(denied.body).toMatchObject({ allow: false, status: 403 })
    expect(denied.body.reasons[0].code).toBe('explicitly_denied')
  })

  it.each([
    ['the review example', review, review.lastIndexOf('"name"')],
    ['an escaped second key', escaped, escaped.indexOf('"n\\u0061me"')],
  ])(
    '/v1/mcp/decide denies %s sent as message text with ERR_NORMALIZE_DUPLICATE_KEY (status 400)',
    async (_what, text, at) => {
      const res = await decide(text)
      expect(res.status).toBe(200)
      expect(res.body).toMatchObject({ allow: false, status: 400 })
      expect(res.body.reasons[0]).toEqual({
        code: 'ERR_NORMALIZE_DUPLICATE_KEY',
        message: `body holds a key twice in one object (2 levels deep; the second at character ${at})`,
      })
    },
  )

  it('/v1/mcp/decide refuses the review example inlined as the message object: the request body holds the duplicate (400)', async () => {
    const body = `{"server":"github","headers":{"authorization":${JSON.stringify(`Bearer ${alice}`)}},"message":${review}}`
    const res = await postRaw('/v1/mcp/decide', body)
    expect(res.status).toBe(400)
    expect(res.body).toEqual({
      code: 'ERR_PDP_BODY_INVALID',
      message: `body holds a key twice in one object (3 levels deep; the second at character ${body.lastIndexOf('"name"')})`,
    })
  })

  it('/v1/mcp/decide refuses a duplicate in its own envelope (two servers, two headers objects)', async () => {
    const twoServers = await postRaw(
      '/v1/mcp/decide',
      `{"server":"github","message":${JSON.stringify(review.replace(',"name":"get_issue"', ''))},"server":"filesystem"}`,
    )
    expect(twoServers.status).toBe(400)
    expect(twoServers.body.code).toBe('ERR_PDP_BODY_INVALID')
    const twoAuthorizations = await postRaw(
      '/v1/mcp/decide',
      `{"server":"github","headers":{"authorization":"Bearer x","Authorization":"Bearer y","authorization":"Bearer z"},"message":{}}`,
    )
    expect(twoAuthorizations.status).toBe(400)
    expect(twoAuthorizations.body.message).toMatch(/^body holds a key twice in one object \(2 levels deep; /)
  })

  it('Envoy ext_authz answers 400 with the code in the JSON-RPC error, echoing nothing the duplicate chose', async () => {
    const res = await postRaw('/envoy/ext_authz/mcp/github', review, { authorization: `Bearer ${alice}` })
    expect(res.status).toBe(400)
    expect(res.body).toMatchObject({ jsonrpc: '2.0', error: { code: POLICY_DENIED_ERROR_CODE } })
    expect(res.body.error.data.reason).toBe('ERR_NORMALIZE_DUPLICATE_KEY')
    const single = await postRaw(
      '/envoy/ext_authz/mcp/github',
      review.replace('"name":"delete_repository",', ''),
      {
        authorization: `Bearer ${alice}`,
      },
    )
    expect(single.status).toBe(200)
  })

  it('AuthZEN and the OPA data API refuse a body with a duplicate key (400)', async () => {
    const authzen = await postRaw(
      '/access/v1/evaluation',
      '{"subject":{"type":"user","id":"alice","properties":{"roles":["developer"]}},"action":{"name":"tools/call"},"resource":{"type":"tool","id":"delete_repository","id":"get_issue","properties":{"server":"github"}}}',
    )
    expect(authzen.status).toBe(400)
    expect(authzen.body.code).toBe('ERR_PDP_BODY_INVALID')
    expect(authzen.body.message).toMatch(/^body holds a key twice in one object \(2 levels deep; /)
    const opa = await postRaw('/v1/data/mcp/decision', '{"input":{},"input":{"mcp":{}}}')
    expect(opa.status).toBe(400)
    expect(opa.body.code).toBe('ERR_PDP_BODY_INVALID')
  })

  it('logs the refused decisions with their code, and the log verifies', async () => {
    await pdp.log!.flush()
    const verification = await verifyLog([pdp.logDir])
    expect(verification.intact).toBe(true)
    const files = (await readdir(pdp.logDir)).filter((f) => f.endsWith('.jsonl'))
    const events = (await Promise.all(files.map((f) => readFile(join(pdp.logDir, f), 'utf8'))))
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { path?: string; input?: { error?: { code?: string } } })
    const refused = events.filter((e) => e.input?.error?.code === 'ERR_NORMALIZE_DUPLICATE_KEY')
    // Two through /v1/mcp/decide, one through ext_authz.
    expect(refused.length).toBe(3)
    expect(refused.every((e) => e.path === 'mcp-policy/rejected')).toBe(true)
  })
})
