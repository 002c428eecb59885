/**
 * Gateway benchmark (`npm run bench:gateway`): what `mcp-policy gateway` adds to a `tools/call` of
 * an echo tool, against the same call made directly and through nginx + njs with the PDP deciding,
 * in one run. A benchmark, not a test: it checks only that every path answers the echo before it is
 * measured, and reports.
 *
 * Paths (the echo server is test/bench/fixtures/echo-server.ts, the real SDK `McpServer`):
 * - stdio: the SDK `Client` over `StdioClientTransport` straight to the server, and over
 *   `StreamableHTTPClientTransport` to the gateway, which runs the server (`sessions: shared`).
 * - HTTP: the server over stateful Streamable HTTP, called directly, through the gateway
 *   (upstream `{ url }`) and through nginx + njs (`src/gateway/nginx/`, test/helpers/nginx-gateway.ts)
 *   asking `mcp-policy serve` (one worker) at `/v1/mcp/decide` and `/v1/mcp/response`.
 * - Floors, to explain a gap: a bare node:http relay (fixtures/http-relay.ts: bytes through, no
 *   MCP, no policy), the SDK's own relay (fixtures/sdk-relay.ts: the gateway's transports, no
 *   policy), the gateway with its decision log `async` (no fsync on the call's path), the policy's
 *   in-process cost per call, and the fsync latency of the log's disk.
 *
 * The gateway and the PDP decide with the reference policy plus two servers (`echo` over stdio,
 * `echo-http` over HTTP) granting `echo` to developers; tokens come from the dev issuer; both write
 * the decision log in batch durability (each decision acknowledged after its group's fsync) to a
 * temp dir on the same disk. Both judge the request (`mcp/decision`) and the tool result
 * (`mcp/response`): two decisions, two log appends per call.
 *
 * Cores: every server (echo servers, gateways, nginx, PDP, relays) runs pinned to one core, this
 * process (the clients and the load generator) to the other, so the client's CPU is not the
 * server's. The servers get the core a stall probe (cpu-stall-probe.ts) finds quieter unless
 * BENCH_SERVER_CORE names one.
 *
 * Per path, in BENCH_ROUNDS rounds that visit every path in turn (noise on a shared machine then
 * lands on all paths alike), with every session opened and warmed up (BENCH_WARMUP calls) first:
 * - latency: one SDK client, BENCH_CALLS sequential calls in all (split over the rounds), each timed
 *   around `client.callTool` (performance.now()): p50 and p99 of all of them;
 * - throughput with SDK clients: BENCH_SESSIONS clients (sessions) × BENCH_SESSION_CALLS calls per
 *   round, all sessions at once, each sequential: calls/s, the median of the rounds (stdio direct:
 *   one server process per client, as MCP hosts run stdio servers);
 * - throughput of raw POSTs (HTTP entry points only): autocannon, BENCH_CONNECTIONS connections for
 *   BENCH_SECONDS s per round, each POST a `tools/call` JSON-RPC request (unique id) in the session
 *   the sequential client opened (its Mcp-Session-Id and token): req/s, the median of the rounds.
 *
 * Environment: BENCH_ROUNDS (4), BENCH_CALLS (2000), BENCH_WARMUP (300), BENCH_SESSIONS (8),
 * BENCH_SESSION_CALLS (100), BENCH_CONNECTIONS (8), BENCH_SECONDS (3), BENCH_SERVER_CORE (0 or 1:
 * the servers' core), BENCH_FLOORS (0 skips the floor measurements), BENCH_GATEWAY_NODE_ARGS (extra
 * node arguments for the gateway, e.g. to profile it).
 */
