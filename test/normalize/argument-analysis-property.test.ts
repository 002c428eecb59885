import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  createDevKey,
  DecisionLog,
  DecisionService,
  defaultPdpConfig,
  defaultServerResource,
  devIssuerConfig,
  mintDevToken,
  PolicyEngine,
  RequestNormalizer,
  replayLog,
  TokenVerifier,
} from '../../src/index.js'
import {
  analyzeArguments,
  type LoadedAnalyzers,
  loadArgumentAnalyzers,
} from '../../src/normalize/argument-analysis/analyze-arguments.js'
import type { SqlAnalysis, UrlAnalysis } from '../../src/normalize/argument-analysis/argument-analysis.js'
import { analyzeUrl } from '../../src/normalize/argument-analysis/url.js'
import { readSchema } from '../../src/schemas.js'
import { buildReferenceBundle } from '../helpers/pdp.js'

// Issue #15 classes 1 and 2, generated. Class 1: a call to a function the read-only rule forbids,
// obfuscated the ways PostgreSQL allows (quoting, comments and whitespace, U& escapes, case, schema
// qualification, the places a call may stand), always analyses to that function's name. Class 2:
// a URL with a backslash, userinfo or a control character is always ambiguous (or no URL at all).
// End to end, every generated request is denied, and replay reproduces every logged decision.

let analyzers: LoadedAnalyzers
beforeAll(async () => {
  analyzers = await loadArgumentAnalyzers()
})

const sqlAnalysis = (text: string) =>
  analyzeArguments(new Map([['q', 'sql:postgres']]), { q: text }, analyzers)!.q as SqlAnalysis

// --- class 1: SQL --------------------------------------------------------------------------------

const FORBIDDEN = ['pg_sleep', 'dblink_exec', 'dblink', 'set_config', 'pg_read_file', 'lo_import', 'nextval']

/** Whitespace and comments PostgreSQL's lexer skips between tokens. */
const gap = fc
  .array(
    fc.constantFrom(
      ' ',
      '\t',
      '\n',
      '\r\n',
      '\f',
      '/**/',
      '/* x */',
      '/* a /* nested */ b */',
      '-- c\n',
      '--\n',
    ),
    { maxLength: 3 },
  )
  .map((parts) => parts.join(''))

/** An identifier spelled as PostgreSQL folds or decodes it to `name`. */
function spelled(name: string): fc.Arbitrary<string> {
  const randomCase = fc
    .array(fc.boolean(), { minLength: name.length, maxLength: name.length })
    .map((upper) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''))
  const quoted = fc.constant(`"${name}"`)
  const unicodeEscape = (c: string, plus: boolean, mark: string, upper: boolean) => {
    const hex = c
      .codePointAt(0)!
      .toString(16)
      .padStart(plus ? 6 : 4, '0')
    return `${mark}${plus ? '+' : ''}${upper ? hex.toUpperCase() : hex}`
  }
  const unicode = fc
    .record({
      escaped: fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }),
      plus: fc.array(fc.boolean(), { minLength: name.length, maxLength: name.length }),
      upperHex: fc.boolean(),
      uescape: fc.boolean(),
      prefix: fc.constantFrom('U&', 'u&'),
    })
    .map(({ escaped, plus, upperHex, uescape, prefix }) => {
      const mark = uescape ? '!' : '\\'
      const body = [...name]
        .map((c, i) => (escaped[i] ? unicodeEscape(c, plus[i]!, mark, upperHex) : c))
        .join('')
      return `${prefix}"${body}"${uescape ? " UESCAPE '!'" : ''}`
    })
  return fc.oneof(randomCase, quoted, unicode)
}

const schemaPrefix = fc.oneof(
  fc.constant({ text: '', schema: undefined as string | undefined }),
  fc
    .tuple(fc.constantFrom('pg_catalog', 'public'), gap, gap)
    .chain(([schema, before, after]) =>
      spelled(schema).map((text) => ({ text: `${text}${before}.${after}`, schema })),
    ),
)

const callArgs = fc.constantFrom('10', "'x'", "'dbname=app', 'DRO' || 'P TABLE users'", '1.5', '')

/** Where a call may stand in a read-only-looking query. */
const PLACES = [
  (call: string) => `select ${call}`,
  (call: string) => `SELECT * FROM ${call}`,
  (call: string) => `select 1 where ${call} is null`,
  (call: string) => `select (select ${call})`,
  (call: string) => `with x as (select ${call}) select * from x`,
  (call: string) => `select coalesce(${call}, 1) from t`,
  (call: string) => `select count(*) filter (where ${call} is not null) from t`,
  (call: string) => `select * from t order by ${call}`,
  (call: string) => `explain select ${call}`,
]

