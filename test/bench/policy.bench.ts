/**
 * Reference-policy benchmark (`npm run bench`): the engine on four realistic requests — an allowed
 * tools/call, a denied one, a tools/list over a 200-tool catalog, and mcp/response on a 64 KiB tool
 * result — with `opa bench` on the same query, policy, data and input in the same run.
 * A benchmark, not a test: it asserts nothing, it reports.
 */
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { cp, mkdtemp, writeFile } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBundle, PolicyEngine, resolveOpa } from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'
import { opaBench } from './opa-bench.js'

const root = packageRoot()
const scale = Number(process.env.BENCH_SCALE ?? 1)
const opa = await resolveOpa()
const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-policy-bench-'))

// The default data plus a 200-tool catalog server, so tools/list has something to filter.
const data = JSON.parse(readFileSync(join(root, 'bundles/default/data.json'), 'utf8'))
const catalog = Object.fromEntries(
  Array.from({ length: 200 }, (_, i) => [`${['get', 'list', 'create', 'delete'][i % 4]}_item_${i}`, {}]),
)
data.mcp_data.servers.catalog = { classification: 'internal', tools: catalog }
data.mcp_data.grants.roles.developer.tools.catalog = ['get_*', 'list_*', 'create_*']
data.mcp_data.grants.clients['claude-desktop'].tools.catalog = ['*']
await cp(join(root, 'bundles/default'), join(dir, 'bundle'), { recursive: true })
await writeFile(join(dir, 'bundle', 'data.json'), JSON.stringify(data))
const built = await buildBundle({
  bundleDir: join(dir, 'bundle'),
  regoDir: join(root, 'rego'),
  out: join(dir, 'bench.tar.gz'),
  bundleStore: join(dir, 'store'),
  opa,
})
const engine = await PolicyEngine.fromBundleFile(built.path)

const allowed = JSON.parse(readFileSync(join(root, 'test/fixtures/tools-call.json'), 'utf8'))
const denied = structuredClone(allowed)
denied.subject.roles = ['support']
const list = structuredClone(allowed)
list.mcp = { kind: 'request', method: 'tools/list', id: 8, params: {} }
list.server = { id: 'catalog', resource: 'https://mcp.example.com/catalog' }
// 64 KiB of tool output with a few findings the DLP rules must redact for an internal model.
const line = 'ledger entry 2025-11-24 account 4417 balance 1203.55 status settled reference ABCDEFGH\n'
let text = ''
while (text.length < 64 * 1024) text += line
text = `${text.slice(0, 30_000)}contact: alice@example.com\nkey AKIAIOSFODNN7EXAMPLE\n${text.slice(30_000, 64 * 1024 - 64)}`
const response = {
  request: allowed,
  result: { content: [{ type: 'text', text }] },
  destination: { model: 'internal' },
}

// Many short texts, one e-mail address each, for a public model: every text needs a redaction.
// 200 stay under the policy's max_redactions (redacted); 2,000 exceed it (blocked). The cost must
// grow with the result's size, not with the square of the number of findings.
const shortTexts = (n: number) => ({
  request: allowed,
  result: {
    content: Array.from({ length: n }, (_, i) => ({
      type: 'text',
      text: `row ${i}: contact user${i}@example.com`,
    })),
  },
  destination: { model: 'public' },
})
const manyRedactions = shortTexts(200)
const tooManyRedactions = shortTexts(2_000)
const judgementOutcome = (input: unknown) => {
  const { judgement } = engine.judgeResponse(input)
  return judgement.allow
    ? `${judgement.redactions.length} redactions`
    : judgement.reasons.map((r) => r.code).join(',')
}

function shortTextsScenario(name: string, input: unknown, iterations: number): Scenario {
  return {
    name,
    query: 'data.mcp.response',
    input,
    run: () => engine.judgeResponse(input),
    iterations: iterations * scale,
    outcome: () => judgementOutcome(input),
  }
}

interface Scenario {
  name: string
  query: 'data.mcp.decision' | 'data.mcp.response'
  input: unknown
  run: () => unknown
  iterations: number
  outcome: () => string
}
const scenarios: Scenario[] = [
  {
    name: 'allowed tools/call',
    query: 'data.mcp.decision',
    input: allowed,
    run: () => engine.decide(allowed),
    iterations: 200_000 * scale,
    outcome: () => JSON.stringify(engine.decide(allowed).decision.allow),
  },
  {
    name: 'denied tools/call (not_granted)',
    query: 'data.mcp.decision',
    input: denied,
    run: () => engine.decide(denied),
    iterations: 200_000 * scale,
    outcome: () =>
      engine
        .decide(denied)
        .decision.reasons.map((r) => r.code)
        .join(','),
  },
  {
    name: 'tools/list, 200-tool catalog',
    query: 'data.mcp.decision',
    input: list,
    run: () => engine.decide(list),
    iterations: 5_000 * scale,
    outcome: () => `${engine.decide(list).decision.obligations.visible_tools?.length} visible`,
  },
  {
    name: 'mcp/response, 64 KiB result',
    query: 'data.mcp.response',
    input: response,
    run: () => engine.judgeResponse(response),
    iterations: 2_000 * scale,
    outcome: () => `${engine.judgeResponse(response).judgement.redactions.length} redactions`,
  },
  shortTextsScenario('mcp/response, 200 short texts with an e-mail each', manyRedactions, 1_000),
  shortTextsScenario('mcp/response, 2,000 short texts with an e-mail each', tooManyRedactions, 200),
]

function percentile(sorted: Float64Array, p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!
}

function measure(scenario: Scenario) {
  const samples = new Float64Array(scenario.iterations)
  for (let i = 0; i < Math.max(100, scenario.iterations / 5); i++) scenario.run()
  const started = process.hrtime.bigint()
  for (let i = 0; i < scenario.iterations; i++) {
    const t0 = process.hrtime.bigint()
    scenario.run()
    samples[i] = Number(process.hrtime.bigint() - t0)
  }
  const totalNs = Number(process.hrtime.bigint() - started)
  samples.sort()
  return {
    perSecond: scenario.iterations / (totalNs / 1e9),
    p50: percentile(samples, 50) / 1000,
    p99: percentile(samples, 99) / 1000,
  }
}

const fmt = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a')
console.log(
  `\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}, OPA ${execFileSync(opa, ['version'], { encoding: 'utf8' }).split('\n')[0]}`,
)
console.log(
  `reference policy (rego/mcp, -O ${built.optimization}) + default data with a 200-tool catalog server`,
)
console.log(
  'engine: decide()/judgeResponse() on objects (stringify + evaluate + validated result); opa bench: median of 3 runs\n',
)
console.log(
  '| request | outcome | engine ops/s | p50 µs | p99 µs | opa bench ops/s | p50 µs | p99 µs | engine ÷ OPA |',
)
console.log('| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |')
for (const scenario of scenarios) {
  const ours = measure(scenario)
  const inputFile = join(dir, 'input.json')
  await writeFile(inputFile, JSON.stringify(scenario.input))
  const peer = opaBench(opa, {
    query: scenario.query,
    dataFile: join(dir, 'bundle', 'data.json'),
    inputFile,
    count: 3,
  })
  console.log(
    `| ${scenario.name} | ${scenario.outcome()} | ${fmt(ours.perSecond, 0)} | ${fmt(ours.p50)} | ${fmt(ours.p99)} | ${fmt(peer.perSecond, 0)} | ${fmt(peer.p50)} | ${fmt(peer.p99)} | ${fmt(ours.perSecond / peer.perSecond, 2)}× |`,
  )
}
