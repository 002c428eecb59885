import { hostBuiltins } from '../../src/engine/builtins/host/index.js'
import type { ComplianceCase } from './opa-cases.js'

/**
 * The CI-sized part of the compliance suite that `npm test` runs: for every host builtin (the
 * engine's own JavaScript, where it can differ from OPA), the first `perBuiltin` cases by note
 * that call it. OPA's WebAssembly module and compiler are covered by the full run
 * (`npm run compliance`).
 */
export function ciCases(all: readonly ComplianceCase[], perBuiltin = 3): ComplianceCase[] {
  const sorted = [...all].sort((a, b) => (a.note < b.note ? -1 : a.note > b.note ? 1 : 0))
  const chosen = new Set<ComplianceCase>()
  for (const { name } of hostBuiltins) {
    const calls = (c: ComplianceCase) => [c.query, ...c.modules].some((t) => t.includes(`${name}(`))
    for (const c of sorted.filter(calls).slice(0, perBuiltin)) chosen.add(c)
  }
  return sorted.filter((c) => chosen.has(c))
}
