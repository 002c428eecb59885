// autocannon ships no type declarations; these cover what the PDP benchmark uses.
declare module 'autocannon' {
  import type { EventEmitter } from 'node:events'

  interface Options {
    url: string
    method?: string
    headers?: Record<string, string>
    body?: string
    connections?: number
    /** Seconds. */
    duration?: number
    /** Requests per second over all connections (enforced per one-second tick). */
    overallRate?: number
    pipelining?: number
  }

  interface Stats {
    average: number
    mean: number
    stddev: number
    min: number
    max: number
    p50: number
    p99: number
  }

  interface Result {
    requests: Stats
    latency: Stats
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    '2xx': number
  }

  /** Thenable: resolves with the result when the run ends. */
  interface Instance extends EventEmitter, PromiseLike<Result> {}

  function autocannon(options: Options): Instance
  export default autocannon
}
