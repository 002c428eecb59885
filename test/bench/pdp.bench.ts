/**
 * PDP benchmark (`npm run bench:pdp`): HTTP decisions per second and latency of `mcp-policy serve`
 * (default bundle, decision log on in batch mode, one worker per core) at `POST /v1/mcp/decide`
 * and `POST /v1/data/mcp/decision`, and of `opa run --server` with the same Rego and data at
 * `POST /v1/data/mcp/decision` with the same input document, under the same autocannon load in the
 * same run. For each target: a connection sweep finds peak throughput, then a run at 80 % of that
 * peak (autocannon `overallRate`) gives p50/p99. A benchmark, not a test: it asserts only that
 * every target answers `allow: true` before it is measured, and reports.
 *
 * Read the numbers with their method: autocannon runs in this process, on the same cores as the
 * servers; its `overallRate` is enforced per one-second tick (each connection sends its share as
 * fast as it can, then waits for the next second), so the "80 %" run is bursty and its p99 is an
 * upper bound of what a steady 80 % load would see. Batch durability acknowledges a decision after
 * its group's fsync, so at one connection the PDP's latency is about one fsync.
 *
 * Environment: BENCH_SECONDS (per run, default 5), BENCH_CONNECTIONS (sweep, default 1,8,32,64),
 * BENCH_WORKERS (PDP workers, default one per core).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { cp, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { availableParallelism, cpus, tmpdir } from 'node:os'
import { dirname, join, relative } from 'node:path'
import autocannon from 'autocannon'
import {
  buildBundle,
  DEFAULT_SERVERS,
  defaultPdpConfig,
  defaultServerResource,
  devIssuerConfig,
  loadOrCreateDevKey,
  mintDevToken,
  OPA_VERSION,
  resolveOpa,
} from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 5)
const sweep = (process.env.BENCH_CONNECTIONS ?? '1,8,32,64').split(',').map(Number)
const workers = Number(process.env.BENCH_WORKERS ?? availableParallelism())
const root = packageRoot()
const cliPath = join(root, 'dist/cli/main.js')
const server = 'github'
if (!DEFAULT_SERVERS.includes(server)) throw new Error(`${server} is not a default server`)

/** A tools/call the reference policy allows for a developer: a write tool with realistic arguments. */
const message = {
  jsonrpc: '2.0',
  id: 7,
  method: 'tools/call',
  params: {
    name: 'create_issue',
    arguments: { owner: 'acme', repo: 'payments', title: 'Flaky test in ledger', labels: ['bug', 'ci'] },
  },
}

interface Target {
  name: string
  url: string
  body: string
  /** Reads `allow` out of a response body, to check the target decides what we think it decides. */
  allow: (response: Record<string, unknown>) => unknown
}

interface Measured {
  target: Target
  sweep: { connections: number; rps: number; non2xx: number; errors: number }[]
  peak: { connections: number; rps: number }
  atRate: { rate: number; rps: number; p50: number; p99: number; non2xx: number; errors: number }
}

