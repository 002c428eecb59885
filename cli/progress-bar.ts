/** Where a {@link ProgressBar} draws: a TTY stream (its `columns` set the width). */
export interface ProgressStream {
  write(text: string): unknown
  columns?: number
}

/** Options for {@link ProgressBar}. */
export interface ProgressBarOptions {
  /** Word before the bar, e.g. `replaying`. */
  label: string
  /** What is counted, e.g. `decisions`. */
  unit: string
  /** Clock in milliseconds (injected by tests). Default `Date.now`. */
  now?: () => number
  /** Least time between redraws, so a fast loop does not spend its time drawing. Default 100 ms. */
  redrawMs?: number
}

/**
 * A one-line progress bar for a TTY: `replaying [████░░░░] 42% 12,345 decisions 3,210/s ETA 0:12`,
 * redrawn in place with a carriage return and at most every `redrawMs`. The caller decides that the
 * stream is a TTY; piped output never gets control characters.
 *
 * @example
 * ```ts
 * const bar = new ProgressBar(process.stderr, { label: 'replaying', unit: 'decisions' })
 * bar.update(1000, { done: 4096, total: 65536 })
 * bar.finish(2000)
 * ```
 */
export class ProgressBar {
  readonly #stream: ProgressStream
  readonly #options: Required<ProgressBarOptions>
  readonly #started: number
  #lastDraw = Number.NEGATIVE_INFINITY
  #drawn = false

  constructor(stream: ProgressStream, options: ProgressBarOptions) {
    this.#stream = stream
    this.#options = { now: Date.now, redrawMs: 100, ...options }
    this.#started = this.#options.now()
  }

  /** Records progress: `count` items so far, `bytes.done` of `bytes.total` read. */
  update(count: number, bytes: { done: number; total: number }): void {
    const now = this.#options.now()
    if (now - this.#lastDraw < this.#options.redrawMs) return
    this.#lastDraw = now
    this.#draw(count, bytes, now)
  }

  /** Draws the final state (100 %) and ends the line. Writes nothing if nothing was ever drawn. */
  finish(count: number): void {
    if (!this.#drawn) return
    this.#draw(count, { done: 1, total: 1 }, this.#options.now())
    this.#stream.write('\n')
  }

  #draw(count: number, bytes: { done: number; total: number }, now: number): void {
    const fraction = bytes.total > 0 ? Math.min(1, Math.max(0, bytes.done / bytes.total)) : 0
    const seconds = (now - this.#started) / 1000
    const rate = seconds > 0 ? count / seconds : 0
    const eta = fraction > 0 && fraction < 1 ? (seconds * (1 - fraction)) / fraction : 0
    const tail = ` ${String(Math.floor(fraction * 100)).padStart(3)}% ${count.toLocaleString('en-US')} ${this.#options.unit} ${Math.round(rate).toLocaleString('en-US')}/s${fraction < 1 ? ` ETA ${clock(eta)}` : ''}`
    // A pseudo-terminal with no size set reports 0 columns: treat it like an unknown width.
    const columns = this.#stream.columns || 80
    const width = Math.max(10, Math.min(40, columns - this.#options.label.length - tail.length - 4))
    const filled = Math.round(fraction * width)
    const line = `${this.#options.label} [${'█'.repeat(filled)}${'░'.repeat(width - filled)}]${tail}`
    // \r and erase-to-end-of-line: redraw in place even when the new line is shorter.
    this.#stream.write(`\r${line.slice(0, Math.max(1, columns - 1))}\x1b[K`)
    this.#drawn = true
  }
}

function clock(seconds: number): string {
  const s = Math.round(seconds)
  const h = Math.floor(s / 3600)
  const m = Math.floor((s % 3600) / 60)
  const mm = h > 0 ? String(m).padStart(2, '0') : String(m)
  return `${h > 0 ? `${h}:` : ''}${mm}:${String(s % 60).padStart(2, '0')}`
}
