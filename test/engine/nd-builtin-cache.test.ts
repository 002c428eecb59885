import { describe, expect, it } from 'vitest'
import { PolicyEngine } from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'

// Allowed until input.deadline_ns; the request gets a correlation id and a sampled bucket.
const policy = `package mcp

now := time.now_ns()

correlation := uuid.rfc4122("correlation")

decision := {
	"allow": allow,
	"status": status,
	"reasons": reasons,
	"obligations": {"headers": {
		"x-correlation-id": correlation,
		"x-same-id": sprintf("%v", [correlation == uuid.rfc4122("correlation")]),
		"x-bucket": json.marshal(rand.intn("bucket", 100)),
		"x-now": json.marshal(now),
	}},
}

default allow := false

allow if now < input.deadline_ns

status := 200 if allow
else := 403

reasons := [] if allow
else := [{"code": "expired", "message": "deadline passed"}]
`

describe('non-deterministic builtins are recorded per evaluation and answered from the record on replay', async () => {
  const built = await buildPolicy({ rego: { 'policy.rego': policy } })
  const engine = await PolicyEngine.fromBundleFile(built.path)
  const future = { deadline_ns: (Date.now() + 3_600_000) * 1e6 }

  it('records time.now_ns, uuid.rfc4122 and rand.intn keyed by their arguments', () => {
    const { decision, ndBuiltinCache, error } = engine.decide(future)
    expect(error).toBeUndefined()
    expect(decision.allow).toBe(true)
    expect(Object.keys(ndBuiltinCache).sort()).toEqual(['rand.intn', 'time.now_ns', 'uuid.rfc4122'])
    expect(Object.keys(ndBuiltinCache['time.now_ns']!)).toEqual(['[]'])
    expect(ndBuiltinCache['uuid.rfc4122']!['["correlation"]']).toBe(
      decision.obligations.headers?.['x-correlation-id'],
    )
    expect(ndBuiltinCache['rand.intn']!['["bucket",100]']).toBe(
      Number(decision.obligations.headers?.['x-bucket']),
    )
  })

  it('answers the same arguments with the same value within one evaluation, as OPA does', () => {
    expect(engine.decide(future).decision.obligations.headers?.['x-same-id']).toBe('true')
  })

  it('gives fresh values on a fresh evaluation', () => {
    const a = engine.decide(future).ndBuiltinCache['uuid.rfc4122']
    const b = engine.decide(future).ndBuiltinCache['uuid.rfc4122']
    expect(a).not.toEqual(b)
  })

  it('replays 200 recorded decisions exactly', () => {
    const recorded = Array.from({ length: 200 }, (_, i) => {
      const input = { deadline_ns: i % 2 ? future.deadline_ns : 1 }
      return { input, outcome: engine.decide(input) }
    })
    for (const { input, outcome } of recorded) {
      const replayed = engine.decide(input, { replay: outcome.ndBuiltinCache })
      expect(replayed.decision).toEqual(outcome.decision)
      expect(replayed.ndBuiltinCache).toEqual(outcome.ndBuiltinCache)
    }
  })

  it('takes time from the record, not the clock: a recorded past instant decides as it did then', () => {
    const { ndBuiltinCache } = engine.decide(future)
    const later = { ...ndBuiltinCache, 'time.now_ns': { '[]': future.deadline_ns + 1 } }
    const replayed = engine.decide(future, { replay: later })
    expect(replayed.decision.allow).toBe(false)
    expect(replayed.decision.reasons[0]?.code).toBe('expired')
  })

  it('fails closed when the record lacks an answer, unless told to compute', () => {
    const { ndBuiltinCache } = engine.decide(future)
    const partial = { 'time.now_ns': ndBuiltinCache['time.now_ns']! }
    const strict = engine.decide(future, { replay: partial })
    expect(strict.error?.code).toBe('ERR_ENGINE_ND_CACHE_MISS')
    expect(strict.decision.allow).toBe(false)
    const lenient = engine.decide(future, { replay: partial, onReplayMiss: 'compute' })
    expect(lenient.error).toBeUndefined()
    expect(lenient.decision.obligations.headers?.['x-now']).toBe(String(ndBuiltinCache['time.now_ns']!['[]']))
  })
})
