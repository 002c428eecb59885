import { execFile } from 'node:child_process'
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { type PolicyTestReport, verifyLog } from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'
import { cliPath, mcpPolicy } from '../helpers/run-cli.js'

const root = packageRoot()
const run = promisify(execFile)
const { name, version } = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as {
  name: string
  version: string
}

/** The `run:` commands of the scaffolded CI job, in order. */
async function ciSteps(dir: string): Promise<string[]> {
  const workflow = parse(await readFile(join(dir, '.github/workflows/policy.yml'), 'utf8')) as {
    jobs: Record<string, { steps: { run?: string; uses?: string }[] }>
  }
  return Object.values(workflow.jobs).flatMap((job) => job.steps.flatMap((s) => (s.run ? [s.run] : [])))
}

/**
 * Runs the CI job's mcp-policy steps as written, in `dir`, with this checkout's CLI standing in for
 * the pinned install (the one step not run: it needs the registry). Stops at the first failure.
 */
async function runCi(dir: string): Promise<{ code: number; output: string; summary: string }> {
  const summaryFile = join(dir, '..', `${dir.split('/').at(-1)}-step-summary.md`)
  await writeFile(summaryFile, '')
  let output = ''
  for (const step of await ciSteps(dir)) {
    if (step.startsWith('npm install')) continue
    const command = step.replaceAll('npx --no mcp-policy', `"${process.execPath}" "${cliPath}"`)
    try {
      const { stdout, stderr } = await run('bash', ['-e', '-c', command], {
        cwd: dir,
        env: { ...process.env, GITHUB_STEP_SUMMARY: summaryFile },
        maxBuffer: 64 * 1024 * 1024,
      })
      output += stdout + stderr
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string }
      output += e.stdout + e.stderr
      // The summary step runs even when the gate failed (if: !cancelled()).
      const last = (await ciSteps(dir)).at(-1)!
      await run('bash', ['-e', '-c', last], {
        cwd: dir,
        env: { ...process.env, GITHUB_STEP_SUMMARY: summaryFile },
      })
      return { code: e.code, output, summary: await readFile(summaryFile, 'utf8') }
    }
  }
  return { code: 0, output, summary: await readFile(summaryFile, 'utf8') }
}

/** Every file under `dir`, relative, sorted. */
async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(dir.length + 1))
    .sort()
}

