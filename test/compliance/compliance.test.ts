import { beforeAll, describe, expect, it } from 'vitest'
import { ciCases } from './ci-cases.js'
import { loadOpaCases, opaModuleDir } from './opa-cases.js'
import type { CaseReport } from './run-case.js'
import { formatTable, runCompliance } from './run-compliance.js'

/**
 * OPA's compliance cases for the host builtins, through the production build and the engine, with
 * OPA's Go evaluator as the control (see run-case.ts). The full suite is `npm run compliance`.
 */
const selected = ciCases(await loadOpaCases(await opaModuleDir()))
const reports = new Map<string, CaseReport>()

describe('OPA compliance cases for the host builtins', () => {
  beforeAll(async () => {
    const notes = new Set(selected.map((c) => c.note))
    const run = await runCompliance({ select: (c) => notes.has(c.note), jobs: 2 })
    for (const r of run.reports) reports.set(r.note, r)
    console.log(formatTable(run.reports))
  }, 900_000)

  it('covers every host builtin that OPA has cases for', () => {
    expect(selected.length).toBeGreaterThan(100)
  })

  it.each(selected.map((c) => [c.note]))('%s', (note) => {
    const r = reports.get(note)
    expect(r, 'case did not run').toBeDefined()
    // A missing builtin is refused at build time (fail closed) and counted, not failed, here.
    expect(['pass', 'missing', 'excepted', 'control'], `${r!.verdict}: ${r!.detail ?? ''}`).toContain(
      r!.verdict,
    )
  })

  it('no case the Go evaluator passes is wrong or an error here', () => {
    const bad = [...reports.values()].filter((r) => r.verdict === 'wrong' || r.verdict === 'error')
    expect(bad.map((r) => `${r.note}: ${r.detail}`)).toEqual([])
  })
})