import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { cp, mkdtemp, open, rm, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js'
import autocannon from 'autocannon'
import { judgeToolResult } from '../../src/enforce/result-enforcement.js'
import { decisionCoreConfig } from '../../src/gateway/gateway-config.js'
import {
  buildBundle,
  defaultServerResource,
  type GatewayConfig,
  loadOrCreateDevKey,
  mintDevToken,
  resolveGatewayConfig,
} from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'
import { openDecisionCore } from '../../src/pdp/decision-core.js'
import { findNginx, startNginxGateway } from '../helpers/nginx-gateway.js'
import { listeningUrl } from './serve-process.js'

const env = process.env
const calls = Number(env.BENCH_CALLS ?? 2000)
const warmup = Number(env.BENCH_WARMUP ?? 300)
const sessions = Number(env.BENCH_SESSIONS ?? 8)
const sessionCalls = Number(env.BENCH_SESSION_CALLS ?? 100)
const connections = Number(env.BENCH_CONNECTIONS ?? 8)
const seconds = Number(env.BENCH_SECONDS ?? 3)
const rounds = Number(env.BENCH_ROUNDS ?? 4)
const floors = env.BENCH_FLOORS !== '0'

const root = packageRoot()
const cliPath = join(root, 'dist/cli/main.js')
const fixtures = join(root, 'dist/test/bench/fixtures')
const echoServer = join(fixtures, 'echo-server.js')
const STDIO_ID = 'echo'
const HTTP_ID = 'echo-http'
const echoArguments = { message: 'hello from the gateway benchmark' }
const expectedText = `Echo: ${echoArguments.message}`
const claims = { sub: 'alice', roles: ['developer'], groups: ['engineering'], scopes: ['mcp:tools'] }

let serverCore = '1'
let generatorCore = '0'
/** Pinning needs two cores and taskset; without them everything runs unpinned (and the report says so). */
const pinning = cpus().length >= 2 && spawnSync('taskset', ['-V']).status === 0

/** `command…` to run on `core`: behind `taskset -c core` when pinning. */
function onCore(core: string, command: string[]): [string, ...string[]] {
  return (pinning ? ['taskset', '-c', core, ...command] : command) as [string, ...string[]]
}

/** One way to make the call: a client transport, and for HTTP entry points, what raw POSTs need. */
interface Path {
  name: string
  group: 'stdio' | 'http'
  kind: 'direct' | 'gateway' | 'nginx' | 'floor'
  transport: () => Transport
  /** The HTTP entry point and its Authorization header: raw POSTs are measured there. */
  http?: { url: string; authorization?: string }
}

interface Measured {
  path: Path
  sequential: { p50: number; p99: number; mean: number }
  /** CPU per call (ms): every process behind the entry point (servers), and this process (client). */
  sdk: { callsPerSecond: number; p50: number; p99: number; serverCpuMs: number; clientCpuMs: number }
  /** `serverBusy`: the servers' CPU time over the run's wall time (1 = the whole server core). */
  raw?: { rps: number; serverCpuMs: number; serverBusy: number; non2xx: number; errors: number }
}

/** Every process this run started (stopped at the end, whatever happens). */
const children: ChildProcess[] = []

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'mcp-policy-bench-gateway-'))
  const closers: (() => Promise<void>)[] = []
  try {
    const probesBefore = pinning ? await Promise.all(['0', '1'].map((core) => probeStalls(core))) : []
    if (pinning) {
      serverCore =
        env.BENCH_SERVER_CORE ??
        (probesBefore[0]!.pctInStallsOver1ms < probesBefore[1]!.pctInStallsOver1ms ? '0' : '1')
      generatorCore = serverCore === '0' ? '1' : '0'
      pinSelf(generatorCore)
      progress(`servers on core ${serverCore}, clients and load generator on core ${generatorCore}`)
    } else progress('fewer than 2 cores or no taskset: nothing is pinned')

    // The reference policy plus the two echo servers, `echo` granted to developers on both.
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
    const token = (aud: string) => mintDevToken(key, { ...claims, aud, expiresIn: '4h' })

    const echoHttp = await startChild('echo-http', [echoServer, '--http'])
    const echoUrl = echoHttp.url

    // The gateway as users run it: the CLI with a config file, in a process of its own.
    const gatewayConfig = (log: 'batch' | 'async') => ({
      host: '127.0.0.1',
      port: 0,
      servers: {
        [STDIO_ID]: { command: process.execPath, args: [echoServer, '--stdio'] },
        [HTTP_ID]: { url: echoUrl },
      },
      bundle: { file: bundle.path },
      devKeyDir: keyDir,
      log: { dir: join(work, `gateway-logs-${log}`), durability: log },
      bundleStore: join(work, 'store'),
      // Pinned to one core with everything else behind the entry points: decisions in the main
      // thread, as the PDP's one worker (gateway-workers.bench.ts measures the worker threads).
      workers: 1,
    })
    const startGatewayCli = async (log: 'batch' | 'async') => {
      const configPath = join(work, `gateway-${log}.json`)
      await writeFile(configPath, JSON.stringify(gatewayConfig(log)))
      // BENCH_GATEWAY_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) reaches the batch-log gateway.
      const nodeArgs = log === 'batch' ? (env.BENCH_GATEWAY_NODE_ARGS?.split(' ').filter(Boolean) ?? []) : []
      const started = await startChild(
        `gateway (log ${log})`,
        [cliPath, 'gateway', '--config', configPath],
        nodeArgs,
      )
      return started.url
    }
    const gatewayUrl = await startGatewayCli('batch')
    const gatewayEndpoint = (base: string, id: string) => `${base}/mcp/${id}`

    // nginx + njs in front of the same HTTP echo server, the PDP (one worker) deciding.
    const pdpConfigPath = join(work, 'pdp.json')
    await writeFile(
      pdpConfigPath,
      JSON.stringify({
        host: '127.0.0.1',
        port: 0,
        workers: 1,
        bundle: { file: bundle.path },
        devKeyDir: keyDir,
        log: { dir: join(work, 'pdp-logs'), durability: 'batch' },
        bundleStore: join(work, 'store'),
        normalize: {
          servers: { [HTTP_ID]: { resource: defaultServerResource(HTTP_ID) } },
          trustForwardedHeaders: true,
        },
      }),
    )
    const pdp = await startChild('pdp', [cliPath, 'serve', '--config', pdpConfigPath])
    let nginxUrl: string | undefined
    if (findNginx()) {
      // nginx is started by the helper as a child of this process: it (and the workers its master
      // forks) inherit this process's CPU affinity, so this process moves to the server core for it.
      pinSelf(serverCore)
      try {
        const nginx = await startNginxGateway({ pdp: pdp.url, upstream: echoUrl, serverId: HTTP_ID })
        closers.push(nginx.close)
        nginxUrl = nginx.url
      } finally {
        pinSelf(generatorCore)
      }
    } else progress('nginx with the njs module is not installed: the nginx + PDP path is skipped')

    const bearer = async (aud: string) => `Bearer ${await token(aud)}`
    const httpPath = async (name: string, kind: Path['kind'], url: string, aud?: string): Promise<Path> => {
      const authorization = aud ? await bearer(aud) : undefined
      const headers: Record<string, string> = authorization ? { authorization } : {}
      return {
        name,
        group: 'http',
        kind,
        transport: () => new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }),
        http: { url, authorization },
      }
    }
    const gatewayStdio = gatewayEndpoint(gatewayUrl, STDIO_ID)
    const gatewayHttp = gatewayEndpoint(gatewayUrl, HTTP_ID)
    const paths: Path[] = [
      {
        name: 'stdio: direct (StdioClientTransport)',
        group: 'stdio',
        kind: 'direct',
        transport: () => {
          const [command, ...args] = onCore(serverCore, [process.execPath, echoServer, '--stdio'])
          return new StdioClientTransport({ command, args, stderr: 'inherit' })
        },
      },
      { ...(await httpPath('stdio: via gateway', 'gateway', gatewayStdio, gatewayStdio)), group: 'stdio' },
      await httpPath('HTTP: direct', 'direct', echoUrl),
      await httpPath('HTTP: via gateway', 'gateway', gatewayHttp, gatewayHttp),
    ]
    if (nginxUrl)
      paths.push(
        await httpPath('HTTP: via nginx + njs + PDP', 'nginx', nginxUrl, defaultServerResource(HTTP_ID)),
      )
    if (floors) {
      const sdkRelayStdio = await startChild('sdk relay (stdio)', [
        join(fixtures, 'sdk-relay.js'),
        '--command',
        process.execPath,
        `--arg=${echoServer}`,
        '--arg=--stdio',
      ])
      const sdkRelayHttp = await startChild('sdk relay (http)', [
        join(fixtures, 'sdk-relay.js'),
        '--url',
        echoUrl,
      ])
      const bareRelay = await startChild('bare relay', [join(fixtures, 'http-relay.js'), '--url', echoUrl])
      const asyncGateway = await startGatewayCli('async')
      const asyncStdio = gatewayEndpoint(asyncGateway, STDIO_ID)
      const asyncHttp = gatewayEndpoint(asyncGateway, HTTP_ID)
      paths.push(
        {
          ...(await httpPath('stdio floor: SDK relay, no policy', 'floor', sdkRelayStdio.url)),
          group: 'stdio',
        },
        {
          ...(await httpPath('stdio floor: gateway, decision log async', 'floor', asyncStdio, asyncStdio)),
          group: 'stdio',
        },
        await httpPath('HTTP floor: bare node:http relay', 'floor', bareRelay.url),
        await httpPath('HTTP floor: SDK relay, no policy', 'floor', sdkRelayHttp.url),
        await httpPath('HTTP floor: gateway, decision log async', 'floor', asyncHttp, asyncHttp),
      )
    }

    const results = await measureAll(paths)

    const policy = floors ? await policyCost(work, bundle.path, keyDir, gatewayUrl) : undefined
    const fsync = floors ? await fsyncLatency(work) : undefined
    const probesAfter = pinning ? await Promise.all(['0', '1'].map((core) => probeStalls(core))) : []
    report(results, { policy, fsync, probes: { before: probesBefore, after: probesAfter } })
  } finally {
    for (const close of closers) await close().catch(() => {})
    await Promise.all(children.map(stopChild))
    await rm(work, { recursive: true, force: true })
  }
}

