/**
 * PDP benchmark (`npm run bench:pdp`): HTTP decisions per second and latency of `mcp-policy serve`
 * (default bundle, decision log on in batch mode) at `POST /v1/mcp/decide` and
 * `POST /v1/data/mcp/decision`, and of `opa run --server` with the same Rego and data at
 * `POST /v1/data/mcp/decision` with the same input document, in the same run. A benchmark, not a
 * test: it asserts only that every target answers `allow: true` before it is measured, and reports.
 *
 * Two layouts (BENCH_LAYOUT, default both):
 * - `shared`: one PDP worker per core and OPA on every core, autocannon in this process on the
 *   same cores. A connection sweep finds peak throughput; a run at 80 % of it (autocannon
 *   `overallRate`, which releases each second's quota in a burst) gives p50/p99 — an upper bound.
 * - `split`: each server alone on one core (one PDP worker; OPA with GOMAXPROCS=1), the load
 *   generator (`http-load.ts`, its own process) alone on the other; the servers get the core a
 *   stall probe (`cpu-stall-probe.ts`, reported with the results) finds quieter. Peak from a closed-loop sweep;
 *   latency from an open-loop run at 80 % of peak, measured from each request's scheduled time.
 *   A bare node:http server measured the same way gives the floor this machine puts under any p99.
 *
 * Batch durability acknowledges a decision after its group's fsync, so at one connection the PDP's
 * latency is about one fsync.
 *
 * Environment: BENCH_SECONDS (per run, default 5), BENCH_CONNECTIONS (shared sweep, default
 * 1,8,32,64), BENCH_SPLIT_CONNECTIONS (split sweep, default 1,4,16), BENCH_WORKERS (PDP workers in
 * the shared layout, default one per core), BENCH_LAYOUT (shared,split), BENCH_SPLIT_RATE (one
 * open-loop rate for every split target instead of 80 % of each one's peak, to compare endpoints at
 * the same load), BENCH_SPLIT_TARGETS (which split targets to run: any of decide,data,opa,floor),
 * BENCH_PDP_NODE_ARGS (extra node arguments for the PDP, e.g. to profile it), BENCH_SERVER_CORE (0 or
 * 1: the split layout's server core; default the one a stall probe finds quieter).
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
import { listeningUrl } from './serve-process.js'

const seconds = Number(process.env.BENCH_SECONDS ?? 5)
const sweep = (process.env.BENCH_CONNECTIONS ?? '1,8,32,64').split(',').map(Number)
const workers = Number(process.env.BENCH_WORKERS ?? availableParallelism())
const splitSweep = (process.env.BENCH_SPLIT_CONNECTIONS ?? '1,4,16').split(',').map(Number)
const layouts = (process.env.BENCH_LAYOUT ?? 'shared,split').split(',')
const splitRate = process.env.BENCH_SPLIT_RATE ? Number(process.env.BENCH_SPLIT_RATE) : undefined
const splitTargets = (process.env.BENCH_SPLIT_TARGETS ?? 'decide,data,opa,floor').split(',')
// Split layout: the servers get the core that loses less time to the host (probed before the runs,
// see cpu-stall-probe.ts) unless BENCH_SERVER_CORE names one; the generator gets the other.
let serverCore = '1'
let generatorCore = '0'
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

    const shared = await startPdp(work, 'shared', { workers, keyDir, bundle: built.path })
    children.push(shared.child)
    const pdpUrl = shared.url

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
    const policyDir = join(work, 'opa-policy')
    await stageRego(join(root, 'rego'), policyDir)
    const opaShared = await startOpa(policyDir)
    children.push(opaShared.child)
    const opaUrl = opaShared.url

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

    if (layouts.includes('shared')) {
      const results: Measured[] = []
      for (const target of targets) results.push(await measure(target))
      report(results)
    }
    if (!layouts.includes('split')) return

    // Split cores: each server alone on one core (one PDP worker; OPA with GOMAXPROCS=1), the load
    // generator alone on the other, so the latency at 80 % of peak is the server's, not the
    // scheduler's. The generator is open-loop (see http-load.ts). The servers get the core a stall
    // probe finds quieter: on a shared host one virtual CPU can lose several times more time than
    // the other.
    await Promise.all(children.splice(0).map(stopChild))
    const before = await Promise.all(['0', '1'].map((core) => probeStalls(core)))
    serverCore =
      process.env.BENCH_SERVER_CORE ??
      (before[0]!.pctInStallsOver1ms < before[1]!.pctInStallsOver1ms ? '0' : '1')
    generatorCore = serverCore === '0' ? '1' : '0'
    const pinnedPdp = await startPdp(work, 'split', {
      workers: 1,
      keyDir,
      bundle: built.path,
      pin: serverCore,
    })
    children.push(pinnedPdp.child)
    const pinnedOpa = await startOpa(policyDir, serverCore)
    children.push(pinnedOpa.child)
    const split = targets
      .map((target) => ({
        ...target,
        url: target.url.replace(pdpUrl, pinnedPdp.url).replace(opaUrl, pinnedOpa.url),
      }))
      .filter((_, i) => splitTargets.includes(['decide', 'data', 'opa'][i]!))
    // Calibration: a node:http server that answers every request at once, on the same core with the
    // same generator. Its p99 is the floor this machine and method put under any server's p99.
    const floor = await startFloorServer(serverCore)
    children.push(floor.child)
    const floorTarget: Target = {
      name: 'node:http answering {"allow":true} (the floor)',
      url: `${floor.url}/`,
      body: targets[0]!.body,
      allow: (r) => r.allow,
    }
    if (splitTargets.includes('floor')) split.push(floorTarget)
    for (const target of split) await checkAllows(target)
    const splitResults: SplitMeasured[] = []
    for (const target of split) {
      // The floor is loaded at the PDP's own open-loop rate: the question is what this machine
      // adds to a p99 at that load, not how a server with no work behaves near its own peak.
      const atRate = splitRate ?? (target === floorTarget ? splitResults[0]?.atRate.rate : undefined)
      splitResults.push(await measureSplit(target, work, atRate))
    }
    const after = await Promise.all(['0', '1'].map((core) => probeStalls(core)))
    reportSplit(splitResults, { before, after })
  } finally {
    await Promise.all(children.map(stopChild))
    await rm(work, { recursive: true, force: true })
  }
}

/** Starts `mcp-policy serve` as a user runs it, with a config naming the bundle, log and dev key. */
async function startPdp(
  work: string,
  name: string,
  options: { workers: number; keyDir: string; bundle: string; pin?: string },
): Promise<{ child: ChildProcess; url: string }> {
  const configPath = join(work, `pdp-${name}.json`)
  await writeFile(
    configPath,
    JSON.stringify({
      host: '127.0.0.1',
      port: 0,
      workers: options.workers,
      bundle: { file: options.bundle },
      devKeyDir: options.keyDir,
      log: { dir: join(work, `decision-logs-${name}`), durability: 'batch' },
      bundleStore: join(work, 'store'),
    }),
  )
  // BENCH_PDP_NODE_ARGS (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`) reaches the workers too:
  // node:cluster forks them with the primary's exec arguments.
  const nodeArgs = process.env.BENCH_PDP_NODE_ARGS?.split(' ').filter(Boolean) ?? []
  const command = [process.execPath, ...nodeArgs, cliPath, 'serve', '--config', configPath]
  const [file, ...args] = options.pin ? ['taskset', '-c', options.pin, ...command] : command
  const child = spawn(file!, args, { cwd: work, stdio: ['ignore', 'pipe', 'inherit'] })
  return { child, url: await listeningUrl(child) }
}

