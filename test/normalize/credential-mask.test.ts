import { describe, expect, it } from 'vitest'
import { McpPolicyError, RequestNormalizer } from '../../src/index.js'
import {
  credentialPointers,
  isCredentialName,
  maskCredentialText,
  maskCredentialTree,
  maskCredentialUrl,
  REDACTED,
} from '../../src/normalize/credential-mask.js'
import { presentedCredentials } from '../../src/normalize/http-envelope.js'

// Issue #15 class 3: credentials in request metadata (query strings, `_meta`, header-derived
// fields, attributes) are masked by the normalizer, before the input document exists.

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const JWT = `${b64({ alg: 'ES256', typ: 'at+jwt', kid: 'k1' })}.${b64({ sub: 'alice', aud: 'x' })}.${Buffer.from('a-signature-of-sixty-four-bytes-more-or-less-0123456789abcdef').toString('base64url')}`
const SIGNATURE = JWT.split('.')[2]!

describe('the credential name rule', () => {
  it.each([
    'access_token',
    'token',
    'id_token',
    'refresh_token',
    'code',
    'client_secret',
    'api_key',
    'apikey',
    'apiKey',
    'APIKey',
    'key',
    'password',
    'Passwd',
    'secret',
    'signature',
    'sig',
    'X-Amz-Signature',
    'auth',
    'Authorization',
    'Proxy-Authorization',
    'authToken',
    'basic_auth',
    'X-Api-Key',
    'Cookie',
    'set-cookie',
    'jsessionid',
    'PHPSESSID',
    'session_token',
    'private_key',
    'client_assertion',
    'code_verifier',
    'ticket',
    'ACCESS-TOKEN',
    'ｔｏｋｅｎ', // fullwidth: NFKC folds it
  ])('%s names a credential', (name) => {
    expect(isCredentialName(name)).toBe(true)
  })

  it.each([
    'progressToken',
    'Mcp-Session-Id',
    'author',
    'authority',
    'max_tokens',
    'token_type',
    'error_code',
    'keyword',
    'page',
    'cursor',
    'state',
    'user-agent',
    '',
  ])('%s does not', (name) => {
    expect(isCredentialName(name)).toBe(false)
  })
})

describe('masking metadata text', () => {
  it('masks compact JWS/JWE anywhere, HTTP credentials after a scheme, credential name=value pairs', () => {
    expect(maskCredentialText(`agent/1 ${JWT} end`)).toBe(`agent/1 ${REDACTED} end`)
    expect(maskCredentialText(`x-${JWT}`)).toBe(`x-${REDACTED}`)
    expect(maskCredentialText('Bearer abcdefgh12345678')).toBe(`Bearer ${REDACTED}`)
    expect(maskCredentialText('DPoP abcdefgh12345678')).toBe(`DPoP ${REDACTED}`)
    expect(maskCredentialText(`Basic ${Buffer.from('user:pass').toString('base64')}`)).toBe(
      `Basic ${REDACTED}`,
    )
    expect(maskCredentialText('tool token=abc; other=1')).toBe(`tool token=${REDACTED}; other=1`)
    // A JWE (five segments) and a header with whitespace (`{ "alg"` encodes as `ey…`/`ew…`).
    const jwe = `${b64({ alg: 'RSA-OAEP', enc: 'A256GCM' })}.a2V5.aXY.Y2lwaGVy.dGFn`
    expect(maskCredentialText(jwe)).toBe(REDACTED)
    const spaced = `${Buffer.from('{\n "alg": "none"}').toString('base64url')}.${b64({ sub: 'a' })}.`
    expect(maskCredentialText(spaced)).toBe(REDACTED)
  })

  it('leaves ordinary text alone, and is idempotent', () => {
    for (const text of [
      'claude-desktop/1.0 (linux)',
      'basic settings',
      'no bearer token',
      'eyeglasses.are.nice',
      'a.b.c',
      'v1.2.3',
      '550e8400-e29b-41d4-a716-446655440000',
    ])
      expect(maskCredentialText(text)).toBe(text)
    const once = maskCredentialText(`Bearer ${JWT} token=abc ${JWT}`)
    expect(maskCredentialText(once)).toBe(once)
  })

  it('masks what the request presented in a header wherever it appears', () => {
    const known = presentedCredentials({
      authorization: 'Bearer opaque-credential-0123',
      cookie: 'theme=dark; session=cookie-value-4567',
      'x-api-key': 'api-key-value-89ab',
      'user-agent': 'not a credential header',
      'mcp-session-id': 'session-id-is-no-credential',
    })
    expect(known).toContain('opaque-credential-0123')
    expect(known).toContain('cookie-value-4567')
    expect(known).toContain('api-key-value-89ab')
    expect(known.some((k) => k.includes('session-id-is-no-credential'))).toBe(false)
    expect(maskCredentialText('echo opaque-credential-0123 and api-key-value-89ab', known)).toBe(
      `echo ${REDACTED} and ${REDACTED}`,
    )
    expect(presentedCredentials(null)).toEqual([])
    expect(presentedCredentials({ authorization: 42, cookie: [null, 'a=short'] })).toEqual([])
  })
})

