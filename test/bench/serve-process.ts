/**
 * `mcp-policy serve` (and the other servers benchmarks start) as benchmarks run it: its own process (the built CLI), pinned to one core when
 * `taskset` is there, so the load generator in the benchmark's process does not share its thread;
 * and autocannon on `POST /v1/mcp/decide` with the requests per second and p50/p99 it saw.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import autocannon from 'autocannon'
import { defaultServerResource } from '../../src/defaults.js'
import { loadOrCreateDevKey, mintDevToken } from '../../src/identity/dev-token.js'
import { packageRoot } from '../../src/package-root.js'
import { defaultPdpConfig } from '../../src/pdp/pdp-config.js'

/** What a benchmark's one-worker `serve` is configured with; everything else is the default. */
export interface BenchServeConfig {
  /** Where the config file is written; the log goes to `<name>-log` beside it. */
  dir: string
  name: string
  bundlePath: string
  /** The dev issuer's key directory (shared with the token the benchmark mints). */
  keyDir: string
  limits?: Record<string, number>
}

/** The dev token of `alice` (developer, client `claude-desktop`) for the `github` server. */
export async function aliceToken(keyDir: string): Promise<string> {
  return mintDevToken(await loadOrCreateDevKey(keyDir), {
    sub: 'alice',
    aud: defaultServerResource('github'),
    roles: ['developer'],
    clientId: 'claude-desktop',
    expiresIn: '2h',
  })
}

/** Writes a one-worker `serve` configuration on a free loopback port and starts it (see {@link startServe}). */
export async function startBenchServe(config: BenchServeConfig): Promise<ServeProcess> {
  const configPath = join(config.dir, `${config.name}.json`)
  await writeFile(
    configPath,
    JSON.stringify({
      host: '127.0.0.1',
      port: 0,
      workers: 1,
      bundle: { file: config.bundlePath },
      devKeyDir: config.keyDir,
      log: { dir: join(config.dir, `${config.name}-log`), durability: 'batch' },
      bundleStore: join(config.dir, 'store'),
      ...(config.limits && { limits: { ...defaultPdpConfig().limits, ...config.limits } }),
    }),
  )
  return startServe(configPath, config.dir)
}

/** A running `serve` child process. */
export interface ServeProcess {
  url: string
  close(): Promise<void>
}

/**
 * Starts `mcp-policy serve --config <configPath>` in `cwd`, on `core` when taskset is there and
 * BENCH_PIN is not `0` (unpinned, its threads may use every core).
 */
export async function startServe(configPath: string, cwd: string, core = 1): Promise<ServeProcess> {
  const command = [process.execPath, join(packageRoot(), 'dist/cli/main.js'), 'serve', '--config', configPath]
  const pin = process.env.BENCH_PIN !== '0' && hasTaskset()
  const [file, ...rest] = pin ? ['taskset', '-c', String(core), ...command] : command
  const child = spawn(file!, rest, { cwd, stdio: ['ignore', 'pipe', 'inherit'] })
  return { url: await listeningUrl(child), close: () => stop(child) }
}

/** autocannon on `<url>/v1/mcp/decide` with `body` for `duration` s; fails on any non-2xx answer. */
export async function decideLoad(url: string, body: string, duration: number, connections: number) {
  const samples: number[] = []
  const instance = autocannon({
    url: `${url}/v1/mcp/decide`,
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
    connections,
    duration,
  })
  instance.on('response', (_client: unknown, statusCode: number, _bytes: number, ms: number) => {
    if (statusCode === 200) samples.push(ms)
  })
  const result = await instance
  if (result.non2xx > 0 || result.errors > 0)
    throw new Error(`${result.non2xx} non-2xx, ${result.errors} errors`)
  samples.sort((x, y) => x - y)
  const at = (q: number) =>
    samples[Math.min(samples.length - 1, Math.floor(q * samples.length))] ?? Number.NaN
  return { rps: result['2xx'] / result.duration, p50: round(at(0.5)), p99: round(at(0.99)) }
}

/** Whether `taskset` can pin a process here. */
export function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-c', '1', 'true'], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/** Resolves with the URL a child process prints as `listening on http://…` (`name` in errors). */
export function listeningUrl(child: ChildProcess, name = 'serve'): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = ''
    const timer = setTimeout(() => reject(new Error(`${name} did not start in 60 s:\n${seen}`)), 60_000)
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
      reject(new Error(`${name} exited with ${code} before listening:\n${seen}`))
    })
  })
}

function stop(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve()
    child.once('exit', () => resolve())
    child.kill('SIGTERM')
  })
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100
}
