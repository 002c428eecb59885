import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { instrumentFuel } from '../../src/engine/fuel-instrumentation.js'
import { loadBundle, PolicyEngine } from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'
import { buildPolicy } from '../helpers/build-policy.js'
import { buildReferenceBundle } from '../helpers/pdp.js'
import { SLOW_POLICY } from '../helpers/slow-policy.js'

// The engine's evaluation deadline (`deadlineMs`): the bundle's module is instrumented with fuel
// (Binaryen) to check the clock every 1,000 loop iterations and calls, and stops the evaluation
// past the deadline, in this thread. A real policy built by the real OPA: the tool `slow` makes it
// walk 20,000² pairs (SLOW_POLICY, about 10 s of WebAssembly here); other tools are decided at
// once, with a non-deterministic builtin (time.now_ns) and arguments echoed into the reasons so
// that results can be compared exactly with the uninstrumented engine.

const DEADLINE_MS = 300
// The clock is read every 1,000 steps (microseconds); the rest is for a loaded machine.
const SLACK_MS = 1_500

const POLICY = `${SLOW_POLICY}
decision := {"allow": false, "reasons": [{"code": "named", "message": sprintf("%v at %v", [input.mcp.tool.arguments, time.now_ns() > 0])}]} if {
	input.mcp.tool.name == "named"
}

decision := {"allow": false, "reasons": [{"code": "big", "message": sprintf("%d characters", [count(input.mcp.tool.arguments.text)])}]} if {
	input.mcp.tool.name == "big"
}

# A complete rule with two values: OPA's conflict error, an engine error in either thread.
decision := {"allow": false, "reasons": [{"code": "conflict", "message": "one"}]} if input.mcp.tool.name == "conflict"
decision := {"allow": false, "reasons": [{"code": "conflict", "message": "two"}]} if input.mcp.tool.name == "conflict"
`

function call(name: string, args: unknown = {}) {
  return { mcp: { method: 'tools/call', tool: { name, arguments: args } } }
}

