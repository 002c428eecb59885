/**
 * Revocation benchmark (issue #17): how fast a revocation pushed by an IdP cuts a token off, and
 * what the revocation check costs on the decision path. A benchmark, not a test: it asserts only
 * that each step did what it should (a SET accepted, a token allowed before and refused after),
 * and reports.
 *
 * - **Revocation-to-deny latency**: a Shared Signals transmitter on loopback (jose-signed SETs,
 *   real HTTP) POSTs a CAEP session-revoked SET to `/ssf/events` of one PDP process while a
 *   decider sends `/v1/mcp/decide` for a token of that session, back to back, to *another*
 *   process — the other worker of a 2-worker `mcp-policy serve` (in-memory state relayed by the
 *   cluster primary), or the other of 2 single-worker replicas sharing one `redis-server`. The
 *   latency is from the moment the POST is sent to the arrival of the first refused decision;
 *   the POST's own answer (202) time is reported too. BENCH_REVOCATIONS (default 1,000)
 *   revocations per layout, each of a fresh session.
 * - **Cost on the decision path**: closed-loop `/v1/mcp/decide` throughput (`http-load.ts`, its
 *   own process, BENCH_CONNECTIONS connections, default 8, BENCH_SECONDS per run, default 5) for
 *   one cached token, against PDPs holding no revocation (the check ends at its first line:
 *   "off") and PDPs holding the revocations of the latency run ("on"), in memory and in Redis,
 *   interleaved over BENCH_ROUNDS rounds (default 3), medians reported.
 *
 * Decision logs are on (batch), as in production. The machine is shared: the load average at
 * start and end is printed with the results.
 *
 * `npm run build && node dist/test/bench/revocation.bench.js`
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { cpus, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { performance } from 'node:perf_hooks'
import { Client } from 'undici'
import { stringify } from 'yaml'
import { buildBundle, defaultServerResource } from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'
import { startTestRedis } from '../helpers/redis-server.js'
import { eventTypes, startTestTransmitter } from '../helpers/ssf-transmitter.js'
import { epochSeconds, signToken, testKey } from '../identity/test-keys.js'

const revocationCount = Number(process.env.BENCH_REVOCATIONS ?? 1000)
const seconds = Number(process.env.BENCH_SECONDS ?? 5)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8)
const rounds = Number(process.env.BENCH_ROUNDS ?? 3)
const root = packageRoot()
const cli = join(root, 'dist/cli/main.js')
const tokenIssuer = 'https://idp.bench.test'
const github = defaultServerResource('github')
const audience = 'https://pdp.bench.test/ssf'
const pushSecret = `Bearer push-${randomUUID()}`
const loadAtStart = loadavg()
  .map((n) => n.toFixed(2))
  .join(' ')

const work = await mkdtemp(join(tmpdir(), 'mcp-policy-revocation-bench-'))
const built = await buildBundle({ out: join(work, 'bench.tar.gz'), bundleStore: join(work, 'store') })
const key = await testKey('ES256', 'bench-token')
const transmitter = await startTestTransmitter(audience)
const redis = await startTestRedis()
const children: ChildProcess[] = []

function token(sid: string): Promise<string> {
  const now = epochSeconds()
  return signToken(key, {
    iss: tokenIssuer,
    sub: 'agent-7',
    aud: github,
    iat: now - 5,
    exp: now + 3000,
    roles: ['developer'],
    sid,
  })
}

/** Runs `mcp-policy serve` with this configuration and waits until it listens. */
async function serve(name: string, config: Record<string, unknown>): Promise<string> {
  const dir = join(work, name)
  const file = join(work, `${name}.yaml`)
  await writeFile(
    file,
    stringify({
      host: '127.0.0.1',
      port: 0,
      devKeyDir: join(dir, 'keys'),
      bundleStore: join(work, 'store'),
      bundle: { file: built.path },
      log: { dir: join(dir, 'logs'), durability: 'batch' },
      identity: {
        issuers: [{ issuer: tokenIssuer, jwks: { keys: [key.publicJwk] }, maxTokenLifetime: '1h' }],
      },
      ssf: {
        transmitters: [
          {
            issuer: transmitter.issuer,
            audience,
            tokenIssuers: [tokenIssuer],
            push: { authorizationHeaders: [pushSecret] },
          },
        ],
      },
      ...config,
    }),
  )
  const child = spawn(process.execPath, [cli, 'serve', '--config', file], { stdio: 'pipe' })
  children.push(child)
  let output = ''
  return new Promise<string>((resolve, reject) => {
    const onData = (data: Buffer) => {
      output += data.toString()
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match) resolve(match[1]!)
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`serve ${name} exited ${code}:\n${output}`)))
  })
}

