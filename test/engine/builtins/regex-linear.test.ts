import { describe, expect, it } from 'vitest'
import { loadBundle, PolicyEngine } from '../../../src/index.js'
import { buildPolicy } from '../../helpers/build-policy.js'

/**
 * The host regex builtins match in linear time (re2js), as OPA's Go evaluator does: patterns that
 * make a backtracking engine explode, applied by a policy to an agent's argument, finish at once.
 * With the former RegExp translation, `(a+)+$` on 26 `a`s and a `b` took ~3.7 s and each further
 * `a` doubled it; here the inputs are 40 characters and 100,000 characters long.
 */
const policy = `package mcp

import rego.v1

decision := {"allow": true, "reasons": [], "obligations": {"out": out}}

out := {
	"replace": regex.replace(input.s, input.p, "x"),
	"split": count(regex.split(input.p, input.s)),
	"find": count(regex.find_n(input.p, input.s, -1)),
	"template": regex.template_match(concat("", ["{", input.p, "}"]), input.s, "{", "}"),
}
`

describe('host regex builtins are linear-time', () => {
  it('catastrophic patterns on long inputs finish quickly and answer as RE2 does', async () => {
    const built = await buildPolicy({ rego: { 'policy.rego': policy } })
    const engine = new PolicyEngine()
    await engine.load(await loadBundle(built.path))
    const cases = [
      { p: '(a+)+$', s: `${'a'.repeat(40)}b` },
      { p: '(a|aa)+$', s: `${'a'.repeat(40)}b` },
      { p: '(a*)*b', s: 'a'.repeat(100_000) },
      { p: '(x+x+)+y', s: 'x'.repeat(100_000) },
      { p: '^(([a-z])+.)+[A-Z]([a-z])+$', s: `${'aaaaaaaaaa'.repeat(10_000)}!` },
    ]
    for (const input of cases) {
      const start = performance.now()
      const { result } = engine.evaluate('mcp/decision', input)
      const ms = performance.now() - start
      const out = (result as { obligations: { out: Record<string, unknown> } }).obligations.out
      // None of these patterns matches its input: nothing is replaced, split or found.
      expect(out).toEqual({ replace: input.s, split: 1, find: 0, template: false })
      // Linear: a backtracking engine would take hours on the 40-character inputs.
      expect(ms, `${input.p} on ${input.s.length} characters took ${ms.toFixed(0)} ms`).toBeLessThan(5_000)
    }
  })
})
