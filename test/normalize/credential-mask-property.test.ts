import { mkdtemp, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DecisionLog, DecisionService, loadBundle, PolicyEngine, RequestNormalizer } from '../../src/index.js'
import { credentialPointers, REDACTED } from '../../src/normalize/credential-mask.js'
import { buildReferenceBundle } from '../helpers/pdp.js'

// Issue #15 class 3, generated: credential-like names and values in query strings, `_meta` (nested,
// anywhere in the params) and headers (echoed into every header-derived field). Neither the input
// document nor the decision-log line may hold any of the values; innocent neighbours are kept.

type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never

const base64url = (text: string) => Buffer.from(text).toString('base64url')

/** An opaque credential: 16 to 48 base64url characters (presented credentials count from 8). */
const opaque = fc.stringMatching(/^[A-Za-z0-9_-]{16,48}$/)

/** A compact JWS: a JOSE header (compact or pretty-printed JSON), any payload, a signature. */
const jws = fc
  .record({
    alg: fc.constantFrom('ES256', 'RS256', 'EdDSA', 'HS256', 'PS512', 'none'),
    typ: fc.option(fc.constantFrom('JWT', 'at+jwt', 'dpop+jwt'), { nil: undefined }),
    kid: fc.option(opaque, { nil: undefined }),
    pretty: fc.boolean(),
    payload: fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
    signature: fc.stringMatching(/^[A-Za-z0-9_-]{16,86}$/),
  })
  .map(({ pretty, payload, signature, ...header }) => {
    const headerJson = pretty ? JSON.stringify(header, null, 1) : JSON.stringify(header)
    return `${base64url(headerJson)}.${base64url(JSON.stringify(payload))}.${signature}`
  })

const secretValue = fc.oneof(opaque, jws)

// Credential names: the cores the rule names, in every spelling a client uses.
const CORES = [
  'access_token',
  'token',
  'id_token',
  'refresh_token',
  'client_secret',
  'api_key',
  'apikey',
  'key',
  'password',
  'passwd',
  'secret',
  'signature',
  'sig',
  'auth',
  'authorization',
  'auth_token',
  'session_token',
  'private_key',
  'cookie',
  'jsessionid',
  'client_assertion',
  'code_verifier',
  'x_api_key',
  'x_amz_signature',
  'bearer_token',
  'ticket',
]
const capitalized = (w: string) => w.charAt(0).toUpperCase() + w.slice(1)
/** The words of a credential name: a core, perhaps after a prefix. */
const credentialWords = fc
  .record({
    core: fc.constantFrom(...CORES, 'code'),
    prefix: fc.constantFrom('', 'x_', 'my_', 'upstream_', 'oauth_'),
  })
  // `code` is a credential as the whole name only (OAuth's `?code=`): `error_code` is not.
  .map(({ core, prefix }) => [
    ...(core === 'code' ? [] : prefix.split('_').filter(Boolean)),
    ...core.split('_'),
  ])
/** Header names are case-insensitive: their words are kept apart by dashes. */
const credentialHeader = credentialWords.map((words) => words.join('-'))
const credentialName = fc
  .record({
    words: credentialWords,
    style: fc.constantFrom('snake', 'kebab', 'dotted', 'upper', 'camel', 'pascal'),
  })
  .map(({ words, style }) => {
    switch (style) {
      case 'snake':
        return words.join('_')
      case 'kebab':
        return words.join('-')
      case 'dotted':
        return words.join('.')
      case 'upper':
        return words.join('_').toUpperCase()
      case 'camel':
        return words[0] + words.slice(1).map(capitalized).join('')
      default:
        return words.map(capitalized).join('')
    }
  })

const innocentName = fc.constantFrom(
  'page',
  'q',
  'limit',
  'cursor',
  'author',
  'authority',
  'max_tokens',
  'token_type',
  'state',
  'lang',
  'error_code',
  'keyword',
)
const innocentValue = fc.stringMatching(/^[a-z0-9]{1,12}$/)

/** The values that must not appear, with the signature part of every JWS as a value of its own. */
function secretsOf(values: readonly string[]): string[] {
  const all = new Set<string>()
  for (const value of values) {
    all.add(value)
    const parts = value.split('.')
    if (parts.length === 3 && parts[2]!.length >= 16) all.add(parts[2]!)
  }
  return [...all]
}

function expectNone(text: string, secrets: readonly string[]): void {
  for (const secret of secrets) expect(text.includes(secret), `leaked ${secret}`).toBe(false)
}

