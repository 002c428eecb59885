/**
 * Gateway decision workers benchmark (`npm run build && node dist/test/bench/gateway-workers.bench.js`):
 * what `workers: 2` (two decision worker threads, the main thread doing only I/O) gives over
 * `workers: 1` (every decision in the main thread), in one run. A benchmark, not a test: it checks
 * only that every path answers the echo before it is measured, and reports.
 *
 * 1. End to end: raw `tools/call` POSTs (autocannon, BENCH_CONNECTIONS connections, BENCH_SECONDS
 *    s per round, one session) at the gateway CLI started with `--workers 1` and `--workers 2`, in
 *    front of the benchmark's echo server over HTTP and over stdio (`sessions: shared`); the
 *    gateway's CPU per call and its busy share (1 = one core); as floor, the SDK relay (the
 *    gateway's transports, no policy): what the I/O thread can do at best. Rounds visit every path
 *    in turn; req/s is the median of the rounds.
 * 2. Decision capacity alone (no HTTP): a `tools/call`'s two decisions (`mcp/decision`, then
 *    `mcp/response`), BENCH_DECISION_CONCURRENCY at once for BENCH_SECONDS s, through the
 *    in-thread `DecisionService` and through a `DecisionPool` of 2 workers, both logging in batch.
 *
 * Nothing is pinned: the gateway needs both cores for its threads, so the load generator (this
 * process), the echo server and the gateway share the machine's cores, as they would on a small host.
 *
 * Environment: BENCH_ROUNDS (4), BENCH_SECONDS (5), BENCH_CONNECTIONS (16), BENCH_DECISION_CONCURRENCY (64).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cp, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import autocannon from 'autocannon'
import { DecisionPool } from '../../src/gateway/decision-pool.js'
import { decisionCoreConfig } from '../../src/gateway/gateway-config.js'
import {
  buildBundle,
  type DecisionPort,
  loadOrCreateDevKey,
  mintDevToken,
  resolveGatewayConfig,
} from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'
import { openDecisionCore } from '../../src/pdp/decision-core.js'
import { listeningUrl } from './serve-process.js'

const env = process.env
const rounds = Number(env.BENCH_ROUNDS ?? 4)
const seconds = Number(env.BENCH_SECONDS ?? 5)
const connections = Number(env.BENCH_CONNECTIONS ?? 16)
const decisionConcurrency = Number(env.BENCH_DECISION_CONCURRENCY ?? 64)

const root = packageRoot()
const cliPath = join(root, 'dist/cli/main.js')
const fixtures = join(root, 'dist/test/bench/fixtures')
const echoServer = join(fixtures, 'echo-server.js')
const STDIO_ID = 'echo'
const HTTP_ID = 'echo-http'
const echoArguments = { message: 'hello from the gateway workers benchmark' }
const expectedText = `Echo: ${echoArguments.message}`
const claims = { sub: 'alice', roles: ['developer'], groups: ['engineering'], scopes: ['mcp:tools'] }

const children: ChildProcess[] = []

interface Target {
  name: string
  url: string
  authorization?: string
  /** The process whose CPU is counted (the gateway or relay; the echo server is not). */
  pid: number
}

interface Round {
  rps: number
  cpuMsPerCall: number
  /** CPU of the process's main thread (the I/O thread: HTTP, SDK transports, upstreams) per call. */
  mainMsPerCall: number
  busy: number
  non2xx: number
  errors: number
}

