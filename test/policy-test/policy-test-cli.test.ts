import { appendFile, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import type { PolicyTestReport } from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'
import { findCaseFiles, readCaseFile } from '../../src/policy-test/decision-cases.js'
import { initPolicyRepo } from '../../src/scaffold/init-policy-repo.js'
import { runOpa } from '../../src/toolchain/opa.js'
import { opaBinary } from '../helpers/opa-binary.js'
import { mcpPolicy } from '../helpers/run-cli.js'

const root = packageRoot()

/** A fresh scaffolded policy repository to break in one way. */
async function scaffold(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-test-repo-'))
  await initPolicyRepo(dir)
  return dir
}

describe('mcp-policy test on the reference policy', () => {
  it('runs every Rego test in the WebAssembly engine and every decision case; opa test agrees', async () => {
    const { code, stdout, stderr } = await mcpPolicy(['test', '--format', 'json', '--compare-opa'])
    const report = JSON.parse(stdout) as PolicyTestReport
    expect(code, stderr).toBe(0)
    const rego = report.results.filter((r) => r.kind === 'rego')
    const cases = report.results.filter((r) => r.kind === 'case')
    expect(rego.length).toBeGreaterThanOrEqual(70)
    expect(cases.length).toBeGreaterThanOrEqual(60)
    expect(report.counts).toMatchObject({ fail: 0, error: 0 })
    expect(report.counts.pass).toBe(report.results.length)
    expect(stderr).toMatch(/opa test and the WebAssembly engine agree on every Rego test/)
  })

  it('the decision cases together expect every reason code the policy declares in METADATA', async () => {
    const { stdout } = await runOpa(await opaBinary(), [
      'inspect',
      '-a',
      '--format',
      'json',
      join(root, 'rego/mcp'),
    ])
    const declared = new Set(
      (JSON.parse(stdout) as { annotations: { annotations: { custom?: { code?: string } } }[] }).annotations
        .map((a) => a.annotations.custom?.code)
        .filter((code): code is string => typeof code === 'string'),
    )
    expect(declared.size).toBeGreaterThanOrEqual(17)
    const files = await Promise.all(
      (await findCaseFiles([join(root, 'bundles/default/cases')])).map(readCaseFile),
    )
    const expected = new Set(files.flatMap((f) => f.cases.flatMap((c) => c.expect.reasons ?? [])))
    expect([...declared].filter((code) => !expected.has(code))).toEqual([])
  })

  it("docs/policy-authoring.md's example cases file passes as written", async () => {
    const doc = await readFile(join(root, 'docs', 'policy-authoring.md'), 'utf8')
    const yaml = /```yaml\n(defaults:[\s\S]*?)```/.exec(doc)?.[1]
    expect(yaml).toBeDefined()
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-readme-cases-'))
    // The page elides the key's body; a real PEM block is what the detector looks for.
    await writeFile(
      join(dir, 'readme.cases.yaml'),
      yaml!.replace(
        '-----BEGIN RSA PRIVATE KEY-----…',
        '-----BEGIN RSA PRIVATE KEY-----\\nMIIB\\n-----END RSA PRIVATE KEY-----',
      ),
    )
    const { code, stdout } = await mcpPolicy(['test', dir])
    expect(code, stdout).toBe(0)
    expect(stdout).toMatch(/^2 passed, 0 failed$/m)
  })

  it('--run selects tests and cases by name', async () => {
    const { code, stdout } = await mcpPolicy([
      'test',
      '--format',
      'json',
      '--run',
      'access_test\\.test_step_up$',
    ])
    expect(code).toBe(0)
    const report = JSON.parse(stdout) as PolicyTestReport
    expect(report.results.map((r) => r.name)).toEqual(['data.mcp.access_test.test_step_up'])
  })
})

describe('mcp-policy init and the exit codes of mcp-policy test', () => {
  it('init writes a repository that passes check and test as written', async () => {
    const dir = await scaffold()
    expect((await mcpPolicy(['check'], dir)).code).toBe(0)
    const { code, stdout } = await mcpPolicy(['test'], dir)
    expect(code, stdout).toBe(0)
    expect(stdout).toMatch(/^9 passed, 0 failed$/m)
  })

  it('init refuses a directory that is not empty', async () => {
    const dir = await scaffold()
    const { code, stderr } = await mcpPolicy(['init', dir])
    expect(code).toBe(2)
    expect(stderr).toMatch(/ERR_CLI_USAGE: .* is not empty/)
  })

  it('a failing Rego test exits 1 and is a <failure> in JUnit XML', async () => {
    const dir = await scaffold()
    await appendFile(
      join(dir, 'rego/mcp/decision_test.rego'),
      '\ntest_support_may_delete if {\n\tmcp.decision.allow with input as call(["support"], "delete_repository")\n}\n',
    )
    const { code } = await mcpPolicy(['test', '--format', 'junit', '--out', 'report.xml'], dir)
    expect(code).toBe(1)
    const xml = await readFile(join(dir, 'report.xml'), 'utf8')
    expect(xml).toMatch(/<testsuites name="mcp-policy test" tests="10" failures="1" errors="0" skipped="0"/)
    expect(xml).toMatch(
      /<testcase classname="data\.mcp_test" name="test_support_may_delete" file="rego\/mcp\/decision_test\.rego" line="\d+" time="[\d.]+">\s*<failure message="the test rule is undefined/,
    )
  })

  it('a failing decision case exits 1 and says what differed', async () => {
    const dir = await scaffold()
    const file = join(dir, 'bundles/default/cases/tools.cases.yaml')
    await writeFile(
      file,
      (await readFile(file, 'utf8')).replace('reasons: [not_granted]', 'reasons: [explicitly_denied]'),
    )
    const { code, stdout } = await mcpPolicy(['test'], dir)
    expect(code).toBe(1)
    expect(stdout).toMatch(/FAIL bundles\/default\/cases\/tools\.cases\.yaml: nobody deletes a repository/)
    expect(stdout).toMatch(/reasons: expected \["explicitly_denied"\], got \["not_granted"\]/)
  })

  it('a test calling a builtin the engine lacks is an error (exit 2) naming it; todo_test_ is skipped, todo_ is no test', async () => {
    const dir = await scaffold()
    await appendFile(
      join(dir, 'rego/mcp/decision_test.rego'),
      '\ntest_calls_out if {\n\thttp.send({"method": "GET", "url": "http://127.0.0.1:1"}).status_code == 200\n}\n\ntodo_test_later if false\n\ntodo_helper := 1\n',
    )
    const { code, stdout } = await mcpPolicy(['test', '--format', 'json'], dir)
    expect(code).toBe(2)
    const report = JSON.parse(stdout) as PolicyTestReport
    expect(report.counts.skip).toBe(1)
    const errored = report.results.filter((r) => r.outcome === 'error')
    expect(errored.map((r) => r.kind)).toEqual(['rego', 'rego', 'rego', 'rego', 'rego'])
    expect(errored[0]!.message).toMatch(/http\.send/)
  })

  it('two definitions of one test name are an error, never a vacuous pass', async () => {
    const dir = await scaffold()
    await appendFile(join(dir, 'rego/mcp/decision_test.rego'), '\ntest_anonymous_is_401 if false\n')
    const { code, stdout } = await mcpPolicy(['test', '--format', 'json'], dir)
    expect(code).toBe(2)
    const report = JSON.parse(stdout) as PolicyTestReport
    const duplicate = report.results.find((r) => r.name === 'data.mcp_test.test_anonymous_is_401')
    expect(duplicate).toMatchObject({ outcome: 'error', message: expect.stringMatching(/defined 2 times/) })
  })

  it('a test name defined again in another file is an error, and opa test sees both', async () => {
    const dir = await scaffold()
    await writeFile(
      join(dir, 'rego/mcp/more_test.rego'),
      'package mcp_test\n\ntest_support_may_only_read if false\n',
    )
    const { code, stdout, stderr } = await mcpPolicy(['test', '--format', 'json', '--compare-opa'], dir)
    expect(code).toBe(2)
    const report = JSON.parse(stdout) as PolicyTestReport
    expect(report.results.find((r) => r.name === 'data.mcp_test.test_support_may_only_read')).toMatchObject({
      outcome: 'error',
      message: expect.stringMatching(/defined 2 times/),
    })
    // Which definition OPA numbers #01 follows its module order, so either outcome may be its.
    expect(stderr).toMatch(
      /opa disagrees: data\.mcp_test\.test_support_may_only_read#01: opa test (pass|fail), WebAssembly engine absent/,
    )
  })

  it('finds tests as opa test does: in any module; ref-head and partial tests are errors, never skipped', async () => {
    const dir = await scaffold()
    await writeFile(join(dir, 'rego/mcp/helpers.rego'), 'package mcp\n\ntest_in_helper_file if false\n')
    await appendFile(
      join(dir, 'rego/mcp/decision_test.rego'),
      '\ntest_grants.support_may_delete if false\n\ntest_cases[name] := false if some name in ["x"]\n',
    )
    const { code, stdout } = await mcpPolicy(['test', '--format', 'json'], dir)
    expect(code).toBe(2)
    const outcomes = Object.fromEntries(
      (JSON.parse(stdout) as PolicyTestReport).results.map((r) => [r.name, r.outcome]),
    )
    expect(outcomes).toMatchObject({
      'data.mcp.test_in_helper_file': 'fail',
      'data.mcp_test.test_grants': 'error',
      'data.mcp_test.test_cases': 'error',
    })
  })

  it('a run where nothing but skipped tests ran exits 1', async () => {
    const dir = await scaffold()
    await appendFile(join(dir, 'rego/mcp/decision_test.rego'), '\ntodo_test_later if false\n')
    const { code, stderr } = await mcpPolicy(['test', '--run', 'todo_test_'], dir)
    expect(code).toBe(1)
    expect(stderr).toMatch(/no test or decision case ran/)
  })

  it('a deny case met only by a fail-closed error is an error, not a pass', async () => {
    const dir = await scaffold()
    const policy = join(dir, 'rego/mcp/decision.rego')
    // Every decision is now malformed, so the engine denies each with ERR_DECISION_MALFORMED.
    await writeFile(
      policy,
      (await readFile(policy, 'utf8')).replace('"status": status,', '"status": "oops",'),
    )
    const cases = join(dir, 'bundles/default/cases/tools.cases.yaml')
    await appendFile(
      cases,
      '\n  - name: a deny with no reasons given\n    message: { jsonrpc: "2.0", id: 9, method: tools/call, params: { name: delete_repository, arguments: {} } }\n    expect: { allow: false }\n',
    )
    const { code, stdout } = await mcpPolicy(['test', '--format', 'json', cases], dir)
    expect(code).toBe(2)
    const result = (JSON.parse(stdout) as PolicyTestReport).results.find((r) =>
      r.name.endsWith('a deny with no reasons given'),
    )
    expect(result).toMatchObject({
      outcome: 'error',
      message: expect.stringMatching(/failed closed with ERR_DECISION_MALFORMED/),
    })
  })

  it.each([
    [
      'a typo in defaults',
      'defaults:\n  server: github\n',
      'defaults:\n  server: github\n  identiy: { sub: x }\n',
      /tools\.cases\.yaml:5:3: defaults: unknown key "identiy" \(did you mean "identity"\?\); allowed here: server, identity, now/,
    ],
    [
      'a time without a zone',
      'defaults:\n  server: github\n',
      'defaults:\n  server: github\n  now: "2025-11-24T10:00:00"\n',
      /tools\.cases\.yaml:5:8: defaults\.now: got string "2025-11-24T10:00:00", which is not the form asked for: RFC 3339/,
    ],
    [
      'redactions expected of a request case',
      'expect: { allow: true, status: 200, reasons: [] }',
      'expect: { allow: true, redactions: [] }',
      /tools\.cases\.yaml:\d+: case "a developer creates an issue" expects redactions, which an mcp\/decision does not have/,
    ],
  ])('a cases file with %s is rejected', async (_what, from, to, message) => {
    const dir = await scaffold()
    const file = join(dir, 'bundles/default/cases/tools.cases.yaml')
    const text = await readFile(file, 'utf8')
    expect(text).toContain(from)
    await writeFile(file, text.replace(from, to))
    const { code, stderr } = await mcpPolicy(['test'], dir)
    expect(code).toBe(2)
    expect(stderr).toMatch(message)
  })

  it('a cases file that breaks the schema is an error naming the file, line, key and the keys allowed', async () => {
    const dir = await scaffold()
    const file = join(dir, 'bundles/default/cases/tools.cases.yaml')
    const text = (await readFile(file, 'utf8')).replace(
      'expect: { allow: true, status: 200',
      'expect: { allwo: true, status: 200',
    )
    await writeFile(file, text)
    const lines = text.split('\n')
    const line = lines.findIndex((l) => l.includes('allwo')) + 1
    const column = lines[line - 1]!.indexOf('allwo') + 1
    const { code, stderr } = await mcpPolicy(['test'], dir)
    expect(code).toBe(2)
    expect(stderr).toBe(
      [
        'mcp-policy: ERR_POLICY_TEST_INVALID: bundles/default/cases/tools.cases.yaml does not match the decision cases schema (1 error):',
        `  bundles/default/cases/tools.cases.yaml:${line}:${column}: cases[0].expect: unknown key "allwo" (did you mean "allow"?); allowed here: allow, status, reasons, obligations, redactions`,
        '',
      ].join('\n'),
    )
  })

  it('a case naming a server without a resource says which key to add; adding it runs the case', async () => {
    const dir = await scaffold()
    const file = 'bundles/default/cases/jira.cases.yaml'
    const cases = [
      'cases:',
      '  - name: alice reads a jira issue',
      '    server: jira',
      '    identity: { sub: alice, roles: [developer] }',
      '    message: { jsonrpc: "2.0", id: 1, method: tools/call, params: { name: get_issue, arguments: {} } }',
      '    expect: { allow: false }',
      '',
    ].join('\n')
    await writeFile(join(dir, file), cases)
    const first = await mcpPolicy(['test', file], dir)
    expect(first.code).toBe(2)
    expect(first.stdout).toContain(`ERROR ${file}: alice reads a jira issue (${file}:2, `)
    expect(first.stdout).toContain(
      [
        '    case "alice reads a jira issue" names server "jira", which has no resource (the token audience its request is for).',
        `    The default servers are github, filesystem, postgres, fetch, docs. Add a \`servers:\` map at the top of ${file}; it replaces the defaults, so list every server its cases name:`,
        '        servers:',
        '          jira: { resource: https://localhost/mcp/jira }',
        '          github: { resource: https://localhost/mcp/github }',
      ].join('\n'),
    )
    // The YAML the message gives, pasted at the top of the file as it says, makes the case run.
    const snippet = first.stdout
      .split('\n')
      .filter((l) => /^ {8}(servers:| {2}[\w-]+: \{ resource: )/.test(l))
      .map((l) => l.slice(8))
    expect(snippet[0]).toBe('servers:')
    expect(snippet).toContain('  jira: { resource: https://localhost/mcp/jira }')
    await writeFile(join(dir, file), `${snippet.join('\n')}\n${cases}`)
    const second = await mcpPolicy(['test', file], dir)
    expect(second.stdout, second.stderr).toMatch(/^1 passed, 0 failed$/m)
    expect(second.code, second.stdout).toBe(0)
  })

  it('a failing Rego test shows the expression that failed, from opa test --explain fails', async () => {
    const dir = await scaffold()
    const tests = join(dir, 'rego/mcp/decision_test.rego')
    await appendFile(
      tests,
      '\ntest_support_may_delete if {\n\td := mcp.decision with input as call(["support"], "delete_repository")\n\td.status == 403\n\td.allow\n}\n',
    )
    const line = (await readFile(tests, 'utf8')).split('\n').indexOf('\td.allow') + 1
    const { code, stdout } = await mcpPolicy(['test'], dir)
    expect(code).toBe(1)
    expect(stdout).toMatch(
      new RegExp(
        [
          String.raw`FAIL data\.mcp_test\.test_support_may_delete \(rego/mcp/decision_test\.rego:\d+, [^)]+\)`,
          '    the test rule is undefined \\(a body expression was false\\)',
          '    where it failed \\(re-run with opa test --explain fails\\):',
          `      rego/mcp/decision_test\\.rego:${line}: d\\.allow`,
          '-{80}',
        ].join('\n'),
      ),
    )
  })

  it('check reports an unformatted file and a field input document v1 does not have', async () => {
    const dir = await scaffold()
    await writeFile(join(dir, 'rego/mcp/extra.rego'), 'package mcp\n\ntypo   if input.mcp.tool.nmae == "x"\n')
    const { code, stdout } = await mcpPolicy(['check'], dir)
    expect(code).toBe(1)
    expect(stdout).toMatch(/not opa fmt formatted: .*extra\.rego/)
    expect(stdout).toMatch(/undefined ref: input\.mcp\.tool\.nmae/)
  })
})
