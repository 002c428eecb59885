import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, relative } from 'node:path'
import fc from 'fast-check'
import { decodeJwt } from 'jose'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { createDevKey } from '../../src/identity/dev-token.js'
import { McpPolicyError } from '../../src/index.js'
import { caseRequest } from '../../src/policy-test/case-request.js'
import type { DecisionCase } from '../../src/policy-test/decision-cases.js'
import { readCaseFile } from '../../src/policy-test/decision-cases.js'
import type { RegoTest } from '../../src/policy-test/discover-rego-tests.js'
import { explainRegoFailures } from '../../src/policy-test/explain-rego-failures.js'

const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-case-errors-'))
let written = 0

/** Writes a cases file and returns the error readCaseFile throws for it (as the CLI shows it). */
async function caseFileError(text: string): Promise<{ file: string; message: string }> {
  const path = join(dir, `f${written++}.cases.yaml`)
  await writeFile(path, text)
  const error = await readCaseFile(path).then(
    () => undefined,
    (err: unknown) => err,
  )
  expect(error).toBeInstanceOf(McpPolicyError)
  expect((error as McpPolicyError).code).toBe('ERR_POLICY_TEST_INVALID')
  return { file: relative(process.cwd(), path), message: (error as McpPolicyError).message }
}

// A valid file, one key per line, and the places an unknown key can go: after which line, at
// which indentation, the path the message names, and the keys the schema allows there.
const BASE = [
  'defaults:',
  '  server: github',
  'cases:',
  '  - name: first',
  '    message: { jsonrpc: "2.0", id: 1, method: ping }',
  '    identity:',
  '      sub: alice',
  '    expect:',
  '      allow: true',
]
const PLACES = [
  { after: 0, indent: 0, path: 'top level', allowed: ['servers', 'defaults', 'cases'] },
  {
    after: 1,
    indent: 2,
    path: 'defaults',
    allowed: ['server', 'identity', 'now', 'environment', 'headers', 'attributes'],
  },
  {
    after: 4,
    indent: 4,
    path: 'cases[0]',
    allowed: [
      'name',
      'message',
      'direction',
      'result',
      'destination',
      'expect',
      'server',
      'identity',
      'now',
      'environment',
      'headers',
      'attributes',
    ],
  },
  {
    after: 6,
    indent: 6,
    path: 'cases[0].identity',
    allowed: [
      'sub',
      'roles',
      'groups',
      'scopes',
      'client_id',
      'act',
      'auth_age_s',
      'acr',
      'amr',
      'claims',
      'token',
    ],
  },
  {
    after: 8,
    indent: 6,
    path: 'cases[0].expect',
    allowed: ['allow', 'status', 'reasons', 'obligations', 'redactions'],
  },
]
const EVERY_KEY = new Set(PLACES.flatMap((p) => p.allowed))