/** Starts `opa run --server` on the staged policy and the default data, optionally on one core. */
async function startOpa(policyDir: string, pin?: string): Promise<{ child: ChildProcess; url: string }> {
  const opa = await resolveOpa()
  const port = await freePort()
  const command = [
    opa,
    'run',
    '--server',
    '--addr',
    `127.0.0.1:${port}`,
    '--log-level',
    'error',
    policyDir,
    join(root, 'bundles/default/data.json'),
  ]
  const [file, ...args] = pin ? ['taskset', '-c', pin, ...command] : command
  const child = spawn(file!, args, {
    stdio: ['ignore', 'ignore', 'inherit'],
    env: pin ? { ...process.env, GOMAXPROCS: '1' } : process.env,
  })
  const url = `http://127.0.0.1:${port}`
  await waitForHealth(url)
  return { child, url }
}

/** A node:http server that reads the body and answers `{"allow":true}`: no policy, no log. */
async function startFloorServer(pin: string): Promise<{ child: ChildProcess; url: string }> {
  const port = await freePort()
  const source = `require('node:http').createServer((req, res) => { req.resume(); req.on('end', () => { res.setHeader('content-type', 'application/json'); res.end('{"allow":true}') }) }).listen(${port}, '127.0.0.1', () => console.log('listening on http://127.0.0.1:${port}'))`
  const child = spawn('taskset', ['-c', pin, process.execPath, '-e', source], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  return { child, url: await listeningUrl(child) }
}

interface LoadResult {
  rps: number
  ok: number
  non2xx: number
  errors: number
  p50: number | null
  p99: number | null
  p999: number | null
  max: number | null
}

interface SplitMeasured {
  target: Target
  sweep: { connections: number; rps: number }[]
  peak: { connections: number; rps: number }
  atRate: LoadResult & { rate: number }
}

/** One run of the generator, pinned to its own core, in a process of its own. */
async function generate(
  target: Target,
  work: string,
  options: { connections: number; rate: number; seconds: number },
): Promise<LoadResult> {
  const bodyPath = join(work, 'load-body.json')
  await writeFile(bodyPath, target.body)
  const output = await new Promise<string>((resolve, reject) => {
    const child = spawn(
      'taskset',
      [
        '-c',
        generatorCore,
        process.execPath,
        join(root, 'dist/test/bench/http-load.js'),
        '--url',
        target.url,
        '--body',
        bodyPath,
        '--seconds',
        String(options.seconds),
        '--connections',
        String(options.connections),
        '--rate',
        String(options.rate),
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    )
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8')
    })
    child.once('error', reject)
    child.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`http-load exited ${code}`))))
  })
  return JSON.parse(output) as LoadResult
}

