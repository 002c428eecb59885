/** How one test or decision case ended. */
export type TestOutcome = 'pass' | 'fail' | 'error' | 'skip'

/**
 * One result of `mcp-policy test`: a Rego `test_*` rule run in the engine, or a YAML decision case
 * run through normalize → decide.
 */
export interface PolicyTestResult {
  kind: 'rego' | 'case'
  /** `data.<package>.<rule>` for Rego tests; `<file>: <case name>` for cases. */
  name: string
  /** Grouping for reports: the Rego package or the cases file. */
  suite: string
  file: string
  line?: number
  outcome: TestOutcome
  /** Why it failed, errored or was skipped. */
  message?: string
  durationMs: number
}

/** The whole run: every result plus counts, in discovery order. */
export interface PolicyTestReport {
  results: PolicyTestResult[]
  counts: Record<TestOutcome, number>
  durationMs: number
}

/**
 * Counts outcomes and wraps results into a report.
 *
 * @internal
 *
 * @example
 * ```ts
 * const report = summarize([{ kind: 'rego', name: 'data.x.test_a', suite: 'x', file: 'x_test.rego', outcome: 'pass', durationMs: 1 }], 1)
 * report.counts.pass // 1
 * ```
 */
export function summarize(results: PolicyTestResult[], durationMs: number): PolicyTestReport {
  const counts: Record<TestOutcome, number> = { pass: 0, fail: 0, error: 0, skip: 0 }
  for (const result of results) counts[result.outcome]++
  return { results, counts, durationMs }
}

/**
 * The exit code of a test run: 0 when everything ran and passed, 2 when any test errored (it could
 * not be judged), else 1 when any failed.
 */
export function reportExitCode(report: PolicyTestReport): 0 | 1 | 2 {
  if (report.counts.error > 0) return 2
  return report.counts.fail > 0 ? 1 : 0
}