// ----- measuring -----

async function connect(path: Path): Promise<{ client: Client; transport: Transport }> {
  const client = new Client({ name: 'bench-gateway', version: '1.0.0' })
  const transport = path.transport()
  await client.connect(transport)
  return { client, transport }
}

async function disconnect({ client, transport }: { client: Client; transport: Transport }) {
  // Ends the session (DELETE) where there is one, so sessions do not pile up behind the paths.
  const terminate = (transport as { terminateSession?: () => Promise<void> }).terminateSession
  if (terminate) await terminate.call(transport).catch(() => {})
  await client.close().catch(() => {})
}

async function call(client: Client): Promise<void> {
  const result = await client.callTool({ name: 'echo', arguments: echoArguments })
  const text = (result.content as { type: string; text?: string }[] | undefined)?.[0]?.text
  if (result.isError || text !== expectedText)
    throw new Error(`the echo did not come back: ${JSON.stringify(result).slice(0, 500)}`)
}

/** A path's sessions, open for the whole run: one for sequential calls and raw POSTs, `sessions` for concurrency. */
interface Open {
  path: Path
  one: Connected
  many: Connected[]
  latencies: number[]
  sdkRounds: { callsPerSecond: number; serverCpuMs: number; clientCpuMs: number }[]
  concurrentLatencies: number[]
  rawRounds: NonNullable<Measured['raw']>[]
}