const loadAtStart = loadavg()[0]!.toFixed(1)

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'mcp-policy-bench-workers-'))
  try {
    const bundleDir = join(work, 'bundle')
    await cp(join(root, 'bundles/default/.manifest'), join(bundleDir, '.manifest'))
    const data = JSON.parse(readFileSync(join(root, 'bundles/default/data.json'), 'utf8'))
    for (const id of [STDIO_ID, HTTP_ID]) {
      data.mcp_data.servers[id] = { classification: 'internal', tools: { echo: {} } }
      data.mcp_data.grants.roles.developer.tools[id] = ['echo']
    }
    await writeFile(join(bundleDir, 'data.json'), JSON.stringify(data))
    const bundle = await buildBundle({
      bundleDir,
      regoDir: join(root, 'rego'),
      out: join(work, 'bench.tar.gz'),
      bundleStore: join(work, 'store'),
    })
    const keyDir = join(work, '.dev-keys')
    const key = await loadOrCreateDevKey(keyDir)
    const bearer = async (aud: string) =>
      `Bearer ${await mintDevToken(key, { ...claims, aud, expiresIn: '1h' })}`

    const echoHttp = await startChild('echo-http', [echoServer, '--http'])
    const startGateway = async (workers: number) => {
      const configPath = join(work, `gateway-${workers}.json`)
      await writeFile(
        configPath,
        JSON.stringify({
          host: '127.0.0.1',
          port: 0,
          workers,
          servers: {
            [STDIO_ID]: { command: process.execPath, args: [echoServer, '--stdio'] },
            [HTTP_ID]: { url: echoHttp.url },
          },
          bundle: { file: bundle.path },
          devKeyDir: keyDir,
          log: { dir: join(work, `logs-${workers}`), durability: 'batch' },
          bundleStore: join(work, 'store'),
        }),
      )
      return startChild(`gateway --workers ${workers}`, [cliPath, 'gateway', '--config', configPath])
    }
    const one = await startGateway(1)
    const two = await startGateway(2)
    const relay = await startChild('sdk relay (http)', [
      join(fixtures, 'sdk-relay.js'),
      '--url',
      echoHttp.url,
    ])
    const targets: Target[] = []
    for (const [label, gateway] of [
      ['workers 1', one],
      ['workers 2', two],
    ] as const) {
      for (const id of [HTTP_ID, STDIO_ID]) {
        const url = `${gateway.url}/mcp/${id}`
        targets.push({
          name: `${id === HTTP_ID ? 'HTTP' : 'stdio'} upstream, gateway ${label}`,
          url,
          authorization: await bearer(url),
          pid: gateway.child.pid!,
        })
      }
    }
    targets.push({ name: 'HTTP floor: SDK relay, no policy', url: relay.url, pid: relay.child.pid! })

    const sessions = new Map<Target, Awaited<ReturnType<typeof openSession>>>()
    for (const target of targets) {
      const session = await openSession(target)
      await checkRaw(target, session.headers)
      sessions.set(target, session)
      progress(`${target.name}: session open, answers`)
    }
    const results = new Map<Target, Round[]>(targets.map((t) => [t, []]))
    for (let round = 1; round <= rounds; round++) {
      for (const target of targets) {
        const measured = await measure(target, sessions.get(target)!.headers)
        results.get(target)!.push(measured)
        progress(
          `round ${round}/${rounds} ${target.name}: ${measured.rps.toFixed(0)} req/s, ` +
            `${measured.cpuMsPerCall.toFixed(3)} ms CPU/call (main thread ${measured.mainMsPerCall.toFixed(3)}), busy ${measured.busy.toFixed(2)}`,
        )
      }
    }
    for (const session of sessions.values()) await session.close()

    const capacity = await decisionCapacity(work, bundle.path, keyDir)
    report(targets, results, capacity)
  } finally {
    await Promise.all(children.map(stopChild))
    await rm(work, { recursive: true, force: true })
  }
}

/** An MCP session opened by the real SDK client: the headers raw POSTs need to call in it. */
async function openSession(target: Target) {
  const headers: Record<string, string> = target.authorization ? { authorization: target.authorization } : {}
  const transport = new StreamableHTTPClientTransport(new URL(target.url), { requestInit: { headers } })
  const client = new Client({ name: 'bench-workers', version: '1.0.0' })
  await client.connect(transport)
  return {
    headers: {
      ...headers,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': transport.sessionId ?? '',
      'mcp-protocol-version': transport.protocolVersion ?? '2025-06-18',
    },
    close: async () => {
      await transport.terminateSession().catch(() => {})
      await client.close()
    },
  }
}

