/**
 * Which evaluation a thread is running and since when, in memory another thread can read while
 * this one is stuck in WebAssembly. Evaluation is synchronous: a thread whose policy loops cannot
 * say so itself, so the thread that started it (the gateway's decision pool) reads this clock and
 * terminates it once an evaluation has run past its deadline.
 *
 * Three 64-bit slots, written with `Atomics.store` (a few nanoseconds per evaluation): the job of
 * the evaluation running (0: none), when it started (`process.hrtime.bigint()`, one monotonic clock
 * for every thread of the process), and the last job the thread has received.
 *
 * @example
 * ```ts
 * const clock = new EvaluationClock() // in the pool; clock.buffer goes to the worker
 * const engine = new PolicyEngine({ clock: new EvaluationClock(clock.buffer) }) // in the worker
 * const running = clock.running() // in the pool: { job, since } while an evaluation runs
 * ```
 *
 * @internal
 */
export class EvaluationClock {
  /** The shared memory: hand it to the thread that evaluates (`workerData`). */
  readonly buffer: SharedArrayBuffer
  readonly #slots: BigInt64Array

  /** A new clock, or a view of one another thread made (its `buffer`). */
  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(SLOTS * 8)) {
    this.buffer = buffer
    this.#slots = new BigInt64Array(buffer, 0, SLOTS)
  }

  /**
   * An evaluation of `job` (a positive number; -1 when the caller names none) starts at `since`,
   * on an input of `inputChars` characters of JSON (what the deadline allows grows with it).
   */
  begin(job: number, since: bigint, inputChars = 0): void {
    // The time and size first: a reader that sees the job sees its start and size.
    Atomics.store(this.#slots, SINCE, since)
    Atomics.store(this.#slots, SIZE, BigInt(inputChars))
    Atomics.store(this.#slots, JOB, BigInt(job))
  }

  /** The evaluation begun last has ended (returned or thrown). */
  end(): void {
    Atomics.store(this.#slots, JOB, 0n)
  }

  /** The thread has received `job`: whatever was sent to it before is received too. */
  received(job: number): void {
    Atomics.store(this.#slots, RECEIVED, BigInt(job))
  }

  /** The last job the thread received (0 before any). */
  lastReceived(): number {
    return Number(Atomics.load(this.#slots, RECEIVED))
  }

  /**
   * The evaluation running now: its job (-1 when unnamed) and start, or undefined when none runs
   * (or one ended and another began while reading: the next reading sees the new one whole).
   */
  running(): { job: number; since: bigint; inputChars: number } | undefined {
    const job = Atomics.load(this.#slots, JOB)
    if (job === 0n) return undefined
    const since = Atomics.load(this.#slots, SINCE)
    const inputChars = Number(Atomics.load(this.#slots, SIZE))
    if (Atomics.load(this.#slots, JOB) !== job) return undefined
    return { job: Number(job), since, inputChars }
  }
}

const JOB = 0
const SINCE = 1
const RECEIVED = 2
const SIZE = 3
const SLOTS = 4
