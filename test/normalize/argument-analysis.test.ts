import { Ajv2020 } from 'ajv/dist/2020.js'
import { beforeAll, describe, expect, it } from 'vitest'
import { analysisDeclarations } from '../../src/normalize/argument-analysis/analysis-declarations.js'
import {
  analyzeArguments,
  type LoadedAnalyzers,
  loadArgumentAnalyzers,
  MAX_ANALYZED_ELEMENTS,
} from '../../src/normalize/argument-analysis/analyze-arguments.js'
import type { SqlAnalysis, UrlAnalysis } from '../../src/normalize/argument-analysis/argument-analysis.js'
import { loadPostgresParser } from '../../src/normalize/argument-analysis/postgres-parser.js'
import {
  analyzePostgresSql,
  MAX_SQL_LENGTH,
  MAX_SQL_OPERATOR_CHARACTERS,
} from '../../src/normalize/argument-analysis/postgres-sql.js'
import { parseRfc3986Uri } from '../../src/normalize/argument-analysis/rfc3986-uri.js'
import { analyzeUrl, MAX_URL_LENGTH } from '../../src/normalize/argument-analysis/url.js'
import { readSchema } from '../../src/schemas.js'

let analyzers: LoadedAnalyzers
beforeAll(async () => {
  analyzers = await loadArgumentAnalyzers()
})

const sql = (text: unknown) => analyzeArguments(new Map([['q', 'sql:postgres']]), { q: text }, analyzers)?.q
const url = (text: unknown) => analyzeUrl(text, 'url')

// The analysis is part of input document v1: every one the analyzers build validates against it.
const ajv = new Ajv2020({ strict: true, allowUnionTypes: true })
const validateInput = ajv.compile(readSchema('input'))
function validInput(analysis: unknown): boolean {
  return validateInput({
    schema: 'mcp-policy/input/v1',
    mcp: {
      kind: 'request',
      method: 'tools/call',
      tool: { name: 't', arguments: {}, analysis: { a: analysis } },
    },
    subject: { authenticated: false, groups: [], roles: [], scopes: [], actor: null, claims: {} },
    server: { id: 's', resource: 'https://r' },
    context: {
      time: { ns: 0, rfc3339: '1970-01-01T00:00:00Z', weekday: 'Thu', hour_utc: 0 },
      request: {},
      attributes: {},
    },
  })
}