type Connected = { client: Client; transport: Transport }

/**
 * Measures every path in `rounds` rounds, each round visiting every path in turn (sequential calls,
 * then the SDK sessions, then raw POSTs), so a burst of noise on the machine lands on all paths
 * alike instead of on whichever ran then. Latencies are pooled over the rounds; throughputs are the
 * median of the rounds.
 */
async function measureAll(paths: Path[]): Promise<Measured[]> {
  const open: Open[] = []
  try {
    for (const path of paths) {
      const one = await connect(path)
      const many: Connected[] = []
      open.push({ path, one, many, latencies: [], sdkRounds: [], concurrentLatencies: [], rawRounds: [] })
      for (let i = 0; i < sessions; i++) many.push(await connect(path))
      for (let i = 0; i < warmup; i++) await call(one.client)
      await Promise.all(
        many.map(async ({ client }) => {
          for (let i = 0; i < Math.ceil(warmup / sessions); i++) await call(client)
        }),
      )
      if (path.http) await checkRaw(path, one)
      progress(`${path.name}: connected, warmed up`)
    }
    const perRound = Math.ceil(calls / rounds)
    for (let round = 1; round <= rounds; round++) {
      for (const o of open) {
        // Sequential: one session, one call at a time.
        for (let i = 0; i < perRound; i++) {
          const started = performance.now()
          await call(o.one.client)
          o.latencies.push(performance.now() - started)
        }
        // SDK sessions at once, each calling sequentially.
        const cpuBefore = cpuSnapshot()
        const started = performance.now()
        await Promise.all(
          o.many.map(async ({ client }) => {
            for (let i = 0; i < sessionCalls; i++) {
              const t = performance.now()
              await call(client)
              o.concurrentLatencies.push(performance.now() - t)
            }
          }),
        )
        const callsPerSecond = (sessions * sessionCalls) / ((performance.now() - started) / 1000)
        const cpu = cpuSince(cpuBefore)
        o.sdkRounds.push({
          callsPerSecond,
          serverCpuMs: cpu.servers / (sessions * sessionCalls),
          clientCpuMs: cpu.client / (sessions * sessionCalls),
        })
        const raw = o.path.http ? await measureRaw(o.path, o.one) : undefined
        if (raw) o.rawRounds.push(raw)
        progress(
          `round ${round}/${rounds} ${o.path.name}: p50 ${ms(percentiles(o.latencies.slice(-perRound)).p50)} ms, ` +
            `${sessions} SDK sessions ${callsPerSecond.toFixed(0)} calls/s` +
            (raw ? `, raw POSTs ${raw.rps.toFixed(0)} req/s` : ''),
        )
      }
    }
    return open.map((o) => {
      const sequential = {
        ...percentiles(o.latencies),
        mean: o.latencies.reduce((a, b) => a + b, 0) / o.latencies.length,
      }
      const sdk = {
        callsPerSecond: median(o.sdkRounds.map((r) => r.callsPerSecond)),
        serverCpuMs: median(o.sdkRounds.map((r) => r.serverCpuMs)),
        clientCpuMs: median(o.sdkRounds.map((r) => r.clientCpuMs)),
        ...percentiles(o.concurrentLatencies),
      }
      const raw =
        o.rawRounds.length === 0
          ? undefined
          : {
              rps: median(o.rawRounds.map((r) => r.rps)),
              serverCpuMs: median(o.rawRounds.map((r) => r.serverCpuMs)),
              serverBusy: median(o.rawRounds.map((r) => r.serverBusy)),
              non2xx: o.rawRounds.reduce((sum, r) => sum + r.non2xx, 0),
              errors: o.rawRounds.reduce((sum, r) => sum + r.errors, 0),
            }
      return { path: o.path, sequential, sdk, raw }
    })
  } finally {
    for (const o of open) await Promise.all([o.one, ...o.many].map(disconnect))
  }
}

