import { existsSync } from 'node:fs'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { buildBundle } from '../bundle/build-bundle.js'
import { DEFAULT_BUNDLE_DIR, DEFAULT_REGO_DIR } from '../defaults.js'
import { PolicyEngine } from '../engine/policy-engine.js'
import { McpPolicyError } from '../errors.js'
import { resolveOpa } from '../toolchain/opa.js'
import { findCaseFiles, readCaseFile } from './decision-cases.js'
import { discoverRegoTests, findRegoFiles } from './discover-rego-tests.js'
import { type PolicyTestReport, type PolicyTestResult, summarize } from './policy-test-result.js'
import { runDecisionCases } from './run-decision-cases.js'
import { runRegoTests } from './run-rego-tests.js'

/** Options for {@link runPolicyTests}. */
export interface PolicyTestOptions {
  /** Files or directories holding `*_test.rego` and `*.cases.yaml`. Default: `regoDir` and `<bundleDir>/cases`. */
  paths?: string[]
  /** Bundle definition (`.manifest`, `data.json`). Default `bundles/default`. */
  bundleDir?: string
  /** Policy directory compiled with the tests. Default `rego`. */
  regoDir?: string
  /** Run only tests and cases whose name matches. */
  run?: RegExp
  /** OPA binary; resolved with `resolveOpa()` when omitted. */
  opa?: string
}

/**
 * `mcp-policy test`: runs the Rego `test_*` rules compiled to WebAssembly in this engine, and the
 * YAML decision cases through normalize → decide on the production bundle build.
 *
 * @throws McpPolicyError `ERR_POLICY_TEST_INVALID` (bad path or cases file), `ERR_TOOLCHAIN_*`.
 * @example
 * ```ts
 * const report = await runPolicyTests({ paths: ['rego'], run: /access/ })
 * console.log(report.counts)
 * ```
 */
export async function runPolicyTests(options: PolicyTestOptions = {}): Promise<PolicyTestReport> {
  const started = process.hrtime.bigint()
  const bundleDir = resolve(options.bundleDir ?? DEFAULT_BUNDLE_DIR)
  const regoDir = resolve(options.regoDir ?? DEFAULT_REGO_DIR)
  const defaultCases = join(bundleDir, 'cases')
  const defaults = existsSync(defaultCases) ? [regoDir, defaultCases] : [regoDir]
  const paths = options.paths?.length ? options.paths : defaults
  const opa = options.opa ?? (await resolveOpa())
  const selected = (name: string) => !options.run || options.run.test(name)

  for (const path of options.paths ?? []) await checkExplicitFile(path)
  const regoTests = (await discoverRegoTests(opa, regoDir, await findRegoFiles(paths))).filter((t) =>
    selected(t.name),
  )
  const caseFiles = await Promise.all((await findCaseFiles(paths)).map(readCaseFile))
  for (const file of caseFiles) file.cases = file.cases.filter((c) => selected(`${file.file}: ${c.name}`))

  const results: PolicyTestResult[] = []
  if (regoTests.length > 0) results.push(...(await runRegoTests(regoTests, { bundleDir, regoDir, opa })))
  if (caseFiles.some((f) => f.cases.length > 0))
    results.push(...(await runCases(caseFiles, bundleDir, regoDir, opa)))
  return summarize(results, Number(process.hrtime.bigint() - started) / 1e6)
}

async function runCases(
  caseFiles: Awaited<ReturnType<typeof readCaseFile>>[],
  bundleDir: string,
  regoDir: string,
  opa: string,
): Promise<PolicyTestResult[]> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-cases-'))
  try {
    // The bundle the cases judge is built exactly as `mcp-policy build` builds it.
    const built = await buildBundle({
      bundleDir,
      regoDir,
      out: join(dir, 'bundle.tar.gz'),
      bundleStore: join(dir, 'store'),
      opa,
    })
    return await runDecisionCases(caseFiles, await PolicyEngine.fromBundleFile(built.path))
  } catch (err) {
    if (!(err instanceof McpPolicyError)) throw err
    return caseFiles.flatMap((file) =>
      file.cases.map((c) => ({
        kind: 'case' as const,
        name: `${file.file}: ${c.name}`,
        suite: file.file,
        file: file.file,
        line: c.line,
        outcome: 'error' as const,
        message: `the bundle does not build: ${err.message}`,
        durationMs: 0,
      })),
    )
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

// A file named on the command line must be something the harness runs: never silently ignored.
async function checkExplicitFile(path: string): Promise<void> {
  const info = await stat(path).catch(() => undefined)
  if (!info) throw new McpPolicyError('ERR_POLICY_TEST_INVALID', `test path ${path} does not exist`)
  if (info.isFile() && !/(\.rego|\.cases\.ya?ml)$/.test(path))
    throw new McpPolicyError(
      'ERR_POLICY_TEST_INVALID',
      `${path} is neither a .rego file nor a .cases.yaml file`,
    )
}
