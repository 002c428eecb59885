import type { RequestContext } from './input-document.js'

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'] as const

/**
 * `context.time` of input document v1, so policies can write time windows without calling
 * `time.now_ns` (which would make them non-deterministic). Formatting a date costs more than the
 * rest of a normalization step, so requests within the same millisecond share one formatted value.
 *
 * @example
 * ```ts
 * new TimeContext().at(new Date('2025-11-24T13:05:00Z')) // { ns: 1763989500000000000, rfc3339: '2025-11-24T13:05:00.000Z', weekday: 'Mon', hour_utc: 13 }
 * ```
 */
export class TimeContext {
  #lastMs = Number.NaN
  #last: Readonly<RequestContext['time']> | undefined

  at(now: Date): RequestContext['time'] {
    const ms = now.getTime()
    if (ms !== this.#lastMs || !this.#last) {
      this.#lastMs = ms
      this.#last = Object.freeze({
        ns: ms * 1e6,
        rfc3339: now.toISOString(),
        weekday: WEEKDAYS[now.getUTCDay()]!,
        hour_utc: now.getUTCHours(),
      })
    }
    return { ...this.#last }
  }
}