/** Entries placed in a query string: credential-named, and innocent-named with a credential value. */
const queryArb = fc.record({
  named: fc.array(fc.tuple(credentialName, secretValue, fc.nat(), fc.boolean()), {
    minLength: 1,
    maxLength: 4,
  }),
  byValue: fc.array(
    fc.tuple(
      innocentName,
      fc.oneof(
        jws,
        opaque.map((o) => `Bearer ${o}`),
      ),
      fc.nat(),
    ),
    {
      maxLength: 2,
    },
  ),
  innocent: fc.array(fc.tuple(innocentName, innocentValue, fc.nat()), { maxLength: 3 }),
  fragment: fc.boolean(),
})

function queryString(q: ValueOf<typeof queryArb>): { query: string; secrets: string[] } {
  const items: [number, string][] = []
  // Names sometimes percent-encoded (`access%5Ftoken`): the rule judges them decoded.
  for (const [name, value, order, encode] of q.named)
    items.push([order, `${encode ? name.replaceAll('_', '%5F') : name}=${encodeURIComponent(value)}`])
  for (const [name, value, order] of q.byValue) items.push([order, `${name}=${encodeURIComponent(value)}`])
  for (const [name, value, order] of q.innocent) items.push([order, `${name}=${value}`])
  items.sort((a, b) => a[0] - b[0])
  const secrets = [...q.named.map(([, v]) => v), ...q.byValue.map(([, v]) => v)]
  return { query: items.map(([, item]) => item).join('&'), secrets: secretsOf(secrets) }
}

/** Placements in `_meta`: under a credential name at any depth, or a credential value under any name. */
const metaPath = fc.array(fc.constantFrom('client', 'ctx', 'upstream', 'opts', '_meta'), { maxLength: 3 })
const wrap = fc.constantFrom('plain', 'array', 'object')
const metaArb = fc.record({
  placements: fc.array(
    fc.oneof(
      // Under a credential name: any value, opaque included.
      fc.record({ path: metaPath, name: credentialName, value: secretValue, secret: fc.constant(''), wrap }),
      // Under any name: a value that is a credential by its shape.
      fc
        .oneof(
          jws.map((v): [string, string] => [v, v]),
          opaque.map((o): [string, string] => [`Bearer ${o}`, o]),
        )
        .chain(([value, secret]) =>
          fc.record({
            path: metaPath,
            name: innocentName,
            value: fc.constant(value),
            secret: fc.constant(secret),
            wrap,
          }),
        ),
    ),
    { minLength: 1, maxLength: 5 },
  ),
  where: fc.constantFrom('params', 'arguments', 'nested-arguments'),
  progressToken: fc.oneof(fc.integer(), innocentValue),
  as: fc.constantFrom('text', 'bytes', 'object'),
})

function metaMessage(m: ValueOf<typeof metaArb>): { message: unknown; secrets: string[] } {
  const meta: Record<string, unknown> = { progressToken: m.progressToken }
  const secrets: string[] = []
  m.placements.forEach((placement, i) => {
    let node = meta
    for (const key of [...placement.path, `p${i}`]) {
      const next: Record<string, unknown> = {}
      node[key] = next
      node = next
    }
    const { value } = placement
    node[placement.name] =
      placement.wrap === 'array' ? [value] : placement.wrap === 'object' ? { value } : value
    secrets.push(placement.secret || value)
  })
  const args: Record<string, unknown> = { number: 1 }
  const params: Record<string, unknown> = { name: 'get_issue', arguments: args }
  if (m.where === 'params') params._meta = meta
  else if (m.where === 'arguments') args._meta = meta
  else args.options = [{ _meta: meta }]
  const message = { jsonrpc: '2.0', id: 1, method: 'tools/call', params }
  const text = JSON.stringify(message)
  return {
    message: m.as === 'text' ? text : m.as === 'bytes' ? new TextEncoder().encode(text) : message,
    secrets: secretsOf(secrets),
  }
}

/** Credential-named headers, echoed into every header-derived field and elsewhere in the metadata. */
const headersArb = fc.record({
  presented: fc.array(fc.tuple(credentialHeader, opaque), { minLength: 1, maxLength: 3 }),
  scheme: fc.constantFrom('', 'Bearer ', 'DPoP '),
  userAgentJws: jws,
})

function headerEnvelope(h: ValueOf<typeof headersArb>) {
  const headers: Record<string, string> = {}
  for (const [name, value] of h.presented) headers[name] = `${h.scheme}${value}`
  // Each name once: a later duplicate replaced an earlier one, so only the kept values are presented.
  const presented = Object.values(headers).map((v) => v.slice(h.scheme.length))
  const echo = presented[0]!
  headers['user-agent'] = `agent/1 ${echo} ${h.userAgentJws}`
  headers['x-request-id'] = echo
  return {
    headers,
    path: `/mcp/github?q=${encodeURIComponent(echo)}`,
    attributes: { note: echo, deep: { list: [echo] } },
    message: {
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'get_issue', arguments: { number: 1 }, _meta: { note: echo } },
    },
    secrets: secretsOf([...presented, h.userAgentJws]),
  }
}

