import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { Worker } from 'node:worker_threads'
import type { Bundle } from '../bundle/bundle.js'
import { errorTable, McpPolicyError, type McpPolicyErrorCode } from '../errors.js'
import { packageRoot } from '../package-root.js'
import type { NdBuiltinCache } from './nd-builtin-cache.js'
import type { MemoryLimits, NdOptions } from './policy-instance.js'

/**
 * What the deadline grows by per MiB of JSON input: a tool result of megabytes is scanned in time
 * that grows with its size; the deadline stops pathological rules, not big messages the limits
 * already admit. Shared with the gateway's decision pool, so both enforce the same allowance.
 */
export const DEADLINE_MS_PER_MIB = 1_000

/** The deadline of one evaluation over `inputBytes` of JSON: `deadlineMs` + 1 s per MiB. */
export function deadlineFor(deadlineMs: number, inputBytes: number): number {
  return deadlineMs + (inputBytes / (1024 * 1024)) * DEADLINE_MS_PER_MIB
}

/**
 * The shared memory between this thread and the evaluation worker. Four 32-bit slots, then the
 * payload (a request, then in place its answer), in a growable SharedArrayBuffer both threads see
 * grow.
 *
 * `TURN` says whose move it is: {@link Turn}. `LENGTH` is the payload's byte length, `HEADER` the
 * length of the request's JSON header (entrypoint and replay options) before the input text, or
 * -1 in `LENGTH` of an input that is absent.
 *
 * @internal
 */
export const Slot = { TURN: 0, LENGTH: 1, HEADER: 2, INPUT: 3 } as const
/** @internal */
export const SLOTS_BYTES = 16
/** @internal */
export const Turn = {
  /** The worker is loading its bundle. */
  STARTING: 0,
  /** The worker waits for a request. */
  IDLE: 1,
  /** A request is written: the worker's move. */
  REQUEST: 2,
  /** The answer is written: this thread's move. */
  ANSWER: 3,
  /** The worker could not load the bundle; the payload is its error. */
  FAILED: 4,
  /** The worker should exit. */
  STOP: 5,
} as const

/** What the evaluation worker is started with. @internal */
export interface DeadlineWorkerData {
  buffer: SharedArrayBuffer
  bundle: Bundle
  memory: MemoryLimits
}

/** The answer the worker writes: the result set and non-deterministic record, or an error. @internal */
export type DeadlineWorkerAnswer =
  | { resultSet: unknown; ndBuiltinCache: NdBuiltinCache }
  | { error: { code: string; message: string } }

/** Options for {@link DeadlineEvaluator.start}. */
export interface DeadlineEvaluatorOptions {
  /** Longest one evaluation may run, in ms, before the 1 s/MiB allowance ({@link deadlineFor}). */
  deadlineMs: number
  memory?: MemoryLimits
  /** Most a worker may take to load the bundle. Default 30 s. */
  startTimeoutMs?: number
  /** The worker script; default `deadline-evaluator-worker.js` beside this module, or in `dist/`. */
  script?: URL
}

const INITIAL_BYTES = 256 * 1024
// Reserved, not allocated: the buffer grows to what the largest input (or answer) needs.
const MAX_BYTES = 256 * 1024 * 1024

/**
 * Evaluates one bundle under a deadline. WebAssembly evaluation is synchronous, so a policy that
 * loops would hold the thread that runs it for as long as it runs; only another thread can stop
 * it. The evaluation runs in a worker thread this thread waits for synchronously (`Atomics.wait`,
 * with the deadline as timeout), so callers keep a synchronous `evaluate`. Past the deadline the
 * worker is terminated (V8 stops WebAssembly mid-loop), `ERR_ENGINE_DEADLINE` is thrown, and a new
 * worker is started at once; the next evaluation waits for it if it is not ready yet.
 *
 * What it costs on the normal path is one round trip between two threads per evaluation
 * (`docs/benchmarks.md`, evaluation deadline).
 *
 * @example
 * ```ts
 * const evaluator = await DeadlineEvaluator.start(bundle, { deadlineMs: 500 })
 * const { resultSet } = evaluator.evaluate('mcp/decision', JSON.stringify(input))
 * await evaluator.close()
 * ```
 *
 * @internal
 */
export class DeadlineEvaluator {
  readonly #bundle: Bundle
  readonly #options: DeadlineEvaluatorOptions
  readonly #script: URL
  #buffer!: SharedArrayBuffer
  #slots!: Int32Array
  #worker: Worker | undefined
  #stops = 0
  #closed = false
  /** Why the last worker failed, when it said (an exception at its start). */
  #lastError: string | undefined

