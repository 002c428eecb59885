/**
 * Engine benchmark (`npm run bench`): decisions per second on one core, per-decision latency
 * percentiles and RSS over 1,000,000 evaluations of the default bundle on a realistic tools/call,
 * with `opa bench` (OPA's own evaluator) on the same policy, data and input in the same run.
 * A benchmark, not a test: it asserts nothing, it reports.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { CanonicalText } from '../../src/canonical-json.js'
import { buildBundle, PolicyEngine, resolveOpa } from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'
import { opaBench } from './opa-bench.js'

const iterations = Number(process.env.BENCH_ITERATIONS ?? 1_000_000)
// RSS steps once while V8 tiers the WebAssembly and JS up (seen between 250k and 500k calls), then
// stays flat: warm up past that so "growth" measures leaks, not tier-up.
const warmup = Math.min(500_000, iterations / 2)
const root = packageRoot()
const inputPath = join(root, 'test/fixtures/tools-call.json')
const input = JSON.parse(readFileSync(inputPath, 'utf8'))

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

function measure(name: string, run: () => unknown) {
  // The sample buffer (8 MB for 1M samples) exists before the RSS baseline, so it is not counted as growth.
  // Touch every page now: the OS commits pages on first write, which would otherwise show as growth.
  const samples = new Float64Array(iterations).fill(-1)
  for (let i = 0; i < warmup; i++) run()
  globalThis.gc?.()
  const rssAfterWarmup = process.memoryUsage().rss
  const rssQuarters: number[] = []
  const started = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint()
    run()
    samples[i] = Number(process.hrtime.bigint() - t0)
    if ((i + 1) % (iterations / 4) === 0) rssQuarters.push(process.memoryUsage().rss / 2 ** 20)
  }
  const totalNs = Number(process.hrtime.bigint() - started)
  globalThis.gc?.()
  const rssEnd = process.memoryUsage().rss
  samples.sort()
  return {
    name,
    perSecond: iterations / (totalNs / 1e9),
    p50: percentile(samples, 50) / 1000,
    p99: percentile(samples, 99) / 1000,
    rssWarmMiB: rssAfterWarmup / 2 ** 20,
    rssEndMiB: rssEnd / 2 ** 20,
    rssGrowthPct: ((rssEnd - rssAfterWarmup) / rssAfterWarmup) * 100,
    rssQuarters,
  }
}

const opa = await resolveOpa()
const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-bench-'))
/** Builds a bundle with the project's build (capabilities, -O level) and loads it in an engine. */
async function buildAndLoad(bundleDir: string, regoDir: string, name: string) {
  const built = await buildBundle({
    bundleDir,
    regoDir,
    out: join(dir, `${name}.tar.gz`),
    bundleStore: join(dir, 'store'),
    opa,
  })
  return { built, engine: await PolicyEngine.fromBundleFile(built.path) }
}
const { built, engine } = await buildAndLoad(join(root, 'bundles/default'), join(root, 'rego'), 'default')
const check = engine.decide(input)
if (check.error) throw check.error

