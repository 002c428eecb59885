import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { packageRoot } from '../../src/package-root.js'
import { resolveOpa } from '../../src/toolchain/opa.js'
import { type ComplianceCase, ExceptionList, loadOpaCases, opaModuleDir } from './opa-cases.js'
import { type CaseReport, runCase, type Verdict } from './run-case.js'

/** Our own documented exceptions: cases the engine cannot pass, each with its reason. */
export const OUR_EXCEPTIONS_FILE = join(packageRoot(), 'test', 'compliance', 'exceptions.yaml')

/** Options for {@link runCompliance}. */
export interface ComplianceOptions {
  /** Keep only cases this predicate accepts. Default: all. */
  select?: (c: ComplianceCase) => boolean
  /** Cases run at once (each spawns `opa build` and `opa eval`). Default 2. */
  jobs?: number
  /** Called after each case. */
  progress?: (report: CaseReport, done: number, total: number) => void
  /** Our exceptions file. Default {@link OUR_EXCEPTIONS_FILE}. */
  exceptionsFile?: string
  /** `opa build -O` level: 1 (default, production) or 0. */
  optimization?: 0 | 1
}

/** The outcome of a run. */
export interface ComplianceRun {
  reports: CaseReport[]
  /** Exception entries (OPA's or ours) that matched no case that failed: candidates for removal. */
  unusedExceptions: { list: 'opa' | 'ours'; pattern: string }[]
  ms: number
}

/**
 * Runs OPA's compliance suite (at the pinned OPA version) through the engine, with OPA's Go
 * evaluator as the control (see {@link runCase}).
 */
export async function runCompliance(options: ComplianceOptions = {}): Promise<ComplianceRun> {
  const start = performance.now()
  const opa = await resolveOpa()
  const moduleDir = await opaModuleDir()
  const opaList = await ExceptionList.fromFile(join(moduleDir, 'internal/wasm/sdk/test/e2e/exceptions.yaml'))
  const ourList = await ExceptionList.fromFile(options.exceptionsFile ?? OUR_EXCEPTIONS_FILE)
  const all = await loadOpaCases(moduleDir)
  const cases = options.select ? all.filter(options.select) : all
  const workDir = await mkdtemp(join(tmpdir(), 'mcp-policy-compliance-'))
  const reports: CaseReport[] = new Array(cases.length)
  const used = new Set<string>()
  const exceptionReason = (note: string): string | undefined => {
    const opaReason = opaList.reason(note)
    if (opaReason !== undefined) return `OPA WebAssembly exception: ${opaReason}`
    const ours = ourList.reason(note)
    return ours === undefined ? undefined : `our exception: ${ours}`
  }
  try {
    let next = 0
    let done = 0
    const worker = async (): Promise<void> => {
      while (next < cases.length) {
        const i = next++
        const report = await runCase(
          cases[i]!,
          { opa, workDir, exceptionReason, optimization: options.optimization ?? 1 },
          i,
        )
        reports[i] = report
        if (report.verdict === 'excepted') used.add(report.note)
        options.progress?.(report, ++done, cases.length)
      }
    }
    await Promise.all(Array.from({ length: Math.max(1, options.jobs ?? 2) }, worker))
  } finally {
    await rm(workDir, { recursive: true, force: true })
  }
  const unusedExceptions: ComplianceRun['unusedExceptions'] = []
  const failing = [...used]
  for (const [list, l] of [
    ['opa', opaList],
    ['ours', ourList],
  ] as const) {
    for (const pattern of l.patterns) {
      const probe = new ExceptionList({ [pattern]: '' })
      if (!failing.some((n) => probe.reason(n) !== undefined)) unusedExceptions.push({ list, pattern })
    }
  }
  return { reports, unusedExceptions, ms: performance.now() - start }
}

const VERDICTS: readonly Verdict[] = ['pass', 'missing', 'wrong', 'error', 'excepted', 'control']

/** Counts per verdict. */
export function tally(reports: readonly CaseReport[]): Record<Verdict, number> & { total: number } {
  const t = { total: reports.length, pass: 0, missing: 0, wrong: 0, error: 0, excepted: 0, control: 0 }
  for (const r of reports) t[r.verdict]++
  return t
}

/**
 * The per-topic table: cases, pass, missing builtin, wrong, error, excepted, Go control failing,
 * and the pass rate among cases whose builtins the engine has.
 */
export function formatTable(reports: readonly CaseReport[], markdown = false): string {
  const byTopic = new Map<string, CaseReport[]>()
  for (const r of reports) byTopic.set(r.topic, [...(byTopic.get(r.topic) ?? []), r])
  const header = [
    'topic',
    'cases',
    'pass',
    'missing builtin',
    'wrong',
    'error',
    'excepted',
    'Go fails',
    'pass %',
  ]
  const rows: string[][] = []
  const row = (name: string, rs: readonly CaseReport[]): string[] => {
    const t = tally(rs)
    const rate = t.total === 0 ? '' : `${((100 * t.pass) / t.total).toFixed(1)}`
    return [name, ...[t.total, t.pass, t.missing, t.wrong, t.error, t.excepted, t.control].map(String), rate]
  }
  for (const topic of [...byTopic.keys()].sort()) rows.push(row(topic, byTopic.get(topic)!))
  rows.push(row('total', reports))
  if (markdown) {
    const line = (cells: string[]): string => `| ${cells.join(' | ')} |`
    return [line(header), line(header.map((_, i) => (i === 0 ? '---' : '---:'))), ...rows.map(line)].join(
      '\n',
    )
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)))
  const fmt = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ')
  return [fmt(header), ...rows.map(fmt)].join('\n')
}

export { VERDICTS }
