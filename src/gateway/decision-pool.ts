import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import { EvaluationClock } from '../engine/evaluation-clock.js'
import { DEADLINE_MS_PER_MIB } from '../engine/fuel-instrumentation.js'
import { errorTable, McpPolicyError, type McpPolicyErrorCode } from '../errors.js'
import type { RequestEnvelope } from '../normalize/request-normalizer.js'
import { packageRoot } from '../package-root.js'
import type { DecisionCoreConfig } from '../pdp/decision-core.js'
import type { DecidedMessage, DecisionPort, ResponseJudgementRequest } from '../pdp/decision-port.js'
import type { McpDecisionResponse, McpResponseJudgement } from '../pdp/decision-service.js'
import type { DecisionWorkerData, FromDecisionWorker, ToDecisionWorker } from './decision-worker-protocol.js'

/**
 * Options for {@link DecisionPool.start}.
 *
 * @internal
 */
export interface DecisionPoolOptions {
  /** Worker threads (at least 1). */
  size: number
  /** Each worker's decision core (identity resolved, so every thread trusts the same issuers). */
  config: DecisionCoreConfig
  /** The bundle serving now: what a worker (a replacement too) starts with. */
  bundle: () => { bytes: Uint8Array; origin: string }
  /** Decisions waiting for a worker, beyond those in flight; past it, `ERR_GATEWAY_OVERLOADED`. */
  maxQueued: number
  /** Decisions one worker holds at once (its share of the pipeline). Default 64. */
  window?: number
  /**
   * Longest one policy evaluation may run in a worker, in ms. Past it the worker is terminated
   * (WebAssembly cannot be interrupted otherwise), the message it was evaluating is denied
   * `ERR_ENGINE_DEADLINE`, and the worker is replaced. 0 or absent: no deadline.
   */
  deadlineMs?: number
  /**
   * Denies and logs what no worker could decide (the main thread's `DecisionService.refuse`, on
   * its own chain): a worker that died holding it, a full queue.
   */
  refuse: (facts: RequestEnvelope | undefined, error: McpPolicyError) => Promise<McpDecisionResponse>
  /** Where worker failures and replacements are reported. */
  print: (line: string) => void
  /** The worker script. Default: `decision-worker.js` beside this module, or in `dist/` when running from `src/`. */
  script?: URL
}

/** One decision or judgement, from the gateway to a worker and back. */
interface Job {
  request: Extract<ToDecisionWorker, { op: 'decide' | 'judge' }>
  /** What a refusal names in its log record: the message's server and method. */
  facts: RequestEnvelope | undefined
  done: (value: unknown) => void
  refused: (error: McpPolicyError) => void
}

/** A control request (bundle, flush, close): settled by the worker's answer or by its exit. */
interface Control {
  settle: (error?: McpPolicyError) => void
}

interface Thread {
  id: string
  worker: Worker
  ready: boolean
  /** The bundle bytes it started with or was last sent. */
  bundle: Uint8Array
  jobs: Map<number, Job>
  controls: Map<number, Control>
  /** Why it could not start (its own report), when it could not. */
  failure?: McpPolicyError
  /** Where it publishes the job it evaluates and since when, and the last job it received. */
  clock: EvaluationClock
  /** Set once it is terminated for passing the deadline: the job it was evaluating, and the deadline. */
  overrun?: { job: number; deadlineMs: number }
  /** Evaluating one job for longer than a watch period: new jobs go to other workers while one is free. */
  stalled: boolean
  /** Settles once it is ready (undefined) or has exited before that (why). */
  started: Promise<McpPolicyError | undefined>
  onStarted: (failure: McpPolicyError | undefined) => void
  exited: Promise<void>
}

/**
 * What {@link DecisionPool.status} reports (on `/health/ready`).
 *
 * @internal
 */
export interface DecisionPoolStatus {
  size: number
  ready: number
  inFlight: number
  queued: number
  /** Workers replaced after dying, since start. */
  replaced: number
  /** Workers terminated for an evaluation past the deadline, since start (counted in `replaced` too). */
  deadlineStops: number
}

// A worker that keeps dying right after start would otherwise be restarted in a tight loop.
const RESTART_WINDOW_MS = 10_000
const MAX_RESTARTS_IN_WINDOW = 10
const DEFAULT_WINDOW = 64
const MIB = 1 << 20

