import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'
import { type McpPolicyErrorCode, RequestNormalizer } from '../../src/index.js'
import { readSchema } from '../../src/schemas.js'

const validateInput = new Ajv2020({ strict: true, allowUnionTypes: true }).compile(readSchema('input'))
const config = {
  routes: [
    { pathPrefix: '/github/', server: 'github', resource: 'https://mcp.example.com/github' },
    {
      host: 'files.example.com',
      pathPrefix: '/',
      server: 'filesystem',
      resource: 'https://files.example.com/',
    },
  ],
  servers: { jira: { resource: 'https://mcp.example.com/jira' } },
  environment: 'prod',
}
const normalizer = new RequestNormalizer(config)
// id null = a notification (no id member).
const rpc = (method: string, params?: unknown, id: number | string | null = 7) =>
  JSON.stringify({
    jsonrpc: '2.0',
    ...(id === null ? {} : { id }),
    method,
    ...(params === undefined ? {} : { params }),
  })
const now = new Date('2025-11-24T13:05:09.000Z')

async function normalize(
  message: unknown,
  headers: Record<string, string | string[]> = {},
  extra: object = {},
) {
  const document = await normalizer.normalize({ message, headers, server: 'jira', now, ...extra })
  expect(validateInput(document)).toBe(true)
  return document
}

async function rejects(promise: Promise<unknown>, code: McpPolicyErrorCode) {
  await expect(promise).rejects.toMatchObject({ name: 'McpPolicyError', code })
}

