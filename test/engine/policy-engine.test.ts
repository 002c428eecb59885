import { describe, expect, it } from 'vitest'
import { loadBundle, PolicyEngine } from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'

const allowTools = `package mcp

decision := {"allow": true, "status": 200, "reasons": [], "obligations": {"headers": {"x-user": input.subject.id}}} if {
	input.mcp.tool.name in data.allowed
}

decision := {"allow": false, "status": 403, "reasons": [{"code": "tool_not_granted", "message": sprintf("%s is not granted", [input.mcp.tool.name])}], "obligations": {}} if {
	not input.mcp.tool.name in data.allowed
}

response := {"allow": true, "redactions": [], "reasons": []}
`

const callOf = (tool: string) => ({
  mcp: { method: 'tools/call', tool: { name: tool, arguments: {} } },
  subject: { id: 'alice' },
})

describe('PolicyEngine on a real compiled bundle', async () => {
  const built = await buildPolicy({
    rego: { 'policy.rego': allowTools },
    data: { allowed: ['read_file'] },
    revision: 'r1',
  })
  const engine = await PolicyEngine.fromBundleFile(built.path)

  it('allows what the policy grants and carries obligations', () => {
    const outcome = engine.decide(callOf('read_file'))
    expect(outcome.error).toBeUndefined()
    expect(outcome.decision).toEqual({
      allow: true,
      status: 200,
      reasons: [],
      obligations: { headers: { 'x-user': 'alice' } },
    })
    expect(outcome.bundle).toEqual({ name: 'default', revision: 'r1', digest: built.digest })
    expect(outcome.metrics.timer_eval_ns).toBeGreaterThan(0)
  })

  it('denies with the policy reason', () => {
    const { decision, error } = engine.decide(callOf('delete_repo'))
    expect(error).toBeUndefined()
    expect(decision.allow).toBe(false)
    expect(decision.status).toBe(403)
    expect(decision.reasons).toEqual([{ code: 'tool_not_granted', message: 'delete_repo is not granted' }])
  })

  it('judges responses at mcp/response', () => {
    expect(engine.judgeResponse({ result: {} }).judgement).toEqual({
      allow: true,
      redactions: [],
      reasons: [],
    })
  })

  it('lists the entrypoints and reports the current bundle', () => {
    expect(engine.entrypoints).toEqual(expect.arrayContaining(['mcp/decision', 'mcp/response']))
    expect(engine.bundle?.digest).toBe(built.digest)
  })

  it('evaluates raw entrypoints and returns undefined for no result', () => {
    expect(engine.evaluate('mcp/decision', callOf('read_file')).result).toMatchObject({ allow: true })
    expect(() => engine.evaluate('mcp/nope', {})).toThrowError(
      expect.objectContaining({ code: 'ERR_ENGINE_ENTRYPOINT_UNKNOWN' }),
    )
  })

  it('swaps bundles atomically: every decision is wholly from one bundle', async () => {
    const other = await buildPolicy({
      rego: { 'policy.rego': allowTools },
      data: { allowed: ['delete_repo'] },
      revision: 'r2',
    })
    const swapping = new PolicyEngine()
    await swapping.load(await loadBundle(built.path))
    const outcomes: ReturnType<PolicyEngine['decide']>[] = []
    const load = swapping.load(await loadBundle(other.path))
    // Decisions keep being served while the new module compiles; none mixes the two bundles.
    while (swapping.bundle?.revision === 'r1') {
      outcomes.push(swapping.decide(callOf('read_file')))
      await new Promise((resolve) => setImmediate(resolve))
    }
    await load
    outcomes.push(swapping.decide(callOf('read_file')))
    for (const outcome of outcomes) {
      expect(outcome.decision.allow).toBe(outcome.bundle?.revision === 'r1')
    }
    expect(outcomes.at(-1)?.bundle?.revision).toBe('r2')
  })
})