  private constructor(bundle: Bundle, options: DeadlineEvaluatorOptions) {
    this.#bundle = bundle
    this.#options = options
    this.#script = options.script ?? defaultWorkerScript()
  }

  /**
   * Starts the evaluation worker for `bundle` and waits until it has loaded it.
   *
   * @throws McpPolicyError `ERR_ENGINE_INSTANTIATE` when the worker cannot load the bundle.
   */
  static async start(bundle: Bundle, options: DeadlineEvaluatorOptions): Promise<DeadlineEvaluator> {
    const evaluator = new DeadlineEvaluator(bundle, options)
    evaluator.#spawn()
    await evaluator.#started()
    return evaluator
  }

  /** How many evaluations were stopped at the deadline. */
  get deadlineStops(): number {
    return this.#stops
  }

  /**
   * Evaluates `entrypoint` over serialized input JSON in the worker, as
   * `PolicyInstance.evaluate` does in this thread, within the deadline.
   *
   * @throws McpPolicyError `ERR_ENGINE_DEADLINE` past the deadline (the worker is replaced), the
   *   worker's own `ERR_ENGINE_*` errors, `ERR_ENGINE_INSTANTIATE` when no worker could be started.
   */
  evaluate(
    entrypoint: string,
    input: string | undefined,
    nd: NdOptions = {},
  ): { resultSet: unknown; ndBuiltinCache: NdBuiltinCache } {
    if (this.#closed) throw new McpPolicyError('ERR_ENGINE_NO_BUNDLE', 'the evaluator is closed')
    this.#waitUntilStarted()
    const header = JSON.stringify({ entrypoint, replay: nd.replay, onReplayMiss: nd.onReplayMiss })
    const headerBytes = this.#write(0, header)
    const inputBytes = input === undefined ? -1 : this.#write(headerBytes, input)
    const slots = this.#slots
    slots[Slot.HEADER] = headerBytes
    slots[Slot.INPUT] = inputBytes
    slots[Slot.LENGTH] = headerBytes + Math.max(inputBytes, 0)
    Atomics.store(slots, Slot.TURN, Turn.REQUEST)
    Atomics.notify(slots, Slot.TURN)
    const deadlineMs = deadlineFor(this.#options.deadlineMs, Math.max(inputBytes, 0))
    const until = performance.now() + deadlineMs
    // Spurious wake-ups aside, one wait: the worker notifies once it has written the answer.
    while (Atomics.load(slots, Slot.TURN) === Turn.REQUEST) {
      const left = until - performance.now()
      if (left <= 0 || Atomics.wait(slots, Slot.TURN, Turn.REQUEST, left) === 'timed-out') {
        if (Atomics.load(slots, Slot.TURN) !== Turn.REQUEST) break
        this.#stop()
        throw new McpPolicyError(
          'ERR_ENGINE_DEADLINE',
          `the policy evaluation of ${entrypoint} ran past the ${Math.round(deadlineMs)} ms deadline and was stopped`,
        )
      }
    }
    const answer = JSON.parse(this.#read(slots[Slot.LENGTH]!)) as DeadlineWorkerAnswer
    Atomics.store(slots, Slot.TURN, Turn.IDLE)
    if ('error' in answer) throw new McpPolicyError(engineCode(answer.error.code), answer.error.message)
    return answer
  }

  /** Stops the worker. */
  async close(): Promise<void> {
    this.#closed = true
    const worker = this.#worker
    this.#worker = undefined
    if (!worker) return
    Atomics.store(this.#slots, Slot.TURN, Turn.STOP)
    Atomics.notify(this.#slots, Slot.TURN)
    // Referenced until it has exited, so that awaiting this keeps the process alive.
    worker.ref()
    await worker.terminate()
  }

  /** A new worker on fresh shared memory (the old memory may be mid-write by a terminated worker). */
  #spawn(): void {
    this.#buffer = new SharedArrayBuffer(SLOTS_BYTES + INITIAL_BYTES, {
      maxByteLength: SLOTS_BYTES + MAX_BYTES,
    })
    this.#slots = new Int32Array(this.#buffer, 0, 4)
    const data: DeadlineWorkerData = {
      buffer: this.#buffer,
      bundle: this.#bundle,
      memory: this.#options.memory ?? {},
    }
    const worker = new Worker(this.#script, { workerData: data, execArgv: workerExecArgv() })
    // An idle evaluator must not keep the process alive; `close` ends it when the engine is done.
    worker.unref()
    const slots = this.#slots
    worker.on('error', (err) => {
      this.#lastError = err instanceof Error ? err.message : String(err)
    })
    worker.on('exit', () => {
      if (this.#worker !== worker) return
      // Died on its own (out of memory, a crash): the next evaluation starts a new one.
      this.#worker = undefined
      slots[Slot.LENGTH] = 0
      Atomics.store(slots, Slot.TURN, Turn.FAILED)
      Atomics.notify(slots, Slot.TURN)
    })
    this.#worker = worker
  }

  /** Terminates a worker stuck past the deadline and starts its replacement. */
  #stop(): void {
    this.#stops++
    const stuck = this.#worker
    this.#worker = undefined
    // terminate() stops the isolate at once (V8 TerminateExecution); the promise only reports exit.
    void stuck?.terminate()
    this.#spawn()
  }

  async #started(): Promise<void> {
    const limit = this.#options.startTimeoutMs ?? 30_000
    // Atomics.waitAsync holds no handle: the worker is referenced while it starts, or a process
    // with nothing else to do yet (a `serve` before it listens) would exit under the await.
    const worker = this.#worker
    worker?.ref()
    try {
      const wait = Atomics.waitAsync(this.#slots, Slot.TURN, Turn.STARTING, limit)
      if (wait.async) await wait.value
    } finally {
      worker?.unref()
    }
    this.#checkStarted()
  }

  #waitUntilStarted(): void {
    if (!this.#worker) this.#spawn()
    const slots = this.#slots
    if (Atomics.load(slots, Slot.TURN) === Turn.STARTING)
      Atomics.wait(slots, Slot.TURN, Turn.STARTING, this.#options.startTimeoutMs ?? 30_000)
    this.#checkStarted()
  }

  #checkStarted(): void {
    const turn = Atomics.load(this.#slots, Slot.TURN)
    if (turn === Turn.IDLE) return
    const why =
      turn === Turn.FAILED && this.#slots[Slot.LENGTH]! > 0
        ? this.#read(this.#slots[Slot.LENGTH]!)
        : turn === Turn.STARTING
          ? 'it did not start in time'
          : `it exited${this.#lastError ? ` (${this.#lastError})` : ''}`
    const stuck = this.#worker
    this.#worker = undefined
    void stuck?.terminate()
    throw new McpPolicyError('ERR_ENGINE_INSTANTIATE', `the policy evaluation worker failed: ${why}`)
  }

  /** Writes `text` as UTF-8 at `offset` of the payload, growing the buffer as needed; its bytes. */
  #write(offset: number, text: string): number {
    for (;;) {
      const payload = new Uint8Array(this.#buffer, SLOTS_BYTES + offset)
      const { read, written } = encoder.encodeInto(text, payload)
      if (read === text.length) return written
      const needed = SLOTS_BYTES + offset + text.length * 3
      if (needed > this.#buffer.maxByteLength)
        throw new McpPolicyError(
          'ERR_INPUT_TOO_LARGE',
          `the input is too large to evaluate (${text.length} characters)`,
        )
      this.#buffer.grow(needed)
    }
  }

  #read(length: number): string {
    return Buffer.from(this.#buffer, SLOTS_BYTES, length).toString('utf8')
  }
}

const encoder = new TextEncoder()

/**
 * The Node options a worker thread is started with: this process's, less those a worker refuses
 * (`--input-type`, given with `node -e`, makes a worker exit at once).
 *
 * @internal
 */
export function workerExecArgv(): string[] {
  const argv: string[] = []
  for (let i = 0; i < process.execArgv.length; i++) {
    const arg = process.execArgv[i]!
    if (arg === '--input-type') i++
    else if (!arg.startsWith('--input-type=')) argv.push(arg)
  }
  return argv
}

/** An error code the worker reported, kept when it is an engine code, else a trap. */
function engineCode(code: string): McpPolicyErrorCode {
  return Object.hasOwn(errorTable, code) && (code.startsWith('ERR_ENGINE_') || code.startsWith('ERR_INPUT_'))
    ? (code as McpPolicyErrorCode)
    : 'ERR_ENGINE_TRAP'
}

/**
 * `deadline-evaluator-worker.js` beside this module when it is JavaScript (dist/, an installed
 * package); from the TypeScript sources (tests), the built one in `dist/`: a worker runs JavaScript.
 */
function defaultWorkerScript(): URL {
  const beside = new URL('./deadline-evaluator-worker.js', import.meta.url)
  if (existsSync(fileURLToPath(beside))) return beside
  return pathToFileURL(join(packageRoot(), 'dist/src/engine/deadline-evaluator-worker.js'))
}