// How often the deadline is checked: a tenth of it, within these bounds (a stopped evaluation
// ran at most deadline + one period).
const MIN_WATCH_MS = 5
const MAX_WATCH_MS = 50

/**
 * The gateway's decision capacity beyond one thread: `size` worker threads, each with its own
 * policy engine, token verifier and decision-log chain (`gateway-<n>-<time>`, as `serve`'s
 * workers have theirs), deciding what the gateway's one I/O thread hands them. The MCP sessions,
 * SDK transports and upstream processes stay in that thread (they cannot be shared between
 * processes or threads); only normalize → decide → log moves.
 *
 * Each message goes to the worker holding the fewest, up to `window` each; the rest wait in a
 * queue of at most `maxQueued`, past which a message is denied `ERR_GATEWAY_OVERLOADED`. A worker
 * that dies is replaced (at most 10 times in 10 s); whatever it held is denied
 * `ERR_GATEWAY_WORKER_FAILED`. Both denials are logged by `refuse` (the main thread's own chain),
 * so nothing is lost silently.
 *
 * With `deadlineMs`, a worker whose policy evaluation runs past it is terminated (evaluation is
 * synchronous WebAssembly: nothing else stops it) and replaced: the message it was evaluating is
 * denied `ERR_ENGINE_DEADLINE` and logged by `refuse`; what it had not yet received goes to
 * another worker; the rest it held is denied `ERR_GATEWAY_WORKER_FAILED`. Each worker publishes
 * its running evaluation on an {@link EvaluationClock} the pool reads every tenth of the deadline,
 * so the normal path pays two atomic stores per evaluation and no message.
 *
 * Bundles reach every worker through {@link loadBundle}; {@link close}
 * lets every worker finish, flush and fsync its log.
 *
 * @internal
 *
 * @example
 * ```ts
 * const pool = await DecisionPool.start({ size: 2, config, bundle: () => latest, maxQueued: 1024,
 *   refuse: (facts, error) => core.service.refuse(facts, error), print: console.error })
 * const { response } = await pool.decideMessage({ message: body, headers, server: 'filesystem' })
 * await pool.close()
 * ```
 */
export class DecisionPool implements DecisionPort {
  readonly #options: DecisionPoolOptions & { window: number; script: URL }
  readonly #threads = new Set<Thread>()
  readonly #queue: Job[] = []
  readonly #restarts: number[] = []
  #seq = 0
  #turn = 0
  #nextId = 1
  #replaced = 0
  #deadlineStops = 0
  #watch: NodeJS.Timeout | undefined
  /** No more replacements: crash loop, or closing. */
  #noRestarts = false
  #closed = false
  #idle: (() => void) | undefined

