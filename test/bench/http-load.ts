/**
 * A small HTTP load generator for the PDP benchmark, run as its own process (pinned to a core of
 * its own by the caller) so it does not share a core with the server it measures. Not a test.
 *
 * Two modes, one JSON line of results on stdout:
 * - **closed loop** (`--rate 0`): `--connections` loops, each sending its next request when the
 *   previous answer arrives; finds peak throughput.
 * - **open loop** (`--rate N`): requests are scheduled every 1/N s whatever the server does, as
 *   wrk2 does, and each latency is measured from the request's *scheduled* time, not from when a
 *   connection was free to send it. A server that stalls therefore shows the stall in every
 *   request queued behind it (no coordinated omission), and a rate above capacity shows as
 *   growing latency instead of a quietly lower rate.
 *
 * The open loop first opens every connection and runs one second at the rate unrecorded.
 *
 * Usage: `node http-load.js --url URL --body FILE --seconds S --connections C --rate N`
 */
import { readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'
import { parseArgs } from 'node:util'
import { Pool } from 'undici'

const { values } = parseArgs({
  options: {
    url: { type: 'string' },
    body: { type: 'string' },
    seconds: { type: 'string', default: '5' },
    connections: { type: 'string', default: '8' },
    rate: { type: 'string', default: '0' },
  },
})
if (!values.url || !values.body) throw new Error('--url and --body are required')
const url = new URL(values.url)
const body = readFileSync(values.body)
const seconds = Number(values.seconds)
const connections = Number(values.connections)
const rate = Number(values.rate)

const pool = new Pool(url.origin, { connections, pipelining: 1, keepAliveTimeout: 60_000 })
// Milliseconds from performance.now(): a double, so the spinning scheduler allocates nothing per
// turn (process.hrtime.bigint() made a BigInt per turn, and the scavenges it caused — up to 6 ms —
// showed up as server latency).
const latenciesMs: number[] = []
let non2xx = 0
let errors = 0

async function send(scheduledAt: number): Promise<void> {
  try {
    const response = await pool.request({
      path: url.pathname,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    await response.body.dump()
    if (response.statusCode === 200) latenciesMs.push(performance.now() - scheduledAt)
    else non2xx++
  } catch {
    errors++
  }
}

async function closedLoop(): Promise<number> {
  const started = performance.now()
  const end = started + seconds * 1000
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < end) await send(performance.now())
    }),
  )
  return (performance.now() - started) / 1000
}

async function openLoop(): Promise<number> {
  // Open every connection and run one second at the rate unrecorded first: connection set-up
  // and the server's first requests on each socket are not what a steady load looks like.
  await Promise.all(Array.from({ length: connections }, () => send(performance.now())))
  await schedule(rate)
  latenciesMs.length = 0
  non2xx = 0
  errors = 0
  return schedule(rate * seconds)
}

/** Sends `total` requests at `rate` per second from now; resolves when all are answered. */
async function schedule(total: number): Promise<number> {
  total = Math.round(total)
  const intervalMs = 1000 / rate
  const started = performance.now()
  const inFlight: Promise<void>[] = []
  let next = 0
  // Spin on this core (it is ours): each turn sends every request whose time has come, then
  // yields to I/O so answers are read as they arrive.
  await new Promise<void>((resolve) => {
    const tick = () => {
      const elapsed = performance.now() - started
      while (next < total && next * intervalMs <= elapsed) {
        inFlight.push(send(started + next * intervalMs))
        next++
      }
      if (next < total) setImmediate(tick)
      else resolve()
    }
    tick()
  })
  await Promise.all(inFlight)
  // The time the schedule spans (not until the last answer), so achieved req/s reads as the rate.
  return total / rate
}

const elapsed = rate > 0 ? await openLoop() : await closedLoop()
await pool.close()
latenciesMs.sort((a, b) => a - b)
const at = (p: number) =>
  latenciesMs.length === 0
    ? null
    : latenciesMs[Math.min(latenciesMs.length - 1, Math.floor((p / 100) * latenciesMs.length))]!
process.stdout.write(
  `${JSON.stringify({
    mode: rate > 0 ? 'open' : 'closed',
    connections,
    rate,
    ok: latenciesMs.length,
    rps: latenciesMs.length / elapsed,
    non2xx,
    errors,
    p50: at(50),
    p99: at(99),
    p999: at(99.9),
    max: at(100),
  })}\n`,
)
