/**
 * A policy that allows everything at once except a call of the tool `slow`, for which it walks
 * every one of the (4 × 5000)² pairs of a range: about 10 s of optimized WebAssembly here, far
 * past any evaluation deadline. Comparisons allocate nothing, so the run is not cut short by a trap
 * when the 128 MiB memory fills (as `i * j == -1` was, and it took only 0.6 s over 2,000² pairs
 * once V8 had tiered the module up). The bound depends on the input, so OPA cannot fold it away at
 * build time. More rules may follow it (package `mcp`, `rego.v1` imported).
 */
export const SLOW_POLICY = `package mcp

import rego.v1

default decision := {"allow": true, "reasons": []}

decision := {"allow": false, "reasons": [{"code": "slow_tool", "message": "never reached in time"}]} if {
	input.mcp.tool.name == "slow"
	not impossible_pair
}

impossible_pair if {
	r := numbers.range(1, count(input.mcp.tool.name) * 5000)
	some i in r
	some j in r
	i < j
	j < i
}
`