/** One keep-alive connection (an undici Client) and the pid of the worker that serves it. */
async function connection(url: string): Promise<{ client: Client; pid: number }> {
  const client = new Client(url, { pipelining: 1, keepAliveTimeout: 600_000 })
  const response = await client.request({ path: '/health', method: 'GET' })
  return { client, pid: ((await response.body.json()) as { pid: number }).pid }
}

/** Two connections served by different processes of a 2-worker PDP. */
async function connectionsOnTwoWorkers(url: string): Promise<[Client, Client]> {
  const first = await connection(url)
  for (let i = 0; i < 20; i++) {
    const next = await connection(url)
    if (next.pid !== first.pid) return [first.client, next.client]
    await next.client.close()
  }
  throw new Error('the cluster never handed a connection to a second worker')
}

async function decide(client: Client, bearer: string): Promise<boolean> {
  const response = await client.request({
    path: '/v1/mcp/decide',
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      message: { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'get_issue', arguments: {} } },
      headers: { authorization: `Bearer ${bearer}` },
      server: 'github',
    }),
  })
  return ((await response.body.json()) as { allow: boolean }).allow
}

interface LatencyResult {
  deny: number[]
  ack: number[]
  decisionsPerRevocation: number[]
}

/** Revocation-to-deny over `count` fresh sessions: POST on `push`, decisions on `decider`. */
async function latencies(push: Client, decider: Client, count: number): Promise<LatencyResult> {
  const result: LatencyResult = { deny: [], ack: [], decisionsPerRevocation: [] }
  for (let i = 0; i < count; i++) {
    const sid = `bench-${randomUUID()}`
    const bearer = await token(sid)
    const set = await transmitter.sign({
      type: eventTypes.sessionRevoked,
      subject: { format: 'complex', session: { format: 'opaque', id: sid } },
    })
    // Allowed (and its verification cached) before the revocation.
    if (!(await decide(decider, bearer))) throw new Error('the token was refused before its revocation')
    const sent = performance.now()
    let ackedAt = 0
    const posted = push
      .request({
        path: '/ssf/events',
        method: 'POST',
        headers: { authorization: pushSecret, 'content-type': 'application/secevent+jwt' },
        body: set,
      })
      .then(async (response) => {
        await response.body.dump()
        ackedAt = performance.now()
        if (response.statusCode !== 202) throw new Error(`the SET was answered ${response.statusCode}`)
      })
    let decisions = 0
    let deniedAt = 0
    while (deniedAt === 0) {
      decisions++
      if (decisions > 100_000) throw new Error('the token was never refused')
      if (!(await decide(decider, bearer))) deniedAt = performance.now()
    }
    await posted
    result.deny.push(deniedAt - sent)
    result.ack.push(ackedAt - sent)
    result.decisionsPerRevocation.push(decisions)
  }
  return result
}

/** Closed-loop throughput of `/v1/mcp/decide` at `url` (http-load.ts in its own process). */
async function throughput(url: string, bodyFile: string): Promise<number> {
  const child = spawn(
    process.execPath,
    [
      join(root, 'dist/test/bench/http-load.js'),
      '--url',
      `${url}/v1/mcp/decide`,
      '--body',
      bodyFile,
      '--seconds',
      String(seconds),
      '--connections',
      String(connections),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  )
  let out = ''
  child.stdout!.on('data', (data: Buffer) => {
    out += data.toString()
  })
  await new Promise<void>((resolve, reject) =>
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`http-load exited ${code}`)))),
  )
  const result = JSON.parse(out.trim()) as { rps: number; non2xx: number; errors: number }
  if (result.non2xx + result.errors > 0) throw new Error(`http-load: ${out}`)
  return result.rps
}

const percentile = (values: number[], p: number) => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}
const median = (values: number[]) => percentile(values, 50)
const ms = (value: number) => `${value.toFixed(2)} ms`