/** The headers and body of a raw `tools/call` POST in `session`'s MCP session. */
function rawRequest(path: Path, session: Connected) {
  const transport = session.transport as StreamableHTTPClientTransport
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-session-id': transport.sessionId ?? '',
    'mcp-protocol-version': transport.protocolVersion ?? '2025-06-18',
  }
  if (path.http!.authorization) headers.authorization = path.http!.authorization
  const body = JSON.stringify({
    jsonrpc: '2.0',
    id: '[<id>]',
    method: 'tools/call',
    params: { name: 'echo', arguments: echoArguments },
  })
  return { headers, body }
}

/** One POST by hand first: the path must answer the echo to raw requests, or the numbers mean nothing. */
async function checkRaw(path: Path, session: Connected): Promise<void> {
  const { headers, body } = rawRequest(path, session)
  const check = await fetch(path.http!.url, {
    method: 'POST',
    headers,
    body: body.replace('[<id>]', 'check-1'),
  })
  const text = await check.text()
  if (check.status !== 200 || !text.includes(expectedText))
    throw new Error(`${path.name} does not answer a raw POST: ${check.status} ${text.slice(0, 500)}`)
}

/**
 * Raw JSON-RPC POSTs with autocannon in the session an SDK client opened: each a `tools/call` with
 * a unique id (autocannon's `[<id>]`), the session's headers, the path's token. A short run first,
 * unrecorded, to open the connections.
 */
async function measureRaw(path: Path, session: Connected): Promise<NonNullable<Measured['raw']>> {
  const { headers, body } = rawRequest(path, session)
  const run = async (duration: number) => {
    // `idReplacement` is an autocannon option the local declaration leaves out.
    const options = {
      url: path.http!.url,
      method: 'POST',
      headers,
      body,
      connections,
      duration,
      idReplacement: true,
    }
    return autocannon(options)
  }
  await run(1)
  const cpuBefore = cpuSnapshot()
  const result = await run(seconds)
  const cpu = cpuSince(cpuBefore)
  return {
    rps: result['2xx'] / result.duration,
    serverCpuMs: cpu.servers / Math.max(1, result['2xx']),
    serverBusy: cpu.servers / (result.duration * 1000),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

/**
 * The policy's own cost per call, in this process: what the gateway does for one `tools/call`
 * (normalize and verify the token, decide `mcp/decision`, judge the result at `mcp/response`), with
 * the decision log off, async and batch (the gateway's setting), on the gateway's configuration.
 */
async function policyCost(work: string, bundlePath: string, keyDir: string, gatewayUrl: string) {
  const port = Number(new URL(gatewayUrl).port)
  const key = await loadOrCreateDevKey(keyDir)
  const resource = `${gatewayUrl}/mcp/${HTTP_ID}`
  const authorization = `Bearer ${await mintDevToken(key, { ...claims, aud: resource, expiresIn: '4h' })}`
  const message = Buffer.from(
    JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'echo', arguments: echoArguments },
    }),
  )
  const result = { content: [{ type: 'text', text: expectedText }] }
  const out: Record<string, { p50: number; p99: number }> = {}
  for (const log of ['off', 'async', 'batch'] as const) {
    const config: GatewayConfig = resolveGatewayConfig({
      host: '127.0.0.1',
      port,
      servers: { [HTTP_ID]: { url: 'http://127.0.0.1:9/mcp' } },
      bundle: { file: bundlePath },
      devKeyDir: keyDir,
      log: log === 'off' ? false : { dir: join(work, `policy-cost-${log}`), durability: log },
      bundleStore: join(work, 'store'),
    })
    const core = await openDecisionCore(decisionCoreConfig(config, port), {
      worker: '0',
      chain: 'bench',
    })
    try {
      const once = async () => {
        const { response, input } = await core.service.decideMessage({
          message,
          headers: { authorization, 'content-type': 'application/json' },
          server: HTTP_ID,
          sourceIp: '127.0.0.1',
          host: new URL(gatewayUrl).host,
          path: `/mcp/${HTTP_ID}`,
        })
        if (!response.allow || !input) throw new Error(`policy cost: denied ${JSON.stringify(response)}`)
        const { decision_id: _, ...decision } = response
        const judged = await judgeToolResult(core.service, { request: input, decision, result })
        if (!judged.allow) throw new Error(`policy cost: result blocked ${JSON.stringify(judged)}`)
      }
      for (let i = 0; i < warmup; i++) await once()
      const samples = new Float64Array(calls)
      for (let i = 0; i < calls; i++) {
        const t = performance.now()
        await once()
        samples[i] = performance.now() - t
      }
      out[log] = percentiles(samples)
    } finally {
      await core.stopBundleSource()
      await core.close()
    }
    progress(`policy per call in-process, log ${log}: p50 ${ms(out[log]!.p50)} ms`)
  }
  return out as Record<'off' | 'async' | 'batch', { p50: number; p99: number }>
}

