import cluster, { type Worker } from 'node:cluster'
import { LogShipper } from '../audit/log-shipper.js'
import { errorTable, McpPolicyError, type McpPolicyErrorCode } from '../errors.js'
import { stateRelayEnv } from '../state/cluster-state-messages.js'
import { ClusterStateRelay } from '../state/cluster-state-relay.js'
import type { PdpConfig } from './pdp-config.js'
import { type RunningPdp, startPdp } from './pdp-server.js'

/** Messages between the primary and its workers. */
type WorkerMessage = { type: 'ready'; url: string } | { type: 'failed'; code: string; message: string }

/** Options for {@link runPdp}. */
export interface RunPdpOptions {
  /** Where status lines go (default stdout). */
  print?: (line: string) => void
  /** Called once the first worker (or the single process) listens. */
  onListening?: (url: string) => void
}

// A worker that keeps dying right after start would otherwise be forked in a tight loop.
const RESTART_WINDOW_MS = 10_000
const MAX_RESTARTS_IN_WINDOW = 10

/**
 * Runs the PDP until SIGTERM/SIGINT: with one worker in this process, otherwise as a node:cluster
 * primary forking `config.workers` workers that share the port, each with its own WebAssembly
 * engine and decision-log chain. A worker that dies is replaced. On SIGTERM every worker stops
 * accepting, finishes its in-flight requests, flushes and fsyncs its log and exits; then the
 * primary exits 0.
 *
 * Must be called from the same entry script in primary and workers (node:cluster re-runs it).
 *
 * @throws McpPolicyError why the PDP could not start (e.g. `ERR_LISTEN_ADDRESS_IN_USE`), once,
 *   also when every worker of a cluster failed the same way.
 */
export async function runPdp(config: PdpConfig, options: RunPdpOptions = {}): Promise<number> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`))
  if (cluster.isWorker) return runWorker(config)
  // One shipper per log directory, in the primary (or the single process): it tails every
  // worker's chain, so workers never race over the cursor.
  const ship = config.log ? config.log.ship : undefined
  const shipper =
    config.log && ship
      ? await LogShipper.start({
          dir: config.log.dir,
          url: ship.url,
          token: ship.token,
          pollIntervalMs: ship.pollIntervalMs,
          maxBatchEvents: ship.maxBatchEvents,
          onError: (error) =>
            print(`log shipping: ${error.code}: ${error.message} (retrying; events stay on disk)`),
        })
      : undefined
  try {
    if (config.workers > 1) return await runPrimary(config, print, options)
    const pdp = await startPdp(config, { worker: '0' })
    // The signal handlers are in place before the line that tells a supervisor it may stop us.
    const stopped = untilSignal(async () => pdp.close())
    print(`listening on ${pdp.url} (1 process)`)
    options.onListening?.(pdp.url)
    return await stopped
  } finally {
    if (shipper) {
      // Give the collector a bounded chance at the last events; whatever is left ships on next start.
      await shipper.drain({ timeoutMs: 5_000 }).catch(() => {})
      await shipper.stop()
    }
  }
}

async function runPrimary(
  config: PdpConfig,
  print: (line: string) => void,
  options: RunPdpOptions,
): Promise<number> {
  let stopping = false
  let announced = false
  // Why the initial workers could not start (all fail alike: a port in use, a bad bundle): thrown
  // once, as the single process would, rather than printed by every worker.
  let startupError: McpPolicyError | undefined
  let readyWorkers = 0
  const restarts: number[] = []
  // Tracked here: node:cluster removes a worker from cluster.workers only once it has both exited
  // and disconnected, in either order, so counting cluster.workers on 'exit' races.
  const live = new Set<Worker>()
  // The in-memory state store (revocations) of the workers is kept in step through this process:
  // each worker holds a replica and decides from it, so a slow primary only delays the spread.
  // With Redis every worker subscribes by itself and the primary has no part in it.
  const relay = (config.state?.backend ?? 'memory') === 'memory' ? new ClusterStateRelay(cluster) : undefined
  const fork = (): Worker => {
    const worker = cluster.fork(relay ? { [stateRelayEnv]: '1' } : undefined)
    live.add(worker)
    worker.on('message', (message: WorkerMessage) => {
      // Announce once every initial worker listens, so whoever waits for the line gets full capacity.
      if (message.type === 'ready' && !announced && ++readyWorkers === config.workers) {
        announced = true
        print(`listening on ${message.url} (${config.workers} workers)`)
        options.onListening?.(message.url)
      }
      if (message.type !== 'failed') return
      if (!announced) startupError ??= new McpPolicyError(knownCode(message.code), message.message)
      else print(`worker ${worker.id} failed to start: ${message.code}: ${message.message}`)
    })
    return worker
  }
  return new Promise<number>((resolve, reject) => {
    let startupFailed = false
    let exitCode = 0
    const finish = () => {
      relay?.close()
      return startupFailed && startupError ? reject(startupError) : resolve(exitCode)
    }
    cluster.on('exit', (worker, code, signal) => {
      live.delete(worker)
      if (stopping) {
        if (live.size === 0) finish()
        return
      }
      const now = Date.now()
      restarts.push(now)
      while (restarts.length && restarts[0]! < now - RESTART_WINDOW_MS) restarts.shift()
      if (!announced && code === 2) startupFailed = true
      if (startupFailed || restarts.length > MAX_RESTARTS_IN_WINDOW) {
        if (!startupError)
          print(
            `worker ${worker.id} exited (${signal ?? code}); not restarting: ${startupFailed ? 'it failed at startup' : 'crash loop'}`,
          )
        stopping = true
        exitCode = 2
        for (const w of live) w.process.kill('SIGTERM')
        if (live.size === 0) finish()
        return
      }
      print(
        `worker ${worker.id} (pid ${worker.process.pid}) exited (${signal ?? code}); starting a replacement`,
      )
      fork()
    })
    const stop = () => {
      if (stopping) return
      stopping = true
      print('draining: finishing in-flight requests and flushing the decision log')
      for (const worker of live) worker.process.kill('SIGTERM')
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
    for (let i = 0; i < config.workers; i++) fork()
  })
}

async function runWorker(config: PdpConfig): Promise<number> {
  let pdp: RunningPdp
  try {
    pdp = await startPdp(config, { worker: String(cluster.worker?.id ?? process.pid), exclusive: false })
  } catch (err) {
    const error = err as { code?: string; message?: string }
    const failed: WorkerMessage = {
      type: 'failed',
      code: error.code ?? 'ERR',
      message: error.message ?? String(err),
    }
    // Delivered before this worker exits, so the primary can say why rather than only that it died.
    await new Promise<void>((resolve) => {
      if (process.send) process.send(failed, undefined, {}, () => resolve())
      else resolve()
    })
    return 2
  }
  const stopped = untilSignal(async () => pdp.close())
  process.send?.({ type: 'ready', url: pdp.url })
  return stopped
}

function knownCode(code: string): McpPolicyErrorCode {
  return Object.hasOwn(errorTable, code) ? (code as McpPolicyErrorCode) : 'ERR_PDP_CONFIG_INVALID'
}

function untilSignal(close: () => Promise<void>): Promise<number> {
  return new Promise<number>((resolve) => {
    const stop = () => {
      close().then(
        () => resolve(0),
        () => resolve(2),
      )
    }
    process.once('SIGTERM', stop)
    process.once('SIGINT', stop)
  })
}