describe('decision case schema errors', () => {
  it('name the file, the line and column of an unknown key anywhere, and the keys allowed there', async () => {
    expect((await readCaseFile(await writeBase(BASE.join('\n')))).cases).toHaveLength(1)
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...PLACES),
        fc
          .stringMatching(/^[a-z][a-z_]{0,11}$/)
          .filter((k) => !EVERY_KEY.has(k) && !/^(true|false|null)$/.test(k)),
        async (place, key) => {
          const lines = [...BASE]
          lines.splice(place.after, 0, `${' '.repeat(place.indent)}${key}: 1`)
          const { file, message } = await caseFileError(lines.join('\n'))
          const [head, ...errors] = message.split('\n')
          expect(head).toBe(`${file} does not match the decision cases schema (1 error):`)
          expect(errors).toHaveLength(1)
          const prefix = `  ${file}:${place.after + 1}:${place.indent + 1}: ${place.path}: unknown key "${key}"`
          expect(errors[0]!.startsWith(prefix), errors[0]).toBe(true)
          expect(errors[0]!.endsWith(`; allowed here: ${place.allowed.join(', ')}`)).toBe(true)
          const suggested = /did you mean "([^"]+)"\?/.exec(errors[0]!)?.[1]
          if (suggested !== undefined) expect(place.allowed).toContain(suggested)
        },
      ),
      { numRuns: 150 },
    )
  })

  it.each([
    ['allwo', 'cases[0].expect', 'allow'],
    ['identiy', 'cases[0]', 'identity'],
    ['rolez', 'cases[0].identity', 'roles'],
    ['Server', 'cases[0]', 'server'],
    ['auth_age', 'cases[0].identity', 'auth_age_s'],
  ])('suggest the near key: %s → %s', async (typo, path, meant) => {
    const at = PLACES.find((p) => p.path === path)!
    const lines = [...BASE]
    lines.splice(at.after, 0, `${' '.repeat(at.indent)}${typo}: 1`)
    const { message } = await caseFileError(lines.join('\n'))
    expect(message).toContain(`${path}: unknown key "${typo}" (did you mean "${meant}"?)`)
  })

  it('say where a right key at the wrong level goes, and list every error of the file at once', async () => {
    const { file, message } = await caseFileError(
      [
        'server: github',
        'cases:',
        '  - name: first',
        '    message: {}',
        '    reasons: [not_granted]',
        '    identity: alice',
        '    now: "2025-11-24T10:00:00"',
        '    expect: { allwo: false, status: "403" }',
        '    server: 7',
      ].join('\n'),
    )
    expect(message.split('\n')).toEqual([
      `${file} does not match the decision cases schema (7 errors):`,
      `  ${file}:1:1: top level: unknown key "server" (did you mean "servers"? "server" goes under defaults: or under each entry of cases:); allowed here: servers, defaults, cases`,
      `  ${file}:5:5: cases[0]: unknown key "reasons" ("reasons" goes under expect:); allowed here: name, message, direction, result, destination, expect, server, identity, now, environment, headers, attributes`,
      `  ${file}:6:15: cases[0].identity: must be a mapping (key: value) or null (~), got string "alice"`,
      `  ${file}:7:10: cases[0].now: got string "2025-11-24T10:00:00", which is not the form asked for: RFC 3339 time of the request, with Z or an offset. Default 2025-11-24T10:00:00Z (a Monday).`,
      // The missing "allow" is the typo "allwo": said once, as the typo.
      `  ${file}:8:15: cases[0].expect: unknown key "allwo" (did you mean "allow"?); allowed here: allow, status, reasons, obligations, redactions`,
      `  ${file}:8:37: cases[0].expect.status: must be an integer, got string "403"`,
      `  ${file}:9:13: cases[0].server: must be a string, got number 7`,
    ])
  })

  it('name the line of a missing required key, an enum and a bad server entry', async () => {
    const { file, message } = await caseFileError(
      [
        'servers:',
        '  jira: { url: https://jira.example/mcp }',
        'cases:',
        '  - name: first',
        '    server: jira',
        '    identity: { token: stolen }',
        '    expect: { allow: true }',
      ].join('\n'),
    )
    expect(message.split('\n').slice(1)).toEqual([
      `  ${file}:2:9: servers.jira: missing required key "resource"; allowed here: resource`,
      `  ${file}:2:11: servers.jira: unknown key "url"; allowed here: resource`,
      `  ${file}:4:5: cases[0]: missing required key "message"; allowed here: name, message, direction, result, destination, expect, server, identity, now, environment, headers, attributes`,
      `  ${file}:6:24: cases[0].identity.token: must be one of "valid", "expired", "wrong_audience", "forged", got string "stolen"`,
    ])
  })

  it('say a value that fits no alternative once, with the forms allowed', async () => {
    const { file, message } = await caseFileError(
      [
        'cases:',
        '  - name: first',
        '    message: {}',
        '    headers: { x-trace: 7 }',
        '    expect: { allow: true }',
      ].join('\n'),
    )
    expect(message.split('\n').slice(1)).toEqual([
      `  ${file}:4:25: cases[0].headers.x-trace: must be a string or a list, got number 7`,
    ])
  })

  it('list every YAML syntax error with its line and column', async () => {
    const { file, message } = await caseFileError('cases:\n  - name: x\n    name: y\n    message: [\n')
    expect(message).toMatch(
      new RegExp(`^${file} is not valid YAML:\\n  ${file}:3:5: Map keys must be unique\\n`),
    )
    expect(message).toMatch(new RegExp(`\\n  ${file}:\\d+:\\d+: Flow sequence`))
  })
})