/** fdatasync of a ~1 KiB append in the temp dir the logs are in: what each logged decision waits for. */
async function fsyncLatency(work: string) {
  const file = await open(join(work, 'fsync-probe'), 'w')
  const line = `${'x'.repeat(1200)}\n`
  const samples = new Float64Array(500)
  try {
    for (let i = 0; i < samples.length; i++) {
      await file.write(line)
      const t = performance.now()
      await file.datasync()
      samples[i] = performance.now() - t
    }
  } finally {
    await file.close()
  }
  return percentiles(samples)
}

/**
 * CPU time (ms) used so far by every process this one started, and their children (echo servers,
 * gateways, nginx and its workers, the PDP, relays — idle ones use next to none), from
 * /proc/<pid>/stat utime + stime; and by this process (the clients).
 */
function cpuSnapshot(): { servers: number; client: number } {
  const ticks = 100 // USER_HZ: /proc reports CPU time in 1/100 s on Linux
  const parents = new Map<number, number>()
  const used = new Map<number, number>()
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    let stat: string
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8')
    } catch {
      continue // gone
    }
    // pid (comm) state ppid … utime stime: comm may hold spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    parents.set(Number(entry), Number(fields[1]))
    used.set(Number(entry), ((Number(fields[11]) + Number(fields[12])) * 1000) / ticks)
  }
  let servers = 0
  for (const [pid, cpu] of used) {
    let parent = parents.get(pid)
    while (parent !== undefined && parent > 1 && parent !== process.pid) parent = parents.get(parent)
    if (parent === process.pid) servers += cpu
  }
  const self = process.cpuUsage()
  return { servers, client: (self.user + self.system) / 1000 }
}

function cpuSince(before: { servers: number; client: number }): { servers: number; client: number } {
  const now = cpuSnapshot()
  return { servers: now.servers - before.servers, client: now.client - before.client }
}

