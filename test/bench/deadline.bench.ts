/**
 * Evaluation deadline benchmark (`npm run build && node dist/test/bench/deadline.bench.js`): what the
 * deadline costs on the normal path, on vs off in one run. A benchmark, not a test: it checks only
 * that each path decides the reference input as the plain engine does, and reports.
 *
 * 1. One evaluation in this thread (reference policy, realistic `tools/call`, input serialized once
 *    as the PDP does): the plain engine; the engine publishing on an `EvaluationClock` (what a
 *    gateway decision worker does for the deadline); as floor, a bundle whose decision is a
 *    constant (OPA's WebAssembly runtime, no rules).
 * 2. Candidate for `serve` and in-thread gateway decisions (not in src/: measured here only): the
 *    evaluation moved to a worker thread called synchronously through a SharedArrayBuffer — this
 *    thread writes the input, wakes the worker (`Atomics.notify`) and blocks in `Atomics.wait`
 *    with the deadline as timeout (past it: terminate and respawn the worker, deny). The worker
 *    decides and writes back the decision and its non-deterministic builtin record as JSON.
 *    Variants: both threads sleeping in `Atomics.wait` between calls, or spinning up to
 *    BENCH_SPIN_US µs first; as floor, the same round trip with a worker that answers a constant
 *    without evaluating.
 * 3. The gateway's `DecisionPool` (2 workers, each decision and its result judgement, logged in
 *    batch, BENCH_DECISION_CONCURRENCY at once): `evaluationDeadlineMs` 500 vs 0, rounds alternating.
 *
 * Environment: BENCH_CALLS (200000 per variant and round), BENCH_ROUNDS (5), BENCH_SECONDS (3),
 * BENCH_SPIN_US (50), BENCH_DECISION_CONCURRENCY (64).
 */
import { readFileSync } from 'node:fs'
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { isMainThread, Worker, workerData } from 'node:worker_threads'
import { buildBundle } from '../../src/bundle/build-bundle.js'
import { CanonicalText } from '../../src/canonical-json.js'
import { EvaluationClock } from '../../src/engine/evaluation-clock.js'
import { PolicyEngine } from '../../src/engine/policy-engine.js'
import { DecisionPool } from '../../src/gateway/decision-pool.js'
import { decisionCoreConfig, resolveGatewayConfig } from '../../src/gateway/gateway-config.js'
import { loadOrCreateDevKey, mintDevToken } from '../../src/identity/dev-token.js'
import { packageRoot } from '../../src/package-root.js'
import { openDecisionCore } from '../../src/pdp/decision-core.js'
import type { DecisionPort } from '../../src/pdp/decision-port.js'

const calls = Number(process.env.BENCH_CALLS ?? 200_000)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const seconds = Number(process.env.BENCH_SECONDS ?? 3)
const spinNs = BigInt(Number(process.env.BENCH_SPIN_US ?? 50) * 1000)
const concurrency = Number(process.env.BENCH_DECISION_CONCURRENCY ?? 64)
const root = packageRoot()

// The shared memory of one synchronous worker: [state, length] then the payload.
const IDLE = 0
const REQUEST = 1
const RESPONSE = 2
const STOP = 3
const PAYLOAD_BYTES = 1 << 20

interface SyncWorkerData {
  sab: SharedArrayBuffer
  bundlePath: string
  /** Answer a constant without evaluating (the round trip's floor). */
  echo: boolean
  spin: boolean
}

/** The worker side: wait for a request, decide it, write the answer, forever (until STOP). */
async function serveSynchronously({ sab, bundlePath, echo, spin }: SyncWorkerData) {
  const engine = await PolicyEngine.fromBundleFile(bundlePath)
  const ctrl = new Int32Array(sab, 0, 2)
  const payload = new Uint8Array(sab, 8)
  const decoder = new TextDecoder()
  const encoder = new TextEncoder()
  // The main thread sends canonical JSON it made itself: evaluated as CanonicalText (no re-check),
  // as the in-thread engine does. (A real implementation would take trusted text by a method.)
  const trusted = Object.create(CanonicalText.prototype) as { json: string }
  for (;;) {
    if (spin) {
      const until = process.hrtime.bigint() + spinNs
      while (Atomics.load(ctrl, 0) === IDLE && process.hrtime.bigint() < until);
    }
    Atomics.wait(ctrl, 0, IDLE)
    const state = Atomics.load(ctrl, 0)
    if (state === STOP) return
    if (state !== REQUEST) continue
    let out: string
    if (echo) out = '{"decision":{"allow":true,"status":200,"reasons":[],"obligations":{}},"nd":{}}'
    else {
      trusted.json = decoder.decode(payload.subarray(0, ctrl[1]))
      const outcome = engine.decideJson(trusted as unknown as CanonicalText)
      out = JSON.stringify({
        decision: outcome.decision,
        nd: outcome.ndBuiltinCache,
        error: outcome.error?.code,
      })
    }
    ctrl[1] = encoder.encodeInto(out, payload).written
    Atomics.store(ctrl, 0, RESPONSE)
    Atomics.notify(ctrl, 0)
  }
}