describe('a case naming a server without a resource', async () => {
  const keys = { signingKey: await createDevKey(), forgingKey: await createDevKey() }
  const defaults = {
    github: { resource: 'https://localhost/mcp/github' },
    fetch: { resource: 'https://localhost/mcp/fetch' },
  }
  const jiraCase: DecisionCase = {
    name: 'jira read',
    file: 'cases/jira.cases.yaml',
    line: 4,
    server: 'jira',
    identity: { sub: 'alice' },
    message: { jsonrpc: '2.0', id: 1, method: 'ping' },
    expect: { allow: true },
  }
  const failure = (testCase: DecisionCase, where: { serversLine?: number } = {}) =>
    caseRequest(testCase, defaults, keys, where).then(
      () => '',
      (err: Error) => err.message,
    )

  it('says to add a servers map, as YAML that makes the case run', async () => {
    const message = await failure(jiraCase)
    const [head, where, ...snippet] = message.split('\n')
    expect(head).toBe(
      'case "jira read" names server "jira", which has no resource (the token audience its request is for).',
    )
    expect(where).toBe(
      'The default servers are github, fetch. Add a `servers:` map at the top of cases/jira.cases.yaml; it replaces the defaults, so list every server its cases name:',
    )
    const added = parse(snippet.map((line) => line.slice(4)).join('\n')) as {
      servers: Record<string, { resource: string }>
    }
    expect(added).toEqual({ servers: { jira: { resource: 'https://localhost/mcp/jira' }, ...defaults } })
    const facts = await caseRequest(jiraCase, added.servers, keys)
    const authorization = (facts.headers as Record<string, string>).authorization!
    expect(decodeJwt(authorization.slice(7)).aud).toBe('https://localhost/mcp/jira')
  })

  it("points at the file's own servers map when it has one", async () => {
    const message = await failure(jiraCase, { serversLine: 3 })
    expect(message.split('\n').slice(1)).toEqual([
      'Add it to the `servers:` map of cases/jira.cases.yaml (line 3; it has github, fetch):',
      '    servers:',
      '      jira: { resource: https://localhost/mcp/jira }',
    ])
  })

  it('says to add server: when a case names none, with or without an identity', async () => {
    for (const identity of [{ sub: 'alice' }, undefined]) {
      const message = await failure({ ...jiraCase, server: undefined, identity })
      expect(message).toBe(
        [
          'case "jira read" names no server, so its request has no resource (token audience) to go to.',
          'Add `server: <id>` to the case, or to `defaults:` for every case in cases/jira.cases.yaml (servers here: github, fetch), e.g.',
          '    defaults:',
          '      server: github',
        ].join('\n'),
      )
    }
  })

  it('lets a case without identity expect the unknown server refusal', async () => {
    const facts = await caseRequest(
      {
        ...jiraCase,
        identity: undefined,
        expect: { allow: false, reasons: ['ERR_NORMALIZE_SERVER_UNKNOWN'] },
      },
      defaults,
      keys,
    )
    expect(facts.server).toBe('jira')
    expect(
      await failure({ ...jiraCase, expect: { allow: false, reasons: ['ERR_NORMALIZE_SERVER_UNKNOWN'] } }),
    ).toMatch(/names server "jira", which has no resource/)
  })
})

describe('explaining a failed Rego test', () => {
  it('says so, and goes on, when OPA cannot run', async () => {
    const regoDir = join(dir, 'rego')
    await mkdir(regoDir, { recursive: true })
    await writeFile(join(regoDir, 'x_test.rego'), 'package x_test\n\ntest_a if false\n')
    const test: RegoTest = {
      packagePath: ['x_test'],
      rule: 'test_a',
      name: 'data.x_test.test_a',
      entrypoint: 'x_test/test_a',
      file: join(regoDir, 'x_test.rego'),
      line: 3,
      todo: false,
      definitions: 1,
    }
    const why = await explainRegoFailures(join(dir, 'no-such-opa'), [test], { regoDir, bundleDir: dir })
    expect(why.get(test.name)).toEqual([
      expect.stringMatching(/^\(opa test --explain fails could not run: .*ENOENT/),
    ])
  })
})

async function writeBase(text: string): Promise<string> {
  const path = join(dir, 'base.cases.yaml')
  await writeFile(path, text)
  return path
}
