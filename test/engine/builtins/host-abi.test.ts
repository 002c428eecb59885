import { describe, expect, it } from 'vitest'
import { loadBundle, PolicyEngine } from '../../../src/index.js'
import { buildPolicy } from '../../helpers/build-policy.js'

/**
 * The engine's own host-builtin dispatch (host-abi.ts): the opa-wasm SDK's JavaScript builtins are
 * not consulted (sprintf is the engine's), and values cross the boundary exactly: sets stay sets,
 * integers beyond 2^53 keep every digit, a number's text decides float or integer.
 */
const policy = `package mcp

import rego.v1

decision := {"allow": true, "reasons": [], "obligations": {"out": json.marshal(out), "checks": checks}}

out := {
	"sprintf": sprintf("%d %f %v %v", [123456789123456789123, 100.0, [input.s, 5, 3.14], {1, 2}]),
	"units": units.parse("10Ei"),
	"bytes": units.parse_bytes("10eib"),
	"time": time.format(1707133113141828752),
	"parse": time.parse_rfc3339_ns("2024-02-05T11:38:33.141828752Z"),
}

checks := {
	"expand is a set": net.cidr_expand("10.0.0.0/31") == {"10.0.0.0", "10.0.0.1"},
	"matches of sets are members": net.cidr_contains_matches({"1.1.1.0/24"}, {"1.1.1.1"}) == {["1.1.1.0/24", "1.1.1.1"]},
	"set subset": object.subset({1, 2, 3}, {3, 1}),
	"exact equality": units.parse("10Ei") == 11529215046068469760,
}
`

describe('host builtin dispatch', () => {
  it('answers exactly, with sets and big integers intact, and sprintf from the engine', async () => {
    const built = await buildPolicy({ rego: { 'policy.rego': policy } })
    const engine = new PolicyEngine()
    await engine.load(await loadBundle(built.path))
    const { result } = engine.evaluate('mcp/decision', { s: 'there' })
    const { out, checks } = (result as { obligations: { out: string; checks: Record<string, boolean> } })
      .obligations
    expect(checks).toEqual({
      'expand is a set': true,
      'matches of sets are members': true,
      'set subset': true,
      'exact equality': true,
    })
    // json.marshal inside the module writes the numbers as the module holds them.
    expect(out).toContain('"units":11529215046068469760')
    expect(out).toContain('"bytes":11529215046068469760')
    expect(out).toContain('"parse":1707133113141828752')
    expect(out).toContain('"time":"2024-02-05T11:38:33.141828752Z"')
    expect(JSON.parse(out).sprintf).toBe('123456789123456789123 100.000000 ["there", 5, 3.14] {1, 2}')
  })
})