try {
  // The PDPs: the measured ones, and an untouched twin of each layout for the "off" rows.
  const memoryUrl = await serve('memory', { workers: 2 })
  const memoryOffUrl = await serve('memory-off', { workers: 2 })
  const redisState = (prefix: string) => ({
    state: { backend: 'redis', redis: { url: redis.url, keyPrefix: prefix } },
  })
  const replicaA = await serve('redis-a', { workers: 1, ...redisState('bench:') })
  const replicaB = await serve('redis-b', { workers: 1, ...redisState('bench:') })
  const redisOffUrl = await serve('redis-off', { workers: 1, ...redisState('bench-off:') })

  const [memoryPush, memoryDecider] = await connectionsOnTwoWorkers(memoryUrl)
  const redisPush = (await connection(replicaA)).client
  const redisDecider = (await connection(replicaB)).client
  // Warm-up: JIT, JWKS, connections.
  await latencies(memoryPush, memoryDecider, 20)
  await latencies(redisPush, redisDecider, 20)
  const memory = await latencies(memoryPush, memoryDecider, revocationCount)
  const viaRedis = await latencies(redisPush, redisDecider, revocationCount)

  const bodyFile = join(work, 'decide.json')
  const steady = await token(`steady-${randomUUID()}`)
  await writeFile(
    bodyFile,
    JSON.stringify({
      message: {
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'get_issue', arguments: { owner: 'acme', repo: 'api', issue_number: 7 } },
      },
      headers: { authorization: `Bearer ${steady}` },
      server: 'github',
    }),
  )
  const targets = {
    'memory, off': memoryOffUrl,
    'memory, on': memoryUrl,
    'redis, off': redisOffUrl,
    'redis, on': replicaB,
  }
  for (const url of Object.values(targets)) {
    const client = (await connection(url)).client
    if (!(await decide(client, steady))) throw new Error(`${url} refuses the throughput token`)
    await client.close()
  }
  const rates: Record<string, number[]> = Object.fromEntries(Object.keys(targets).map((name) => [name, []]))
  for (let round = 0; round < rounds; round++)
    for (const [name, url] of Object.entries(targets)) rates[name]!.push(await throughput(url, bodyFile))

  const lines = [
    `Revocation benchmark — ${new Date().toISOString()}, node ${process.version}, ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}`,
    `Load average at start ${loadAtStart}, at the end ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')} (1/5/15 min; the machine is shared).`,
    '',
    `Revocation-to-deny (transmitter POST sent → first refused decision at another process), ${revocationCount} revocations per layout:`,
    '| layout | p50 | p99 | max | POST answered (p50 / p99) | decisions until refused (p50 / max) |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
    ...[
      ['in-memory, 2 workers (other worker)', memory],
      ['Redis, 2 replicas (other replica)', viaRedis],
    ].map(([name, r]) => {
      const result = r as LatencyResult
      return `| ${name as string} | ${ms(percentile(result.deny, 50))} | ${ms(percentile(result.deny, 99))} | ${ms(Math.max(...result.deny))} | ${ms(percentile(result.ack, 50))} / ${ms(percentile(result.ack, 99))} | ${percentile(result.decisionsPerRevocation, 50)} / ${Math.max(...result.decisionsPerRevocation)} |`
    }),
    '',
    `/v1/mcp/decide throughput, closed loop, ${connections} connections, ${seconds} s × ${rounds} rounds interleaved (median; all rounds):`,
    '| PDP | revocations held | decisions/s | vs off |',
    '| --- | ---: | ---: | ---: |',
    ...Object.entries(rates).map(([name, values]) => {
      const off = median(rates[`${name.split(',')[0]}, off`]!)
      const held = name.endsWith('on') ? `${revocationCount + 20}` : '0'
      return `| ${name} | ${held} | ${median(values).toFixed(0)} (${values.map((v) => v.toFixed(0)).join(', ')}) | ${(((median(values) - off) / off) * 100).toFixed(1)} % |`
    }),
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
  await Promise.all([memoryPush, memoryDecider, redisPush, redisDecider].map((client) => client.close()))
} finally {
  for (const child of children) child.kill('SIGTERM')
  await Promise.all(
    children.map((child) =>
      child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : null,
    ),
  )
  await transmitter.close()
  await redis.stop()
}