  private constructor(options: DecisionPoolOptions) {
    this.#options = {
      ...options,
      window: options.window ?? DEFAULT_WINDOW,
      script: options.script ?? defaultWorkerScript(),
    }
  }

  /**
   * Starts `size` workers and resolves once every one is ready.
   *
   * @throws McpPolicyError the first worker's start-up error (bundle, log), or
   *   `ERR_GATEWAY_WORKER_FAILED` when a worker exits before it is ready.
   */
  static async start(options: DecisionPoolOptions): Promise<DecisionPool> {
    if (!(Number.isInteger(options.size) && options.size >= 1))
      throw new McpPolicyError(
        'ERR_GATEWAY_CONFIG_INVALID',
        `workers must be at least 1, not ${options.size}`,
      )
    if (
      options.deadlineMs !== undefined &&
      !(Number.isInteger(options.deadlineMs) && options.deadlineMs >= 0)
    )
      throw new McpPolicyError(
        'ERR_GATEWAY_CONFIG_INVALID',
        `the evaluation deadline must be a whole number of ms, not ${options.deadlineMs}`,
      )
    const pool = new DecisionPool(options)
    if (options.deadlineMs) {
      const deadlineMs = options.deadlineMs
      const period = Math.min(MAX_WATCH_MS, Math.max(MIN_WATCH_MS, Math.floor(deadlineMs / 10)))
      pool.#watch = setInterval(() => pool.#enforceDeadline(deadlineMs, period), period)
      pool.#watch.unref()
    }
    // A worker failing now fails the start: no replacement would do better.
    pool.#noRestarts = true
    const threads = Array.from({ length: options.size }, () => pool.#spawn())
    const started = await Promise.all(threads.map((t) => t.started))
    const failed = started.find((failure) => failure !== undefined)
    if (failed) {
      await pool.close()
      throw failed
    }
    pool.#noRestarts = false
    return pool
  }

  decideMessage(facts: RequestEnvelope): Promise<DecidedMessage> {
    return new Promise<DecidedMessage>((resolve) => {
      this.#submit({
        request: { op: 'decide', seq: 0, facts: ownBytes(facts) },
        facts,
        done: (value) => resolve(value as DecidedMessage),
        refused: (error) => {
          this.#refuse(facts, error).then((response) => resolve({ response }))
        },
      })
    })
  }

  judgeResponse(body: ResponseJudgementRequest): Promise<McpResponseJudgement> {
    const facts = judgedFacts(body)
    return new Promise<McpResponseJudgement>((resolve) => {
      this.#submit({
        request: { op: 'judge', seq: 0, body },
        facts,
        done: (value) => resolve(value as McpResponseJudgement),
        refused: (error) => {
          this.#refuse(facts, error).then(({ decision_id, reasons }) =>
            resolve({ decision_id, allow: false, redactions: [], reasons }),
          )
        },
      })
    })
  }

  /**
   * Hands a bundle the main thread loaded to every worker; resolves once each has it serving. A
   * worker that refuses it (it should not: the main thread verified the same bytes) is replaced,
   * and its replacement starts with `bundle()` — the caller updates that first.
   */
  async loadBundle(bytes: Uint8Array, origin: string): Promise<void> {
    await Promise.all(
      [...this.#threads].map(async (thread) => {
        thread.bundle = bytes
        const error = await this.#control(thread, { op: 'bundle', seq: 0, bytes, origin })
        if (error) {
          this.#options.print(
            `decision worker ${thread.id} refused bundle from ${origin}: ${error.code}: ${error.message}; replacing it`,
          )
          await thread.worker.terminate()
        }
      }),
    )
  }

  /** Writes and fsyncs every worker's log (and signs a checkpoint of each chain). */
  async flush(): Promise<void> {
    await Promise.all(
      [...this.#threads].filter((t) => t.ready).map((t) => this.#control(t, { op: 'flush', seq: 0 })),
    )
  }

  /** True while at least one worker is ready to decide. */
  ready(): boolean {
    return [...this.#threads].some((t) => t.ready)
  }

  status(): DecisionPoolStatus {
    let inFlight = 0
    let ready = 0
    for (const thread of this.#threads) {
      inFlight += thread.jobs.size
      if (thread.ready) ready++
    }
    return {
      size: this.#options.size,
      ready,
      inFlight,
      queued: this.#queue.length,
      replaced: this.#replaced,
      deadlineStops: this.#deadlineStops,
    }
  }

  /**
   * The live worker threads, by id (for operators' tooling and tests: terminate one to see it
   * replaced). `stalled`: evaluating one message for longer than a deadline check period.
   */
  workers(): { id: string; worker: Worker; inFlight: number; stalled: boolean }[] {
    return [...this.#threads].map((t) => ({
      id: t.id,
      worker: t.worker,
      inFlight: t.jobs.size,
      stalled: t.stalled,
    }))
  }

  /**
   * Drains: waits (at most `timeoutMs`) for every queued and in-flight decision, then has each
   * worker close its core — its log flushed, fsynced and checkpointed — and end.
   */
  async close(options: { timeoutMs?: number } = {}): Promise<void> {
    this.#noRestarts = true
    if (this.#pending() > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, options.timeoutMs ?? 10_000)
        this.#idle = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#idle = undefined
    }
    this.#closed = true
    clearInterval(this.#watch)
    for (const job of this.#queue.splice(0))
      job.refused(new McpPolicyError('ERR_GATEWAY_WORKER_FAILED', 'the gateway is shutting down'))
    await Promise.all(
      [...this.#threads].map(async (thread) => {
        // A worker that cannot close (its disk hangs) does not hold the gateway's exit forever.
        if (thread.ready)
          await Promise.race([
            this.#control(thread, { op: 'close', seq: 0 }),
            new Promise((resolve) => setTimeout(resolve, options.timeoutMs ?? 10_000).unref()),
          ])
        await thread.worker.terminate()
        await thread.exited
      }),
    )
  }

  #spawn(): Thread {
    const id = String(this.#nextId++)
    const bundle = this.#options.bundle()
    const clock = new EvaluationClock()
    const data: DecisionWorkerData = { config: this.#options.config, worker: id, bundle, clock: clock.buffer }
    const worker = new Worker(this.#options.script, { workerData: data, execArgv: workerExecArgv() })
    let exited!: () => void
    let onStarted!: Thread['onStarted']
    const thread: Thread = {
      id,
      worker,
      ready: false,
      bundle: bundle.bytes,
      jobs: new Map(),
      controls: new Map(),
      clock,
      stalled: false,
      started: new Promise((resolve) => {
        onStarted = resolve
      }),
      onStarted: (failure) => onStarted(failure),
      exited: new Promise<void>((resolve) => {
        exited = resolve
      }),
    }
    this.#threads.add(thread)
    worker.on('message', (message: FromDecisionWorker) => this.#receive(thread, message))
    worker.on('error', (err) => {
      this.#options.print(`decision worker ${id}: ${err.message}`)
    })
    worker.on('exit', (code) => {
      this.#exit(thread, code)
      exited()
    })
    return thread
  }

  #receive(thread: Thread, message: FromDecisionWorker): void {
    switch (message.op) {
      case 'ready': {
        thread.ready = true
        thread.onStarted(undefined)
        // A bundle that arrived while this worker was starting went to the others only.
        const current = this.#options.bundle()
        if (current.bytes !== thread.bundle) {
          thread.bundle = current.bytes
          this.#control(thread, { op: 'bundle', seq: 0, ...current }).then((error) => {
            if (error) thread.worker.terminate()
          })
        }
        this.#pump()
        return
      }
      case 'failed':
        thread.failure = new McpPolicyError(errorCode(message.code), message.message)
        return
      case 'done':
      case 'error': {
        const error =
          message.op === 'error' ? new McpPolicyError(errorCode(message.code), message.message) : undefined
        const job = thread.jobs.get(message.seq)
        if (job) {
          thread.jobs.delete(message.seq)
          if (message.op === 'error') job.refused(error!)
          else job.done(message.value)
          this.#pump()
          return
        }
        const control = thread.controls.get(message.seq)
        thread.controls.delete(message.seq)
        control?.settle(error)
        return
      }
    }
  }

  #exit(thread: Thread, code: number): void {
    const wasReady = thread.ready
    thread.ready = false
    this.#threads.delete(thread)
    thread.onStarted(
      thread.failure ??
        new McpPolicyError(
          'ERR_GATEWAY_WORKER_FAILED',
          `decision worker ${thread.id} exited (${code}) at start`,
        ),
    )
    const overrun = thread.overrun
    // Stopped for the deadline: what it never received is provably undecided and unlogged, so it
    // goes to another worker (ahead of the queue, in the order it came) instead of being refused.
    const received = overrun ? thread.clock.lastReceived() : Number.POSITIVE_INFINITY
    const unreceived: Job[] = []
    for (const [seq, job] of thread.jobs) {
      if (overrun && seq === overrun.job)
        job.refused(
          new McpPolicyError(
            'ERR_ENGINE_DEADLINE',
            `the policy evaluation ran past the ${overrun.deadlineMs} ms deadline; decision worker ${thread.id} was stopped and is replaced`,
          ),
        )
      else if (seq > received) unreceived.push(job)
      else
        job.refused(
          new McpPolicyError(
            'ERR_GATEWAY_WORKER_FAILED',
            overrun
              ? `decision worker ${thread.id} was stopped holding this message (another message's evaluation ran past the deadline); it is replaced`
              : `decision worker ${thread.id} died holding this message (exit ${code}); it is replaced`,
          ),
        )
    }
    thread.jobs.clear()
    this.#queue.unshift(...unreceived)
    // A bundle or flush it was asked for dies with it: its replacement starts with the current bundle.
    for (const control of thread.controls.values()) control.settle()
    thread.controls.clear()
    if (!this.#noRestarts && !this.#closed) this.#replace(thread, code, wasReady)
    this.#pump()
  }

  #replace(thread: Thread, code: number, wasReady: boolean): void {
    if (!wasReady && thread.failure)
      this.#options.print(`decision worker ${thread.id} failed to start: ${thread.failure.message}`)
    if (thread.overrun) {
      // Stopped on purpose, after starting well: no crash loop, and never a reason to stop replacing
      // (a client sending slow messages would otherwise leave the gateway without workers).
      this.#replaced++
      this.#spawn()
      return
    }
    const now = Date.now()
    this.#restarts.push(now)
    while (this.#restarts.length && this.#restarts[0]! < now - RESTART_WINDOW_MS) this.#restarts.shift()
    if (this.#restarts.length > MAX_RESTARTS_IN_WINDOW) {
      this.#noRestarts = true
      this.#options.print(
        `decision worker ${thread.id} exited (${code}); not replacing it: more than ${MAX_RESTARTS_IN_WINDOW} workers died within ${RESTART_WINDOW_MS / 1000} s`,
      )
      return
    }
    this.#replaced++
    this.#options.print(`decision worker ${thread.id} exited (${code}); starting a replacement`)
    this.#spawn()
  }

  #submit(job: Job): void {
    if (this.#closed || (this.#threads.size === 0 && this.#noRestarts)) {
      job.refused(
        new McpPolicyError(
          'ERR_GATEWAY_WORKER_FAILED',
          this.#closed ? 'the gateway is shutting down' : 'no decision worker is running',
        ),
      )
      return
    }
    const thread = this.#available()
    if (thread && this.#queue.length === 0) {
      this.#send(thread, job)
      return
    }
    if (this.#queue.length >= this.#options.maxQueued) {
      job.refused(
        new McpPolicyError(
          'ERR_GATEWAY_OVERLOADED',
          `every decision worker is busy and ${this.#options.maxQueued} messages wait already`,
        ),
      )
      return
    }
    this.#queue.push(job)
    this.#pump()
  }

  /** Moves queued jobs to workers with room; with no worker left at all, refuses them. */
  #pump(): void {
    while (this.#queue.length > 0) {
      const thread = this.#available()
      if (!thread) break
      this.#send(thread, this.#queue.shift()!)
    }
    if (this.#threads.size === 0 && this.#noRestarts)
      for (const job of this.#queue.splice(0))
        job.refused(new McpPolicyError('ERR_GATEWAY_WORKER_FAILED', 'no decision worker is running'))
    if (this.#idle && this.#pending() === 0) this.#idle()
  }

  /**
   * The ready worker holding the fewest jobs, if it has room for one more. Ties go round-robin, so
   * a light load (one job at a time) still spreads over every worker and its chain. A worker stuck
   * in one evaluation (stalled) gets jobs only when no other has room: they would wait for it.
   */
  #available(): Thread | undefined {
    const threads = [...this.#threads]
    const start = this.#turn++ % Math.max(threads.length, 1)
    let best: Thread | undefined
    let stalled: Thread | undefined
    for (let i = 0; i < threads.length; i++) {
      const thread = threads[(start + i) % threads.length]!
      if (!thread.ready || thread.overrun || thread.jobs.size >= this.#options.window) continue
      if (thread.stalled) {
        if (!stalled || thread.jobs.size < stalled.jobs.size) stalled = thread
      } else if (!best || thread.jobs.size < best.jobs.size) best = thread
    }
    return best ?? stalled
  }

  /**
   * Reads every worker's clock: one evaluating past `deadlineMs` is terminated (its exit denies and
   * replaces, see {@link #exit}); one evaluating for longer than a period is marked stalled.
   */
  #enforceDeadline(deadlineMs: number, periodMs: number): void {
    const now = process.hrtime.bigint()
    const deadline = BigInt(deadlineMs) * 1_000_000n
    const period = BigInt(periodMs) * 1_000_000n
    for (const thread of this.#threads) {
      if (thread.overrun) continue
      const running = thread.clock.running()
      const ran = running ? now - running.since : 0n
      thread.stalled = ran >= period
      if (!running) continue
      // A large input (a tool result of megabytes) is scanned in time that grows with its size:
      // the deadline stops pathological rules, not big messages the limits already admit.
      const allowance = BigInt(Math.floor((running.inputChars / MIB) * DEADLINE_MS_PER_MIB)) * 1_000_000n
      if (ran < deadline + allowance) continue
      thread.overrun = { job: running.job, deadlineMs }
      this.#deadlineStops++
      this.#options.print(
        `decision worker ${thread.id}: a policy evaluation ran past the ${deadlineMs} ms deadline; stopping the worker (the message is denied ERR_ENGINE_DEADLINE)`,
      )
      thread.worker.terminate()
    }
  }

  #send(thread: Thread, job: Job): void {
    const seq = ++this.#seq
    thread.jobs.set(seq, job)
    try {
      thread.worker.postMessage({ ...job.request, seq })
    } catch (err) {
      // A message that cannot be cloned (it should not happen: the gateway sends bytes and JSON).
      thread.jobs.delete(seq)
      job.refused(
        new McpPolicyError('ERR_GATEWAY_WORKER_FAILED', `cannot hand the message to a decision worker`, {
          cause: err,
        }),
      )
    }
  }

  #control(
    thread: Thread,
    request: Extract<ToDecisionWorker, { op: 'bundle' | 'flush' | 'close' }>,
  ): Promise<McpPolicyError | undefined> {
    if (!this.#threads.has(thread)) return Promise.resolve(undefined)
    const seq = ++this.#seq
    return new Promise((resolve) => {
      thread.controls.set(seq, { settle: resolve })
      thread.worker.postMessage({ ...request, seq })
    })
  }

  #pending(): number {
    let pending = this.#queue.length
    for (const thread of this.#threads) pending += thread.jobs.size
    return pending
  }

  /** The main thread's refusal, which never rejects: an unloggable refusal is still a deny. */
  #refuse(facts: RequestEnvelope | undefined, error: McpPolicyError): Promise<McpDecisionResponse> {
    return this.#options.refuse(facts, error).catch(() => ({
      decision_id: '',
      allow: false,
      status: error.status,
      reasons: [{ code: error.code, message: error.message }],
      obligations: {},
    }))
  }
}