describe('normalizeRequest: MCP messages → input document v1', () => {
  it('tools/call with the HTTP envelope', async () => {
    const doc = await normalizer.normalize({
      message: rpc('tools/call', { name: 'create_issue', arguments: { repo: 'payments', labels: ['bug'] } }),
      headers: {
        'MCP-Protocol-Version': '2025-11-25',
        'Mcp-Session-Id': 'sess-1',
        'User-Agent': 'agent/1.0',
        'X-Forwarded-For': '203.0.113.9, 10.0.0.1',
        'X-Forwarded-Host': 'mcp.example.com:443',
        'X-Forwarded-Uri': '/github/mcp?x=1',
        'X-Request-Id': 'req-1',
        traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      },
      now,
    })
    expect(validateInput(doc)).toBe(true)
    expect(doc).toEqual({
      schema: 'mcp-policy/input/v1',
      mcp: {
        kind: 'request',
        method: 'tools/call',
        id: 7,
        protocol_version: '2025-11-25',
        session_id: 'sess-1',
        tool: { name: 'create_issue', arguments: { repo: 'payments', labels: ['bug'] } },
        params: { name: 'create_issue', arguments: { repo: 'payments', labels: ['bug'] } },
      },
      subject: expect.objectContaining({
        authenticated: false,
        reason: expect.objectContaining({ code: 'ERR_IDENTITY_TOKEN_MISSING' }),
      }),
      server: { id: 'github', resource: 'https://mcp.example.com/github' },
      context: {
        time: { ns: now.getTime() * 1e6, rfc3339: '2025-11-24T13:05:09.000Z', weekday: 'Mon', hour_utc: 13 },
        request: {
          id: 'req-1',
          source_ip: '203.0.113.9',
          user_agent: 'agent/1.0',
          host: 'mcp.example.com',
          path: '/github/mcp',
        },
        environment: 'prod',
        trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
        trace: {
          trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
          parent_id: '00f067aa0ba902b7',
          sampled: true,
          source: 'header',
        },
        attributes: {},
      },
    })
  })

  it.each([
    ['resources/read', 'file:///etc/passwd', { scheme: 'file', host: '', path: '/etc/passwd' }],
    [
      'resources/subscribe',
      'https://docs.example.com/a%2e%2e/secret?q=1',
      { scheme: 'https', host: 'docs.example.com', path: '/a../secret' },
    ],
    [
      'resources/unsubscribe',
      'postgres://db/sales/orders',
      { scheme: 'postgres', host: 'db', path: '/sales/orders' },
    ],
    ['resources/read', 'not a uri', {}],
  ])('%s parses the resource URI %s', async (method, uri, parts) => {
    const doc = await normalize(rpc(method, { uri }))
    expect(doc.mcp.resource).toEqual({ uri, ...parts })
  })

  it('prompts/get', async () => {
    const doc = await normalize(rpc('prompts/get', { name: 'summarize', arguments: { style: 'short' } }))
    expect(doc.mcp.prompt).toEqual({ name: 'summarize', arguments: { style: 'short' } })
  })

  it('initialize: protocol version from params unless the header names one', async () => {
    const init = rpc('initialize', {
      protocolVersion: '2025-06-18',
      capabilities: {},
      clientInfo: { name: 'claude', version: '1' },
    })
    expect((await normalize(init)).mcp).toMatchObject({
      protocol_version: '2025-06-18',
      client_info: { name: 'claude', version: '1' },
    })
    expect((await normalize(init, { 'mcp-protocol-version': '2025-11-25' })).mcp.protocol_version).toBe(
      '2025-11-25',
    )
  })

  it('notifications have no id; responses have no method', async () => {
    expect((await normalize(rpc('notifications/initialized', undefined, null))).mcp).toEqual({
      kind: 'notification',
      method: 'notifications/initialized',
    })
    const result = await normalize(JSON.stringify({ jsonrpc: '2.0', id: 'a', result: { tools: [] } }))
    expect(result.mcp).toEqual({ kind: 'response', id: 'a' })
    const error = await normalize(
      JSON.stringify({ jsonrpc: '2.0', id: 3, error: { code: -32601, message: 'nope' } }),
    )
    expect(error.mcp).toEqual({ kind: 'response', id: 3, error: { code: -32601, message: 'nope' } })
  })

  // Every method of MCP revisions 2024-11-05 … 2025-11-25, plus one from the future.
  it.each([
    [
      'initialize',
      { protocolVersion: '2024-11-05', capabilities: {}, clientInfo: { name: 'c', version: '1' } },
    ],
    ['ping', undefined],
    ['tools/list', { cursor: 'c1' }],
    ['tools/call', { name: 't' }],
    ['resources/list', undefined],
    ['resources/templates/list', undefined],
    ['resources/read', { uri: 'file:///a' }],
    ['resources/subscribe', { uri: 'file:///a' }],
    ['resources/unsubscribe', { uri: 'file:///a' }],
    ['prompts/list', undefined],
    ['prompts/get', { name: 'p' }],
    ['logging/setLevel', { level: 'info' }],
    ['completion/complete', { ref: { type: 'ref/prompt', name: 'p' }, argument: { name: 'a', value: 'b' } }],
    ['sampling/createMessage', { messages: [], maxTokens: 10 }],
    ['roots/list', undefined],
    ['elicitation/create', { message: 'm', requestedSchema: { type: 'object', properties: {} } }],
    ['tasks/get', { taskId: 't1' }],
    ['tasks/list', undefined],
    ['tasks/cancel', { taskId: 't1' }],
    ['future/method', { anything: [1, 2, 3] }],
  ])('request %s', async (method, params) => {
    const doc = await normalize(rpc(method, params))
    expect(doc.mcp).toMatchObject({ kind: 'request', method, id: 7 })
  })

  it.each([
    'notifications/initialized',
    'notifications/cancelled',
    'notifications/progress',
    'notifications/message',
    'notifications/resources/updated',
    'notifications/resources/list_changed',
    'notifications/tools/list_changed',
    'notifications/prompts/list_changed',
    'notifications/roots/list_changed',
    'notifications/elicitation/complete',
  ])('notification %s', async (method) => {
    expect((await normalize(rpc(method, {}, null))).mcp).toMatchObject({ kind: 'notification', method })
  })

  it('accepts an already-parsed message object', async () => {
    const doc = await normalize({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'x', arguments: { a: 1 } },
    })
    expect(doc.mcp.tool).toEqual({ name: 'x', arguments: { a: 1 } })
  })
})

