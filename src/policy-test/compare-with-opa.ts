import { execFile } from 'node:child_process'
import { rm } from 'node:fs/promises'
import { McpPolicyError } from '../errors.js'
import { stageOpaTestInputs } from './opa-test-inputs.js'
import type { OpaTestResult } from './opa-test-result.js'
import type { PolicyTestResult, TestOutcome } from './policy-test-result.js'

/**
 * One test whose outcome differs between OPA's interpreter and this engine.
 *
 * @internal
 */
export interface OpaDisagreement {
  name: string
  opa: TestOutcome | 'absent'
  engine: TestOutcome | 'absent'
}

/**
 * Runs `opa test` on the same policy, tests and data the engine ran, and lists every Rego test
 * whose outcome differs or that only one side ran (`run` filters OPA's side like `--run`). An empty list means OPA's interpreter and the
 * compiled WebAssembly agree on every test.
 *
 * @internal
 *
 * @example
 * ```ts
 * const differences = await compareWithOpa(opa, { regoDir: 'rego', bundleDir: 'bundles/default' }, report.results)
 * ```
 */
export async function compareWithOpa(
  opa: string,
  sources: { regoDir: string; bundleDir: string; run?: RegExp },
  engineResults: readonly PolicyTestResult[],
): Promise<OpaDisagreement[]> {
  // The same inputs the engine compiled: every .rego under the policy directory and the bundle's data.
  const { dir: staging } = await stageOpaTestInputs(sources.regoDir, sources.bundleDir)
  try {
    const opaResults = await runOpaTest(opa, staging)
    const opaOutcomes = new Map<string, TestOutcome>(
      opaResults.map((r) => [`${r.package}.${r.name}`, outcomeOf(r)]),
    )
    const engineOutcomes = new Map(
      engineResults.filter((r) => r.kind === 'rego').map((r) => [r.name, r.outcome] as const),
    )
    const disagreements: OpaDisagreement[] = []
    for (const [name, engine] of engineOutcomes) {
      const opaOutcome = opaOutcomes.get(name) ?? 'absent'
      if (opaOutcome !== engine) disagreements.push({ name, opa: opaOutcome, engine })
    }
    // Tests only OPA ran (a repeated name it numbered `#01`, a form the harness does not find).
    for (const [name, opaOutcome] of opaOutcomes) {
      if (engineOutcomes.has(name) || (sources.run && !sources.run.test(name))) continue
      disagreements.push({ name, opa: opaOutcome, engine: 'absent' })
    }
    return disagreements
  } finally {
    await rm(staging, { recursive: true, force: true })
  }
}

async function runOpaTest(opa: string, dir: string): Promise<OpaTestResult[]> {
  // `opa test` exits 2 when a test fails: its JSON report is still the answer.
  const stdout = await new Promise<string>((resolvePromise, reject) => {
    execFile(opa, ['test', '--format', 'json', dir], { maxBuffer: 64 * 1024 * 1024 }, (err, out, stderr) => {
      if (out.trim().startsWith('[')) resolvePromise(out)
      else
        reject(new McpPolicyError('ERR_TOOLCHAIN_OPA_FAILED', `opa test failed: ${stderr || err?.message}`))
    })
  })
  return JSON.parse(stdout) as OpaTestResult[]
}

function outcomeOf(result: OpaTestResult): TestOutcome {
  if (result.skip) return 'skip'
  if (result.error) return 'error'
  return result.fail ? 'fail' : 'pass'
}