describe('masking URLs and paths', () => {
  it.each([
    [`/mcp/github?access_token=${JWT}`, `/mcp/github?access_token=${REDACTED}`],
    ['/x?page=2&api_key=k1&q=ok', `/x?page=2&api_key=${REDACTED}&q=ok`],
    ['/x?access%5Ftoken=abc', `/x?access%5Ftoken=${REDACTED}`],
    [`/x?note=${JWT}`, `/x?note=${REDACTED}`],
    [`/x?note=Bearer%20abcdefgh12345678`, `/x?note=${REDACTED}`],
    [`/x?${JWT}`, `/x?${REDACTED}`],
    ['/x?redirect=https%3A%2F%2Fa%2Fcb%3Ftoken%3Dabc&z=1', `/x?redirect=${REDACTED}&z=1`],
    ['/x?a=1;sig=abc', `/x?a=1;sig=${REDACTED}`],
    [
      '/cb#access_token=abc&token_type=bearer&state=s',
      `/cb#access_token=${REDACTED}&token_type=bearer&state=s`,
    ],
    ['/app;jsessionid=ABC123/x', `/app;jsessionid=${REDACTED}/x`],
    [`/files/${JWT}/raw`, `/files/${REDACTED}/raw`],
    [`/files/${JWT.replaceAll('.', '%2E')}`, `/files/${REDACTED}`],
    ['https://user:hunter2@db.example.com/x', `https://user:${REDACTED}@db.example.com/x`],
    ['/x?token=', '/x?token='],
    ['/mcp/github', '/mcp/github'],
    ['/x?page=2&q=a+b', '/x?page=2&q=a+b'],
  ])('%s → %s', (url, masked) => {
    expect(maskCredentialUrl(url)).toBe(masked)
    expect(maskCredentialUrl(masked)).toBe(masked)
  })

  it('never changes which host a URL parser sees (an ambiguous authority is left as sent)', () => {
    for (const url of [
      'https://api.github.com\\@evil.com/?a=b',
      'https://en.wikipedia.org\\x@169.254.169.254/latest/meta-data',
      'https://user:pw@host.example/p?q=1',
    ]) {
      const before = new URL(url).hostname
      expect(new URL(maskCredentialUrl(url)).hostname).toBe(before)
    }
  })
})

