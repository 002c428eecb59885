import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBundle } from '../bundle/build-bundle.js'
import { loadBundle } from '../bundle/load-bundle.js'
import { firstResult, PolicyInstance } from '../engine/policy-instance.js'
import { toMcpPolicyError } from '../errors.js'
import type { RegoTest } from './discover-rego-tests.js'
import { explainRegoFailures } from './explain-rego-failures.js'
import type { PolicyTestResult } from './policy-test-result.js'

/**
 * Options for {@link runRegoTests}.
 *
 * @internal
 */
export interface RunRegoTestsOptions {
  /** Bundle definition whose `data.json` the tests see, as production does. */
  bundleDir: string
  /** Policy directory: every `.rego` in it, tests included, is compiled. */
  regoDir: string
  opa: string
}

/**
 * Compiles the policy with its tests to WebAssembly — the production toolchain (pinned OPA, the
 * engine's capabilities) at `-O 0` (see `buildBundle`), with each test rule as an entrypoint — and
 * runs each test in this engine with its host builtins. A test passes when its rule is `true`;
 * undefined or any other value fails; a trap or a missing builtin is an error. `todo_test_*` rules
 * are skipped; duplicated names and test forms one entrypoint cannot evaluate are errors.
 *
 * A compile failure errors every selected test with OPA's message rather than throwing, so a
 * report always names what could not run. A failed test's message ends with where it failed, from
 * re-running it with `opa test --explain fails` (see `explainRegoFailures`).
 *
 * @internal
 *
 * @example
 * ```ts
 * const results = await runRegoTests(tests, { bundleDir: 'bundles/default', regoDir: 'rego', opa })
 * ```
 */
export async function runRegoTests(
  tests: readonly RegoTest[],
  options: RunRegoTestsOptions,
): Promise<PolicyTestResult[]> {
  const runnable = tests.filter((t) => !t.todo && !t.unsupported && t.definitions === 1)
  let instance: PolicyInstance | undefined
  let buildError: string | undefined
  if (runnable.length > 0) {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-tests-'))
    try {
      const built = await buildBundle({
        bundleDir: options.bundleDir,
        regoDir: options.regoDir,
        out: join(dir, 'tests.tar.gz'),
        opa: options.opa,
        testEntrypoints: runnable.map((t) => t.entrypoint),
      })
      instance = await PolicyInstance.create(await loadBundle(built.path))
    } catch (err) {
      buildError = `the policy and its tests do not compile to WebAssembly: ${toMcpPolicyError(err, 'ERR_BUILD_FAILED').message}`
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  }
  const results = tests.map((test) => runOne(test, instance, buildError))
  // WebAssembly keeps no trace: OPA's interpreter re-runs the failed tests to show where they failed.
  const failed = tests.filter((_, i) => results[i]!.outcome === 'fail')
  if (failed.length > 0) {
    const why = await explainRegoFailures(options.opa, failed, options)
    for (const [i, test] of tests.entries()) {
      const lines = why.get(test.name)
      if (lines?.length) results[i]!.message = [results[i]!.message, ...lines].join('\n')
    }
  }
  return results
}

function runOne(
  test: RegoTest,
  instance: PolicyInstance | undefined,
  buildError: string | undefined,
): PolicyTestResult {
  const base = {
    kind: 'rego' as const,
    name: test.name,
    suite: ['data', ...test.packagePath].join('.'),
    file: test.file,
    line: test.line,
  }
  if (test.todo) return { ...base, outcome: 'skip', message: 'todo_test_ rule', durationMs: 0 }
  if (test.unsupported) return { ...base, outcome: 'error', message: test.unsupported, durationMs: 0 }
  if (test.definitions > 1) {
    // OPA runs each definition as its own test; one WebAssembly entrypoint ORs them, so a failing
    // definition would hide behind a passing one. Refuse rather than pass vacuously.
    return {
      ...base,
      outcome: 'error',
      message: `${test.name} is defined ${test.definitions} times; give each test its own name`,
      durationMs: 0,
    }
  }
  if (!instance) return { ...base, outcome: 'error', message: buildError, durationMs: 0 }
  const started = process.hrtime.bigint()
  try {
    const { resultSet } = instance.evaluate(test.entrypoint, undefined)
    const durationMs = Number(process.hrtime.bigint() - started) / 1e6
    const value = firstResult(resultSet)
    if (value === true) return { ...base, outcome: 'pass', durationMs }
    const message =
      value === undefined
        ? 'the test rule is undefined (a body expression was false)'
        : `the test rule is ${JSON.stringify(value)}, not true`
    return { ...base, outcome: 'fail', message, durationMs }
  } catch (err) {
    const error = toMcpPolicyError(err, 'ERR_ENGINE_TRAP')
    return {
      ...base,
      outcome: 'error',
      message: `${error.code}: ${error.message}`,
      durationMs: Number(process.hrtime.bigint() - started) / 1e6,
    }
  }
}
