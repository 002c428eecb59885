import { Ajv2020 } from 'ajv/dist/2020.js'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  createDevKey,
  DecisionService,
  type DevKey,
  defaultPdpConfig,
  defaultServerResource,
  devIssuerConfig,
  McpPolicyError,
  mintDevToken,
  PolicyEngine,
  RequestNormalizer,
  TokenVerifier,
} from '../../src/index.js'
import { encodeHeaderValue } from '../../src/normalize/routing-headers.js'
import { readSchema } from '../../src/schemas.js'
import { buildReferenceBundle } from '../helpers/pdp.js'

// Properties of MCP 2026-07-28 normalization: any routing headers and any _meta give a valid
// document or an ERR_NORMALIZE_* code; headers a conforming client derives from the body always
// agree, any other value never does; and the same request decides the same in its 2025-11-25 form
// (initialize'd session, no envelope) and its 2026-07-28 form (envelope, routing headers).

const validateInput = new Ajv2020({ strict: true, allowUnionTypes: true }).compile(readSchema('input'))
const normalizer = new RequestNormalizer({ servers: { jira: { resource: 'https://mcp.example.com/jira' } } })
const V = 'io.modelcontextprotocol/protocolVersion'
const INFO = 'io.modelcontextprotocol/clientInfo'
const CAPS = 'io.modelcontextprotocol/clientCapabilities'

async function validOrNormalizeError(envelope: Parameters<RequestNormalizer['normalize']>[0]) {
  try {
    const document = await normalizer.normalize({ server: 'jira', ...envelope })
    expect(validateInput(document), JSON.stringify(validateInput.errors)).toBe(true)
    return document
  } catch (err) {
    expect(err).toBeInstanceOf(McpPolicyError)
    expect((err as McpPolicyError).code).toMatch(/^ERR_NORMALIZE_/)
    return undefined
  }
}

/** How the v2 SDK client sends a name (its `encodeMcpParamValue` is not exported). */
const headerValue = encodeHeaderValue

const NAMED: Record<string, string> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
}

describe('2026-07-28 normalization, generated', () => {
  it('any routing headers and any _meta: a valid document or an ERR_NORMALIZE_* code, never another throw', async () => {
    const anyValue = fc.oneof(fc.string(), fc.jsonValue(), fc.constant(undefined))
    await fc.assert(
      fc.asyncProperty(
        fc.record(
          {
            'mcp-method': fc.oneof(
              fc.string(),
              fc.constantFrom('tools/call', 'tools/list'),
              fc.array(fc.string()),
            ),
            'mcp-name': fc.oneof(fc.string(), fc.constant('=?base64?dA==?='), fc.array(fc.string())),
            'mcp-protocol-version': fc.oneof(
              fc.string(),
              fc.constantFrom('2026-07-28', '2025-11-25', '2099-01-01'),
            ),
            'mcp-session-id': fc.string(),
            traceparent: fc.oneof(
              fc.string(),
              fc
                .array(
                  fc.string({ unit: fc.constantFrom(...'0123456789abcdefF'), minLength: 1, maxLength: 33 }),
                  {
                    minLength: 4,
                    maxLength: 5,
                  },
                )
                .map((fields) => fields.join('-')),
            ),
            tracestate: fc.oneof(fc.string(), fc.array(fc.string())),
          },
          { requiredKeys: [] },
        ),
        fc.dictionary(
          fc.oneof(fc.constantFrom(V, INFO, CAPS, 'traceparent', 'tracestate', 'progressToken'), fc.string()),
          anyValue,
        ),
        fc.constantFrom('tools/call', 'tools/list', 'resources/read', 'prompts/get', 'server/discover'),
        fc.string(),
        async (headers, meta, method, name) => {
          const params = { name, uri: name, arguments: {}, _meta: meta }
          await validOrNormalizeError({
            message: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
            headers: headers as Record<string, string | string[]>,
          })
          // The same as an already-parsed message (a caller's object).
          await validOrNormalizeError({ message: { jsonrpc: '2.0', id: 1, method, params }, headers })
        },
      ),
      { numRuns: 400 },
    )
  })

  it('headers derived from the body always agree; a header naming anything else never does', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...Object.keys(NAMED)),
        fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
        fc.string({ minLength: 1, maxLength: 40, unit: 'grapheme' }),
        async (method, name, other) => {
          const field = NAMED[method]!
          const message = JSON.stringify({
            jsonrpc: '2.0',
            id: 1,
            method,
            params: { [field]: name, _meta: { [V]: '2026-07-28' } },
          })
          const agreeing = {
            'mcp-protocol-version': '2026-07-28',
            'mcp-method': method,
            'mcp-name': headerValue(name),
          }
          const document = await normalizer.normalize({ message, headers: agreeing, server: 'jira' })
          expect(document.mcp.method).toBe(method)
          if (other === name) return
          for (const headers of [
            { ...agreeing, 'mcp-name': headerValue(other) },
            { ...agreeing, 'mcp-method': method === 'tools/call' ? 'prompts/get' : 'tools/call' },
          ])
            await expect(normalizer.normalize({ message, headers, server: 'jira' })).rejects.toMatchObject({
              code: 'ERR_NORMALIZE_MCP_HEADER_MISMATCH',
            })
        },
      ),
      { numRuns: 300 },
    )
  })
})