describe('PolicyEngine with an evaluation deadline', () => {
  let path = ''
  let guarded: PolicyEngine
  let plain: PolicyEngine

  beforeAll(async () => {
    path = (await buildPolicy({ rego: { 'policy.rego': POLICY } })).path
    guarded = await PolicyEngine.fromBundleFile(path, { deadlineMs: DEADLINE_MS, maxInputBytes: 8 << 20 })
    plain = await PolicyEngine.fromBundleFile(path, { maxInputBytes: 8 << 20 })
  }, 60_000)

  it('stops a pathological evaluation on time, denies ERR_ENGINE_DEADLINE, and decides the next one on a fresh instance', () => {
    const t0 = performance.now()
    const stopped = guarded.decide(call('slow'))
    const took = performance.now() - t0
    expect(stopped.decision).toMatchObject({ allow: false, status: 500 })
    expect(stopped.decision.reasons[0]?.code).toBe('ERR_ENGINE_DEADLINE')
    expect(stopped.error?.code).toBe('ERR_ENGINE_DEADLINE')
    expect(took).toBeGreaterThanOrEqual(DEADLINE_MS)
    expect(took).toBeLessThan(DEADLINE_MS + SLACK_MS)
    expect(guarded.deadlineStops).toBe(1)
    // The stopped instance's state is half-written: the next evaluation runs on a new instance.
    expect(guarded.decide(call('echo')).decision).toMatchObject({ allow: true, reasons: [] })
    expect(guarded.deadlineStops).toBe(1)
  })

  it('decides exactly as the engine in this thread does, over generated inputs', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('echo', 'named', 'conflict', 'missing'),
        fc.jsonValue({ maxDepth: 4 }),
        (name, args) => {
          const input = call(name, args)
          const a = guarded.decide(input)
          const b = plain.decide(input)
          expect(a.decision).toEqual(b.decision)
          expect(a.error?.code).toBe(b.error?.code)
          expect(Object.keys(a.ndBuiltinCache)).toEqual(Object.keys(b.ndBuiltinCache))
          expect(a.bundle).toEqual(b.bundle)
        },
      ),
      { numRuns: 150 },
    )
  })

  it('fails as the plain engine does: a conflict error, a replay miss', () => {
    const conflict = guarded.decide(call('conflict'))
    expect(conflict.error?.code).toBe(plain.decide(call('conflict')).error?.code)
    expect(conflict.error?.code).toMatch(/^ERR_ENGINE_/)
    // Replay answers time.now_ns from the record; a record without it fails like in this thread.
    const recorded = guarded.decide(call('named', { a: 1 }))
    expect(Object.keys(recorded.ndBuiltinCache)).toContain('time.now_ns')
    const replayed = guarded.decide(call('named', { a: 1 }), { replay: recorded.ndBuiltinCache })
    expect(replayed.decision).toEqual(recorded.decision)
    expect(replayed.ndBuiltinCache).toEqual(recorded.ndBuiltinCache)
    const missed = guarded.decide(call('named', { a: 1 }), { replay: {} })
    expect(missed.error?.code).toBe('ERR_ENGINE_ND_CACHE_MISS')
    expect(plain.decide(call('named', { a: 1 }), { replay: {} }).error?.code).toBe('ERR_ENGINE_ND_CACHE_MISS')
  })

  it('decides a large input and answers a large result (multi-byte text) as in the plain engine', () => {
    const text = 'é€😀'.repeat(300_000) // 2.7 MB of UTF-8 in 1.2 M UTF-16 units
    const big = guarded.decide(call('big', { text }))
    expect(big.error).toBeUndefined()
    expect(big.decision.reasons[0]).toEqual({ code: 'big', message: `${[...text].length} characters` })
    const echoed = guarded.decide(call('named', { text }))
    expect(echoed.decision).toEqual(plain.decide(call('named', { text })).decision)
  })

  it('instruments every bundle it loads: a swapped-in bundle is stopped at the deadline too', async () => {
    const engine = await PolicyEngine.fromBundleFile(path, { deadlineMs: DEADLINE_MS })
    const other = await buildPolicy({
      rego: {
        'policy.rego': SLOW_POLICY.replace('"slow_tool"', '"other_slow_tool"'),
      },
    })
    await engine.load(await loadBundle(other.path))
    const t0 = performance.now()
    const stopped = engine.decide(call('slow'))
    expect(stopped.error?.code).toBe('ERR_ENGINE_DEADLINE')
    expect(performance.now() - t0).toBeLessThan(DEADLINE_MS + SLACK_MS)
    expect(engine.decide(call('echo')).decision.allow).toBe(true)
    expect(engine.deadlineStops).toBe(1)
  }, 30_000)

  it('decides the reference policy exactly as the uninstrumented module, over generated requests', async () => {
    const reference = await buildReferenceBundle()
    const counted = await PolicyEngine.fromBundleFile(reference.path, { deadlineMs: 500 })
    const uncounted = await PolicyEngine.fromBundleFile(reference.path)
    const base = JSON.parse(readFileSync(join(packageRoot(), 'test/fixtures/tools-call.json'), 'utf8'))
    const servers = ['github', 'filesystem', 'postgres', 'fetch', 'docs', 'unknown']
    const tools = [
      'create_issue',
      'get_issue',
      'delete_repository',
      'read_file',
      'write_file',
      'query',
      'fetch',
      'search',
    ]
    fc.assert(
      fc.property(
        fc.constantFrom(...servers),
        fc.constantFrom(...tools),
        fc.subarray(['developer', 'support', 'admin', 'analyst', 'auditor']),
        fc.dictionary(
          fc.constantFrom('path', 'sql', 'url', 'owner', 'repo', 'title', 'limit'),
          fc.jsonValue({ maxDepth: 2 }),
        ),
        (server, tool, roles, args) => {
          const input = structuredClone(base)
          input.server.id = server
          input.mcp.tool = { name: tool, arguments: args }
          input.mcp.params = { name: tool, arguments: args }
          input.subject.roles = roles
          const a = counted.decide(input)
          const b = uncounted.decide(input)
          expect(a.decision).toEqual(b.decision)
          expect(a.error?.code).toBe(b.error?.code)
        },
      ),
      { numRuns: 200 },
    )
    expect(counted.decide(base).decision.allow).toBe(true)
  }, 60_000)

  it('refuses what it cannot instrument with ERR_ENGINE_INSTANTIATE, never a crash (generated bytes)', async () => {
    const header = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
    await fc.assert(
      fc.asyncProperty(fc.boolean(), fc.uint8Array({ maxLength: 256 }), async (withHeader, bytes) => {
        const wasm = new Uint8Array([...(withHeader ? header : []), ...bytes])
        // A few byte strings are valid empty modules: those are instrumented, the rest refused.
        await instrumentFuel(wasm).then(
          (out) => expect(out).toBeInstanceOf(Uint8Array),
          (err) => expect(err.code).toBe('ERR_ENGINE_INSTANTIATE'),
        )
      }),
      { numRuns: 100 },
    )
  })
})