/**
 * The facts with a body that owns its bytes. A small Buffer is a view into Node's shared 8 KiB
 * pool, and a structured clone copies a view's whole ArrayBuffer: other requests' bytes would
 * travel to the worker with it.
 */
function ownBytes(facts: RequestEnvelope): RequestEnvelope {
  const body = facts.message
  if (!(body instanceof Uint8Array) || body.byteLength === body.buffer.byteLength) return facts
  return { ...facts, message: new Uint8Array(body) }
}

/** A refused judgement's log record names the judged request's server and method. */
function judgedFacts(body: ResponseJudgementRequest): RequestEnvelope | undefined {
  if (body.facts) return body.facts
  const request = body.request as { server?: { id?: unknown }; mcp?: { method?: unknown } } | undefined
  const server = typeof request?.server?.id === 'string' ? request.server.id : undefined
  const method = typeof request?.mcp?.method === 'string' ? request.mcp.method : undefined
  return { message: method === undefined ? undefined : { method }, server }
}

function errorCode(code: string): McpPolicyErrorCode {
  return Object.hasOwn(errorTable, code) ? (code as McpPolicyErrorCode) : 'ERR_GATEWAY_WORKER_FAILED'
}

/**
 * `decision-worker.js` beside this module when it is JavaScript (dist/, an installed package);
 * from the TypeScript sources (tests), the built one in `dist/` — a worker thread runs JavaScript.
 */
function defaultWorkerScript(): URL {
  const beside = new URL('./decision-worker.js', import.meta.url)
  if (existsSync(fileURLToPath(beside))) return beside
  return pathToFileURL(join(packageRoot(), 'dist/src/gateway/decision-worker.js'))
}

/**
 * The Node options a decision worker is started with: this process's, less those a worker refuses
 * (`--input-type`, given with `node -e`, makes a worker exit at once).
 */
function workerExecArgv(): string[] {
  const argv: string[] = []
  for (let i = 0; i < process.execArgv.length; i++) {
    const arg = process.execArgv[i]!
    if (arg === '--input-type') i++
    else if (!arg.startsWith('--input-type=')) argv.push(arg)
  }
  return argv
}