describe('sql:postgres analyzer (PostgreSQL parser, libpg-query WebAssembly)', () => {
  it('names the function the issue examples call, whatever the spelling', () => {
    for (const text of [
      'select "pg_sleep"(10)',
      'select pg_sleep/**/(10)',
      'select U&"\\0070g_sleep"(10)',
      'SELECT Pg_Sleep (10)',
      'select pg_sleep\n-- a comment\n(10)',
    ]) {
      expect(sql(text), text).toMatchObject({
        parsed: true,
        statements: ['select'],
        functions: [{ name: 'pg_sleep' }],
      })
    }
    expect(sql('select pg_catalog.pg_sleep(1)')).toMatchObject({
      functions: [{ schema: 'pg_catalog', name: 'pg_sleep' }],
    })
    expect(sql(`select * from "dblink_exec"('dbname=app','DRO'||'P TABLE users')`)).toMatchObject({
      statements: ['select'],
      functions: [{ name: 'dblink_exec' }],
    })
  })

  it('reports locking clauses, nested statements, SELECT INTO, relations and statement counts', () => {
    expect(sql('select * from t for share')).toMatchObject({
      locking: ['for_share'],
      tables: [{ name: 't' }],
    })
    expect(sql('select * from a, b for update of a for key share of b')).toMatchObject({
      locking: ['for_key_share', 'for_update'],
    })
    expect(sql('with d as (delete from t returning *) select * from d')).toMatchObject({
      statements: ['select'],
      statement_kinds: ['delete', 'select'],
    })
    expect(sql('explain analyze delete from t')).toMatchObject({
      statements: ['explain'],
      statement_kinds: ['delete', 'explain'],
    })
    expect(sql('select * into backup from orders')).toMatchObject({ statement_kinds: ['select_into'] })
    expect(sql('select 1 into x union select 2')).toMatchObject({
      statement_kinds: ['select', 'select_into'],
    })
    expect(sql('select 1; drop table users')).toMatchObject({ statements: ['select', 'drop'] })
    expect(sql('show all')).toMatchObject({ statements: ['show'] })
    expect(sql('create table t as select 1')).toMatchObject({ statements: ['create_table_as'] })
    expect(sql('call p(1)')).toMatchObject({ statements: ['call'], functions: [{ name: 'p' }] })
    expect(sql('-- only a comment')).toMatchObject({ parsed: true, statements: [] })
    expect(sql('select x from app.public.orders o join "Items" i on true')).toMatchObject({
      tables: [{ name: 'Items' }, { catalog: 'app', schema: 'public', name: 'orders' }],
    })
  })

  it('reads keywords in literals, quoted names and comments as what they are', () => {
    const analysis = sql(`select 'drop table users; select pg_sleep(1)' as "delete" from t -- for update`)
    expect(analysis).toEqual({
      analyzer: 'sql:postgres',
      parsed: true,
      statements: ['select'],
      statement_kinds: ['select'],
      functions: [],
      tables: [{ name: 't' }],
      locking: [],
    } satisfies SqlAnalysis)
  })

  it('is parsed: false, never a throw, for what it cannot analyse', () => {
    expect(sql('selec * from t')).toEqual({
      analyzer: 'sql:postgres',
      parsed: false,
      error: 'syntax error at or near "selec"',
    })
    expect(sql(42)).toMatchObject({ parsed: false, error: 'not a string' })
    expect(sql('select 1\u0000; drop table t')).toMatchObject({
      parsed: false,
      error: 'contains a NUL character',
    })
    expect(sql(`select '${'x'.repeat(MAX_SQL_LENGTH)}'`)).toMatchObject({
      parsed: false,
      error: `longer than ${MAX_SQL_LENGTH} characters`,
    })
    expect(sql(`select 1${'+1'.repeat(MAX_SQL_OPERATOR_CHARACTERS + 1)}`)).toMatchObject({
      parsed: false,
      error: `holds more than ${MAX_SQL_OPERATOR_CHARACTERS} operator characters`,
    })
    // The longest chains that fit are parsed, not a trap, however often (the WebAssembly gets
    // optimized on the way, which takes more stack per level).
    const chains = [
      `select 1${'+1'.repeat(MAX_SQL_OPERATOR_CHARACTERS)}`,
      `select 1${'::int'.repeat(Math.floor((MAX_SQL_LENGTH - 8) / 5))}`,
      `select ${'not '.repeat(Math.floor((MAX_SQL_LENGTH - 12) / 4))}true`,
    ]
    for (let i = 0; i < 40; i++)
      for (const chain of chains) expect(sql(chain), chain.slice(0, 20)).toMatchObject({ parsed: true })
    expect(sql(`select ${'('.repeat(101)}1${')'.repeat(101)}`)).toMatchObject({
      parsed: false,
      error: 'nests brackets deeper than 100 levels',
    })
    expect(sql(`select ${'('.repeat(100)}1${')'.repeat(100)}`)).toMatchObject({ parsed: true })
  })

  it('replaces its WebAssembly instance after a trap, and parses correctly again', async () => {
    const parser = await loadPostgresParser()
    // A long operator chain (longer than the analyzer lets through) makes a tree deep enough to
    // exhaust the stack in libpg_query's tree output.
    const trap = parser.parse(`select 1${'+1'.repeat(40_000)}`)
    expect(trap).toMatchObject({ error: expect.stringMatching(/^the parser failed: /) })
    expect(parser.available).toBe(false)
    expect(analyzePostgresSql(parser, 'select 1', 'sql:postgres')).toMatchObject({
      parsed: false,
      error: 'the PostgreSQL parser is being replaced',
    })
    await parser.ready()
    for (let i = 0; i < 50; i++) {
      expect(
        analyzePostgresSql(parser, 'select pg_sleep(1) from t for update', 'sql:postgres'),
      ).toMatchObject({
        parsed: true,
        functions: [{ name: 'pg_sleep' }],
        locking: ['for_update'],
      })
    }
  })

  it('is deterministic and fits the input schema', () => {
    for (const text of [
      'select now()',
      'select 1; delete from t',
      'nonsense here',
      'select * from t for share',
    ]) {
      expect(sql(text)).toEqual(sql(text))
      expect(validInput(sql(text)), text).toBe(true)
    }
  })
})

