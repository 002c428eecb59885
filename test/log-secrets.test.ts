import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createDevKey, mintDevToken, verifyLog } from '../src/index.js'
import { connectClient, startTestGateway, type TestGateway } from './helpers/gateway.js'
import { buildReferenceBundle, startTestPdp, type TestPdp, toolCall } from './helpers/pdp.js'
import { type SampleMcpServer, startSampleMcpServer } from './helpers/sample-mcp-server.js'
import { registerMintedTokens, scanDecisionLogs } from './log-secrets.setup.js'

// Issue #15 class 3, end to end: tokens sent in every place request metadata can carry one — the
// query string (ext_authz, the gateway, a resource URI), `params._meta` at any depth, headers and
// header-derived fields, attributes, inputs callers build (OPA API, AuthZEN, a judged response),
// arguments named like secrets, refused messages — through the PDP, Envoy ext_authz and the
// gateway. Every token is minted here; afterwards every decision log they wrote is read for each
// token and for its signature part. The suite's global teardown reads every other log of the run
// for these tokens too (test/log-secrets.setup.ts).

const REDACTED = '[REDACTED]'

describe('no minted token reaches a decision log', () => {
  let pdp: TestPdp
  let gateway: TestGateway
  let sample: SampleMcpServer
  let bundlePath = ''
  const minted: string[] = []
  /** The PDP's and the gateway's responses, for the "not echoed either" check. */
  const answers: string[] = []

  /** A fresh dev token from the PDP's issuer (every call a new `jti`, so a new token). */
  const pdpToken = async (roles = ['developer']) => {
    const token = await pdp.token('alice', roles)
    minted.push(token)
    return token
  }
  const gatewayToken = async () => {
    const token = await gateway.token('alice', ['developer'], 'github')
    minted.push(token)
    return token
  }
  /** A token signed by a key nobody trusts: refused, and still never logged. */
  const strangerToken = async () => {
    const token = await mintDevToken(await createDevKey(), {
      sub: 'mallory',
      aud: 'https://localhost/mcp/github',
    })
    minted.push(token)
    return token
  }

  async function send(
    url: string,
    method: 'GET' | 'POST' | 'DELETE',
    body: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; text: string }> {
    const res = await request(url, {
      method,
      headers: body === undefined ? headers : { 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    })
    const text = await res.body.text()
    answers.push(text)
    return { status: res.statusCode, text }
  }

  beforeAll(async () => {
    const bundle = await buildReferenceBundle()
    bundlePath = bundle.path
    pdp = await startTestPdp(bundle.path)
    sample = await startSampleMcpServer()
    gateway = await startTestGateway(bundle.path, { github: { url: sample.url } })
  }, 180_000)

  afterAll(async () => {
    await gateway?.close()
    await pdp?.close()
    await sample?.close()
  })

  it('ext_authz: a token in the query string of the original path, with and without a valid caller', async () => {
    const inQuery = await pdpToken()
    const refused = await send(
      `${pdp.url}/envoy/ext_authz/mcp/github?access_token=${inQuery}`,
      'POST',
      toolCall('get_issue', { number: 1 }),
    )
    expect(refused.status).toBe(401)

    const caller = await pdpToken()
    const [idToken, byValue, bare] = [await pdpToken(), await pdpToken(), await strangerToken()]
    const allowed = await send(
      `${pdp.url}/envoy/ext_authz/mcp/github?id_token=${idToken}&page=2&note=${byValue}&${bare}`,
      'POST',
      toolCall('get_issue', { number: 1 }),
      { authorization: `Bearer ${caller}` },
    )
    expect(allowed.status).toBe(200)

    const stream = await pdpToken()
    const get = await send(`${pdp.url}/envoy/ext_authz/mcp/github?token=${stream}`, 'GET', undefined, {
      authorization: `Bearer ${caller}`,
      'user-agent': `agent/1 Bearer ${stream}`,
    })
    expect(get.status).toBe(200)
  })

  it('/v1/mcp/decide: _meta at any depth, header-derived fields, attributes, the path, secret-named arguments', async () => {
    const [caller, metaAuth, metaDeep, metaValue, userAgent, requestId, cookie, apiKey, path, attribute] =
      await Promise.all(Array.from({ length: 10 }, () => pdpToken()))
    const [password, argumentToken] = [await pdpToken(), await pdpToken()]
    const res = await send(`${pdp.url}/v1/mcp/decide`, 'POST', {
      message: {
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: {
          name: 'get_issue',
          // Top-level arguments named like secrets: the reference policy's `redact` obligation.
          arguments: { number: 1, password, token: argumentToken },
          _meta: {
            authorization: `Bearer ${metaAuth}`,
            progressToken: 'p-1',
            client: { session: { api_key: metaDeep } },
            note: metaValue,
          },
        },
      },
      headers: {
        authorization: `Bearer ${caller}`,
        'user-agent': `agent/1 ${userAgent}`,
        'x-request-id': requestId,
        cookie: `session=${cookie}`,
        'x-api-key': apiKey,
      },
      server: 'github',
      context: {
        path: `/mcp/github?refresh_token=${path}`,
        attributes: { upstream: { headers: { authorization: `Bearer ${attribute}` } } },
      },
    })
    expect(JSON.parse(res.text)).toMatchObject({ allow: true })
  })

  it('/v1/mcp/decide: refused messages (unknown server, batch, not JSON, a lone surrogate)', async () => {
    const [server, batch, notJson, surrogate, header] = await Promise.all(
      Array.from({ length: 5 }, () => pdpToken()),
    )
    const refusals = [
      {
        message: toolCall('get_issue'),
        server: `nowhere?token=${server}`,
        headers: { authorization: `Bearer ${header}` },
      },
      {
        message: JSON.stringify([
          { ...toolCall('get_issue'), params: { name: 't', _meta: { token: batch } } },
        ]),
      },
      { message: `{"jsonrpc":"2.0","id":1,"method":${notJson}}`, server: 'github' },
      {
        message: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"\\ud800","_meta":{"token":"${surrogate}"}}}`,
        server: 'github',
      },
    ]
    const codes: string[] = []
    for (const body of refusals) {
      const res = await send(`${pdp.url}/v1/mcp/decide`, 'POST', body)
      const decision = JSON.parse(res.text)
      expect(decision.allow).toBe(false)
      codes.push(decision.reasons[0].code)
    }
    expect(codes).toEqual([
      'ERR_NORMALIZE_SERVER_UNKNOWN',
      'ERR_NORMALIZE_BATCH_UNSUPPORTED',
      'ERR_NORMALIZE_JSON_INVALID',
      // Issue #15 "also": a lone surrogate is a normalize error, not an engine trap.
      'ERR_NORMALIZE_JSON_INVALID',
    ])
  })

  it('inputs callers build: the OPA API, AuthZEN, /v1/mcp/response with a request', async () => {
    const [opaHeader, opaPath, authzen, judged, destination] = await Promise.all(
      Array.from({ length: 5 }, () => pdpToken()),
    )
    const opa = await send(`${pdp.url}/v1/data/mcp/decision`, 'POST', {
      input: {
        attributes: {
          request: {
            http: { headers: { authorization: `Bearer ${opaHeader}` }, path: `/x?access_token=${opaPath}` },
          },
        },
      },
    })
    expect(opa.status).toBe(200)
    const evaluation = await send(`${pdp.url}/access/v1/evaluation`, 'POST', {
      subject: { type: 'user', id: 'alice', properties: { roles: ['developer'] } },
      action: { name: 'tools/call' },
      resource: { type: 'tool', id: 'get_issue', properties: { server: 'github', arguments: {} } },
      context: { authorization: `Bearer ${authzen}` },
    })
    expect(JSON.parse(evaluation.text).decision).toBe(true)
    const response = await send(`${pdp.url}/v1/mcp/response`, 'POST', {
      request: {
        schema: 'mcp-policy/input/v1',
        mcp: { kind: 'request', method: 'tools/call', tool: { name: 'get_issue', arguments: {} } },
        context: { request: { path: `/mcp/github?token=${judged}` } },
      },
      result: { content: [{ type: 'text', text: 'ok' }] },
      destination: { model: `Bearer ${destination}` },
    })
    expect(response.status).toBe(200)
  })

  it('the gateway: the query string, _meta and headers of real MCP traffic', async () => {
    const refusedInQuery = await gatewayToken()
    const anonymous = await send(
      `${gateway.endpoints.github}?access_token=${refusedInQuery}`,
      'POST',
      {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'x', version: '1' } },
      },
      { accept: 'application/json, text/event-stream' },
    )
    expect(anonymous.status).toBe(401)

    const caller = await gatewayToken()
    const [inEndpoint, inMeta] = [await gatewayToken(), await gatewayToken()]
    const client = await connectClient(`${gateway.endpoints.github}?access_token=${inEndpoint}`, caller)
    try {
      const result = await client.callTool({
        name: 'get_issue',
        arguments: { number: 7 },
        _meta: { authorization: `Bearer ${inMeta}`, progressToken: 3 },
      })
      expect(JSON.stringify(result)).toContain('7')
    } finally {
      await client.close()
    }
    // A stranger's token in the query of a stream request, with a valid caller.
    const stranger = await strangerToken()
    const get = await send(`${gateway.endpoints.github}?token=${stranger}`, 'GET', undefined, {
      authorization: `Bearer ${caller}`,
      accept: 'text/event-stream',
    })
    expect([400, 404]).toContain(get.status)
  })

  it('/health/ready shows the bundle digest, never its path', async () => {
    for (const url of [`${pdp.url}/health/ready`, `${gateway.url}/health/ready`]) {
      const res = await send(url, 'GET', undefined)
      const body = JSON.parse(res.text)
      expect(res.status, url).toBe(200)
      expect(body.bundle.digest).toMatch(/^sha256:[0-9a-f]{64}$/)
      expect(body.bundle_source).toMatchObject({ kind: 'file', digest: expect.stringMatching(/^sha256:/) })
      expect(res.text).not.toContain(bundlePath)
      expect(res.text).not.toContain(join(bundlePath, '..'))
      expect(res.text).not.toContain('origin')
    }
  })

  it('every decision log holds none of the tokens (nor a signature part); the markers show each was logged', async () => {
    await gateway.close()
    await pdp.close()
    await registerMintedTokens(minted)
    expect(minted.length).toBe(33)
    expect(new Set(minted).size).toBe(minted.length)

    let text = ''
    for (const dir of [pdp.logDir, gateway.logDir]) {
      expect((await verifyLog([dir])).intact).toBe(true)
      for (const file of await readdir(dir))
        if (file.endsWith('.jsonl')) text += await readFile(join(dir, file), 'utf8')
    }
    const events = text
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line))
    expect(events.length).toBeGreaterThanOrEqual(15)

    for (const token of minted) {
      expect(text.includes(token), `token ${token.slice(0, 16)}… is in a log`).toBe(false)
      const signature = token.split('.')[2]!
      expect(text.includes(signature), `the signature of ${token.slice(0, 16)}… is in a log`).toBe(false)
    }
    for (const answer of answers) for (const token of minted) expect(answer.includes(token)).toBe(false)

    // Not vacuous: the requests were decided and logged, with the markers where the tokens were.
    const paths = events.map((e) => e.input?.context?.request?.path).filter(Boolean)
    expect(paths).toContain(`/mcp/github?access_token=${REDACTED}`)
    expect(paths).toContain(`/mcp/github?id_token=${REDACTED}&page=2&note=${REDACTED}&${REDACTED}`)
    expect(paths).toContain(`/mcp/github?refresh_token=${REDACTED}`)
    // Credentials in _meta were masked by the normalizer; members with sensitive names
    // (authorization, api_key) are then erased from the log line at any depth, their pointers listed.
    const metas = events.map((e) => e.input?.mcp?.params?._meta).filter(Boolean)
    expect(metas).toContainEqual({ progressToken: 'p-1', client: { session: {} }, note: REDACTED })
    expect(metas).toContainEqual({ progressToken: 3 })
    const erased = events.flatMap((e) => e.erased as string[])
    expect(erased).toContain('/mcp/params/_meta/authorization')
    expect(erased).toContain('/mcp/params/_meta/client/session/api_key')
    expect(events.some((e) => (e.erased as string[]).includes('/mcp/tool/arguments/password'))).toBe(true)
    expect(
      events.some((e) => (e.erased as string[]).includes('/attributes/request/http/headers/authorization')),
    ).toBe(true)
    expect(events.some((e) => (e.erased as string[]).includes('/context/attributes/authorization'))).toBe(
      true,
    )
    expect(events.filter((e) => e.path === 'mcp-policy/rejected').length).toBeGreaterThanOrEqual(4)

    // The same scan the suite's teardown runs: these logs hold no JWS at all.
    const scan = await scanDecisionLogs(pdp.logDir, minted)
    const gatewayScan = await scanDecisionLogs(gateway.logDir, minted)
    expect([...scan.findings, ...gatewayScan.findings]).toEqual([])
    expect(scan.lines + gatewayScan.lines).toBe(events.length)
  })
})