async function measureSplit(target: Target, work: string, fixedRate?: number): Promise<SplitMeasured> {
  process.stderr.write(`[split cores] ${target.name}: warm-up\n`)
  await generate(target, work, { connections: 8, rate: 0, seconds: Math.max(1, seconds / 2) })
  const points: SplitMeasured['sweep'] = []
  for (const connections of splitSweep) {
    const run = await generate(target, work, { connections, rate: 0, seconds })
    points.push({ connections, rps: run.rps })
    process.stderr.write(
      `[split cores] ${target.name}: ${connections} connections → ${run.rps.toFixed(0)} req/s\n`,
    )
  }
  const peak = points.reduce((best, point) => (point.rps > best.rps ? point : best))
  const rate = fixedRate ?? Math.max(1, Math.floor(peak.rps * 0.8))
  // Enough connections that the generator never waits for one at this rate.
  const run = await generate(target, work, { connections: 64, rate, seconds })
  process.stderr.write(
    `[split cores] ${target.name}: open loop ${rate} req/s → p50 ${run.p50} ms, p99 ${run.p99} ms\n`,
  )
  return { target, sweep: points, peak, atRate: { rate, ...run } }
}

interface StallProbe {
  core: string
  wallMs: number
  stalls: number
  pctInStallsOver0_1ms: number
  pctInStallsOver1ms: number
  pctInStallsOver2ms: number
  longestMs: number
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

function reportSplit(results: SplitMeasured[], probes: { before: StallProbe[]; after: StallProbe[] }) {
  const opa = results.find((r) => r.target.name.startsWith('opa '))
  const ms = (value: number | null) => (value === null ? 'n/a' : value.toFixed(3))
  const lines = [
    '',
    `Split cores: each server alone on core ${serverCore} (1 PDP worker; OPA GOMAXPROCS=1), the load`,
    `generator alone on core ${generatorCore}; peak from a closed-loop sweep (${splitSweep.join(', ')} connections),`,
    `latency from an open-loop run at ${splitRate ? `${splitRate} req/s for every target` : '80 % of that peak'}, measured from each request's scheduled time.`,
    '',
    '| target | peak req/s (connections) | open-loop rate | achieved req/s | p50 ms | p99 ms | p99.9 ms | max ms | peak vs OPA |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...results.map(
      (r) =>
        `| ${r.target.name} | ${r.peak.rps.toFixed(0)} (${r.peak.connections}) | ${r.atRate.rate} | ${r.atRate.rps.toFixed(0)} | ${ms(r.atRate.p50)} | ${ms(r.atRate.p99)} | ${ms(r.atRate.p999)} | ${ms(r.atRate.max)} | ${opa ? `${(r.peak.rps / opa.peak.rps).toFixed(2)}×` : 'n/a'} |`,
    ),
    '',
    ...results.map(
      (r) => `${r.target.name}: non-2xx ${r.atRate.non2xx}, errors ${r.atRate.errors} in the open-loop run`,
    ),
    '',
    'CPU stall probe (cpu-stall-probe.ts: a pinned spin loop, 3 s; time the core did not run it):',
    '',
    '| when | core | role | % of time in stalls ≥ 0.1 ms | ≥ 1 ms | ≥ 2 ms | longest ms |',
    '| --- | --- | --- | ---: | ---: | ---: | ---: |',
    ...(['before', 'after'] as const).flatMap((when) =>
      probes[when].map(
        (p) =>
          `| ${when} the runs | ${p.core} | ${p.core === serverCore ? 'servers' : 'generator'} | ${p.pctInStallsOver0_1ms.toFixed(2)} | ${p.pctInStallsOver1ms.toFixed(2)} | ${p.pctInStallsOver2ms.toFixed(2)} | ${p.longestMs.toFixed(2)} |`,
      ),
    ),
    '',
  ]
  process.stdout.write(`${lines.join('\n')}\n`)
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
        `| ${r.target.name} | ${r.peak.connections} | ${r.peak.rps.toFixed(0)} | ${r.atRate.rps.toFixed(0)} | ${r.atRate.p50} | ${r.atRate.p99} | ${opa ? `${(r.peak.rps / opa.peak.rps).toFixed(2)}×` : 'n/a'} |`,
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