describe('url analyzer (WHATWG URL and an RFC 3986 / urllib reading)', () => {
  it('marks the issue examples ambiguous: urllib reaches another host', () => {
    expect(url('https://api.github.com\\@evil.com/')).toMatchObject({
      parsed: true,
      ambiguous: true,
      ambiguities: ['backslash', 'host_mismatch', 'invalid_authority', 'userinfo'],
      host: 'api.github.com',
      hosts: { whatwg: 'api.github.com', rfc3986: 'evil.com' },
    })
    expect(url('https://en.wikipedia.org\\x@169.254.169.254/latest/meta-data')).toMatchObject({
      ambiguous: true,
      hosts: { whatwg: 'en.wikipedia.org', rfc3986: '169.254.169.254' },
    })
  })

  it('an ordinary URL is unambiguous, with scheme, host, port and path but no query', () => {
    expect(url('HTTPS://Docs.Example.com:8443/a/b?token=secret#frag')).toEqual({
      analyzer: 'url',
      parsed: true,
      ambiguous: false,
      ambiguities: [],
      scheme: 'https',
      host: 'docs.example.com',
      host_type: 'domain',
      port: 8443,
      path: '/a/b',
      hosts: { whatwg: 'docs.example.com', rfc3986: 'docs.example.com' },
    } satisfies UrlAnalysis)
    expect(url('https://[::1]:8080/x')).toMatchObject({ ambiguous: false, host: '[::1]', host_type: 'ipv6' })
    expect(url('https://10.0.0.1/')).toMatchObject({ ambiguous: false, host_type: 'ipv4' })
    expect(url('https://en.wikipedia.org/wiki/Stra%C3%9Fe')).toMatchObject({ ambiguous: false })
  })

  it('marks each kind of ambiguity', () => {
    expect(url('https://user:pw@docs.example.com/')).toMatchObject({ ambiguities: ['userinfo'] })
    expect(url('https://@docs.example.com/')).toMatchObject({ ambiguities: ['userinfo'] })
    expect(url('https://docs.exa\tmple.com/')).toMatchObject({
      ambiguities: ['control_character', 'host_mismatch', 'invalid_authority', 'whitespace'],
    })
    expect(url(' https://docs.example.com/')).toMatchObject({
      ambiguities: ['invalid_authority', 'whitespace'],
    })
    expect(url('https://docs.example.com/\u0000')).toMatchObject({ ambiguities: ['control_character'] })
    expect(url('https://0x7f.1/')).toMatchObject({ ambiguities: ['host_mismatch'], host: '127.0.0.1' })
    expect(url('https://2130706433/')).toMatchObject({ ambiguities: ['host_mismatch'], host: '127.0.0.1' })
    expect(url('https:docs.example.com')).toMatchObject({ ambiguities: ['host_mismatch'] })
    expect(url('https://docs%2eexample.com/')).toMatchObject({ ambiguities: ['host_mismatch'] })
    expect(url('https://bücher.example/')).toMatchObject({
      ambiguities: ['host_mismatch', 'invalid_authority'],
    })
    expect(url('https://docs.example.com\\path')).toMatchObject({
      ambiguities: ['backslash', 'host_mismatch', 'invalid_authority'],
    })
    expect(url('https://docs.example.com/?q=a\\b')).toMatchObject({ ambiguities: ['backslash'] })
  })

  it('is parsed: false for what no parser takes, without quoting it', () => {
    expect(url('docs.example.com/a')).toEqual({
      analyzer: 'url',
      parsed: false,
      error: 'not an absolute URL',
    })
    expect(url('https://user:secret@[bad/')).toEqual({
      analyzer: 'url',
      parsed: false,
      error: 'not an absolute URL',
    })
    expect(url(['https://a.example/'])).toMatchObject({ parsed: false, error: 'not a string' })
    expect(url(`https://a.example/${'x'.repeat(MAX_URL_LENGTH)}`)).toMatchObject({ parsed: false })
  })

  it('fits the input schema', () => {
    for (const text of ['https://a.example/', 'https://a\\@b/', 'nope', 'https://[::1]:1/']) {
      expect(validInput(url(text)), text).toBe(true)
    }
  })
})