describe('mcp-policy init (default: the reference template)', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'mcp-policy-init-')), 'policy')

  it('scaffolds the reference policy, its tests, schemas, data and cases from the package, a CI job and a sample log', async () => {
    const { code, stdout, stderr } = await mcpPolicy(['init', dir])
    expect(code, stderr).toBe(0)
    const files = await filesUnder(dir)
    // The package's own rego/ and bundles/default/, file for file and byte for byte.
    const rego = (await filesUnder(join(root, 'rego'))).filter(
      (f) => f.endsWith('.rego') || f.endsWith('.json'),
    )
    expect(rego.length).toBeGreaterThanOrEqual(15)
    expect(rego).toContain('schemas/input.json')
    expect(rego.some((f) => f.endsWith('_test.rego'))).toBe(true)
    const bundle = [
      '.manifest',
      'data.json',
      ...(await filesUnder(join(root, 'bundles/default/cases'))).map((f) => `cases/${f}`),
    ]
    for (const [from, to] of [
      ...rego.map((f) => [join(root, 'rego', f), `rego/${f}`]),
      ...bundle.map((f) => [join(root, 'bundles/default', f), `bundles/default/${f}`]),
    ] as [string, string][]) {
      expect(files).toContain(to)
      expect(await readFile(join(dir, to), 'utf8'), to).toBe(await readFile(from, 'utf8'))
    }
    const data = JSON.parse(await readFile(join(dir, 'bundles/default/data.json'), 'utf8'))
    expect(Object.keys(data.mcp_data)).toEqual(
      expect.arrayContaining(['servers', 'grants', 'masking', 'dlp']),
    )
    expect(files).toEqual(
      expect.arrayContaining([
        '.github/workflows/policy.yml',
        '.gitignore',
        'README.md',
        'samples/decisions/decisions-sample-000001.jsonl',
      ]),
    )
    // Nothing else from the package's folders (no built bundle, no stray files).
    expect(
      files.filter(
        (f) => !/^(rego|bundles\/default|samples\/decisions|\.github)\/|^README\.md$|^\.gitignore$/.test(f),
      ),
    ).toEqual([])
    expect(files.some((f) => f.endsWith('.tar.gz'))).toBe(false)
    expect(stdout).toContain(`created ${dir}/rego/mcp/decision.rego`)
    expect(stdout).toContain(`created ${dir}/samples/decisions/decisions-sample-000001.jsonl`)
  })

  it('the CI job installs the exact version of this package, never a bare name, and never lets npx download', async () => {
    const steps = await ciSteps(dir)
    const installs = steps.filter((s) => /\bnpm (i|install|ci)\b/.test(s))
    expect(installs).toEqual([`npm install --no-save --no-audit --no-fund ${name}@${version}`])
    expect(version).toMatch(/^\d+\.\d+\.\d+$/)
    for (const step of steps.filter((s) => s.includes('npx'))) expect(step).toMatch(/^npx --no mcp-policy /)
    expect(steps).toContain(
      'npx --no mcp-policy replay samples/decisions --against bundles/default.tar.gz --fail-on change --summary what-if.md',
    )
  })

  it('the sample log is a real decision log: verified chain, one event per decision case, arguments masked', async () => {
    const verification = await verifyLog([join(dir, 'samples/decisions')])
    expect(verification).toMatchObject({ intact: true, findings: [] })
    expect(verification.chains).toMatchObject([{ chain: 'sample', files: 1 }])
    const lines = (await readFile(join(dir, 'samples/decisions/decisions-sample-000001.jsonl'), 'utf8'))
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as { path: string; erased: string[]; input: unknown })
    expect(lines.length).toBeGreaterThanOrEqual(60)
    expect(verification.chains[0]!.events).toBe(lines.length)
    expect(lines.some((e) => e.path === 'mcp/response')).toBe(true)
    // The masking case's password never reaches the sample, only the pointer that erased it.
    const masked = lines.filter((e) => e.erased.some((p) => p.endsWith('/password')))
    expect(masked.length).toBeGreaterThan(0)
    for (const e of masked) expect(JSON.stringify(e.input)).not.toMatch(/"password"/)
  })

  it('check, test and build pass in the new repository as written', async () => {
    expect((await mcpPolicy(['check'], dir)).code).toBe(0)
    const { code, stdout, stderr } = await mcpPolicy(['test', '--format', 'json'], dir)
    expect(code, stderr).toBe(0)
    const report = JSON.parse(stdout) as PolicyTestReport
    expect(report.results.filter((r) => r.kind === 'rego').length).toBeGreaterThanOrEqual(70)
    expect(report.results.filter((r) => r.kind === 'case').length).toBeGreaterThanOrEqual(60)
    expect(report.counts).toMatchObject({ fail: 0, error: 0, pass: report.results.length })
    const built = await mcpPolicy(['build'], dir)
    expect(built.code, built.stderr).toBe(0)
    expect(built.stdout).toContain(join(dir, 'bundles/default.tar.gz'))
  })

  it("the CI job's steps pass on the fresh repository, the what-if gate included", async () => {
    const { code, output, summary } = await runCi(dir)
    expect(code, output).toBe(0)
    expect(output).toMatch(/what-if gate \(--fail-on change\): passed: all \d+ decisions unchanged/)
    expect(summary).toMatch(/^## mcp-policy what-if: 0 of \d+ decisions would change/)
    expect(summary).toContain('**Gate passed** (`--fail-on change`)')
  })

  it('a policy change fails the gate with the flips in the job summary; recording the sample again passes it', async () => {
    const file = join(dir, 'bundles/default/data.json')
    const data = JSON.parse(await readFile(file, 'utf8'))
    // Support may now create issues on GitHub: the cases that deny it flip in the sample.
    data.mcp_data.grants.roles.support.tools.github.push('create_issue')
    await writeFile(file, `${JSON.stringify(data, null, 2)}\n`)
    await mcpPolicy(['build', '--out', 'bundles/default.tar.gz'], dir)
    const gate = await mcpPolicy(
      [
        'replay',
        'samples/decisions',
        '--against',
        'bundles/default.tar.gz',
        '--fail-on',
        'deny-to-allow',
        '--summary',
        'what-if.md',
      ],
      dir,
    )
    expect(gate.code, gate.stderr).toBe(1)
    const summary = await readFile(join(dir, 'what-if.md'), 'utf8')
    expect(summary).toContain('**Gate failed** (`--fail-on deny-to-allow`)')
    expect(summary).toMatch(/\| deny → allow \| [1-9]\d* \|/)
    expect(summary).toMatch(
      /\| deny → allow \| `[0-9a-f-]{36}` \| `tools\/call` \| `github\/create_issue` \| `[^`]+` \| deny 403 `not_granted` → allow 200 \|/,
    )

    const recorded = await mcpPolicy(['init', dir, '--record-sample'], root)
    expect(recorded.code, recorded.stderr).toBe(0)
    expect(recorded.stdout).toContain(`recorded ${dir}/samples/decisions/decisions-sample-000001.jsonl`)
    const again = await mcpPolicy(
      ['replay', 'samples/decisions', '--against', 'bundles/default.tar.gz', '--fail-on', 'change'],
      dir,
    )
    expect(again.code, again.stderr).toBe(0)
  })

  it('init refuses a repository that exists; --record-sample refuses a directory without a bundle definition', async () => {
    const again = await mcpPolicy(['init', dir])
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/ERR_CLI_USAGE: .* is not empty/)
    const empty = await mkdtemp(join(tmpdir(), 'mcp-policy-init-empty-'))
    const refused = await mcpPolicy(['init', empty, '--record-sample'])
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(/ERR_CLI_USAGE: .*has no bundles\/default\/\.manifest/)
  })
})

describe('mcp-policy init --template minimal', async () => {
  const dir = join(await mkdtemp(join(tmpdir(), 'mcp-policy-init-minimal-')), 'policy')

  it('keeps the small policy with its own data model; check, test and the CI job pass', async () => {
    const { code, stderr } = await mcpPolicy(['init', dir, '--template', 'minimal'])
    expect(code, stderr).toBe(0)
    const files = await filesUnder(dir)
    expect(files).toEqual([
      '.github/workflows/policy.yml',
      '.gitignore',
      'README.md',
      'bundles/default/.manifest',
      'bundles/default/cases/tools.cases.yaml',
      'bundles/default/data.json',
      'rego/mcp/decision.rego',
      'rego/mcp/decision_test.rego',
      'samples/decisions/decisions-sample-000001.jsonl',
    ])
    expect(JSON.parse(await readFile(join(dir, 'bundles/default/data.json'), 'utf8'))).toHaveProperty(
      'policy.grants',
    )
    expect((await mcpPolicy(['check'], dir)).code).toBe(0)
    const tested = await mcpPolicy(['test'], dir)
    expect(tested.code, tested.stdout).toBe(0)
    expect(tested.stdout).toMatch(/^9 passed, 0 failed$/m)
    const ci = await runCi(dir)
    expect(ci.code, ci.output).toBe(0)
    expect(ci.summary).toMatch(/^## mcp-policy what-if: 0 of 5 decisions would change/)
  })
})
