import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { promisify } from 'node:util'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { loadBundle, PolicyEngine } from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'
import { buildPolicy } from '../helpers/build-policy.js'
import { SLOW_POLICY } from '../helpers/slow-policy.js'

// The engine's evaluation deadline (`deadlineMs`): evaluations run in a worker thread (the built
// deadline-evaluator-worker.js) that this thread waits for synchronously and terminates past the
// deadline. A real policy built by the real OPA: the tool `slow` makes it walk 20,000² pairs
// (SLOW_POLICY, about 10 s of WebAssembly here); other tools are decided at once, with a non-deterministic builtin (time.now_ns) and arguments echoed
// into the reasons so that results can be compared exactly.

const DEADLINE_MS = 300
// The deadline is a timeout of Atomics.wait; the rest is for a loaded machine.
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

  afterAll(async () => {
    await guarded?.close()
  })

  it('stops a pathological evaluation on time, denies ERR_ENGINE_DEADLINE, and decides the next one on a new worker', () => {
    const t0 = performance.now()
    const stopped = guarded.decide(call('slow'))
    const took = performance.now() - t0
    expect(stopped.decision).toMatchObject({ allow: false, status: 500 })
    expect(stopped.decision.reasons[0]?.code).toBe('ERR_ENGINE_DEADLINE')
    expect(stopped.error?.code).toBe('ERR_ENGINE_DEADLINE')
    expect(took).toBeGreaterThanOrEqual(DEADLINE_MS)
    expect(took).toBeLessThan(DEADLINE_MS + SLACK_MS)
    expect(guarded.deadlineStops).toBe(1)
    // The replacement worker is started at once; this evaluation waits for it if need be.
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

  it('reports the worker’s own failures with the in-thread codes: a conflict trap, a replay miss', () => {
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

  it('grows the shared memory for a large input and a large answer (multi-byte text)', () => {
    const text = 'é€😀'.repeat(300_000) // 2.7 MB of UTF-8 in 1.2 M UTF-16 units
    const big = guarded.decide(call('big', { text }))
    expect(big.decision.reasons[0]).toEqual({ code: 'big', message: `${[...text].length} characters` })
    const echoed = guarded.decide(call('named', { text }))
    expect(echoed.decision).toEqual(plain.decide(call('named', { text })).decision)
  })

  it('starts and closes in a bare process, run as a file or by node -e (Atomics.waitAsync holds no handle; a worker refuses --input-type)', async () => {
    // The built engine with nothing else to keep the process alive: it must load, decide and exit
    // 0, not quit under an unsettled await (exit 13) or lose its worker at start.
    const engineModule = join(packageRoot(), 'dist/src/engine/policy-engine.js')
    const script = `const { PolicyEngine } = await import(${JSON.stringify(engineModule)})
const engine = await PolicyEngine.fromBundleFile(${JSON.stringify(path)}, { deadlineMs: 500 })
console.log(JSON.stringify(engine.decide({ mcp: { tool: { name: 'echo' } } }).decision))
await engine.close()
console.log('closed')`
    const file = join(dirname(path), 'bare.mjs')
    await writeFile(file, script)
    for (const args of [[file], ['--input-type=module', '-e', script]]) {
      const { stdout } = await promisify(execFile)(process.execPath, args)
      const [decision, closed] = stdout.trim().split('\n')
      expect(JSON.parse(decision!)).toMatchObject({ allow: true })
      expect(closed).toBe('closed')
    }
  }, 30_000)

  it('swaps bundles with a new worker, and evaluates nothing once closed', async () => {
    const engine = await PolicyEngine.fromBundleFile(path, { deadlineMs: DEADLINE_MS })
    const other = await buildPolicy({
      rego: {
        'policy.rego':
          'package mcp\n\ndecision := {"allow": false, "reasons": [{"code": "other", "message": "m"}]}\n',
      },
    })
    expect(engine.decide(call('echo')).decision.allow).toBe(true)
    await engine.load(await loadBundle(other.path))
    expect(engine.decide(call('echo')).decision.reasons[0]?.code).toBe('other')
    await engine.close()
    expect(engine.decide(call('echo')).decision.reasons[0]?.code).toBe('ERR_ENGINE_NO_BUNDLE')
  }, 30_000)
})