describe('RFC 3986 reading', () => {
  it('splits the authority only at / ? # and takes the host after the last @, as urllib does', () => {
    expect(parseRfc3986Uri('https://a@b@c.example:8080/p?q#f')).toMatchObject({
      scheme: 'https',
      userinfo: 'a@b',
      host: 'c.example',
      port: '8080',
      path: '/p',
      query: 'q',
      fragment: 'f',
      validAuthority: false,
    })
    expect(parseRfc3986Uri('https://x.example/').validAuthority).toBe(true)
    expect(parseRfc3986Uri('https://[::1]:80/')).toMatchObject({
      host: '[::1]',
      port: '80',
      validAuthority: true,
    })
    expect(parseRfc3986Uri('https://x.example:8o/').validAuthority).toBe(false)
    expect(parseRfc3986Uri('mailto:a@b.example')).toMatchObject({ scheme: 'mailto', path: 'a@b.example' })
    expect(parseRfc3986Uri('mailto:a@b.example').host).toBeUndefined()
  })
})

describe('the dispatcher', () => {
  it('analyses declared arguments only, element by element for arrays', () => {
    const declared = new Map([
      ['url', 'url'],
      ['q', 'sql:postgres'],
      ['absent', 'url'],
    ])
    const analysis = analyzeArguments(
      declared,
      { url: ['https://a.example/', 7], q: 'select 1', other: 'x' },
      analyzers,
    )
    expect(Object.keys(analysis!).sort()).toEqual(['q', 'url'])
    expect(analysis!.url).toMatchObject([{ parsed: true }, { parsed: false, error: 'not a string' }])
    expect(analyzeArguments(declared, { other: 1 }, analyzers)).toBeUndefined()
  })

  it('refuses long arrays, unknown analyzers and a parser that is not loaded', () => {
    const many = Array.from({ length: MAX_ANALYZED_ELEMENTS + 1 }, () => 'https://a.example/')
    expect(analyzeArguments(new Map([['u', 'url']]), { u: many }, analyzers)?.u).toMatchObject({
      parsed: false,
    })
    expect(analyzeArguments(new Map([['u', 'sql:mysql']]), { u: 'select 1' }, analyzers)?.u).toEqual({
      analyzer: 'sql:mysql',
      parsed: false,
      error: 'unknown analyzer',
    })
    expect(analyzeArguments(new Map([['u', 'sql:postgres']]), { u: 'select 1' }, {})?.u).toMatchObject({
      parsed: false,
      error: 'the PostgreSQL parser is not loaded',
    })
  })

  it('keeps an argument named __proto__ an ordinary member', () => {
    const args = JSON.parse('{"__proto__": "https://a.example/"}') as Record<string, unknown>
    const analysis = analyzeArguments(new Map([['__proto__', 'url']]), args, analyzers)!
    expect(Object.getPrototypeOf(analysis)).toBe(Object.prototype)
    expect(Object.hasOwn(analysis, '__proto__')).toBe(true)
  })
})

describe('declarations from bundle data', () => {
  it('reads analyze from each argument constraint of mcp_data.servers', () => {
    const declarations = analysisDeclarations({
      mcp_data: {
        servers: {
          postgres: {
            tools: { query: { arguments: { sql: { analyze: 'sql:postgres', sql_read_only: true } } } },
          },
          fetch: { tools: { fetch: { arguments: { url: { analyze: 'url' }, max_length: { minimum: 1 } } } } },
          odd: { tools: { t: { arguments: { a: { analyze: ['url'] } } } } },
        },
      },
    })
    expect(declarations.needsSql).toBe(true)
    expect(declarations.forTool('postgres', 'query')).toEqual(new Map([['sql', 'sql:postgres']]))
    expect(declarations.forTool('fetch', 'fetch')).toEqual(new Map([['url', 'url']]))
    // Not a string: kept as JSON, which names no analyzer, so the argument fails to analyse.
    expect(declarations.forTool('odd', 't')).toEqual(new Map([['a', '["url"]']]))
    expect(declarations.forTool('fetch', 'other')).toBeUndefined()
    expect(declarations.forTool('toString', 'x')).toBeUndefined()
    expect(analysisDeclarations({}).forTool('postgres', 'query')).toBeUndefined()
    expect(analysisDeclarations(null).needsSql).toBe(false)
  })
})