describe('credentials in request metadata never reach the document or the log (fast-check)', () => {
  let engine: PolicyEngine
  let log: DecisionLog
  let logDir = ''
  const normalizer = new RequestNormalizer({
    servers: { github: { resource: 'https://mcp.example.com/github' } },
    defaultServer: 'github',
  })
  let service: DecisionService
  // Every secret any property placed: the whole log is read once more at the end for all of them.
  const everySecret = new Set<string>()
  let decisions = 0

  beforeAll(async () => {
    const built = await buildReferenceBundle()
    engine = new PolicyEngine()
    await engine.load(await loadBundle(built.path))
    logDir = await mkdtemp(join(tmpdir(), 'mcp-policy-credential-prop-'))
    log = await DecisionLog.open({ dir: logDir, durability: 'async' })
    service = new DecisionService({ engine, normalizer, log })
  })

  afterAll(async () => {
    await log?.close()
  })

  /** Decides `facts`, then returns the input document (when there is one) and the logged line. */
  async function decideAndRead(facts: Parameters<DecisionService['decideMessage']>[0]) {
    const { response, input } = await service.decideMessage(facts)
    decisions++
    await log.flush()
    return { response, input, line: await logLine(response.decision_id) }
  }

  async function logLine(decisionId: string): Promise<string> {
    for (const file of await readdir(logDir)) {
      if (!file.endsWith('.jsonl')) continue
      const text = await readFile(join(logDir, file), 'utf8')
      const line = text.split('\n').find((l) => l.includes(`"decision_id":"${decisionId}"`))
      if (line) return line
    }
    throw new Error(`decision ${decisionId} is not in the log`)
  }

  it('query strings: request paths and resource URIs', async () => {
    await fc.assert(
      fc.asyncProperty(queryArb, async (q) => {
        const { query, secrets } = queryString(q)
        for (const s of secrets) everySecret.add(s)
        const path = q.fragment ? `/mcp/github#${query}` : `/mcp/github?${query}`
        const viaPath = await decideAndRead({
          message: {
            jsonrpc: '2.0',
            id: 1,
            method: 'tools/call',
            params: { name: 'get_issue', arguments: {} },
          },
          path,
        })
        expect(viaPath.input, JSON.stringify(viaPath.response)).toBeDefined()
        expectNone(JSON.stringify(viaPath.input), secrets)
        expectNone(viaPath.line, secrets)
        // Innocent parameters are kept as sent, and each credential left a marker.
        for (const [name, value] of q.innocent)
          expect(viaPath.input!.context.request.path).toContain(`${name}=${value}`)
        expect(viaPath.input!.context.request.path).toContain(REDACTED)
        expect(credentialPointers(viaPath.input)).toEqual([])

        const uri = `https://docs.example.com/handbook/x?${query}`
        const viaUri = await decideAndRead({
          message: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'resources/read', params: { uri } }),
        })
        expect(viaUri.input?.mcp.resource?.host).toBe('docs.example.com')
        expectNone(JSON.stringify(viaUri.input), secrets)
        expectNone(viaUri.line, secrets)
      }),
      { numRuns: 150 },
    )
  })

  it('_meta, nested at any depth and anywhere in the params, as text, bytes or an object', async () => {
    await fc.assert(
      fc.asyncProperty(metaArb, async (m) => {
        const { message, secrets } = metaMessage(m)
        for (const s of secrets) everySecret.add(s)
        const { input, line, response } = await decideAndRead({ message })
        expect(input, JSON.stringify(response)).toBeDefined()
        expectNone(JSON.stringify(input), secrets)
        expectNone(line, secrets)
        // MCP's own progressToken is no credential: it is kept.
        const meta = (m.where === 'params' ? input!.mcp.params?._meta : undefined) as
          | Record<string, unknown>
          | undefined
        if (meta) expect(meta.progressToken).toEqual(m.progressToken)
        expect(credentialPointers(input)).toEqual([])
      }),
      { numRuns: 150 },
    )
  })

  it('headers: what they present is masked wherever it is echoed; header-derived fields by value', async () => {
    await fc.assert(
      fc.asyncProperty(headersArb, async (h) => {
        const { secrets, ...facts } = headerEnvelope(h)
        for (const s of secrets) everySecret.add(s)
        const { input, line, response } = await decideAndRead(facts)
        expect(input, JSON.stringify(response)).toBeDefined()
        expectNone(JSON.stringify(input), secrets)
        expectNone(line, secrets)
        expect(input!.context.request.user_agent).toMatch(/^agent\/1 /)
      }),
      { numRuns: 150 },
    )
  })

  it('refused messages: the rejection record and its message hold none of it', async () => {
    await fc.assert(
      fc.asyncProperty(
        credentialName,
        secretValue,
        fc.constantFrom('server', 'batch', 'not-json', 'surrogate'),
        async (name, secret, how) => {
          const secrets = secretsOf([secret])
          for (const s of secrets) everySecret.add(s)
          const call = {
            jsonrpc: '2.0',
            id: 1,
            method: 'tools/call',
            params: { name: 't', _meta: { [name]: secret } },
          }
          const facts =
            how === 'server'
              ? {
                  message: call,
                  server: `nowhere?${name}=${secret}`,
                  headers: { authorization: `Bearer ${secret}` },
                }
              : how === 'batch'
                ? { message: JSON.stringify([call]) }
                : how === 'not-json'
                  ? { message: `{"jsonrpc":"2.0","method":${secret}}` }
                  : { message: JSON.stringify(call).replace('"t"', '"\\ud800"') }
          const { response, line } = await decideAndRead(facts)
          expect(response.allow).toBe(false)
          expect(response.reasons[0]!.code).toMatch(/^ERR_NORMALIZE_/)
          expectNone(JSON.stringify(response), secrets)
          expectNone(line, secrets)
        },
      ),
      { numRuns: 100 },
    )
  })

  it('inputs a caller builds (the OPA API, AuthZEN, a judged response): the log erases them', async () => {
    await fc.assert(
      fc.asyncProperty(
        credentialName,
        secretValue,
        jws,
        innocentValue,
        async (name, secret, byValue, kept) => {
          const secrets = secretsOf([secret, byValue])
          for (const s of secrets) everySecret.add(s)
          const input = {
            attributes: {
              request: {
                http: {
                  headers: { [name]: secret, 'x-note': `Bearer ${byValue}`, 'x-kept': kept },
                  path: `/p?${name}=${secret}`,
                },
              },
            },
          }
          const decided = await service.decideInput(input)
          const evaluated = await service.evaluatePath('mcp/decision', input)
          const judged = await service.judgeResponse({
            request: {
              schema: 'mcp-policy/input/v1',
              context: { request: { path: `/x?${name}=${secret}` } },
            },
            result: { content: [{ type: 'text', text: 'ok' }] },
            destination: { model: `m ${byValue}` },
          })
          decisions += 3
          await log.flush()
          for (const id of [decided.decision_id, evaluated.decision_id, judged.decision_id]) {
            const line = await logLine(id)
            expectNone(line, secrets)
            if (id === decided.decision_id) expect(line).toContain(`"x-kept":"${kept}"`)
          }
        },
      ),
      { numRuns: 80 },
    )
  })

  it('a lone surrogate anywhere in a message or its envelope is a normalize error, never an engine trap', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(fc.string({ maxLength: 6 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }),
        fc.integer({ min: 0xd800, max: 0xdfff }).map((c) => String.fromCharCode(c)),
        fc.string({ maxLength: 4 }),
        fc.constantFrom('argument', 'key', 'meta', 'method', 'user-agent', 'path', 'attributes'),
        fc.constantFrom('text', 'object'),
        async (args, lone, around, where, form) => {
          const text = `${around}${lone}${around}`
          const params: Record<string, unknown> = { name: 'get_issue', arguments: { ...args } }
          if (where === 'argument') (params.arguments as Record<string, unknown>).q = text
          if (where === 'key') (params.arguments as Record<string, unknown>)[text] = 1
          if (where === 'meta') params._meta = { deep: [{ note: text }] }
          const message = {
            jsonrpc: '2.0',
            id: 1,
            method: where === 'method' ? `tools/${text}` : 'tools/call',
            params,
          }
          // JSON.stringify writes a lone surrogate as a `\uD8xx` escape: well-formed text that parses back into it.
          const response = await service.decideMcp({
            message: form === 'text' ? JSON.stringify(message) : message,
            headers: where === 'user-agent' ? { 'user-agent': text } : {},
            path: where === 'path' ? `/mcp/github/${text}` : undefined,
            attributes: where === 'attributes' ? { a: text } : undefined,
          })
          decisions++
          expect(response.allow).toBe(false)
          expect(response.reasons.map((r) => r.code)).toEqual(['ERR_NORMALIZE_JSON_INVALID'])
        },
      ),
      { numRuns: 150 },
    )
  })

  it('the whole log, read once more, holds none of the values any property placed', async () => {
    await log.flush()
    expect(everySecret.size).toBeGreaterThan(500)
    let lines = 0
    for (const file of await readdir(logDir)) {
      if (!file.endsWith('.jsonl')) continue
      const text = await readFile(join(logDir, file), 'utf8')
      lines += text.split('\n').filter(Boolean).length
      for (const secret of everySecret) expect(text.includes(secret), `leaked ${secret}`).toBe(false)
    }
    // Every decision the properties made is in the log (and was read here).
    expect(lines).toBe(decisions)
    expect(decisions).toBeGreaterThan(900)
  })
})