describe('masking trees and pointers for caller-built inputs', () => {
  it('masks credential-named members at any depth and credential values under any name', () => {
    const tree = {
      authorization: `Bearer ${JWT}`,
      progressToken: 7,
      nested: { deep: [{ api_key: 'k-123456789' }, { note: JWT, enabled: true }] },
      auth: { scheme: 'custom', value: 'opaque' },
      token: null,
      [`Bearer ${JWT}`]: 1,
    }
    const masked = maskCredentialTree(structuredClone(tree))
    expect(masked).toEqual({
      authorization: REDACTED,
      progressToken: 7,
      nested: { deep: [{ api_key: REDACTED }, { note: REDACTED, enabled: true }] },
      auth: REDACTED,
      token: null,
      // The key held a credential (renamed), and names one too (its value goes).
      [`Bearer ${REDACTED}`]: REDACTED,
    })
  })

  it('names what the log must erase from an input the caller built, never ending at an array index', () => {
    const input = {
      attributes: {
        request: {
          http: { headers: { authorization: `Bearer ${JWT}`, 'x-trace': 'abc' }, path: `/x?token=${JWT}` },
        },
      },
      list: ['plain', `Bearer ${JWT}`],
      objects: [{ ok: 1 }, { secret: 'hunter2' }],
      masked: { token: REDACTED },
    }
    expect(credentialPointers(input).sort()).toEqual([
      '/attributes/request/http/headers/authorization',
      '/attributes/request/http/path',
      '/list',
      '/objects/1/secret',
    ])
  })

  it('leaves an input document v1 subject and arguments to the identity and the policy', () => {
    const doc = {
      schema: 'mcp-policy/input/v1',
      mcp: {
        method: 'tools/call',
        tool: { name: 't', arguments: { password: 'x' } },
        params: { arguments: { password: 'x' } },
      },
      subject: { token: { audience: ['a'], amr: [] }, claims: { sid: 'abc' } },
      context: { request: { user_agent: `ua ${JWT}` } },
    }
    expect(credentialPointers(doc)).toEqual(['/context/request/user_agent'])
  })
})

describe('the normalizer masks metadata before the document exists', () => {
  const normalizer = new RequestNormalizer({
    servers: { github: { resource: 'https://mcp.example.com/github' } },
    defaultServer: 'github',
  })
  const call = (extra: Record<string, unknown> = {}) =>
    JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'get_issue', arguments: { number: 1 }, ...extra },
    })

  it('query string, _meta at any depth, header-derived fields, attributes, resource URIs', async () => {
    const doc = await normalizer.normalize({
      message: call({
        _meta: {
          authorization: `Bearer ${JWT}`,
          progressToken: 'p-1',
          nested: { deeper: { api_key: 'meta-key-123456' } },
        },
        arguments: { number: 1, options: { _meta: { cookie: 'sid=abcdefgh' } } },
      }),
      path: `/mcp/github?access_token=${JWT}&page=2`,
      headers: {
        'user-agent': `agent/1 Bearer ${JWT}`,
        'x-request-id': JWT,
        'mcp-session-id': `s-${JWT}`,
        'x-api-key': 'presented-api-key-0001',
        'mcp-protocol-version': '2025-11-25',
      },
      attributes: {
        upstream: { headers: { authorization: 'Basic dXNlcjpwYXNz', echo: 'presented-api-key-0001' } },
      },
    })
    const text = JSON.stringify(doc)
    expect(text).not.toContain(SIGNATURE)
    expect(text).not.toContain('meta-key-123456')
    expect(text).not.toContain('sid=abcdefgh')
    expect(text).not.toContain('presented-api-key-0001')
    expect(text).not.toContain('dXNlcjpwYXNz')
    expect(doc.context.request.path).toBe(`/mcp/github?access_token=${REDACTED}&page=2`)
    expect(doc.context.request.user_agent).toBe(`agent/1 Bearer ${REDACTED}`)
    expect(doc.context.request.id).toBe(REDACTED)
    expect(doc.mcp.session_id).toBe(`s-${REDACTED}`)
    expect(doc.mcp.params?._meta).toEqual({
      authorization: REDACTED,
      progressToken: 'p-1',
      nested: { deeper: { api_key: REDACTED } },
    })
    expect(doc.mcp.tool?.arguments).toEqual({ number: 1, options: { _meta: { cookie: REDACTED } } })
    expect(doc.context.attributes).toEqual({
      upstream: { headers: { authorization: REDACTED, echo: REDACTED } },
    })
    // The document is clean: the log scan of caller-built inputs finds nothing left in it.
    expect(credentialPointers(doc)).toEqual([])

    const resource = await normalizer.normalize({
      message: JSON.stringify({
        jsonrpc: '2.0',
        id: 2,
        method: 'resources/read',
        params: { uri: `https://docs.example.com/a/b?sig=${SIGNATURE}&v=1` },
      }),
    })
    expect(resource.mcp.resource).toEqual({
      uri: `https://docs.example.com/a/b?sig=${REDACTED}&v=1`,
      scheme: 'https',
      host: 'docs.example.com',
      path: '/a/b',
    })
    expect(JSON.stringify(resource)).not.toContain(SIGNATURE)
  })

  it('masks a `_meta` spelled with escapes, and messages handed over as objects or bytes', async () => {
    const escaped = call().replace('"arguments"', `"\\u005fmeta":{"token":"escaped-secret-1234"},"arguments"`)
    for (const message of [escaped, new TextEncoder().encode(escaped), JSON.parse(escaped)]) {
      const doc = await normalizer.normalize({ message })
      expect(doc.mcp.params?._meta).toEqual({ token: REDACTED })
    }
  })

  it('an unknown-server refusal does not quote the credential in the path', async () => {
    const strict = new RequestNormalizer({
      routes: [{ pathPrefix: '/github/', server: 'github', resource: 'r' }],
    })
    const err = await strict
      .normalize({ message: call(), path: `/other?access_token=${JWT}` })
      .catch((e) => e)
    expect(err).toBeInstanceOf(McpPolicyError)
    expect(err.code).toBe('ERR_NORMALIZE_SERVER_UNKNOWN')
    expect(err.message).not.toContain(SIGNATURE)
  })

  it('a body that is not JSON is refused without quoting it', async () => {
    const err = await normalizer.normalize({ message: `{"a": ${JWT}}` }).catch((e) => e)
    expect(err.code).toBe('ERR_NORMALIZE_JSON_INVALID')
    expect(err.message).not.toContain(JWT.slice(0, 10))
  })
})

