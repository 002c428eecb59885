import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { afterEach, describe, expect, it } from 'vitest'
import { EvaluationClock } from '../../src/engine/evaluation-clock.js'
import { PolicyEngine } from '../../src/engine/policy-engine.js'
import { packageRoot } from '../../src/package-root.js'
import { buildPolicy } from '../helpers/build-policy.js'

// The engine publishes the evaluation it runs on an EvaluationClock, for the gateway's decision
// pool to stop it past the deadline: policies built by the real OPA, evaluated by the real engine,
// here and (for an evaluation seen from another thread while it runs) in a real worker thread.

const workers: Worker[] = []

afterEach(async () => {
  await Promise.all(workers.splice(0).map((w) => w.terminate()))
})

describe('EvaluationClock', () => {
  it('shows no evaluation once one has returned, or trapped (a stale one would get a healthy worker stopped)', async () => {
    const built = await buildPolicy({
      rego: {
        'policy.rego':
          'package mcp\n\ndecision := {"allow": true, "reasons": []} if input.a\n\ndecision := {"allow": false, "reasons": [{"code": "c", "message": "m"}]} if input.b\n\ndefault decision := {"allow": false, "reasons": [{"code": "default", "message": "m"}]}\n',
      },
    })
    const clock = new EvaluationClock()
    const engine = await PolicyEngine.fromBundleFile(built.path, { clock })
    expect(clock.running()).toBeUndefined()
    expect(engine.decide({ a: true }, { job: 7 }).decision.allow).toBe(true)
    expect(clock.running()).toBeUndefined()
    // Conflicting values of a complete rule: the module traps.
    expect(engine.decide({ a: true, b: true }, { job: 8 }).error?.code).toBe('ERR_ENGINE_TRAP')
    expect(clock.running()).toBeUndefined()
    clock.received(9)
    expect(new EvaluationClock(clock.buffer).lastReceived()).toBe(9)
  })

  it('publishes the job and its start to another thread while the evaluation runs', async () => {
    const built = await buildPolicy({
      rego: {
        'policy.rego': `package mcp

import rego.v1

default decision := {"allow": true, "reasons": []}

decision := {"allow": false, "reasons": [{"code": "slow", "message": "slow"}]} if not impossible_pair

impossible_pair if {
	r := numbers.range(1, input.n)
	some i in r
	some j in r
	i * j == -1
}
`,
      },
    })
    const clock = new EvaluationClock()
    const engineModule = pathToFileURL(join(packageRoot(), 'dist/src/engine/policy-engine.js')).href
    const clockModule = pathToFileURL(join(packageRoot(), 'dist/src/engine/evaluation-clock.js')).href
    const before = process.hrtime.bigint()
    const worker = new Worker(
      `const { workerData } = require('node:worker_threads')
       ;(async () => {
         const { PolicyEngine } = await import(workerData.engineModule)
         const { EvaluationClock } = await import(workerData.clockModule)
         const engine = await PolicyEngine.fromBundleFile(workerData.bundle, { clock: new EvaluationClock(workerData.clock) })
         engine.decide({ n: 3000 }, { job: 42 })
       })()`,
      {
        eval: true,
        workerData: { engineModule, clockModule, bundle: built.path, clock: clock.buffer },
      },
    )
    workers.push(worker)
    await expect.poll(() => clock.running()?.job, { timeout: 20_000, interval: 5 }).toBe(42)
    const running = clock.running()!
    expect(running.since).toBeGreaterThan(before)
    expect(running.since).toBeLessThanOrEqual(process.hrtime.bigint())
    // The size of the serialized input, which the deadline's allowance grows with: {"n":3000}.
    expect(running.inputChars).toBe(JSON.stringify({ n: 3000 }).length)
    // Still the same evaluation a while later: it is stuck, as far as any reader can tell.
    await new Promise((resolve) => setTimeout(resolve, 100))
    expect(clock.running()).toEqual(running)
  }, 30_000)
})