const body = JSON.stringify({
  jsonrpc: '2.0',
  id: '[<id>]',
  method: 'tools/call',
  params: { name: 'echo', arguments: echoArguments },
})

async function checkRaw(target: Target, headers: Record<string, string>) {
  const response = await fetch(target.url, { method: 'POST', headers, body: body.replace('[<id>]', 'check') })
  const text = await response.text()
  if (response.status !== 200 || !text.includes(expectedText))
    throw new Error(`${target.name} does not answer a raw POST: ${response.status} ${text.slice(0, 300)}`)
}

async function measure(target: Target, headers: Record<string, string>): Promise<Round> {
  const run = (duration: number) =>
    autocannon({
      url: target.url,
      method: 'POST',
      headers,
      body,
      connections,
      duration,
      idReplacement: true,
    } as never)
  await run(1)
  const cpuBefore = processCpuMs(target.pid)
  const mainBefore = processCpuMs(target.pid, target.pid)
  const result = await run(seconds)
  const cpu = processCpuMs(target.pid) - cpuBefore
  const main = processCpuMs(target.pid, target.pid) - mainBefore
  return {
    rps: result['2xx'] / result.duration,
    cpuMsPerCall: cpu / Math.max(1, result['2xx']),
    mainMsPerCall: main / Math.max(1, result['2xx']),
    busy: cpu / (result.duration * 1000),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }
}

/**
 * Decisions alone, in this process: decide a `tools/call` and judge its result, `decisionConcurrency`
 * calls at once for `seconds`, through the in-thread service and through a pool of 2 workers.
 */