const obfuscatedCall = fc
  .record({
    name: fc.constantFrom(...FORBIDDEN),
    prefix: schemaPrefix,
    beforeParen: gap,
    args: callArgs,
    place: fc.integer({ min: 0, max: PLACES.length - 1 }),
    trailer: fc.constantFrom('', ';', ' ;', '; ', ' -- done'),
  })
  .chain((parts) =>
    spelled(parts.name).map((name) => ({
      ...parts,
      sql: `${PLACES[parts.place]!(`${parts.prefix.text}${name}${parts.beforeParen}(${parts.args})`)}${parts.trailer}`,
    })),
  )

describe('class 1: obfuscated calls of forbidden functions', () => {
  it('always analyse to the function PostgreSQL would call, in one read-only-looking statement', () => {
    fc.assert(
      fc.property(obfuscatedCall, ({ name, prefix, sql }) => {
        const analysis = sqlAnalysis(sql)
        expect(analysis, sql).toMatchObject({ parsed: true })
        expect(analysis.statements, sql).toHaveLength(1)
        const expected = prefix.schema === undefined ? { name } : { name, schema: prefix.schema }
        expect(analysis.functions, sql).toContainEqual(expected)
      }),
      { numRuns: 1000 },
    )
  })

  it('never throws, is deterministic and fits the input schema for any text', () => {
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true }).addSchema(readSchema('input'))
    const validate = ajv.getSchema('https://mcp-policy.dev/schemas/input/v1#/$defs/argument_analysis')!
    const sqlish = fc.array(
      fc.oneof(
        fc.constantFrom(
          'select',
          ' ',
          '(',
          ')',
          '"',
          "'",
          'U&',
          '\\',
          '/*',
          '*/',
          '--',
          '\n',
          ';',
          'from',
          'pg_sleep',
          '$$',
        ),
        fc.string({ maxLength: 6, unit: 'binary' }),
      ),
      { maxLength: 30 },
    )
    fc.assert(
      fc.property(sqlish, (parts) => {
        const text = parts.join('').toWellFormed()
        const analysis = sqlAnalysis(text)
        expect(validate(analysis), JSON.stringify(validate.errors)).toBe(true)
        expect(sqlAnalysis(text)).toEqual(analysis)
      }),
      { numRuns: 500 },
    )
  })
})

// --- class 2: URLs -------------------------------------------------------------------------------

const ALLOWED = ['docs.example.com', 'en.wikipedia.org', 'api.github.com']
const label = fc.stringMatching(/^[a-z0-9]([a-z0-9-]{0,10}[a-z0-9])?$/)
const domain = fc
  .array(label, { minLength: 1, maxLength: 3 })
  .map((labels) => [...labels, 'example'].join('.'))
const host = fc.oneof(fc.constantFrom(...ALLOWED), domain, fc.constant('169.254.169.254'))
const path = fc
  .array(fc.stringMatching(/^[A-Za-z0-9._~-]{0,8}$/), { maxLength: 4 })
  .map((s) => `/${s.join('/')}`)
const cleanUrl = fc.record({ host, path }).map(({ host, path }) => ({ host, url: `https://${host}${path}` }))