describe('server resolution', () => {
  it('by explicit id, by host route, by longest path prefix; unknown is an error', async () => {
    const message = rpc('ping')
    expect((await normalizer.normalize({ message, server: 'jira' })).server.id).toBe('jira')
    expect((await normalizer.normalize({ message, host: 'files.example.com', path: '/x' })).server.id).toBe(
      'filesystem',
    )
    expect(
      (await normalizer.normalize({ message, host: 'mcp.example.com', path: '/github/mcp' })).server.id,
    ).toBe('github')
    await rejects(
      normalizer.normalize({ message, host: 'mcp.example.com', path: '/gitlab/mcp' }),
      'ERR_NORMALIZE_SERVER_UNKNOWN',
    )
    await rejects(normalizer.normalize({ message, server: 'nope' }), 'ERR_NORMALIZE_SERVER_UNKNOWN')
    await rejects(normalizer.normalize({ message, server: '__proto__' }), 'ERR_NORMALIZE_SERVER_UNKNOWN')
  })

  it('ignores X-Forwarded-* when the gateway is not trusted', async () => {
    const untrusting = new RequestNormalizer({ ...config, trustForwardedHeaders: false })
    const doc = await untrusting.normalize({
      message: rpc('ping'),
      headers: { 'x-forwarded-for': '1.2.3.4', 'x-forwarded-uri': '/github/x' },
      host: 'files.example.com',
      path: '/',
      sourceIp: '10.9.9.9',
    })
    expect(doc.server.id).toBe('filesystem')
    expect(doc.context.request.source_ip).toBe('10.9.9.9')
  })
})

describe('identity from the envelope', () => {
  it('no token, a non-Bearer Authorization, and a token with no issuer configured are unauthenticated with reasons', async () => {
    expect((await normalize(rpc('ping'))).subject.reason?.code).toBe('ERR_IDENTITY_TOKEN_MISSING')
    expect((await normalize(rpc('ping'), { authorization: 'Basic dXNlcjpwYXNz' })).subject.reason?.code).toBe(
      'ERR_IDENTITY_TOKEN_MALFORMED',
    )
    for (const authorization of ['Bearer a b', 'Bearer a,b', 'Bearer a\tb', 'Bearer ', 'Bearerx'])
      expect((await normalize(rpc('ping'), { authorization })).subject.reason?.code, authorization).toBe(
        'ERR_IDENTITY_TOKEN_MALFORMED',
      )
    const token = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl'
    const doc = await normalize(rpc('ping'), { Authorization: `Bearer ${token}` })
    expect(doc.subject).toMatchObject({
      authenticated: false,
      claims: {},
      reason: { code: 'ERR_IDENTITY_ISSUER_UNKNOWN' },
    })
    expect(JSON.stringify(doc)).not.toContain(token)
    expect(JSON.stringify(doc)).not.toContain('c2lnbmF0dXJl')
  })
})

