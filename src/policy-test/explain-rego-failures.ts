import { execFile } from 'node:child_process'
import { readFile, rm } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import type { RegoTest } from './discover-rego-tests.js'
import { stageOpaTestInputs } from './opa-test-inputs.js'
import type { OpaTestResult, TraceEvent } from './opa-test-result.js'

/** At most this many lines of explanation under one failing test: the report stays readable. */
const MAX_LINES = 12

/**
 * Shows where failing Rego tests failed. WebAssembly evaluation keeps no trace, so the failing
 * tests are run once more, together, in OPA's interpreter (`opa test --explain fails --format json
 * -r '^(name|…)$'`, the pinned OPA, the inputs the harness compiled) and, for each, the expressions
 * of the test body that failed are returned with their file, line and source text — or the end of
 * the trace when none stands out. When OPA cannot run, or passes a test the engine failed, the
 * explanation says so instead. Internal: not exported from the package.
 *
 * @returns Explanation lines by test name (`data.pkg.test_x`); every given test has an entry.
 * @example
 * ```ts
 * const why = await explainRegoFailures(opa, failed, { regoDir: 'rego', bundleDir: 'bundles/default' })
 * ```
 */
export async function explainRegoFailures(
  opa: string,
  tests: readonly RegoTest[],
  sources: { regoDir: string; bundleDir: string },
): Promise<Map<string, string[]>> {
  const explanations = new Map<string, string[]>()
  if (tests.length === 0) return explanations
  let staged: { dir: string; policyDir: string } | undefined
  try {
    const pattern = `^(?:${tests.map((t) => t.name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|')})$`
    let output: OpaTestResult[]
    try {
      staged = await stageOpaTestInputs(sources.regoDir, sources.bundleDir)
      output = await opaTestExplain(opa, pattern, staged.dir)
    } catch (err) {
      // Explaining is a help, not the verdict: the report goes on without it.
      for (const test of tests)
        explanations.set(test.name, [`(opa test --explain fails could not run: ${(err as Error).message})`])
      return explanations
    }
    const { policyDir } = staged
    const results = new Map(output.map((r) => [`${r.package}.${r.name}`, r]))
    const shownRegoDir = relative(process.cwd(), resolve(sources.regoDir)) || '.'
    const display = (file: string): string =>
      file.startsWith(policyDir + sep) ? join(shownRegoDir, file.slice(policyDir.length + 1)) : file
    for (const test of tests) {
      const result = results.get(test.name)
      if (result?.error) {
        const message = (result.error as { message?: string }).message ?? JSON.stringify(result.error)
        explanations.set(test.name, [`opa test: error: ${message}`])
      } else if (!result?.fail) {
        explanations.set(test.name, [
          "opa test passes this test: OPA's interpreter and the WebAssembly engine disagree (see --compare-opa)",
        ])
      } else {
        const file = join(policyDir, relative(resolve(sources.regoDir), resolve(test.file)))
        const lines = await explainTrace(result.trace ?? [], file, test.line, display)
        explanations.set(
          test.name,
          lines.length > 0 ? ['where it failed (re-run with opa test --explain fails):', ...lines] : [],
        )
      }
    }
    return explanations
  } finally {
    if (staged) await rm(staged.dir, { recursive: true, force: true })
  }
}

// The expressions of the test's own body that failed — the Fail events in the query the rule was
// entered with — as written in the source; else the end of the trace.
async function explainTrace(
  trace: readonly TraceEvent[],
  file: string,
  row: number,
  display: (file: string) => string,
): Promise<string[]> {
  const located = trace.filter((e) => e.Location?.file)
  const enter = located.find((e) => e.Op === 'Enter' && e.Location!.file === file && e.Location!.row === row)
  const body = enter
    ? located.filter(
        (e) =>
          (e.Op === 'Fail' && e.QueryID === enter.QueryID && e.Location!.file === file) || e.Op === 'Note',
      )
    : []
  const shown = body.length > 0 ? body : located.slice(-MAX_LINES)
  const lines: string[] = []
  for (const event of shown.slice(0, MAX_LINES)) {
    const at = event.Location!
    const text = event.Op === 'Note' ? `note: ${event.Message ?? ''}` : await sourceLine(at.file, at.row)
    lines.push(
      `  ${display(at.file!)}:${at.row}: ${body.length > 0 ? '' : `${event.Op} `}${text ?? '(source not found)'}`,
    )
  }
  return lines
}

// `opa test` exits 2 when a test fails; its JSON report on stdout is still the answer.
function opaTestExplain(opa: string, pattern: string, dir: string): Promise<OpaTestResult[]> {
  return new Promise((resolvePromise, reject) => {
    execFile(
      opa,
      ['test', '--explain', 'fails', '--format', 'json', '-r', pattern, dir],
      { maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (err, stdout, stderr) => {
        try {
          resolvePromise(JSON.parse(stdout) as OpaTestResult[])
        } catch {
          reject(new Error((stderr || err?.message || 'no report').trim().split('\n')[0]))
        }
      },
    )
  })
}

async function sourceLine(file: string | undefined, row: number | undefined): Promise<string | undefined> {
  if (!file || !row) return undefined
  const text = await readFile(file, 'utf8').catch(() => undefined)
  return text?.split('\n')[row - 1]?.trim() || undefined
}
