/**
 * Evaluation deadline benchmark (`npm run build && node dist/test/bench/deadline.bench.js`, part of
 * `npm run bench:workers`): what the deadline costs on the normal path, on vs off in one run. A
 * benchmark, not a test: it checks only that each path decides the reference input as the plain
 * engine does, and reports.
 *
 * 1. One evaluation in this thread (reference policy, realistic `tools/call`, input serialized once
 *    as the PDP does): the plain engine; the engine publishing on an `EvaluationClock` (what a
 *    gateway decision worker does for the deadline); as floor, a bundle whose decision is a
 *    constant (OPA's WebAssembly runtime, no rules).
 * 2. The engine with `deadlineMs` (what `serve` and in-thread gateway decisions run): the bundle's
 *    module instrumented with fuel (a decrement and a branch at every loop header and function
 *    entry, the clock read every 1,000); as floor, the same with the constant bundle.
 * 3. The gateway's `DecisionPool` (2 workers, each decision and its result judgement, logged in
 *    batch, BENCH_DECISION_CONCURRENCY at once): `evaluationDeadlineMs` 500 vs 0, rounds alternating.
 * 4. `mcp-policy serve` (1 worker, its own process on core 1): `POST /v1/mcp/decide` under autocannon
 *    (BENCH_CONNECTIONS) with `limits.evaluationDeadlineMs` 500 vs 0, two servers, rounds
 *    alternating: the cost on the PDP's normal path.
 *
 * Environment: BENCH_CALLS (200000 per variant and round), BENCH_ROUNDS (5), BENCH_SECONDS (3),
 * BENCH_DECISION_CONCURRENCY (64), BENCH_CONNECTIONS (8).
 */
import { readFileSync } from 'node:fs'
import { cp, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
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
import { aliceToken, decideLoad, startBenchServe } from './serve-process.js'

const calls = Number(process.env.BENCH_CALLS ?? 200_000)
const rounds = Number(process.env.BENCH_ROUNDS ?? 5)
const seconds = Number(process.env.BENCH_SECONDS ?? 3)
const concurrency = Number(process.env.BENCH_DECISION_CONCURRENCY ?? 64)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8)
const root = packageRoot()

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
    const guarded = await PolicyEngine.fromBundleFile(reference.path, { deadlineMs: 500 })
    const guardedConstant = await PolicyEngine.fromBundleFile(floor.path, { deadlineMs: 500 })
    for (const [name, decision] of [
      ['clocked', clocked.decideJson(input, { job: 1 }).decision],
      ['deadline', guarded.decideJson(input).decision],
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
      [
        'engine with deadlineMs 500, fuel-instrumented (serve, in-thread gateway)',
        () => guarded.decideJson(input),
      ],
      ['floor: constant decision, fuel-instrumented', () => guardedConstant.decideJson(input)],
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

    // 3: the gateway's pool, deadline on vs off.
    const capacity = await poolCapacity(work, progress)
    // 4: serve over HTTP, deadline on vs off.
    const served = await serveCost(work, reference.path, progress)

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
    console.log(
      `\nPOST /v1/mcp/decide, mcp-policy serve (1 worker, own core), autocannon ${connections} connections, median of ${rounds} rounds × ${seconds} s:`,
    )
    console.log('| limits.evaluationDeadlineMs | req/s | p50 ms | p99 ms | cost per request |')
    console.log('| --- | ---: | ---: | ---: | ---: |')
    console.log(`| 0 (off) | ${served.off.rps.toFixed(0)} | ${served.off.p50} | ${served.off.p99} | |`)
    console.log(
      `| 500 (on) | ${served.on.rps.toFixed(0)} | ${served.on.p50} | ${served.on.p99} | ${((served.cost - 1) * 100).toFixed(1)} % (median of the rounds' ratios) |`,
    )
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

/** `serve` with the deadline on and off, side by side, one `tools/call` decided over HTTP. */
async function serveCost(work: string, bundlePath: string, progress: (line: string) => void) {
  const keyDir = join(work, 'serve-keys')
  const token = await aliceToken(keyDir)
  const body = JSON.stringify({
    server: 'github',
    headers: { authorization: `Bearer ${token}` },
    message: {
      jsonrpc: '2.0',
      id: 7,
      method: 'tools/call',
      params: { name: 'create_issue', arguments: { owner: 'acme', repo: 'payments', title: 'Flaky test' } },
    },
  })
  const start = (which: 'on' | 'off') =>
    startBenchServe({
      dir: work,
      name: `serve-${which}`,
      bundlePath,
      keyDir,
      limits: { evaluationDeadlineMs: which === 'on' ? 500 : 0 },
    })
  const servers = { off: await start('off'), on: await start('on') }
  const out = {
    off: [] as Awaited<ReturnType<typeof decideLoad>>[],
    on: [] as Awaited<ReturnType<typeof decideLoad>>[],
  }
  try {
    for (const which of ['off', 'on'] as const) {
      const answer = (await (
        await fetch(`${servers[which].url}/v1/mcp/decide`, { method: 'POST', body })
      ).json()) as { allow?: boolean }
      if (answer.allow !== true) throw new Error(`serve (${which}) did not allow: ${JSON.stringify(answer)}`)
      await decideLoad(servers[which].url, body, 1, connections)
    }
    for (let round = 1; round <= rounds; round++) {
      const order = round % 2 ? (['off', 'on'] as const) : (['on', 'off'] as const)
      for (const which of order)
        out[which].push(await decideLoad(servers[which].url, body, seconds, connections))
      progress(
        `serve round ${round}/${rounds}: off ${out.off.at(-1)!.rps.toFixed(0)} req/s, on ${out.on.at(-1)!.rps.toFixed(0)} req/s`,
      )
    }
  } finally {
    await servers.off.close()
    await servers.on.close()
  }
  const pick = (runs: typeof out.on) => ({
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
  })
  return {
    off: pick(out.off),
    on: pick(out.on),
    // Time per request, on over off.
    cost: median(out.on.map((on, i) => out.off[i]!.rps / on.rps)),
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

await main()