/** The calling side of one synchronous worker: blocks this thread for at most `deadlineMs` per call. */
class SyncEvaluator {
  readonly #ctrl: Int32Array
  readonly #payload: Uint8Array
  readonly #worker: Worker
  readonly #spin: boolean
  readonly #encoder = new TextEncoder()
  readonly #decoder = new TextDecoder()

  constructor(bundlePath: string, options: { echo: boolean; spin: boolean }) {
    const sab = new SharedArrayBuffer(8 + PAYLOAD_BYTES)
    this.#ctrl = new Int32Array(sab, 0, 2)
    this.#payload = new Uint8Array(sab, 8)
    this.#spin = options.spin
    const data: SyncWorkerData = { sab, bundlePath, ...options }
    this.#worker = new Worker(new URL(import.meta.url), { workerData: data })
  }

  decide(input: CanonicalText, deadlineMs: number): { decision: unknown; nd: unknown } {
    const ctrl = this.#ctrl
    ctrl[1] = this.#encoder.encodeInto(input.json, this.#payload).written
    Atomics.store(ctrl, 0, REQUEST)
    Atomics.notify(ctrl, 0)
    if (this.#spin) {
      const until = process.hrtime.bigint() + spinNs
      while (Atomics.load(ctrl, 0) === REQUEST && process.hrtime.bigint() < until);
    }
    if (Atomics.load(ctrl, 0) === REQUEST && Atomics.wait(ctrl, 0, REQUEST, deadlineMs) === 'timed-out')
      throw new Error('ERR_ENGINE_DEADLINE (here the worker would be terminated and respawned)')
    const answer = JSON.parse(this.#decoder.decode(this.#payload.subarray(0, ctrl[1])))
    Atomics.store(ctrl, 0, IDLE)
    return answer
  }

  /** Waits until the worker has its engine (its first answer). */
  async ready(input: CanonicalText): Promise<void> {
    for (;;) {
      try {
        this.decide(input, 100)
        return
      } catch {
        // Still starting: the request stays posted; let the event loop breathe.
        await new Promise((r) => setTimeout(r, 50))
        if (Atomics.load(this.#ctrl, 0) === RESPONSE) {
          Atomics.store(this.#ctrl, 0, IDLE)
          return
        }
      }
    }
  }

  async close(): Promise<void> {
    Atomics.store(this.#ctrl, 0, STOP)
    Atomics.notify(this.#ctrl, 0)
    await this.#worker.terminate()
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

// Variants alternate every CHUNK calls, so a shared machine's load drifts over all of them alike.
const CHUNK = 500

/** ns per call of each variant over `calls` calls each, interleaved by chunks. */
function interleaved(runs: (() => unknown)[], round: number): number[] {
  const totals = runs.map(() => 0)
  for (let done = 0; done < calls; done += CHUNK)
    for (let k = 0; k < runs.length; k++) {
      const v = (k + round + done / CHUNK) % runs.length
      const run = runs[v]!
      const started = process.hrtime.bigint()
      for (let i = 0; i < CHUNK; i++) run()
      totals[v]! += Number(process.hrtime.bigint() - started)
    }
  return totals.map((t) => t / calls)
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'mcp-policy-bench-deadline-'))
  try {
    const progress = (line: string) => process.stderr.write(`${line}\n`)
    const inputJson = readFileSync(join(root, 'test/fixtures/tools-call.json'), 'utf8')
    const input = CanonicalText.of(JSON.parse(inputJson))
    const reference = await buildBundle({
      bundleDir: join(root, 'bundles/default'),
      regoDir: join(root, 'rego'),
      out: join(work, 'reference.tar.gz'),
      bundleStore: join(work, 'store'),
    })
    const floorDir = join(work, 'floor')
    await mkdir(join(floorDir, 'bundle'), { recursive: true })
    await mkdir(join(floorDir, 'rego'), { recursive: true })
    await writeFile(join(floorDir, 'bundle', '.manifest'), JSON.stringify({ roots: ['mcp'] }))
    await writeFile(join(floorDir, 'bundle', 'data.json'), '{}')
    await writeFile(
      join(floorDir, 'rego', 'floor.rego'),
      'package mcp\n\ndecision := {"allow": true, "status": 200, "reasons": [], "obligations": {}}\n\nresponse := {"allow": true, "redactions": [], "reasons": []}\n',
    )
    const floor = await buildBundle({
      bundleDir: join(floorDir, 'bundle'),
      regoDir: join(floorDir, 'rego'),
      out: join(work, 'floor.tar.gz'),
      bundleStore: join(work, 'store'),
    })

    // 1 and 2: per-call cost, every variant once per round.
    const plain = await PolicyEngine.fromBundleFile(reference.path)
    const clock = new EvaluationClock()
    const clocked = await PolicyEngine.fromBundleFile(reference.path, { clock })
    const clockAlone = () => {
      clock.begin(1, process.hrtime.bigint())
      clock.end()
    }
    const constant = await PolicyEngine.fromBundleFile(floor.path)
    const expected = JSON.stringify(plain.decideJson(input).decision)
    const sync = {
      wait: new SyncEvaluator(reference.path, { echo: false, spin: false }),
      spin: new SyncEvaluator(reference.path, { echo: false, spin: true }),
      echoWait: new SyncEvaluator(reference.path, { echo: true, spin: false }),
      echoSpin: new SyncEvaluator(reference.path, { echo: true, spin: true }),
    }
    for (const evaluator of Object.values(sync)) await evaluator.ready(input)
    for (const [name, decision] of [
      ['clocked', clocked.decideJson(input, { job: 1 }).decision],
      ['sync worker', sync.wait.decide(input, 500).decision],
      ['sync worker (spin)', sync.spin.decide(input, 500).decision],
    ] as const)
      if (JSON.stringify(decision) !== expected)
        throw new Error(`${name} decided otherwise: ${JSON.stringify(decision)}`)
    const variants: [string, () => unknown][] = [
      ['in-thread engine, no deadline (today)', () => plain.decideJson(input)],
      [
        'in-thread engine + EvaluationClock (gateway worker, deadline on)',
        () => clocked.decideJson(input, { job: 1 }),
      ],
      ['EvaluationClock begin + end alone', () => clockAlone()],
      ['floor: constant decision in-thread', () => constant.decideJson(input)],
      ['sync worker, Atomics.wait (candidate a)', () => sync.wait.decide(input, 500)],
      [`sync worker, spin ${spinNs / 1000n} µs then wait (candidate a)`, () => sync.spin.decide(input, 500)],
      ['floor: sync round trip, no evaluation, wait', () => sync.echoWait.decide(input, 500)],
      [`floor: sync round trip, no evaluation, spin`, () => sync.echoSpin.decide(input, 500)],
    ]
    for (const [, run] of variants) for (let i = 0; i < calls / 4; i++) run()
    const samples = new Map<string, number[]>(variants.map(([name]) => [name, []]))
    const ratios = new Map<string, number[]>(variants.map(([name]) => [name, []]))
    for (let round = 1; round <= rounds; round++) {
      const ns = interleaved(
        variants.map(([, run]) => run),
        round,
      )
      variants.forEach(([name], i) => {
        samples.get(name)!.push(ns[i]!)
        ratios.get(name)!.push(ns[i]! / ns[0]!)
      })
      progress(
        `round ${round}/${rounds}: ${variants.map(([n]) => `${(samples.get(n)!.at(-1)! / 1000).toFixed(2)}`).join(' / ')} µs`,
      )
    }
    await Promise.all(Object.values(sync).map((s) => s.close()))

    // 3: the gateway's pool, deadline on vs off.
    const capacity = await poolCapacity(work, progress)

    console.log(`\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}`)
    console.log(
      `input: test/fixtures/tools-call.json, reference bundle; ${calls} calls per variant and round (variants alternating every ${CHUNK} calls), median of ${rounds} rounds; "vs today": median of the rounds' ratios\n`,
    )
    console.log('| path | µs per decision | vs today |')
    console.log('| --- | ---: | ---: |')
    for (const [name] of variants) {
      const m = median(samples.get(name)!)
      const ratio = median(ratios.get(name)!)
      console.log(`| ${name} | ${(m / 1000).toFixed(2)} | ${((ratio - 1) * 100).toFixed(1)} % |`)
    }
    console.log(
      `\nDecisionPool of 2 (decision + result judgement, logged, ${concurrency} at once), median of ${rounds} rounds of ${seconds} s:`,
    )
    console.log('| evaluationDeadlineMs | calls/s | vs off |')
    console.log('| --- | ---: | ---: |')
    console.log(`| 0 (off) | ${capacity.off.toFixed(0)} | |`)
    console.log(
      `| 500 (on) | ${capacity.on.toFixed(0)} | ${((capacity.ratio - 1) * 100).toFixed(1)} % (median of the rounds' ratios) |`,
    )
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

async function poolCapacity(work: string, progress: (line: string) => void) {
  const port = 8080
  const server = 'bench'
  const bundleDir = join(work, 'pool-bundle')
  await cp(join(root, 'bundles/default'), bundleDir, { recursive: true })
  const data = JSON.parse(readFileSync(join(bundleDir, 'data.json'), 'utf8'))
  data.mcp_data.servers[server] = { classification: 'internal', tools: { echo: {} } }
  data.mcp_data.grants.roles.developer.tools[server] = ['echo']
  await writeFile(join(bundleDir, 'data.json'), JSON.stringify(data))
  const built = await buildBundle({
    bundleDir,
    regoDir: join(root, 'rego'),
    out: join(work, 'pool.tar.gz'),
    bundleStore: join(work, 'store'),
  })
  const keyDir = join(work, '.dev-keys')
  const config = resolveGatewayConfig({
    port,
    servers: { [server]: { url: 'http://127.0.0.1:9/mcp' } },
    bundle: { file: built.path },
    devKeyDir: keyDir,
    log: { dir: join(work, 'pool-logs'), durability: 'batch' },
    bundleStore: join(work, 'store'),
  })
  const coreConfig = decisionCoreConfig(config, port)
  const key = await loadOrCreateDevKey(keyDir)
  const authorization = `Bearer ${await mintDevToken(key, {
    sub: 'alice',
    roles: ['developer'],
    aud: `http://127.0.0.1:${port}/mcp/${server}`,
    expiresIn: '1h',
  })}`
  const message = Buffer.from(
    JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: { text: 'hi' } },
    }),
  )
  const result = { content: [{ type: 'text', text: 'hi' }] }
  let latest: { bytes: Uint8Array; origin: string } | undefined
  const core = await openDecisionCore(coreConfig, {
    worker: '0',
    chain: 'bench',
    onBundle: async (bytes, origin) => {
      latest = { bytes, origin }
    },
  })
  const start = (deadlineMs: number) =>
    DecisionPool.start({
      size: 2,
      config: { ...coreConfig, identity: core.identity },
      bundle: () => latest!,
      maxQueued: 100_000,
      deadlineMs,
      refuse: (facts, error) => core.service.refuse(facts, error),
      print: progress,
    })
  const pools = { off: await start(0), on: await start(500) }
  const run = async (pool: DecisionPort) => {
    const once = async () => {
      const { response, input } = await pool.decideMessage({ message, headers: { authorization }, server })
      if (!response.allow || !input) throw new Error(`denied: ${JSON.stringify(response)}`)
      const judged = await pool.judgeResponse({
        request: input,
        result,
        requestRedact: response.obligations.redact ?? [],
      })
      if (!judged.allow) throw new Error(`result blocked: ${JSON.stringify(judged)}`)
    }
    const loop = async (until: number) => {
      let n = 0
      while (performance.now() < until) {
        await once()
        n++
      }
      return n
    }
    await Promise.all(Array.from({ length: concurrency }, () => loop(performance.now() + 500)))
    const started = performance.now()
    const counts = await Promise.all(
      Array.from({ length: concurrency }, () => loop(started + seconds * 1000)),
    )
    return counts.reduce((a, b) => a + b, 0) / ((performance.now() - started) / 1000)
  }
  const out = { off: [] as number[], on: [] as number[] }
  try {
    for (let round = 1; round <= rounds; round++) {
      // Alternating which goes first, so neither always runs on a warmer machine.
      const order = round % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const)
      for (const which of order) out[which].push(await run(pools[which]))
      progress(
        `pool round ${round}/${rounds}: off ${out.off.at(-1)!.toFixed(0)} calls/s, on ${out.on.at(-1)!.toFixed(0)} calls/s`,
      )
    }
  } finally {
    await pools.off.close()
    await pools.on.close()
    await core.close()
  }
  return {
    off: median(out.off),
    on: median(out.on),
    ratio: median(out.on.map((on, i) => on / out.off[i]!)),
  }
}

// Last: the classes above are initialized by now.
if (!isMainThread) await serveSynchronously(workerData as SyncWorkerData)
else await main()