// --- the same request in both revisions decides the same ----------------------------------------

const SERVERS = {
  github: {
    tools: ['get_issue', 'create_issue', 'merge_pull_request', 'delete_repository', 'nope'],
    resources: [],
    prompts: ['triage'],
  },
  docs: {
    tools: ['search_docs', 'nope'],
    resources: ['docs://handbook/onboarding', 'docs://api/v1/users', 'docs://internal/salaries'],
    prompts: ['summarize_ticket', 'export_all'],
  },
  filesystem: {
    tools: ['read_file', 'write_file', 'list_directory'],
    resources: ['file:///srv/projects/a.txt', 'file:///etc/passwd'],
    prompts: [],
  },
} as const
type ServerId = keyof typeof SERVERS

const request = fc.constantFrom(...(Object.keys(SERVERS) as ServerId[])).chain((server) => {
  const s = SERVERS[server]
  const options: fc.Arbitrary<{ method: string; params?: Record<string, unknown> }>[] = [
    fc.constantFrom(
      { method: 'tools/list' },
      { method: 'ping' },
      { method: 'resources/list' },
      { method: 'prompts/list' },
    ),
    fc.record({
      method: fc.constant('tools/call'),
      params: fc.record({
        name: fc.constantFrom(...s.tools),
        arguments: fc.dictionary(
          fc.constantFrom('path', 'title', 'q', 'password'),
          fc.oneof(fc.string(), fc.constantFrom('/srv/projects/x', '/etc/shadow')),
        ),
      }),
    }),
  ]
  if (s.resources.length > 0)
    options.push(
      fc.record({
        method: fc.constant('resources/read'),
        params: fc.record({ uri: fc.constantFrom(...s.resources) }),
      }),
    )
  if (s.prompts.length > 0)
    options.push(
      fc.record({
        method: fc.constant('prompts/get'),
        params: fc.record({ name: fc.constantFrom(...s.prompts), arguments: fc.constant({}) }),
      }),
    )
  return fc.record({
    server: fc.constant(server),
    call: fc.oneof(...options),
    roles: fc.subarray(['developer', 'support', 'analyst', 'dba', 'contractor']),
    clientId: fc.constantFrom('claude-desktop', 'triage-agent', 'unknown-agent'),
    id: fc.integer({ min: 1, max: 1_000_000 }),
    sessionId: fc.uuid(),
  })
})

describe('one request, two revisions, one decision', () => {
  let service: DecisionService
  let key: DevKey
  beforeAll(async () => {
    const built = await buildReferenceBundle()
    key = await createDevKey()
    service = new DecisionService({
      engine: await PolicyEngine.fromBundleFile(built.path),
      normalizer: new RequestNormalizer(
        defaultPdpConfig().normalize,
        new TokenVerifier({ issuers: [devIssuerConfig(key)] }),
      ),
    })
  }, 120_000)

  it('the 2025-11-25 form and the 2026-07-28 form get the same allow, status, reasons and obligations', async () => {
    const now = new Date('2025-11-24T10:00:00Z')
    const tokens = new Map<string, string>()
    const token = async (server: string, roles: string[], clientId: string) => {
      const k = JSON.stringify([server, roles, clientId])
      if (!tokens.has(k))
        tokens.set(
          k,
          await mintDevToken(key, { sub: 'pat', aud: defaultServerResource(server), roles, clientId, now }),
        )
      return tokens.get(k)!
    }
    let allowed = 0
    await fc.assert(
      fc.asyncProperty(request, async ({ server, call, roles, clientId, id, sessionId }) => {
        const authorization = `Bearer ${await token(server, roles, clientId)}`
        const legacy = await service.decideMcp({
          server,
          now,
          headers: { authorization, 'mcp-protocol-version': '2025-11-25', 'mcp-session-id': sessionId },
          message: JSON.stringify({
            jsonrpc: '2.0',
            id,
            method: call.method,
            ...(call.params && { params: call.params }),
          }),
        })
        const field = NAMED[call.method]
        const named = field === undefined ? undefined : (call.params?.[field] as string)
        const modern = await service.decideMcp({
          server,
          now,
          headers: {
            authorization,
            'mcp-protocol-version': '2026-07-28',
            'mcp-method': call.method,
            ...(named !== undefined && { 'mcp-name': headerValue(named) }),
          },
          message: JSON.stringify({
            jsonrpc: '2.0',
            id,
            method: call.method,
            params: {
              ...call.params,
              _meta: { [V]: '2026-07-28', [INFO]: { name: 'agent', version: '2.0' }, [CAPS]: {} },
            },
          }),
        })
        const { decision_id: _a, ...a } = legacy
        const { decision_id: _b, ...b } = modern
        expect(b, JSON.stringify(call)).toEqual(a)
        if (a.allow) allowed++
      }),
      { numRuns: 250 },
    )
    // The generator reaches both verdicts, so the property says something about each.
    expect(allowed).toBeGreaterThan(20)
    expect(allowed).toBeLessThan(230)
  }, 180_000)
})
