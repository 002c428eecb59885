import { OPAClient } from '@styra/opa'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  POLICY_DENIED_ERROR_CODE,
  RequestNormalizer,
  replayLog,
  TokenVerifier,
  verifyLog,
} from '../../src/index.js'
import { buildReferenceBundle, startTestPdp, type TestPdp, toolCall } from '../helpers/pdp.js'

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

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await request(`${pdp.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  })
  const text = await res.body.text()
  return { status: res.statusCode, headers: res.headers, body: text ? JSON.parse(text) : undefined }
}

describe('POST /v1/mcp/decide', () => {
  it('allows a granted tools/call and names the decision', async () => {
    const res = await post('/v1/mcp/decide', {
      message: toolCall('get_issue', { owner: 'acme', repo: 'api', issue_number: 1 }),
      headers: { authorization: `Bearer ${alice}` },
      server: 'github',
    })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ allow: true, status: 200, reasons: [] })
    expect(res.body.decision_id).toMatch(/^[0-9a-f-]{36}$/)
  })

  it('denies without a token with status 401 and the policy reason', async () => {
    const res = await post('/v1/mcp/decide', { message: toolCall('get_issue'), server: 'github' })
    expect(res.status).toBe(200)
    expect(res.body).toMatchObject({ allow: false, status: 401 })
    expect(res.body.reasons[0].code).toBe('unauthenticated')
  })

  it('denies a tool the role is not granted, with the reason code', async () => {
    const bob = await pdp.token('bob', ['support'])
    const res = await post('/v1/mcp/decide', {
      message: toolCall('create_issue', { owner: 'acme', repo: 'api', title: 'x' }),
      headers: { authorization: `Bearer ${bob}` },
      server: 'github',
    })
    expect(res.body).toMatchObject({ allow: false, status: 403 })
    expect(res.body.reasons.map((r: { code: string }) => r.code)).toContain('not_granted')
  })

  it('judges SQL on PostgreSQL’s parse: an obfuscated pg_sleep is denied, a plain query allowed', async () => {
    const ann = await pdp.token('ann', ['analyst'], 'postgres', { clientId: 'claude-desktop' })
    const query = (sql: string) =>
      post('/v1/mcp/decide', {
        message: toolCall('query', { sql }),
        headers: { authorization: `Bearer ${ann}` },
        server: 'postgres',
      })
    expect((await query('select id from orders where total > 10')).body).toMatchObject({ allow: true })
    const sleeping = await query('select U&"\\0070g_sleep"(10)')
    expect(sleeping.body).toMatchObject({ allow: false, status: 403 })
    expect(sleeping.body.reasons).toEqual([
      { code: 'argument_sql_not_read_only', message: "SQL is not read-only: argument 'sql' calls pg_sleep" },
    ])
    const broken = await query('selec 1')
    expect(broken.body.reasons.map((r: { code: string }) => r.code)).toEqual(['argument_unparsable'])
  })

  it('fails closed on a message that cannot be normalized, and still answers with a decision', async () => {
    const res = await post('/v1/mcp/decide', { message: [toolCall('get_issue')], server: 'github' })
    expect(res.status).toBe(200)
    expect(res.body.allow).toBe(false)
    expect(res.body.reasons[0].code).toBe('ERR_NORMALIZE_BATCH_UNSUPPORTED')
  })

  it('judges a tool result at /v1/mcp/response and redacts a private key', async () => {
    const res = await post('/v1/mcp/response', {
      message: toolCall('get_file_contents', { owner: 'acme', repo: 'api', path: 'README.md' }),
      headers: { authorization: `Bearer ${alice}` },
      server: 'github',
      result: {
        content: [
          {
            type: 'text',
            text: '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----',
          },
        ],
      },
      destination: { model: 'internal' },
    })
    expect(res.status).toBe(200)
    expect(res.body.decision_id).toBeTypeOf('string')
    const judged = res.body as { allow: boolean; redactions: unknown[]; reasons: { code: string }[] }
    expect(judged.allow === false || judged.redactions.length > 0).toBe(true)
  })
})

describe('POST /v1/data (OPA REST API)', () => {
  it('answers a real OPA client (@styra/opa) unchanged', async () => {
    const normalizer = new RequestNormalizer(pdp.config.normalize, new TokenVerifier(pdp.config.identity!))
    const input = await normalizer.normalize({
      message: toolCall('list_issues', { owner: 'acme', repo: 'api' }),
      headers: { authorization: `Bearer ${alice}` },
      server: 'github',
    })
    const client = new OPAClient(pdp.url)
    const result = await client.evaluate<typeof input, { allow: boolean; status: number }>(
      'mcp/decision',
      input,
    )
    expect(result).toMatchObject({ allow: true, status: 200 })
  })

  it('returns {result, decision_id}', async () => {
    const res = await post('/v1/data/mcp/decision', { input: { schema: 'mcp-policy/input/v1' } })
    expect(res.status).toBe(200)
    expect(res.body.decision_id).toBeTypeOf('string')
    expect(res.body.result.allow).toBe(false)
  })

  it('answers malformed JSON with 400 in the error shape', async () => {
    const res = await post('/v1/data/mcp/decision', '{"input": ')
    expect(res.status).toBe(400)
    expect(res.body).toEqual({ code: 'ERR_PDP_BODY_INVALID', message: expect.any(String) })
  })

  it('answers a path that is not a compiled entrypoint with 404', async () => {
    const res = await post('/v1/data/mcp/nothing_here', { input: {} })
    expect(res.status).toBe(404)
    expect(res.body.code).toBe('ERR_PDP_NOT_FOUND')
  })
})

describe('Envoy ext_authz (HTTP service)', () => {
  it('lets an allowed request through with 200 and the decision id header', async () => {
    const res = await post('/envoy/ext_authz/mcp/github', toolCall('get_issue', {}, 7), {
      authorization: `Bearer ${alice}`,
    })
    expect(res.status).toBe(200)
    expect(res.headers['x-mcp-policy-decision-id']).toBeTypeOf('string')
  })

  it('denies with 403 and a JSON-RPC error echoing the request id', async () => {
    const res = await post('/envoy/ext_authz/mcp/github', toolCall('delete_repository', {}, 'req-9'), {
      authorization: `Bearer ${alice}`,
    })
    expect(res.status).toBe(403)
    expect(res.body).toMatchObject({ jsonrpc: '2.0', id: 'req-9', error: { code: POLICY_DENIED_ERROR_CODE } })
    expect(res.body.error.data.reason).toBe('explicitly_denied')
  })

  it('answers 401 with WWW-Authenticate when the user has no token', async () => {
    const res = await post('/envoy/ext_authz/mcp/github', toolCall('get_issue'))
    expect(res.status).toBe(401)
    expect(res.headers['www-authenticate']).toBe('Bearer')
    expect(res.body.error.data.reason).toBe('unauthenticated')
  })
})

describe('OpenID AuthZEN', () => {
  const subject = { type: 'user', id: 'alice', properties: { roles: ['developer'] } }

  it('publishes its configuration', async () => {
    const res = await request(`${pdp.url}/.well-known/authzen-configuration`)
    const body = (await res.body.json()) as Record<string, string>
    expect(body.access_evaluation_endpoint).toBe(`${pdp.url}/access/v1/evaluation`)
  })

  it('evaluates one request through the same policy', async () => {
    const allowed = await post('/access/v1/evaluation', {
      subject,
      action: { name: 'tools/call' },
      resource: { type: 'tool', id: 'get_issue', properties: { server: 'github', arguments: {} } },
    })
    expect(allowed.body.decision).toBe(true)
    const denied = await post('/access/v1/evaluation', {
      subject,
      action: { name: 'tools/call' },
      resource: { type: 'tool', id: 'delete_repository', properties: { server: 'github' } },
    })
    expect(denied.body.decision).toBe(false)
    expect(denied.body.context.reasons[0].code).toBe('explicitly_denied')
  })

  it('evaluates a batch with inherited members', async () => {
    const res = await post('/access/v1/evaluations', {
      subject,
      action: { name: 'tools/call' },
      evaluations: [
        { resource: { type: 'tool', id: 'get_issue', properties: { server: 'github' } } },
        { resource: { type: 'tool', id: 'write_file', properties: { server: 'filesystem' } } },
      ],
    })
    expect(res.body.evaluations.map((e: { decision: boolean }) => e.decision)).toEqual([true, false])
  })

  it('refuses a batch whose items would each re-evaluate a large body', async () => {
    const resource = {
      type: 'tool',
      id: 'get_issue',
      properties: { server: 'github', arguments: { note: 'x'.repeat(60_000) } },
    }
    const many = await post('/access/v1/evaluations', {
      subject,
      action: { name: 'tools/call' },
      resource,
      evaluations: Array.from({ length: 100 }, () => ({})),
    })
    expect(many.status).toBe(400)
    expect(many.body.code).toBe('ERR_PDP_BODY_INVALID')
    // The same body with a few items is fine.
    const few = await post('/access/v1/evaluations', {
      subject,
      action: { name: 'tools/call' },
      resource,
      evaluations: [{}, {}],
    })
    expect(few.status).toBe(200)
    expect(few.body.evaluations).toHaveLength(2)
  })

  it('analyses the stated arguments as a message would be (the URL analyzer)', async () => {
    const fetch = (url: string) =>
      post('/access/v1/evaluation', {
        subject,
        action: { name: 'tools/call' },
        resource: { type: 'tool', id: 'fetch', properties: { server: 'fetch', arguments: { url } } },
      })
    expect((await fetch('https://docs.example.com/guide')).body.decision).toBe(true)
    const ambiguous = await fetch('https://api.github.com\\@evil.com/')
    expect(ambiguous.body.decision).toBe(false)
    expect(ambiguous.body.context.reasons.map((r: { code: string }) => r.code)).toEqual([
      'argument_url_ambiguous',
    ])
  })

  it('refuses a request without a subject id', async () => {
    const res = await post('/access/v1/evaluation', { action: { name: 'tools/call' }, resource: {} })
    expect(res.status).toBe(400)
    expect(res.body.code).toBe('ERR_PDP_BODY_INVALID')
  })
})

describe('health, readiness and metrics', () => {
  it('is live and ready with the bundle it serves', async () => {
    const live = await request(`${pdp.url}/health`)
    expect(live.statusCode).toBe(200)
    await live.body.dump()
    const ready = await request(`${pdp.url}/health/ready`)
    const body = (await ready.body.json()) as { ready: boolean; bundle: { digest: string } }
    expect(ready.statusCode).toBe(200)
    expect(body.ready).toBe(true)
    expect(body.bundle.digest).toMatch(/^sha256:/)
  })

  it('exports decisions by result and reason, latency and the bundle revision', async () => {
    const res = await request(`${pdp.url}/metrics`)
    const text = await res.body.text()
    expect(text).toMatch(/mcp_policy_decisions_total\{[^}]*result="allow"/)
    expect(text).toMatch(/mcp_policy_decisions_total\{[^}]*reason="unauthenticated"/)
    expect(text).toContain('mcp_policy_decision_duration_seconds_bucket')
    expect(text).toMatch(/mcp_policy_bundle_info\{[^}]*digest="sha256:/)
    expect(text).toContain('mcp_policy_log_backlog')
  })

  it('answers an unknown endpoint with 404 in the error shape', async () => {
    const res = await post('/v2/nothing', {})
    expect(res.status).toBe(404)
    expect(res.body.code).toBe('ERR_PDP_NOT_FOUND')
  })
})

describe('decision log', () => {
  it('holds every decision made so far, and the chain verifies', async () => {
    const res = await post('/v1/mcp/decide', {
      message: toolCall('search_issues', { q: 'bug' }),
      headers: { authorization: `Bearer ${alice}` },
      server: 'github',
    })
    await pdp.log!.flush()
    const verification = await verifyLog([pdp.logDir])
    expect(verification.findings).toEqual([])
    expect(verification.intact).toBe(true)
    expect(verification.chains[0]!.events).toBeGreaterThanOrEqual(15)
    const { readFile, readdir } = await import('node:fs/promises')
    const files = (await readdir(pdp.logDir)).filter((f) => f.endsWith('.jsonl'))
    const lines = (await Promise.all(files.map((f) => readFile(`${pdp.logDir}/${f}`, 'utf8')))).join('')
    expect(lines).toContain(res.body.decision_id)
    // The raw bearer token is never logged.
    expect(lines).not.toContain(alice)
    // Nor is the private key the response judgement blocked or redacted.
    expect(lines).not.toContain('MIIEowIBAAKCAQEA')
  })

  it('masks the request a judged tool result answers, as the request event does', async () => {
    const secret = 'hunter2-in-a-response-request'
    const res = await post('/v1/mcp/response', {
      message: toolCall('get_file_contents', {
        owner: 'acme',
        repo: 'api',
        path: 'README.md',
        password: secret,
      }),
      headers: { authorization: `Bearer ${alice}` },
      server: 'github',
      result: { content: [{ type: 'text', text: 'plain text' }] },
      destination: { model: 'internal' },
    })
    expect(res.body.allow).toBe(true)
    await pdp.log!.flush()
    const { readFile, readdir } = await import('node:fs/promises')
    const files = (await readdir(pdp.logDir)).filter((f) => f.endsWith('.jsonl'))
    const events = (await Promise.all(files.map((f) => readFile(`${pdp.logDir}/${f}`, 'utf8'))))
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { decision_id: string; erased: string[]; input: unknown })
    const event = events.find((e) => e.decision_id === res.body.decision_id)!
    expect(event.erased).toEqual(
      expect.arrayContaining([
        '/request/mcp/tool/arguments/password',
        '/request/mcp/params/arguments/password',
      ]),
    )
    expect(JSON.stringify(event.input)).not.toContain(secret)
    expect(JSON.stringify(event.input)).toContain('README.md')
  })

  it('replays at 100 % against the bundles the PDP kept in its store', async () => {
    await pdp.log!.flush()
    const report = await replayLog([pdp.logDir], { bundleStore: pdp.config.bundleStore })
    expect(report.differences).toEqual([])
    expect(report.missingBundles).toEqual({})
    expect(report.rejected).toBeGreaterThanOrEqual(1)
    expect(report.withheld).toBeGreaterThanOrEqual(1)
    expect(report.same + report.rejected + report.withheld).toBe(report.events)
  })
})