async function decisionCapacity(work: string, bundlePath: string, keyDir: string) {
  const port = 8080
  const config = resolveGatewayConfig({
    host: '127.0.0.1',
    port,
    servers: { [HTTP_ID]: { url: 'http://127.0.0.1:9/mcp' } },
    bundle: { file: bundlePath },
    devKeyDir: keyDir,
    log: { dir: join(work, 'capacity-logs'), durability: 'batch' },
    bundleStore: join(work, 'store'),
  })
  const coreConfig = decisionCoreConfig(config, port)
  const key = await loadOrCreateDevKey(keyDir)
  const resource = `http://127.0.0.1:${port}/mcp/${HTTP_ID}`
  const authorization = `Bearer ${await mintDevToken(key, { ...claims, aud: resource, expiresIn: '1h' })}`
  const message = Buffer.from(
    JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: echoArguments },
    }),
  )
  const result = { content: [{ type: 'text', text: expectedText }] }
  let latest: { bytes: Uint8Array; origin: string } | undefined
  const core = await openDecisionCore(coreConfig, {
    worker: '0',
    chain: 'capacity',
    onBundle: async (bytes, origin) => {
      latest = { bytes, origin }
    },
  })
  const pool = await DecisionPool.start({
    size: 2,
    config: { ...coreConfig, identity: core.identity },
    bundle: () => latest!,
    maxQueued: 100_000,
    refuse: (facts, error) => core.service.refuse(facts, error),
    print: progress,
  })
  const run = async (port: DecisionPort) => {
    const once = async () => {
      const { response, input } = await port.decideMessage({
        message,
        headers: { authorization },
        server: HTTP_ID,
      })
      if (!response.allow || !input) throw new Error(`denied: ${JSON.stringify(response)}`)
      const judged = await port.judgeResponse({
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
    await Promise.all(Array.from({ length: decisionConcurrency }, () => loop(performance.now() + 1000)))
    const started = performance.now()
    const counts = await Promise.all(
      Array.from({ length: decisionConcurrency }, () => loop(started + seconds * 1000)),
    )
    return counts.reduce((a, b) => a + b, 0) / ((performance.now() - started) / 1000)
  }
  const out = { inThread: [] as number[], pool: [] as number[] }
  try {
    for (let round = 1; round <= rounds; round++) {
      out.inThread.push(await run(core.service))
      out.pool.push(await run(pool))
      progress(
        `round ${round}/${rounds} decisions alone: in-thread ${out.inThread.at(-1)!.toFixed(0)} calls/s, ` +
          `pool of 2 ${out.pool.at(-1)!.toFixed(0)} calls/s`,
      )
    }
  } finally {
    await pool.close()
    await core.close()
  }
  return { inThread: median(out.inThread), pool: median(out.pool) }
}

function report(
  targets: Target[],
  results: Map<Target, Round[]>,
  capacity: { inThread: number; pool: number },
) {
  const rows = targets.map((t) => {
    const r = results.get(t)!
    return {
      name: t.name,
      rps: median(r.map((x) => x.rps)),
      min: Math.min(...r.map((x) => x.rps)),
      max: Math.max(...r.map((x) => x.rps)),
      cpu: median(r.map((x) => x.cpuMsPerCall)),
      main: median(r.map((x) => x.mainMsPerCall)),
      busy: median(r.map((x) => x.busy)),
      bad: r.reduce((n, x) => n + x.non2xx + x.errors, 0),
    }
  })
  const lines = [
    '',
    `## Gateway decision workers (${new Date().toISOString().slice(0, 10)})`,
    '',
    `Machine: ${cpus()[0]?.model ?? 'unknown CPU'}, ${availableParallelism()} cores (shared), Node ${process.version}. ` +
      `Nothing pinned: gateway, echo server and load generator share the cores. ` +
      `Load average at start ${loadAtStart}, at the end ${loadavg()[0]!.toFixed(1)} (other work on the machine shows here).`,
    `Raw POSTs: autocannon, ${connections} connections, ${seconds} s per round, ${rounds} rounds, tools/call in one session; ` +
      'median req/s of the rounds (min–max); CPU of the gateway (or relay) process per call, all its threads; busy = its CPU over wall time (1 = one core).',
    '',
    '| path | req/s (median) | min–max | CPU ms/call, all threads | main thread ms/call | main-thread ceiling calls/s | busy | non-2xx + errors |',
    '|---|---:|---:|---:|---:|---:|---:|---:|',
    ...rows.map(
      (r) =>
        `| ${r.name} | ${r.rps.toFixed(0)} | ${r.min.toFixed(0)}–${r.max.toFixed(0)} | ${r.cpu.toFixed(3)} | ${r.main.toFixed(3)} | ${(1000 / r.main).toFixed(0)} | ${r.busy.toFixed(2)} | ${r.bad} |`,
    ),
    '',
    'Main-thread ceiling: 1000 / main-thread CPU ms per call, the calls/s the I/O thread could carry with a core of its own (what the worker threads raise; the rest of the machine decides whether it is reached).',
    '',
    ...['HTTP', 'stdio'].map((kind) => {
      const w1 = rows.find((r) => r.name === `${kind} upstream, gateway workers 1`)!
      const w2 = rows.find((r) => r.name === `${kind} upstream, gateway workers 2`)!
      return `${kind} upstream: workers 2 / workers 1 = ${(w2.rps / w1.rps).toFixed(2)}×`
    }),
    '',
    `Decisions alone (decide + judge one tools/call, batch log, ${decisionConcurrency} at once, median of ${rounds} rounds): ` +
      `in-thread ${capacity.inThread.toFixed(0)} calls/s, pool of 2 workers ${capacity.pool.toFixed(0)} calls/s ` +
      `(${(capacity.pool / capacity.inThread).toFixed(2)}×).`,
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}

/** CPU time (ms) of one process, all its threads, from /proc/<pid>/stat; or of one of its threads. */
function processCpuMs(pid: number, thread?: number): number {
  const stat = readFileSync(
    thread === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${thread}/stat`,
    'utf8',
  )
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

async function startChild(name: string, args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  children.push(child)
  const url = await listeningUrl(child, name)
  return { child, url }
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve()
  return new Promise((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 10_000)
    child.once('exit', () => {
      clearTimeout(force)
      resolve()
    })
    child.kill('SIGTERM')
  })
}

function progress(line: string): void {
  process.stderr.write(`${line}\n`)
}

main().catch((err) => {
  process.stderr.write(`${(err as Error).stack ?? err}\n`)
  process.exitCode = 1
})