// Serialized once, as the PDP does per request (CanonicalText: the engine evaluates it as it is).
const inputJson = CanonicalText.of(input)
const results = [
  measure('mcp-policy decide(object) (stringify + validated decision)', () => engine.decide(input)),
  measure('mcp-policy decideJson(CanonicalText) (input serialized once by the caller, as the PDP)', () =>
    engine.decideJson(inputJson),
  ),
  measure('mcp-policy evaluate() (raw result)', () => engine.evaluate('mcp/decision', input)),
]
// The floor: a bundle whose decision is a constant, so OPA's WebAssembly runtime does everything but
// policy work (parse the input into its heap, evaluate, dump the result) and the engine checks the
// decision as usual. With the same input it is the most any policy can reach on this input; with
// `{}` it separates the module's JSON parse of the input from the fixed cost of a call.
const floorDir = join(dir, 'floor')
await mkdir(join(floorDir, 'bundle'), { recursive: true })
await mkdir(join(floorDir, 'rego'), { recursive: true })
await writeFile(
  join(floorDir, 'bundle', '.manifest'),
  JSON.stringify({ revision: '', roots: ['mcp'], metadata: { name: 'floor', entrypoints: [] } }),
)
await writeFile(join(floorDir, 'bundle', 'data.json'), '{}')
await writeFile(
  join(floorDir, 'rego', 'floor.rego'),
  'package mcp\n\ndecision := {"allow": true, "status": 200, "reasons": [], "obligations": {}}\n\nresponse := {"allow": true, "redactions": [], "reasons": []}\n',
)
const { engine: floorEngine } = await buildAndLoad(join(floorDir, 'bundle'), join(floorDir, 'rego'), 'floor')
const emptyInput = CanonicalText.of({})
const floorCheck = floorEngine.decideJson(inputJson)
if (floorCheck.error) throw floorCheck.error
const floors = [
  measure('floor: constant decision, same input (OPA WASM runtime, no rules)', () =>
    floorEngine.decideJson(inputJson),
  ),
  measure('floor: constant decision, input `{}`', () => floorEngine.decideJson(emptyInput)),
]

const peer = opaBench(opa, {
  query: 'data.mcp.decision',
  dataFile: join(root, 'bundles/default/data.json'),
  inputFile: inputPath,
})

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')
console.log(
  `\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, OPA ${execFileSync(opa, ['version'], { encoding: 'utf8' }).split('\n')[0]}`,
)
console.log(
  `input: test/fixtures/tools-call.json (allowed tools/call), bundle ${built.digest.slice(0, 19)}…, -O ${built.optimization}`,
)
console.log(`samples: ${iterations} evaluations after ${warmup} warm-up; opa bench median of 5 runs\n`)
console.log('| engine | decisions/s | p50 µs | p99 µs | RSS after warm-up MiB | RSS end MiB | RSS growth |')
console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const r of results) {
  console.log(
    `| ${r.name} | ${fmt(r.perSecond, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.rssWarmMiB)} | ${fmt(r.rssEndMiB)} | ${fmt(r.rssGrowthPct, 2)} % |`,
  )
}
for (const r of floors) {
  console.log(
    `| ${r.name} | ${fmt(r.perSecond, 0)} | ${fmt(r.p50, 2)} | ${fmt(r.p99, 2)} | ${fmt(r.rssWarmMiB)} | ${fmt(r.rssEndMiB)} | ${fmt(r.rssGrowthPct, 2)} % |`,
  )
}
for (const r of [...results, ...floors]) {
  console.log(
    `<!-- ${r.name}: RSS MiB at 25/50/75/100 %: ${r.rssQuarters.map((v) => v.toFixed(1)).join(' / ')} -->`,
  )
}
console.log(
  `| opa bench (OPA's Go evaluator; median of 5 runs of its own N) | ${fmt(peer.perSecond, 0)} | ${fmt(peer.p50, 2)} | ${fmt(peer.p99, 2)} | – | – | – |`,
)
const perCall = (r: { perSecond: number }) => 1e6 / r.perSecond
console.log(
  `\nper decision (µs, from throughput): decideJson ${fmt(perCall(results[1]!), 2)} = floor ${fmt(perCall(floors[0]!), 2)} ` +
    `(of which the module's parse of this input ${fmt(perCall(floors[0]!) - perCall(floors[1]!), 2)}) + the reference policy's rules ${fmt(perCall(results[1]!) - perCall(floors[0]!), 2)}`,
)
console.log(
  `\nthroughput ratio vs opa bench: decide(object) ${fmt(results[0]!.perSecond / peer.perSecond, 2)}×, decideJson ${fmt(results[1]!.perSecond / peer.perSecond, 2)}×`,
)