/** Text a userinfo may hold, including what parsers disagree on. */
const userinfo = fc.oneof(
  fc.constantFrom('', 'user', 'user:pw', 'docs.example.com', 'a@b', '%40', ':'),
  fc.stringMatching(/^[A-Za-z0-9.:%@!$&'()*+,;=_~-]{0,12}$/),
)

const withBackslash = fc.oneof(
  fc.tuple(host, host, path).map(([a, b, p]) => `https://${a}\\@${b}${p}`),
  fc
    .tuple(host, fc.stringMatching(/^[a-z]{0,4}$/), host, path)
    .map(([a, x, b, p]) => `https://${a}\\${x}@${b}${p}`),
  fc.tuple(cleanUrl, fc.nat()).map(([{ url }, at]) => {
    const i = 8 + (at % (url.length - 7))
    return `${url.slice(0, i)}\\${url.slice(i)}`
  }),
  fc.tuple(host, path).map(([a, p]) => `https:\\\\${a}${p}`),
)

const withUserinfo = fc.tuple(userinfo, host, path).map(([u, h, p]) => `https://${u}@${h}${p}`)

const CONTROLS = [
  ...Array.from({ length: 0x20 }, (_, i) => String.fromCharCode(i)),
  '\u007f',
  '\u0085',
  '\u009f',
]
const withControl = fc.tuple(cleanUrl, fc.constantFrom(...CONTROLS), fc.nat()).map(([{ url }, c, at]) => {
  const i = at % (url.length + 1)
  return `${url.slice(0, i)}${c}${url.slice(i)}`
})

function expectAmbiguous(url: string, flag: UrlAnalysis['ambiguities'][number]): void {
  const analysis = analyzeUrl(url, 'url')
  if (!analysis.parsed) return // no URL at all: refused as unparsable
  expect(analysis, JSON.stringify(url)).toMatchObject({ ambiguous: true })
  expect((analysis as UrlAnalysis).ambiguities, JSON.stringify(url)).toContain(flag)
}

describe('class 2: URLs that parsers read differently', () => {
  it('a backslash anywhere is always ambiguous', () => {
    fc.assert(
      fc.property(withBackslash, (url) => expectAmbiguous(url, 'backslash')),
      { numRuns: 1000 },
    )
  })

  it('userinfo, even empty, is always ambiguous', () => {
    fc.assert(
      fc.property(withUserinfo, (url) => expectAmbiguous(url, 'userinfo')),
      { numRuns: 1000 },
    )
  })

  it('a control character anywhere is always ambiguous', () => {
    fc.assert(
      fc.property(withControl, (url) => expectAmbiguous(url, 'control_character')),
      { numRuns: 1000 },
    )
  })

  it('a plain https URL is unambiguous, and both parsers name its host', () => {
    fc.assert(
      fc.property(cleanUrl, ({ url, host }) => {
        expect(analyzeUrl(url, 'url'), url).toMatchObject({
          parsed: true,
          ambiguous: false,
          host,
          hosts: { whatwg: host, rfc3986: host },
        })
      }),
      { numRuns: 500 },
    )
  })
})

// --- end to end: normalize → decide → log → replay ------------------------------------------------

describe('through the reference policy: every generated request is denied, and replay reproduces it', () => {
  it('obfuscated SQL is argument_sql_not_read_only, ambiguous URLs argument_url_ambiguous', async () => {
    const built = await buildReferenceBundle()
    const engine = await PolicyEngine.fromBundleFile(built.path)
    const key = await createDevKey()
    const normalizer = new RequestNormalizer(
      defaultPdpConfig().normalize,
      new TokenVerifier({ issuers: [devIssuerConfig(key)] }),
    )
    const logDir = await mkdtemp(join(tmpdir(), 'mcp-policy-analysis-log-'))
    const log = await DecisionLog.open({ dir: logDir, durability: 'batch' })
    const service = new DecisionService({ engine, normalizer, log })
    const tokens = {
      postgres: await mintDevToken(key, {
        sub: 'ann',
        aud: defaultServerResource('postgres'),
        roles: ['analyst'],
        clientId: 'claude-desktop',
      }),
      fetch: await mintDevToken(key, {
        sub: 'alice',
        aud: defaultServerResource('fetch'),
        roles: ['developer'],
        clientId: 'claude-desktop',
      }),
    }
    let id = 0
    const decide = (server: 'postgres' | 'fetch', tool: string, args: Record<string, unknown>) =>
      service.decideMcp({
        server,
        headers: { authorization: `Bearer ${tokens[server]}` },
        message: JSON.stringify({
          jsonrpc: '2.0',
          id: ++id,
          method: 'tools/call',
          params: { name: tool, arguments: args },
        }),
      })

    // A control check: the same path allows a plain query and an allowed URL.
    expect(
      await decide('postgres', 'query', { sql: 'select id from orders where total > 10' }),
    ).toMatchObject({
      allow: true,
    })
    expect(await decide('fetch', 'fetch', { url: 'https://docs.example.com/guide' })).toMatchObject({
      allow: true,
    })

    await fc.assert(
      fc.asyncProperty(obfuscatedCall, async ({ sql }) => {
        const decision = await decide('postgres', 'query', { sql })
        expect(decision, sql).toMatchObject({ allow: false, status: 403 })
        expect(
          decision.reasons.map((r) => r.code),
          sql,
        ).toEqual(['argument_sql_not_read_only'])
      }),
      { numRuns: 60 },
    )
    await fc.assert(
      fc.asyncProperty(fc.oneof(withBackslash, withUserinfo, withControl), async (url) => {
        const decision = await decide('fetch', 'fetch', { url })
        expect(decision.allow, JSON.stringify(url)).toBe(false)
        const codes = decision.reasons.map((r) => r.code)
        expect(['argument_url_ambiguous', 'argument_unparsable'], JSON.stringify(url)).toContain(codes[0])
        expect(codes).toHaveLength(1)
      }),
      { numRuns: 60 },
    )
    await log.close()

    // The analysis is in each logged input: replay judges it again and gets every decision back.
    const report = await replayLog([logDir], { bundleStore: join(built.dir, 'store') })
    expect(report).toMatchObject({ mode: 'reproduce', events: id, same: id, differences: [] })
  }, 180_000)
})
