/**
 * One read-side phase of the decision-log benchmark, run in a fresh process as `mcp-policy
 * verify-log` or `mcp-policy replay` would be: `verify`, `verify-strict` or `replay` over a log
 * directory. Prints `{ events, seconds, maxRssMiB }` as JSON.
 *
 * A fresh process per phase, because the benchmark's own process is not what a user runs: after
 * its forced full GCs (the in-process phases start from a clean heap), verify ran there at
 * 140,000–180,000 events/s, against 250,000–350,000 in a new process on the same log. A forced GC
 * also shrinks V8's young generation, and verify allocates a little per line. The time is taken
 * inside the process, after start-up (about 0.2 s of module loading).
 */
import { createPublicKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { replayLog, verifyLog } from '../../src/index.js'

const [phase, logDir, keyFile, store] = process.argv.slice(2) as [string, string, string, string]
const key = createPublicKey(await readFile(keyFile, 'utf8'))
const start = process.hrtime.bigint()
let events: number
if (phase === 'replay') {
  const report = await replayLog([logDir], { bundleStore: store })
  if (report.same !== report.events) throw new Error(`replay reproduced ${report.same}/${report.events}`)
  events = report.events
} else {
  const report = await verifyLog([logDir], { key, strict: phase === 'verify-strict' })
  if (!report.intact) throw new Error(`bench log not intact: ${report.findings[0]?.message}`)
  events = report.chains.reduce((n, c) => n + c.events, 0)
}
const seconds = Number(process.hrtime.bigint() - start) / 1e9
process.stdout.write(
  `${JSON.stringify({ events, seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024 })}\n`,
)
