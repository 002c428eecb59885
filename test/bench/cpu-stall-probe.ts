/**
 * Measures how often this process loses its CPU: it spins for `--seconds`, reading the clock, and
 * every gap between two reads longer than 20 µs is time the core did not run it (the host
 * preempting the virtual CPU, interrupts, other tasks). Run pinned to one core by the caller
 * (`taskset -c N`). Prints one JSON line. Not a test: it measures the machine under a benchmark.
 *
 * A request that arrives during a stall waits for the rest of it, so the share of time spent in
 * stalls of 2 ms or more bounds how small any server's p99 on that core can be.
 *
 * Usage: `node cpu-stall-probe.js --seconds S`
 */
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '3' } } })
const durationMs = Number(values.seconds) * 1000

// Preallocated: the spin loop must not allocate, or its own GC would show as stalls.
const gaps = new Float64Array(1_000_000)
let count = 0
const start = performance.now()
const end = start + durationMs
let last = start
while (last < end) {
  const now = performance.now()
  if (now - last > 0.02 && count < gaps.length) gaps[count++] = now - last
  last = now
}
const wallMs = last - start
const stalls = gaps.subarray(0, count)
/** Percent of wall time spent in stalls at least `ms` long. */
const shareAtLeast = (ms: number) => {
  let sum = 0
  for (const gap of stalls) if (gap >= ms) sum += gap
  return (100 * sum) / wallMs
}
let longest = 0
for (const gap of stalls) longest = Math.max(longest, gap)
process.stdout.write(
  `${JSON.stringify({
    wallMs,
    stalls: count,
    pctInStallsOver0_1ms: shareAtLeast(0.1),
    pctInStallsOver1ms: shareAtLeast(1),
    pctInStallsOver2ms: shareAtLeast(2),
    longestMs: longest,
  })}\n`,
)