describe('a lone surrogate is a normalize error, not an engine trap (issue #15, also)', () => {
  const normalizer = new RequestNormalizer({
    servers: { github: { resource: 'https://mcp.example.com/github' } },
    defaultServer: 'github',
  })
  const refused = async (envelope: Parameters<RequestNormalizer['normalize']>[0]) =>
    (await normalizer.normalize(envelope).then(
      () => undefined,
      (e: unknown) => e,
    )) as McpPolicyError | undefined

  it.each([
    [
      'an escaped high surrogate in an argument',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"q":"\\ud800"}}}',
    ],
    [
      'an escaped low surrogate in a key',
      '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"\\uDC00":1}}}',
    ],
    ['reversed pair', '{"jsonrpc":"2.0","id":1,"method":"ping","params":{"_meta":{"x":"\\ude00\\ud83d"}}}'],
    ['in the method', '{"jsonrpc":"2.0","id":1,"method":"tools/\\ud800"}'],
  ])('%s: ERR_NORMALIZE_JSON_INVALID', async (_, body) => {
    expect((await refused({ message: body }))?.code).toBe('ERR_NORMALIZE_JSON_INVALID')
    expect((await refused({ message: new TextEncoder().encode(body) }))?.code).toBe(
      'ERR_NORMALIZE_JSON_INVALID',
    )
    expect((await refused({ message: JSON.parse(body) }))?.code).toBe('ERR_NORMALIZE_JSON_INVALID')
  })

  it('in a header, the path or the attributes (JSON a gateway sends the PDP): ERR_NORMALIZE_JSON_INVALID', async () => {
    const message = '{"jsonrpc":"2.0","id":1,"method":"ping"}'
    expect((await refused({ message, headers: { 'user-agent': 'a\ud800' } }))?.code).toBe(
      'ERR_NORMALIZE_JSON_INVALID',
    )
    expect((await refused({ message, path: '/x\udc00' }))?.code).toBe('ERR_NORMALIZE_JSON_INVALID')
    expect((await refused({ message, attributes: { a: ['\ud800'] } }))?.code).toBe(
      'ERR_NORMALIZE_JSON_INVALID',
    )
    expect((await refused({ message, headers: { 'mcp-session-id': '\ud800' } }))?.code).toBe(
      'ERR_NORMALIZE_JSON_INVALID',
    )
  })

  it('a surrogate pair (escaped or not) is ordinary text', async () => {
    for (const q of ['\\ud83d\\ude00', '😀', '\\\\ud800'])
      await expect(
        normalizer.normalize({
          message: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t","arguments":{"q":"${q}"}}}`,
        }),
      ).resolves.toMatchObject({ mcp: { method: 'tools/call' } })
  })
})
