import { createServer, request as httpRequest, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { describe, expect, it } from 'vitest'
import { type McpPolicyErrorCode, RequestNormalizer } from '../../src/index.js'
import { withDistinctMcpHeaders } from '../../src/normalize/http-envelope.js'
import { decodeHeaderValue } from '../../src/normalize/routing-headers.js'
import { readTraceContext } from '../../src/normalize/trace-context.js'
import { readSchema } from '../../src/schemas.js'

// MCP 2026-07-28 requests beside earlier ones: the `_meta` envelope, the routing headers, trace
// context, unknown revisions, a session id on a stateless request, hostile `_meta`.

const validateInput = new Ajv2020({ strict: true, allowUnionTypes: true }).compile(readSchema('input'))
const normalizer = new RequestNormalizer({ servers: { jira: { resource: 'https://mcp.example.com/jira' } } })
const V = 'io.modelcontextprotocol/protocolVersion'
const INFO = 'io.modelcontextprotocol/clientInfo'
const CAPS = 'io.modelcontextprotocol/clientCapabilities'
const TRACE = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

const envelope = (extra: Record<string, unknown> = {}) => ({
  [V]: '2026-07-28',
  [INFO]: { name: 'agent', version: '2.0', title: 'Agent' },
  [CAPS]: { elicitation: {} },
  ...extra,
})
const rpc = (method: string, params?: Record<string, unknown>, id: number | null = 7) =>
  JSON.stringify({
    jsonrpc: '2.0',
    ...(id === null ? {} : { id }),
    method,
    ...(params === undefined ? {} : { params }),
  })
const call = (name: string, meta: Record<string, unknown> = envelope()) =>
  rpc('tools/call', { name, arguments: { q: 1 }, _meta: meta })
const modernHeaders = (method: string, name?: string) => ({
  'mcp-protocol-version': '2026-07-28',
  'mcp-method': method,
  ...(name === undefined ? {} : { 'mcp-name': name }),
})

async function normalize(message: unknown, headers: Record<string, string | string[]> = {}, extra = {}) {
  const document = await normalizer.normalize({ message, headers, server: 'jira', ...extra })
  expect(validateInput(document), JSON.stringify(validateInput.errors)).toBe(true)
  return document
}

async function rejects(promise: Promise<unknown>, code: McpPolicyErrorCode, message?: RegExp) {
  await expect(promise).rejects.toMatchObject({ name: 'McpPolicyError', code })
  if (message) await expect(promise).rejects.toThrow(message)
}

describe('2026-07-28 requests: the _meta envelope into input document v1', () => {
  it('a tools/call with no initialize before it: revision, client info, capabilities, trace', async () => {
    const doc = await normalize(
      call('search', envelope({ traceparent: TRACE, tracestate: 'congo=t61rcWkgMzE' })),
      {
        ...modernHeaders('tools/call', 'search'),
      },
    )
    expect(doc.mcp).toMatchObject({
      kind: 'request',
      method: 'tools/call',
      protocol_version: '2026-07-28',
      client_info: { name: 'agent', version: '2.0', title: 'Agent' },
      client_capabilities: { elicitation: {} },
      tool: { name: 'search', arguments: { q: 1 } },
    })
    expect(doc.mcp.session_id).toBeUndefined()
    expect(doc.context.trace).toEqual({
      trace_id: '4bf92f3577b34da6a3ce929d0e0e4736',
      parent_id: '00f067aa0ba902b7',
      sampled: true,
      tracestate: 'congo=t61rcWkgMzE',
      source: 'meta',
    })
    expect(doc.context.trace_id).toBe('4bf92f3577b34da6a3ce929d0e0e4736')
    // The envelope is lifted out of params (the rest of _meta stays): the params read as the
    // earlier revision's do, and the log keeps one copy.
    expect(doc.mcp.params).toEqual({
      name: 'search',
      arguments: { q: 1 },
      _meta: { traceparent: TRACE, tracestate: 'congo=t61rcWkgMzE' },
    })
  })

  it('lifting the envelope leaves the message as sent, and a masked resource URI masked', async () => {
    const secret = 'sk_live_0123456789abcdef'
    const message = {
      jsonrpc: '2.0',
      id: 1,
      method: 'resources/read',
      params: { uri: `https://x.example/doc?api_key=${secret}`, _meta: envelope() },
    }
    const text = JSON.stringify(message)
    const { input, message: parsed } = await normalizer.normalizeMessage({ message: text, server: 'jira' })
    expect(input.mcp.params).toEqual({ uri: expect.not.stringContaining(secret) })
    expect(input.mcp.resource?.uri).not.toContain(secret)
    expect((parsed.params as { _meta: Record<string, unknown> })._meta[V]).toBe('2026-07-28')
  })

  it('the envelope alone, without any header (stdio, or a PDP caller that passes none)', async () => {
    const doc = await normalize(call('search'))
    expect(doc.mcp.protocol_version).toBe('2026-07-28')
  })

  it('the traceparent header wins over the _meta one; an invalid one is ignored', async () => {
    const other = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00'
    const doc = await normalize(call('search', envelope({ traceparent: TRACE })), { traceparent: other })
    expect(doc.context.trace).toMatchObject({
      trace_id: '0af7651916cd43dd8448eb211c80319c',
      source: 'header',
      sampled: false,
    })
    const bad = await normalize(call('search', envelope({ traceparent: 42 })), { traceparent: 'nope' })
    expect(bad.context.trace).toBeUndefined()
    expect(bad.context.trace_id).toBeUndefined()
  })

  it.each([
    ['all-zero trace id', '00-00000000000000000000000000000000-00f067aa0ba902b7-01'],
    ['all-zero parent id', '00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01'],
    ['version ff', 'ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
    ['extra field on version 00', `${TRACE}-x`],
    ['short', '00-4bf92f-00f067aa0ba902b7-01'],
  ])('W3C traceparent rules: %s is ignored', (_name, value) => {
    expect(readTraceContext(value, undefined, 'header')).toBeUndefined()
  })

  it('a later traceparent version may carry more fields; a bad tracestate is dropped alone', () => {
    expect(
      readTraceContext(`01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-future`, 'a=1,b=2', 'meta'),
    ).toMatchObject({
      tracestate: 'a=1,b=2',
    })
    const dropped = readTraceContext(TRACE, 'not a list member', 'header')
    expect(dropped).toBeDefined()
    expect(dropped!.tracestate).toBeUndefined()
    expect(
      readTraceContext(TRACE, Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(','), 'header')!
        .tracestate,
    ).toBeUndefined()
  })

  it('initialize of earlier revisions fills the same fields', async () => {
    const doc = await normalize(
      rpc('initialize', {
        protocolVersion: '2025-11-25',
        capabilities: { roots: { listChanged: true } },
        clientInfo: { name: 'claude', version: '1', title: 7 },
      }),
    )
    expect(doc.mcp).toMatchObject({
      protocol_version: '2025-11-25',
      client_info: { name: 'claude', version: '1' },
      client_capabilities: { roots: { listChanged: true } },
    })
    // initialize's clientInfo is read leniently, as before: a member of another type is left out.
    expect(doc.mcp.client_info).not.toHaveProperty('title')
  })

  it('the _meta claim names the revision over the MCP-Protocol-Version header when both agree, and over initialize', async () => {
    const doc = await normalize(rpc('initialize', { protocolVersion: '2025-06-18', _meta: envelope() }))
    expect(doc.mcp.protocol_version).toBe('2026-07-28')
    expect(doc.mcp.client_info).toEqual({ name: 'agent', version: '2.0', title: 'Agent' })
  })

  it('a claim naming an earlier revision is that revision (a session id is fine there)', async () => {
    const doc = await normalize(call('search', { [V]: '2025-11-25' }), { 'mcp-session-id': 's-1' })
    expect(doc.mcp).toMatchObject({ protocol_version: '2025-11-25', session_id: 's-1' })
  })

  it.each(['2027-03-01', 'DRAFT-2026-v2', '2026-07-28-preview'])(
    'an unknown revision %s is normalized by the same rules, and recorded',
    async (version) => {
      const doc = await normalize(call('search', envelope({ [V]: version })), {
        'mcp-protocol-version': version,
        'mcp-method': 'tools/call',
        'mcp-name': 'search',
      })
      expect(doc.mcp).toMatchObject({ protocol_version: version, tool: { name: 'search' } })
    },
  )

  it('notifications carry the envelope too', async () => {
    const doc = await normalize(rpc('notifications/cancelled', { requestId: 3, _meta: envelope() }, null), {
      'mcp-method': 'notifications/cancelled',
    })
    expect(doc.mcp).toMatchObject({ kind: 'notification', protocol_version: '2026-07-28' })
  })

  it('credentials in _meta are masked before client info is read from it', async () => {
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhIn0.c2lnbmF0dXJlc2lnbmF0dXJl'
    const doc = await normalize(call('search', envelope({ [INFO]: { name: jwt, version: '1' } })))
    expect(JSON.stringify(doc)).not.toContain(jwt)
    expect(doc.mcp.client_info?.name).toBe('[REDACTED]')
  })
})

describe('routing headers must agree with the body', () => {
  it.each([
    ['tools/call', { name: 'search', arguments: {} }, 'search'],
    ['prompts/get', { name: 'summarize' }, 'summarize'],
    ['resources/read', { uri: 'file:///srv/a b.txt' }, 'file:///srv/a b.txt'],
    ['resources/subscribe', { uri: 'docs://x' }, 'docs://x'],
    ['tasks/get', { taskId: 't-1' }, 't-1'],
  ])('%s: an agreeing Mcp-Name passes', async (method, params, name) => {
    await normalize(rpc(method, params), { 'mcp-method': method, 'mcp-name': name })
  })

  it('a Base64 Mcp-Name is decoded (non-ASCII names), tolerating surrounding whitespace', async () => {
    const name = 'tööl_ünïcode'
    const encoded = `=?base64?${Buffer.from(name, 'utf8').toString('base64')}?=`
    await normalize(rpc('tools/call', { name }), { 'mcp-method': 'tools/call', 'mcp-name': ` ${encoded}\t` })
    expect(decodeHeaderValue(encoded)).toBe(name)
    // A literal value that merely looks like the prefix is compared as it is.
    expect(decodeHeaderValue('=?base64?')).toBe('=?base64?')
  })

  const mismatches: [string, string, Record<string, string>, RegExp][] = [
    [
      'Mcp-Method names another method',
      rpc('tools/call', { name: 'delete' }),
      { 'mcp-method': 'tools/list' },
      /Mcp-Method/,
    ],
    [
      'Mcp-Method differs only in case',
      rpc('tools/call', { name: 'x' }),
      { 'mcp-method': 'Tools/Call' },
      /Mcp-Method/,
    ],
    [
      'Mcp-Name names another tool',
      rpc('tools/call', { name: 'delete_repository' }),
      { 'mcp-method': 'tools/call', 'mcp-name': 'get_issue' },
      /another tool/,
    ],
    [
      'Mcp-Name without Mcp-Method still checked',
      rpc('tools/call', { name: 'delete_repository' }),
      { 'mcp-name': 'get_issue' },
      /another tool/,
    ],
    [
      'Mcp-Name names another resource',
      rpc('resources/read', { uri: 'file:///etc/shadow' }),
      { 'mcp-name': 'file:///srv/readme' },
      /another resource/,
    ],
    [
      'Mcp-Name names another prompt',
      rpc('prompts/get', { name: 'b' }),
      { 'mcp-name': 'a' },
      /another prompt/,
    ],
    [
      'Mcp-Name names another task',
      rpc('tasks/cancel', { taskId: 'b' }),
      { 'mcp-name': 'a' },
      /another task/,
    ],
    ['Mcp-Name on a method naming nothing', rpc('tools/list'), { 'mcp-name': 'x' }, /names no tool/],
    [
      'Mcp-Name where the body has no name',
      rpc('prompts/get', {}),
      { 'mcp-name': 'x' },
      /carries no params.name/,
    ],
    [
      'Mcp-Name in invalid Base64',
      rpc('tools/call', { name: 'x' }),
      { 'mcp-name': '=?base64?not base64!?=' },
      /invalid/,
    ],
    [
      'Mcp-Name in Base64 that is not UTF-8',
      rpc('tools/call', { name: 'x' }),
      { 'mcp-name': `=?base64?${Buffer.from([0xff, 0xfe]).toString('base64')}?=` },
      /invalid/,
    ],
    [
      'Mcp-Name Base64 of another name',
      rpc('tools/call', { name: 'delete' }),
      { 'mcp-name': `=?base64?${Buffer.from('search').toString('base64')}?=` },
      /another tool/,
    ],
    [
      'Mcp-Method on a response',
      JSON.stringify({ jsonrpc: '2.0', id: 3, result: {} }),
      { 'mcp-method': 'tools/call' },
      /response/,
    ],
    [
      'MCP-Protocol-Version against the _meta claim',
      call('search'),
      { 'mcp-protocol-version': '2025-11-25' },
      /MCP-Protocol-Version/,
    ],
  ]
  it.each(mismatches)('%s is ERR_NORMALIZE_MCP_HEADER_MISMATCH', async (_name, message, headers, text) => {
    await rejects(
      normalizer.normalize({ message, headers, server: 'jira' }),
      'ERR_NORMALIZE_MCP_HEADER_MISMATCH',
      text,
    )
  })

  it('a mismatch message never quotes either value (a resource URI may hold a credential)', async () => {
    const secret = 'sk_live_0123456789abcdef'
    const promise = normalizer.normalize({
      message: rpc('resources/read', { uri: `https://x.example/?key=${secret}` }),
      headers: { 'mcp-name': `https://x.example/?key=${secret}-other` },
      server: 'jira',
    })
    await rejects(promise, 'ERR_NORMALIZE_MCP_HEADER_MISMATCH')
    await promise.catch((err: Error) => expect(err.message).not.toContain(secret))
  })

  it('a server-to-client message is decided under the client headers without being held to them', async () => {
    const doc = await normalize(
      rpc('sampling/createMessage', { messages: [] }),
      modernHeaders('tools/call', 'search'),
      {
        direction: 'server_to_client',
      },
    )
    expect(doc.mcp.direction).toBe('server_to_client')
  })
})

describe('headers sent twice', () => {
  it.each(['mcp-method', 'mcp-name', 'mcp-protocol-version', 'mcp-session-id'])(
    '%s twice is ERR_NORMALIZE_MCP_HEADER_DUPLICATE, even with equal values',
    async (name) => {
      await rejects(
        normalizer.normalize({
          message: rpc('tools/call', { name: 'x' }),
          headers: { [name]: ['x', 'x'] },
          server: 'jira',
        }),
        'ERR_NORMALIZE_MCP_HEADER_DUPLICATE',
      )
    },
  )

  it('two spellings of one header are one header sent twice', async () => {
    await rejects(
      normalizer.normalize({
        message: rpc('tools/call', { name: 'x' }),
        headers: { 'Mcp-Method': 'tools/call', 'mcp-method': 'tools/call' },
        server: 'jira',
      }),
      'ERR_NORMALIZE_MCP_HEADER_DUPLICATE',
    )
  })

  it('as node:http hands them over: joined in req.headers, apart in req.headersDistinct', async () => {
    let seen: IncomingMessage | undefined
    const server = createServer((req, res) => {
      seen = req
      res.end()
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    try {
      const { port } = server.address() as AddressInfo
      await new Promise<void>((resolve, reject) => {
        const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/mcp' }, (res) => {
          res.resume()
          res.on('end', resolve)
        })
        req.on('error', reject)
        // Raw header lines, as a client (or an attacker) sends them.
        req.setHeader('Mcp-Method', ['tools/call', 'tools/list'])
        req.setHeader('Mcp-Name', 'a, b')
        req.end()
      })
      const req = seen!
      // Node joins the copies: read alone, they would look like one value that disagrees.
      expect(req.headers['mcp-method']).toBe('tools/call, tools/list')
      const headers = withDistinctMcpHeaders(req.headers, req.headersDistinct)
      expect(headers['mcp-method']).toEqual(['tools/call', 'tools/list'])
      // One header whose value holds a comma is one header.
      expect(headers['mcp-name']).toBe('a, b')
      await rejects(
        normalizer.normalize({ message: rpc('tools/call', { name: 'x' }), headers, server: 'jira' }),
        'ERR_NORMALIZE_MCP_HEADER_DUPLICATE',
      )
      // Without a copy the bag is handed back as it is.
      const single = { 'mcp-method': 'tools/call' }
      expect(withDistinctMcpHeaders(single, { 'mcp-method': ['tools/call'] })).toBe(single)
    } finally {
      server.close()
    }
  })
})

describe('a session id on a stateless request', () => {
  it('is refused (ERR_NORMALIZE_SESSION_UNEXPECTED), by the _meta claim or the header', async () => {
    await rejects(
      normalizer.normalize({
        message: call('search'),
        headers: { ...modernHeaders('tools/call', 'search'), 'mcp-session-id': 'old-session' },
        server: 'jira',
      }),
      'ERR_NORMALIZE_SESSION_UNEXPECTED',
    )
    await rejects(
      normalizer.normalize({
        message: rpc('ping'),
        headers: { 'mcp-protocol-version': '2027-01-01', 'mcp-session-id': 'old-session' },
        server: 'jira',
      }),
      'ERR_NORMALIZE_SESSION_UNEXPECTED',
    )
  })

  it('in earlier revisions it is the session, as before', async () => {
    const doc = await normalize(rpc('ping'), {
      'mcp-protocol-version': '2025-11-25',
      'mcp-session-id': 's-1',
    })
    expect(doc.mcp.session_id).toBe('s-1')
  })
})

describe('hostile _meta', () => {
  it.each([
    ['a string', 'x'],
    ['an array', [1, 2]],
    ['null', null],
  ])('_meta %s is refused by the SDK message schema (ERR_NORMALIZE_MESSAGE_INVALID)', async (_name, meta) => {
    await rejects(
      normalizer.normalize({
        message: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } }),
        server: 'jira',
      }),
      'ERR_NORMALIZE_MESSAGE_INVALID',
    )
  })

  const hostile: [string, unknown][] = [
    ['protocol version a number', { [V]: 20260728 }],
    ['protocol version an object', { [V]: { toString: '2026-07-28' } }],
    ['protocol version an array', { [V]: ['2026-07-28'] }],
    ['protocol version empty', { [V]: '' }],
    ['protocol version with a space', { [V]: '2026-07-28 extra' }],
    ['protocol version with a newline', { [V]: '2026-07-28\n' }],
    ['protocol version of 65 characters', { [V]: '2'.repeat(65) }],
    ['protocol version non-ASCII', { [V]: '２０２６-07-28' }],
    ['client info a string', { [V]: '2026-07-28', [INFO]: 'agent/2.0' }],
    ['client info null', { [V]: '2026-07-28', [INFO]: null }],
    ['client info name a number', { [V]: '2026-07-28', [INFO]: { name: 1, version: '1' } }],
    ['client info version an object', { [V]: '2026-07-28', [INFO]: { name: 'a', version: {} } }],
    ['capabilities an array', { [V]: '2026-07-28', [CAPS]: ['sampling'] }],
    ['capabilities a string', { [V]: '2026-07-28', [CAPS]: 'all' }],
  ]
  it.each(hostile)('%s is ERR_NORMALIZE_META_INVALID', async (_name, meta) => {
    await rejects(
      normalizer.normalize({
        message: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } }),
        server: 'jira',
      }),
      'ERR_NORMALIZE_META_INVALID',
    )
  })

  it('deeply nested capabilities are ERR_NORMALIZE_TOO_DEEP, huge ones ERR_NORMALIZE_TOO_LARGE', async () => {
    let deep: unknown = {}
    for (let i = 0; i < 100; i++) deep = { x: deep }
    await rejects(
      normalizer.normalize({ message: call('search', envelope({ [CAPS]: deep })), server: 'jira' }),
      'ERR_NORMALIZE_TOO_DEEP',
    )
    const huge = { experimental: { blob: 'a'.repeat(300 * 1024) } }
    await rejects(
      normalizer.normalize({ message: call('search', envelope({ [CAPS]: huge })), server: 'jira' }),
      'ERR_NORMALIZE_TOO_LARGE',
    )
    // An already-parsed message is bounded the same way.
    await rejects(
      normalizer.normalize({
        message: {
          jsonrpc: '2.0',
          id: 1,
          method: 'tools/list',
          params: { _meta: envelope({ [CAPS]: deep }) },
        },
        server: 'jira',
      }),
      'ERR_NORMALIZE_TOO_DEEP',
    )
  })

  it('an inherited member is not a claim: only own _meta members are read', async () => {
    const meta = Object.create({ [V]: '2099-01-01' }) as Record<string, unknown>
    const doc = await normalize({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: { _meta: meta } })
    expect(doc.mcp.protocol_version).toBeUndefined()
  })
})