async function main() {
  const work = await mkdtemp(join(tmpdir(), 'mcp-policy-bench-pdp-'))
  const children: ChildProcess[] = []
  try {
    const built = await buildBundle({
      bundleDir: join(root, 'bundles/default'),
      regoDir: join(root, 'rego'),
      out: join(work, 'default.tar.gz'),
      bundleStore: join(work, 'store'),
    })
    const keyDir = join(work, '.dev-keys')
    const key = await loadOrCreateDevKey(keyDir)
    const token = await mintDevToken(key, {
      sub: 'alice',
      aud: defaultServerResource(server),
      roles: ['developer'],
      groups: ['engineering'],
      scopes: ['mcp:tools'],
      expiresIn: '4h',
    })

    // The PDP: the serve command as a user runs it, with a config naming the bundle, log and dev key.
    const configPath = join(work, 'pdp.json')
    await writeFile(
      configPath,
      JSON.stringify({
        host: '127.0.0.1',
        port: 0,
        workers,
        bundle: { file: built.path },
        devKeyDir: keyDir,
        log: { dir: join(work, 'decision-logs'), durability: 'batch' },
        bundleStore: join(work, 'store'),
      }),
    )
    const pdp = spawn(process.execPath, [cliPath, 'serve', '--config', configPath], {
      cwd: work,
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    children.push(pdp)
    const pdpUrl = await listeningUrl(pdp)

    // The same input document the PDP builds, from the normalize command with the PDP's settings.
    const messagePath = join(work, 'message.json')
    const normalizeConfigPath = join(work, 'normalize.json')
    await writeFile(messagePath, JSON.stringify(message))
    await writeFile(
      normalizeConfigPath,
      JSON.stringify({
        normalize: defaultPdpConfig().normalize,
        identity: { issuers: [devIssuerConfig(key)] },
      }),
    )
    const input = JSON.parse(
      execFileSync(
        process.execPath,
        [
          cliPath,
          'normalize',
          '--message',
          messagePath,
          '--token',
          token,
          '--server',
          server,
          '--config',
          normalizeConfigPath,
        ],
        { encoding: 'utf8' },
      ),
    )

    // OPA: the same Rego (without *_test.rego, as the bundle build leaves them out) and data.
    const opa = await resolveOpa()
    const policyDir = join(work, 'opa-policy')
    await stageRego(join(root, 'rego'), policyDir)
    const opaPort = await freePort()
    const opaProcess = spawn(
      opa,
      [
        'run',
        '--server',
        '--addr',
        `127.0.0.1:${opaPort}`,
        '--log-level',
        'error',
        policyDir,
        join(root, 'bundles/default/data.json'),
      ],
      { stdio: ['ignore', 'ignore', 'inherit'] },
    )
    children.push(opaProcess)
    const opaUrl = `http://127.0.0.1:${opaPort}`
    await waitForHealth(opaUrl)

    const targets: Target[] = [
      {
        name: 'mcp-policy POST /v1/mcp/decide',
        url: `${pdpUrl}/v1/mcp/decide`,
        body: JSON.stringify({ message, headers: { authorization: `Bearer ${token}` }, server }),
        allow: (r) => r.allow,
      },
      {
        name: 'mcp-policy POST /v1/data/mcp/decision',
        url: `${pdpUrl}/v1/data/mcp/decision`,
        body: JSON.stringify({ input }),
        allow: (r) => (r.result as Record<string, unknown> | undefined)?.allow,
      },
      {
        name: `opa ${OPA_VERSION} run --server POST /v1/data/mcp/decision`,
        url: `${opaUrl}/v1/data/mcp/decision`,
        body: JSON.stringify({ input }),
        allow: (r) => (r.result as Record<string, unknown> | undefined)?.allow,
      },
    ]
    for (const target of targets) await checkAllows(target)

    const results: Measured[] = []
    for (const target of targets) results.push(await measure(target))
    report(results)
  } finally {
    await Promise.all(children.map(stopChild))
    await rm(work, { recursive: true, force: true })
  }
}

async function measure(target: Target): Promise<Measured> {
  process.stderr.write(`${target.name}: warm-up\n`)
  await load(target, { connections: 8, duration: Math.max(1, seconds / 2) })
  const points: Measured['sweep'] = []
  for (const connections of sweep) {
    const run = await load(target, { connections, duration: seconds })
    points.push({ connections, rps: run.rps, non2xx: run.non2xx, errors: run.errors })
    process.stderr.write(`${target.name}: ${connections} connections → ${run.rps.toFixed(0)} req/s\n`)
  }
  const peak = points.reduce((best, point) => (point.rps > best.rps ? point : best))
  const rate = Math.max(1, Math.floor(peak.rps * 0.8))
  const run = await load(target, { connections: peak.connections, duration: seconds, overallRate: rate })
  process.stderr.write(`${target.name}: ${rate} req/s target → p50 ${run.p50} ms, p99 ${run.p99} ms\n`)
  return { target, sweep: points, peak, atRate: { rate, ...run } }
}

/**
 * One autocannon run. Latencies are taken from each response (fractional milliseconds), because
 * autocannon's own histogram keeps whole milliseconds, too coarse for sub-millisecond decisions.
 */
async function load(
  target: Target,
  options: { connections: number; duration: number; overallRate?: number },
) {
  const samples: number[] = []
  const instance = autocannon({
    url: target.url,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: target.body,
    connections: options.connections,
    duration: options.duration,
    ...(options.overallRate !== undefined && { overallRate: options.overallRate }),
  })
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, ms: number) => {
    if (statusCode === 200) samples.push(ms)
  })
  const result = await instance
  samples.sort((a, b) => a - b)
  const at = (p: number) =>
    samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))] ?? NaN
  return {
    rps: result['2xx'] / result.duration,
    p50: round(at(50)),
    p99: round(at(99)),
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  }
}