function percentiles(samples: ArrayLike<number>): { p50: number; p99: number } {
  const sorted = Float64Array.from(samples).sort()
  const at = (p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
  return { p50: at(50), p99: at(99) }
}

// ----- reporting -----

interface StallProbe {
  core: string
  pctInStallsOver0_1ms: number
  pctInStallsOver1ms: number
  pctInStallsOver2ms: number
  longestMs: number
}

function report(
  results: Measured[],
  extra: {
    policy?: Record<'off' | 'async' | 'batch', { p50: number; p99: number }>
    fsync?: { p50: number; p99: number }
    probes: { before: StallProbe[]; after: StallProbe[] }
  },
) {
  const find = (group: Path['group'], kind: Path['kind'], name?: string) =>
    results.find(
      (r) => r.path.group === group && r.path.kind === kind && (!name || r.path.name.includes(name)),
    )
  const direct = { stdio: find('stdio', 'direct'), http: find('http', 'direct') }
  const added = (r: Measured, which: 'p50' | 'p99') => {
    const base = direct[r.path.group]
    return r === base || !base ? '—' : signed(r.sequential[which] - base.sequential[which])
  }
  const rate = (value: number | undefined) => (value === undefined ? 'n/a' : value.toFixed(0))
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  const lines = [
    '',
    `## Gateway benchmark: tools/call of an echo tool`,
    '',
    `Machine: ${cpus().length} × ${cpu}, Node ${process.version}, MCP SDK ${sdkVersion()}, ${nginxVersion()}.`,
    pinning
      ? `Servers (echo, gateway, nginx, PDP with 1 worker, relays) pinned to core ${serverCore}; this process (SDK clients, autocannon) to core ${generatorCore}.`
      : 'Nothing pinned (fewer than 2 cores or no taskset): clients and servers share the CPU.',
    `${rounds} rounds, each visiting every path in turn; every session warmed up with ${warmup} calls first.`,
    `Latency: one SDK client, ${calls} sequential calls in all, timed around client.callTool (p50/p99 of all).`,
    `SDK sessions: ${sessions} clients × ${sessionCalls} calls at once per round (stdio direct: one server process per client), median calls/s of the rounds.`,
    `Raw POSTs: autocannon, ${connections} connections, ${seconds} s per round, tools/call in one session (unique ids), median req/s of the rounds.`,
    `Policy: reference bundle + echo servers; dev-issuer tokens; decision log batch durability in a temp dir (${tmpdir()}); two decisions per call (mcp/decision, mcp/response) on every policy path.`,
    '',
    '| path | p50 ms | p99 ms | added p50 ms | added p99 ms | SDK sessions calls/s | raw POST req/s |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...results.map(
      (r) =>
        `| ${r.path.name} | ${ms(r.sequential.p50)} | ${ms(r.sequential.p99)} | ${added(r, 'p50')} | ${added(r, 'p99')} | ${rate(r.sdk.callsPerSecond)} | ${rate(r.raw?.rps)} |`,
    ),
    '',
  ]
  lines.push(
    'CPU per call (ms; /proc utime + stime; servers = every process behind the entry point, client = this process):',
    '',
    '| path | SDK sessions: servers | SDK sessions: client | raw POSTs: servers | raw POSTs: server core busy |',
    '| --- | ---: | ---: | ---: | ---: |',
    ...results.map(
      (r) =>
        `| ${r.path.name} | ${ms(r.sdk.serverCpuMs)} | ${ms(r.sdk.clientCpuMs)} | ${r.raw ? ms(r.raw.serverCpuMs) : 'n/a'} | ${r.raw ? `${(100 * r.raw.serverBusy).toFixed(0)} %` : 'n/a'} |`,
    ),
    '',
  )
  const errors = results.filter((r) => r.raw && (r.raw.non2xx > 0 || r.raw.errors > 0))
  for (const r of errors)
    lines.push(`${r.path.name}: raw POSTs had ${r.raw!.non2xx} non-2xx answers and ${r.raw!.errors} errors`)
  if (errors.length > 0) lines.push('')

  // Goals.
  const goal = (met: boolean) => (met ? 'met' : 'MISSED')
  lines.push('| goal | measured | |', '| --- | --- | --- |')
  for (const group of ['stdio', 'http'] as const) {
    const gateway = find(group, 'gateway')
    const base = direct[group]
    if (!gateway || !base) continue
    const addedP50 = gateway.sequential.p50 - base.sequential.p50
    lines.push(
      `| ${group}: added p50 of the gateway ≤ 1 ms | ${signed(addedP50)} ms (p99 ${signed(gateway.sequential.p99 - base.sequential.p99)} ms) | ${goal(addedP50 <= 1)} |`,
    )
  }
  const gatewayHttp = find('http', 'gateway')
  const nginx = find('http', 'nginx')
  if (gatewayHttp && nginx) {
    const rawRatio = (gatewayHttp.raw?.rps ?? 0) / (nginx.raw?.rps ?? Number.NaN)
    const sdkRatio = gatewayHttp.sdk.callsPerSecond / nginx.sdk.callsPerSecond
    lines.push(
      `| HTTP: gateway req/s ≥ 2 × nginx + PDP (raw POSTs) | ${rate(gatewayHttp.raw?.rps)} : ${rate(nginx.raw?.rps)} = ${rawRatio.toFixed(2)}× | ${goal(rawRatio >= 2)} |`,
      `| HTTP: the same with ${sessions} SDK sessions | ${rate(gatewayHttp.sdk.callsPerSecond)} : ${rate(nginx.sdk.callsPerSecond)} = ${sdkRatio.toFixed(2)}× | ${goal(sdkRatio >= 2)} |`,
    )
  }
  lines.push('')

  // Floors: what any relay, the SDK and the log put under the gateway on this machine.
  const floorRows = results.filter((r) => r.path.kind === 'floor')
  if (floorRows.length > 0 || extra.policy || extra.fsync) {
    lines.push(
      'Floors (what this machine puts under any gateway: added to the direct call of the same group):',
      '',
      '| floor | added p50 ms | added p99 ms | raw POST req/s |',
      '| --- | ---: | ---: | ---: |',
      ...floorRows.map(
        (r) => `| ${r.path.name} | ${added(r, 'p50')} | ${added(r, 'p99')} | ${rate(r.raw?.rps)} |`,
      ),
    )
    if (extra.policy)
      for (const log of ['off', 'async', 'batch'] as const)
        lines.push(
          `| policy in-process per call (token check, mcp/decision, mcp/response), log ${log} | ${ms(extra.policy[log].p50)} | ${ms(extra.policy[log].p99)} | ${rate(1000 / extra.policy[log].p50)} (1 / p50) |`,
        )
    if (extra.fsync)
      lines.push(
        `| fdatasync of a 1.2 KiB append in the log's temp dir (×2 per call in batch mode) | ${ms(extra.fsync.p50)} | ${ms(extra.fsync.p99)} | — |`,
      )
    lines.push('')
  }
  if (extra.probes.before.length === 0) {
    process.stdout.write(`${lines.join('\n')}\n`)
    return
  }
  lines.push(
    'CPU stall probe (cpu-stall-probe.ts: a pinned spin loop, 3 s; time the core did not run it — other processes included):',
    '',
    '| when | core | role | % of time in stalls ≥ 0.1 ms | ≥ 1 ms | ≥ 2 ms | longest ms |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: |',
    ...(['before', 'after'] as const).flatMap((when) =>
      extra.probes[when].map(
        (p) =>
          `| ${when} the runs | ${p.core} | ${p.core === serverCore ? 'servers' : 'clients'} | ${p.pctInStallsOver0_1ms.toFixed(2)} | ${p.pctInStallsOver1ms.toFixed(2)} | ${p.pctInStallsOver2ms.toFixed(2)} | ${p.longestMs.toFixed(2)} |`,
      ),
    ),
    '',
  )
  process.stdout.write(`${lines.join('\n')}\n`)
}