describe('bad input gets a clear error, never a crash', () => {
  const cases: [string, unknown, McpPolicyErrorCode][] = [
    ['malformed JSON', '{"jsonrpc": "2.0", ', 'ERR_NORMALIZE_JSON_INVALID'],
    ['empty body', '', 'ERR_NORMALIZE_JSON_INVALID'],
    ['invalid UTF-8', new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]), 'ERR_NORMALIZE_JSON_INVALID'],
    [
      'lone surrogate',
      `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"\ud800"}}`,
      'ERR_NORMALIZE_JSON_INVALID',
    ],
    ['a string message', '"ping"', 'ERR_NORMALIZE_MESSAGE_INVALID'],
    ['null', 'null', 'ERR_NORMALIZE_MESSAGE_INVALID'],
    ['not JSON-RPC 2.0', '{"jsonrpc":"1.0","id":1,"method":"ping"}', 'ERR_NORMALIZE_MESSAGE_INVALID'],
    ['a fractional id', '{"jsonrpc":"2.0","id":1.5,"method":"ping"}', 'ERR_NORMALIZE_MESSAGE_INVALID'],
    [
      'params an array',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}',
      'ERR_NORMALIZE_MESSAGE_INVALID',
    ],
    ['tools/call without a name', rpc('tools/call', { arguments: {} }), 'ERR_NORMALIZE_MESSAGE_INVALID'],
    ['resources/read without a uri', rpc('resources/read', {}), 'ERR_NORMALIZE_MESSAGE_INVALID'],
    ['a batch', `[${rpc('ping')},${rpc('ping')}]`, 'ERR_NORMALIZE_BATCH_UNSUPPORTED'],
    [
      'deep nesting (text)',
      `{"jsonrpc":"2.0","id":1,"method":"x","params":{"a":${'['.repeat(100)}${']'.repeat(100)}}}`,
      'ERR_NORMALIZE_TOO_DEEP',
    ],
    ['very deep nesting (text)', '['.repeat(1_000_000), 'ERR_NORMALIZE_TOO_DEEP'],
    [
      'oversized body',
      rpc('tools/call', { name: 'x', arguments: { blob: 'a'.repeat(1024 * 1024) } }),
      'ERR_NORMALIZE_TOO_LARGE',
    ],
    [
      'oversized params',
      rpc('tools/call', { name: 'x', arguments: { blob: 'é'.repeat(200 * 1024) } }),
      'ERR_NORMALIZE_TOO_LARGE',
    ],
  ]
  it.each(cases)('%s', async (_name, message, code) => {
    await rejects(normalizer.normalize({ message, server: 'jira' }), code)
  })

  it('deep nesting in an already-parsed object', async () => {
    let deep: unknown = {}
    for (let i = 0; i < 200; i++) deep = { d: deep }
    await rejects(
      normalizer.normalize({ message: { jsonrpc: '2.0', id: 1, method: 'x', params: deep }, server: 'jira' }),
      'ERR_NORMALIZE_TOO_DEEP',
    )
  })

  it('too many, duplicated or huge headers', async () => {
    const many = Object.fromEntries(Array.from({ length: 101 }, (_, i) => [`x-h${i}`, 'v']))
    await rejects(
      normalizer.normalize({ message: rpc('ping'), headers: many, server: 'jira' }),
      'ERR_NORMALIZE_HEADERS_INVALID',
    )
    await rejects(
      normalizer.normalize({
        message: rpc('ping'),
        headers: { authorization: ['Bearer a', 'Bearer b'] },
        server: 'jira',
      }),
      'ERR_NORMALIZE_HEADERS_INVALID',
    )
    await rejects(
      normalizer.normalize({
        message: rpc('ping'),
        headers: { authorization: `Bearer ${'a'.repeat(20_000)}` },
        server: 'jira',
      }),
      'ERR_NORMALIZE_HEADERS_INVALID',
    )
    // The same header under two spellings is the same header sent twice.
    await rejects(
      normalizer.normalize({
        message: rpc('ping'),
        headers: { Authorization: 'Bearer a', authorization: 'Bearer b' },
        server: 'jira',
      }),
      'ERR_NORMALIZE_HEADERS_INVALID',
    )
  })

  it('repeated X-Forwarded-For headers: the first entry of the first one; trace ids in lower case', async () => {
    const doc = await normalizer.normalize({
      message: rpc('ping'),
      headers: {
        'x-forwarded-for': [' 198.51.100.7 , 10.0.0.1', '10.0.0.2'],
        traceparent: '00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-01',
      },
      server: 'jira',
    })
    expect(doc.context.request.source_ip).toBe('198.51.100.7')
    expect(doc.context.trace_id).toBe('4bf92f3577b34da6a3ce929d0e0e4736')
  })

  it('__proto__ and constructor keys stay data: no prototype pollution', async () => {
    const body =
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x","arguments":{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}}}'
    const doc = await normalize(body)
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    expect(Object.getPrototypeOf(doc.mcp.tool!.arguments)).toBe(Object.prototype)
    expect(Object.hasOwn(doc.mcp.tool!.arguments, '__proto__')).toBe(true)
    expect(JSON.parse(JSON.stringify(doc)).mcp.tool.arguments).toEqual(JSON.parse(body).params.arguments)
  })
})

describe('normalizeRequest (one-call form)', () => {
  it('normalizes with a configuration object and reuses the compiled normalizer', async () => {
    const { normalizeRequest } = await import('../../src/index.js')
    const cfg = { servers: { s: { resource: 'https://mcp.example.com/s' } }, defaultServer: 's' }
    const a = await normalizeRequest({ message: rpc('ping'), now }, cfg)
    const b = await normalizeRequest({ message: rpc('tools/list'), now }, cfg)
    expect(validateInput(a) && validateInput(b)).toBe(true)
    expect([a.mcp.method, b.mcp.method]).toEqual(['ping', 'tools/list'])
    await expect(normalizeRequest({ message: '[]' }, cfg)).rejects.toMatchObject({
      code: 'ERR_NORMALIZE_BATCH_UNSUPPORTED',
    })
  })
})
