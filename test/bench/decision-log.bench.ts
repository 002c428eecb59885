/**
 * Decision-log benchmark (`npm run bench`): append in batch mode, then streamed verify and replay
 * of the same log, then shipping it to a loopback collector, reporting events/s and peak RSS
 * (constant memory is the point for verify/replay).
 * Not a test. `BENCH_LOG_EVENTS` sets the log size (default 1,000,000).
 */

import { execFile } from 'node:child_process'
import { generateKeyPairSync } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { erasePointers } from '../../src/audit/erase-pointers.js'
import { CanonicalText } from '../../src/canonical-json.js'
import { buildBundle, DecisionLog, LogShipper, PolicyEngine } from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'

const run = promisify(execFile)
const events = Number(process.env.BENCH_LOG_EVENTS ?? 1_000_000)
const root = packageRoot()
const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-log-bench-'))
const store = join(dir, 'store')
const built = await buildBundle({
  bundleDir: join(root, 'bundles/default'),
  regoDir: join(root, 'rego'),
  out: join(dir, 'b.tar.gz'),
  bundleStore: store,
})
const engine = await PolicyEngine.fromBundleFile(built.path)
const input = JSON.parse(await readFile(join(root, 'test/fixtures/tools-call.json'), 'utf8'))
const outcome = engine.decide(input)
const bundles = {
  [outcome.bundle!.name]: { revision: outcome.bundle!.revision, digest: outcome.bundle!.digest },
}
const { privateKey, publicKey } = generateKeyPairSync('ed25519')

let peakRss = 0
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
}, 50)
const rows: string[] = []
async function phase(name: string, run: () => Promise<void>) {
  globalThis.gc?.()
  peakRss = process.memoryUsage().rss
  const start = process.hrtime.bigint()
  await run()
  const seconds = Number(process.hrtime.bigint() - start) / 1e9
  rows.push(
    `| ${name} | ${Math.round(events / seconds).toLocaleString('en-US')} | ${seconds.toFixed(1)} | ${(peakRss / 2 ** 20).toFixed(0)} |`,
  )
}

const logDir = join(dir, 'log')
/** Appends `events` records to a new log in `into`, 256 in flight, as a PDP serving concurrent requests. */
async function appendAll(into: string, canonicalInput?: CanonicalText) {
  const log = await DecisionLog.open({
    dir: into,
    durability: 'batch',
    signingKey: privateKey,
    checkpointEvery: 1000,
  })
  let inflight: Promise<unknown>[] = []
  for (let i = 0; i < events; i++) {
    inflight.push(
      log.append({
        path: 'mcp/decision',
        input,
        canonicalInput,
        result: outcome.decision,
        bundles,
        metrics: outcome.metrics,
        nd_builtin_cache: outcome.ndBuiltinCache,
      }),
    )
    if (inflight.length >= 256) {
      await Promise.all(inflight)
      inflight = []
    }
  }
  await Promise.all(inflight)
  await log.close()
}
await phase('append, batch mode (group commit, fsync per batch, checkpoint every 1,000)', () =>
  appendAll(logDir),
)
// The PDP canonicalizes each input once, evaluates that text and hands it to the log, which then
// does not walk the input again (src/pdp/decision-service.ts). Here it is made once for all.
await phase('append, batch mode, input handed over as canonical JSON (as the PDP does)', () =>
  appendAll(join(dir, 'log-canonical-input'), CanonicalText.of(input)),
)
await rm(join(dir, 'log-canonical-input'), { recursive: true, force: true })

// The read side runs as its users run it: a fresh process per phase (see log-reader-phase.ts).
const keyFile = join(dir, 'checkpoint-key.pem')
await writeFile(keyFile, publicKey.export({ type: 'spki', format: 'pem' }))
async function readerPhase(name: string, kind: 'verify' | 'verify-strict' | 'replay') {
  const child = fileURLToPath(new URL('./log-reader-phase.js', import.meta.url))
  const { stdout } = await run(process.execPath, [child, kind, logDir, keyFile, store], {
    maxBuffer: 1024 * 1024,
  })
  const result = JSON.parse(stdout) as { events: number; seconds: number; maxRssMiB: number }
  if (result.events !== events) throw new Error(`${kind} read ${result.events}/${events} events`)
  rows.push(
    `| ${name} | ${Math.round(events / result.seconds).toLocaleString('en-US')} | ${result.seconds.toFixed(1)} | ${result.maxRssMiB.toFixed(0)} |`,
  )
}
await readerPhase('verify-log (hashes, chain, checkpoints), streamed, new process', 'verify')
await readerPhase('verify-log --strict (every line also parsed as JSON), new process', 'verify-strict')
await readerPhase('replay against the recorded bundle, streamed, one core, new process', 'replay')
await phase('ship to a loopback collector (gzip JSON arrays of 1,000, collector in-process)', async () => {
  // The collector gunzips and counts in this same process: the number is a floor for the shipper.
  let received = 0
  const collector = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      received += (JSON.parse(gunzipSync(Buffer.concat(chunks)).toString()) as unknown[]).length
      res.writeHead(200).end()
    })
  })
  await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve))
  const shipper = await LogShipper.start({
    dir: logDir,
    url: `http://127.0.0.1:${(collector.address() as AddressInfo).port}`,
    maxBatchEvents: 1000,
    maxBatchBytes: 4 * 1024 * 1024,
  })
  await shipper.drain()
  await shipper.stop()
  await new Promise((resolve) => collector.close(resolve))
  if (received !== events) throw new Error(`collector received ${received}/${events}`)
})
clearInterval(sampler)

// Masking cost against a request that chooses both the number of masked names and the size of the
// object they sit in (what a caller without a token can send): it must grow with the object, not
// with names × object.
const eraseRows: string[] = []
for (const keys of [20_000, 80_000]) {
  const args: Record<string, unknown> = {}
  for (let i = 0; i < keys; i++) args[`k${i}`] = i
  for (let i = 0; i < 32; i++) args[`Token${i}`] = 'secret'
  const request = { mcp: { tool: { arguments: args }, params: { arguments: args } } }
  for (const names of [1, 32]) {
    const pointers = Array.from({ length: names }, (_, i) => [
      `/mcp/tool/arguments/Token${i}`,
      `/mcp/params/arguments/Token${i}`,
    ]).flat()
    const runs = 10
    const start = process.hrtime.bigint()
    for (let r = 0; r < runs; r++) erasePointers(request, pointers)
    const ms = Number(process.hrtime.bigint() - start) / 1e6 / runs
    eraseRows.push(`| ${keys.toLocaleString('en-US')} | ${pointers.length} | ${ms.toFixed(1)} |`)
  }
}
console.log(
  `\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; ${events.toLocaleString('en-US')} events of ~2 KB (test/fixtures/tools-call.json)\n`,
)
console.log('| phase | events/s | seconds | peak RSS MiB |')
console.log('| --- | ---: | ---: | ---: |')
for (const row of rows) console.log(row)
console.log('\nerasePointers (log masking), mean of 10 calls:\n')
console.log('| keys in the arguments object | pointers | ms per call |')
console.log('| ---: | ---: | ---: |')
for (const row of eraseRows) console.log(row)
await rm(dir, { recursive: true, force: true })