function sdkVersion(): string {
  try {
    const manifest = join(root, 'node_modules/@modelcontextprotocol/sdk/package.json')
    return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version
  } catch {
    return 'unknown'
  }
}

function nginxVersion(): string {
  const found = findNginx()
  if (!found) return 'no nginx'
  // nginx -v writes to stderr.
  const { stdout, stderr } = spawnSync(found.nginx, ['-v'], { encoding: 'utf8' })
  return `${stdout}${stderr}`.trim().replace(/^nginx version: /, '') || 'nginx'
}

// ----- processes -----

/** Moves every thread of this process to `core` (children spawned later inherit it). */
function pinSelf(core: string): void {
  if (!pinning) return
  execFileSync('taskset', ['-a', '-p', '-c', core, String(process.pid)], { stdio: 'ignore' })
}

/** Starts `node ARGS…` pinned to the server core; resolves with the URL it prints (`listening on …`). */
async function startChild(
  name: string,
  args: string[],
  nodeArgs: string[] = [],
): Promise<{ child: ChildProcess; url: string }> {
  const [file, ...argv] = onCore(serverCore, [process.execPath, ...nodeArgs, ...args])
  const child = spawn(file, argv, {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  children.push(child)
  return { child, url: await listeningUrl(child, name) }
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

/** Runs cpu-stall-probe.ts pinned to `core` for 3 s: how much of its time the core was taken away. */
async function probeStalls(core: string): Promise<StallProbe> {
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      'taskset',
      ['-c', core, process.execPath, join(root, 'dist/test/bench/cpu-stall-probe.js'), '--seconds', '3'],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8')
    })
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`stall probe exited ${code}`)),
    )
  })
  return { core, ...(JSON.parse(output) as Omit<StallProbe, 'core'>) }
}

function progress(line: string): void {
  process.stderr.write(`[gateway bench] ${line}\n`)
}

function ms(value: number): string {
  return value.toFixed(3)
}

function signed(value: number): string {
  return `${value < 0 ? '−' : '+'}${ms(Math.abs(value))}`
}

await main()