async function checkAllows(target: Target): Promise<void> {
  const response = await fetch(target.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: target.body,
  })
  const body = (await response.json()) as Record<string, unknown>
  if (response.status !== 200 || target.allow(body) !== true) {
    throw new Error(
      `${target.name} does not allow the benchmark request: ${response.status} ${JSON.stringify(body)}`,
    )
  }
}

function report(results: Measured[]) {
  const opa = results.at(-1)!
  const cpu = cpus()[0]?.model ?? 'unknown CPU'
  const lines = [
    '',
    `PDP benchmark: ${cpus().length} × ${cpu}, Node ${process.version}, OPA ${OPA_VERSION}, ${workers} PDP workers,`,
    `${seconds} s per run, decision log batch mode, autocannon in this process on the same machine.`,
    '',
    '| target | connections (peak) | peak req/s | req/s at 80 % | p50 ms | p99 ms | peak vs OPA |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.target.name} | ${r.peak.connections} | ${r.peak.rps.toFixed(0)} | ${r.atRate.rps.toFixed(0)} | ${r.atRate.p50} | ${r.atRate.p99} | ${(r.peak.rps / opa.peak.rps).toFixed(2)}× |`,
    ),
    '',
    '| target | connections | req/s | non-2xx | errors |',
    '| --- | --- | --- | --- | --- |',
    ...results.flatMap((r) =>
      r.sweep.map(
        (point) =>
          `| ${r.target.name} | ${point.connections} | ${point.rps.toFixed(0)} | ${point.non2xx} | ${point.errors} |`,
      ),
    ),
    '',
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
}

/** Resolves with the PDP's URL once it prints `listening on http://…`. */
function listeningUrl(child: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => reject(new Error(`serve did not start in 60 s:\n${seen}`)), 60_000)
    child.stdout?.on('data', (chunk: Buffer) => {
      seen += chunk.toString('utf8')
      const match = /listening on (http:\/\/[^\s]+)/.exec(seen)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!.replace(/\/$/, ''))
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`serve exited with ${code} before listening:\n${seen}`))
    })
  })
}

async function waitForHealth(url: string): Promise<void> {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    try {
      if ((await fetch(`${url}/health`)).status === 200) return
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error(`OPA at ${url} did not become healthy in 30 s`)
}

/** A loopback port that was free a moment ago (OPA takes an address, not port 0 with a report back). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer()
    probe.once('error', reject)
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address()
      probe.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

async function stageRego(from: string, to: string): Promise<void> {
  for (const entry of await readdir(from, { recursive: true })) {
    if (!entry.endsWith('.rego') || entry.endsWith('_test.rego')) continue
    const destination = join(to, relative(from, join(from, entry)))
    await mkdir(dirname(destination), { recursive: true })
    await cp(join(from, entry), destination)
  }
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

function round(ms: number): number {
  return Math.round(ms * 1000) / 1000
}

await main()
