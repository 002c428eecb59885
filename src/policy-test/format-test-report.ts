import type { PolicyTestReport, PolicyTestResult } from './policy-test-result.js'

/** Output formats of `mcp-policy test`. */
export type TestReportFormat = 'pretty' | 'json' | 'junit'

/**
 * Renders a test report: `pretty` for people (failures first, then a count line), `json` for
 * tools, `junit` (JUnit XML, one `<testsuite>` per Rego package or cases file) for CI systems.
 *
 * @example
 * ```ts
 * process.stdout.write(formatTestReport(report, 'junit'))
 * ```
 */
export function formatTestReport(
  report: PolicyTestReport,
  format: TestReportFormat,
  verbose = false,
): string {
  if (format === 'json') return `${JSON.stringify(report, null, 2)}\n`
  if (format === 'junit') return junit(report)
  return pretty(report, verbose)
}

const LABEL = { pass: 'PASS', fail: 'FAIL', error: 'ERROR', skip: 'SKIP' } as const

function pretty(report: PolicyTestReport, verbose: boolean): string {
  const lines: string[] = []
  for (const result of report.results) {
    if (result.outcome === 'pass' && !verbose) continue
    lines.push(
      `${LABEL[result.outcome]} ${result.name} (${location(result)}, ${duration(result.durationMs)})`,
    )
    if (result.message) lines.push(...result.message.split('\n').map((line) => `    ${line}`))
  }
  const { pass, fail, error, skip } = report.counts
  if (lines.length > 0) lines.push('-'.repeat(80))
  const rego = report.results.filter((r) => r.kind === 'rego').length
  const cases = report.results.length - rego
  lines.push(
    `${rego} Rego tests in the WebAssembly engine, ${cases} decision cases through normalize → decide`,
  )
  // The plain closing line CI systems read: 'N passed, N failed'.
  lines.push(`${pass} passed, ${fail + error} failed${skip ? `, ${skip} skipped` : ''}`)
  return `${lines.join('\n')}\n`
}

function junit(report: PolicyTestReport): string {
  const suites = new Map<string, PolicyTestResult[]>()
  for (const result of report.results) {
    const suite = suites.get(result.suite) ?? []
    suite.push(result)
    suites.set(result.suite, suite)
  }
  const out = ['<?xml version="1.0" encoding="UTF-8"?>']
  const { pass, fail, error, skip } = report.counts
  out.push(
    `<testsuites name="mcp-policy test" tests="${pass + fail + error + skip}" failures="${fail}" errors="${error}" skipped="${skip}" time="${seconds(report.durationMs)}">`,
  )
  for (const [name, results] of suites) {
    const count = (outcome: PolicyTestResult['outcome']) =>
      results.filter((r) => r.outcome === outcome).length
    const time = results.reduce((sum, r) => sum + r.durationMs, 0)
    out.push(
      `  <testsuite name="${xml(name)}" tests="${results.length}" failures="${count('fail')}" errors="${count('error')}" skipped="${count('skip')}" time="${seconds(time)}">`,
    )
    for (const result of results) {
      const testName =
        result.kind === 'rego' ? result.name.split('.').at(-1)! : result.name.slice(result.suite.length + 2)
      const open = `    <testcase classname="${xml(result.suite)}" name="${xml(testName)}" file="${xml(result.file)}"${
        result.line ? ` line="${result.line}"` : ''
      } time="${seconds(result.durationMs)}"`
      if (result.outcome === 'pass') {
        out.push(`${open}/>`)
        continue
      }
      const tag = result.outcome === 'fail' ? 'failure' : result.outcome === 'error' ? 'error' : 'skipped'
      const message = result.message ?? ''
      out.push(`${open}>`)
      out.push(`      <${tag} message="${xml(message.split('\n')[0] ?? '')}">${xml(message)}</${tag}>`)
      out.push('    </testcase>')
    }
    out.push('  </testsuite>')
  }
  out.push('</testsuites>')
  return `${out.join('\n')}\n`
}

function location(result: PolicyTestResult): string {
  return result.line ? `${result.file}:${result.line}` : result.file
}

function duration(ms: number): string {
  return ms >= 1 ? `${ms.toFixed(1)}ms` : `${(ms * 1000).toFixed(0)}µs`
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(6)
}

// XML 1.0 allows neither most control characters nor lone surrogates, even escaped: replace them.
function xml(text: string): string {
  let out = ''
  for (const char of text) {
    const code = char.codePointAt(0)!
    const allowed =
      code === 0x9 ||
      code === 0xa ||
      code === 0xd ||
      (code >= 0x20 && code <= 0xd7ff) ||
      (code >= 0xe000 && code <= 0xfffd) ||
      code >= 0x10000
    out += allowed ? char : '\uFFFD'
  }
  return out.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;')
}
