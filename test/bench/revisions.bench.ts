/**
 * MCP revisions benchmark (`node dist/test/bench/revisions.bench.js` after `npm run build`): the
 * cost of deciding a 2026-07-28 `tools/call` (the per-request `_meta` envelope, `Mcp-Method` /
 * `Mcp-Name` checked against the body, no session) against its 2025-11-25 equivalent (session id,
 * no envelope), in the same run, two ways:
 *
 * - `DecisionService.decideMcp` in this process (normalize → decide → log, async durability): the
 *   CPU a decision costs, with no HTTP in the way. Rounds alternate the two forms so drift (GC,
 *   turbo, neighbours) falls on both; the median of the rounds is reported.
 * - `POST /v1/mcp/decide` of `mcp-policy serve` (its own process, one worker, pinned to core 1)
 *   under autocannon (this process; run it with `taskset -c 0`) at a fixed number of connections,
 *   again alternating rounds: requests per second and p50/p99.
 *
 * A benchmark, not a test: it checks that both forms are allowed with the same decision before it
 * measures, and reports. Environment: BENCH_ROUNDS (default 6), BENCH_SECONDS (HTTP seconds per
 * round, default 3), BENCH_ITERATIONS (in-process decisions per round, default 3000),
 * BENCH_CONNECTIONS (default 8).
 */
import { mkdtemp } from 'node:fs/promises'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  buildBundle,
  createDevKey,
  DecisionLog,
  DecisionService,
  defaultPdpConfig,
  defaultServerResource,
  devIssuerConfig,
  mintDevToken,
  PolicyEngine,
  RequestNormalizer,
  TokenVerifier,
} from '../../src/index.js'
import { aliceToken, decideLoad, startBenchServe } from './serve-process.js'

const rounds = Number(process.env.BENCH_ROUNDS ?? 6)
const seconds = Number(process.env.BENCH_SECONDS ?? 3)
const iterations = Number(process.env.BENCH_ITERATIONS ?? 3000)
const connections = Number(process.env.BENCH_CONNECTIONS ?? 8)

const META = {
  'io.modelcontextprotocol/protocolVersion': '2026-07-28',
  'io.modelcontextprotocol/clientInfo': { name: 'bench-agent', version: '2.0.0' },
  'io.modelcontextprotocol/clientCapabilities': {},
}
const args = { owner: 'acme', repo: 'payments', title: 'Flaky test in ledger', labels: ['bug', 'ci'] }

function forms(token: string) {
  const authorization = `Bearer ${token}`
  return {
    '2025-11-25': {
      headers: {
        authorization,
        'mcp-protocol-version': '2025-11-25',
        'mcp-session-id': '6f1c8a52-5b0e-4c55-9b4e-2f2d1d7f0b11',
      },
      message: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'create_issue', arguments: args },
      }),
    },
    '2026-07-28': {
      headers: {
        authorization,
        'mcp-protocol-version': '2026-07-28',
        'mcp-method': 'tools/call',
        'mcp-name': 'create_issue',
      },
      message: JSON.stringify({
        jsonrpc: '2.0',
        id: 7,
        method: 'tools/call',
        params: { name: 'create_issue', arguments: args, _meta: META },
      }),
    },
  }
}
type Form = keyof ReturnType<typeof forms>
const FORMS: Form[] = ['2025-11-25', '2026-07-28']

async function main() {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-bench-revisions-'))
  const built = await buildBundle({ out: join(dir, 'default.tar.gz'), bundleStore: join(dir, 'store') })
  const key = await createDevKey()
  const token = await mintDevToken(key, {
    sub: 'alice',
    aud: defaultServerResource('github'),
    roles: ['developer'],
    clientId: 'claude-desktop',
    expiresIn: '2h',
  })
  const requests = forms(token)

  // --- in process --------------------------------------------------------------------------------
  // async: a loop awaiting one decision at a time would otherwise measure fsync, not the decision.
  const log = await DecisionLog.open({ dir: join(dir, 'log-direct'), durability: 'async' })
  const service = new DecisionService({
    engine: await PolicyEngine.fromBundleFile(built.path),
    normalizer: new RequestNormalizer(
      defaultPdpConfig().normalize,
      new TokenVerifier({ issuers: [devIssuerConfig(key)] }),
    ),
    log,
  })
  const decisions = await Promise.all(
    FORMS.map((f) => service.decideMcp({ server: 'github', ...requests[f] })),
  )
  const [a, b] = decisions.map(({ decision_id: _, ...d }) => JSON.stringify(d))
  if (!decisions[0]!.allow || a !== b) throw new Error(`the two forms do not decide alike: ${a} / ${b}`)
  const direct: Record<Form, number[]> = { '2025-11-25': [], '2026-07-28': [] }
  for (let i = 0; i < 500; i++)
    for (const f of FORMS) await service.decideMcp({ server: 'github', ...requests[f] })
  for (let round = 0; round < rounds * 2; round++) {
    // Alternate which form goes first in each round.
    const order = round % 2 === 0 ? FORMS : [...FORMS].reverse()
    for (const f of order) {
      const started = process.hrtime.bigint()
      for (let i = 0; i < iterations; i++) await service.decideMcp({ server: 'github', ...requests[f] })
      direct[f].push(Number(process.hrtime.bigint() - started) / 1000 / iterations)
    }
  }
  await log.close()

  // --- over HTTP ---------------------------------------------------------------------------------
  // `mcp-policy serve` in its own process (one worker, on core 1 when taskset is there), so the
  // load generator here does not share the server's thread: a larger request costs the generator
  // too, which is not the PDP's cost.
  const keyDir = join(dir, 'keys')
  const served = forms(await aliceToken(keyDir))
  const pdp = await startBenchServe({ dir, name: 'pdp', bundlePath: built.path, keyDir })
  const bodies = Object.fromEntries(
    FORMS.map((f) => [
      f,
      JSON.stringify({ server: 'github', headers: served[f].headers, message: served[f].message }),
    ]),
  ) as Record<Form, string>
  const http: Record<Form, { rps: number; p50: number; p99: number }[]> = {
    '2025-11-25': [],
    '2026-07-28': [],
  }
  try {
    // Both forms must be allowed, with one decision, before they are measured.
    const answers = await Promise.all(
      FORMS.map(async (f) => {
        const response = await fetch(`${pdp.url}/v1/mcp/decide`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: bodies[f],
        })
        const { decision_id: _, ...decision } = (await response.json()) as Record<string, unknown>
        return decision
      }),
    )
    if (answers[0]!.allow !== true || JSON.stringify(answers[0]) !== JSON.stringify(answers[1]))
      throw new Error(`over HTTP the two forms do not decide alike: ${JSON.stringify(answers)}`)
    for (const f of FORMS) await decideLoad(pdp.url, bodies[f], 1, connections)
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? FORMS : [...FORMS].reverse()
      for (const f of order) {
        const run = await decideLoad(pdp.url, bodies[f], seconds, connections)
        http[f].push(run)
        process.stderr.write(`round ${round + 1} ${f}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50} ms\n`)
      }
    }
  } finally {
    await pdp.close()
  }

  const median = (xs: number[]) => [...xs].sort((x, y) => x - y)[Math.floor(xs.length / 2)]!
  const us = (f: Form) => median(direct[f])
  const rps = (f: Form) => median(http[f].map((r) => r.rps))
  const p = (f: Form, k: 'p50' | 'p99') => median(http[f].map((r) => r[k]))
  const extra = (x: number, y: number) => `${(((y - x) / x) * 100).toFixed(1)} %`
  console.log(
    [
      `MCP revisions: one tools/call decided in its 2025-11-25 and its 2026-07-28 form, same run.`,
      `Machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, Node ${process.version}.`,
      `In process (DecisionService.decideMcp, async log), median of ${rounds * 2} rounds × ${iterations}:`,
      `  2025-11-25: ${us('2025-11-25').toFixed(1)} µs/decision`,
      `  2026-07-28: ${us('2026-07-28').toFixed(1)} µs/decision (${extra(us('2025-11-25'), us('2026-07-28'))} extra)`,
      `  rounds (µs): 2025 [${direct['2025-11-25'].map((x) => x.toFixed(1)).join(', ')}]`,
      `               2026 [${direct['2026-07-28'].map((x) => x.toFixed(1)).join(', ')}]`,
      `POST /v1/mcp/decide, mcp-policy serve (1 worker, own core), autocannon ${connections} connections, median of ${rounds} rounds × ${seconds} s:`,
      `  2025-11-25: ${rps('2025-11-25').toFixed(0)} req/s, p50 ${p('2025-11-25', 'p50')} ms, p99 ${p('2025-11-25', 'p99')} ms`,
      `  2026-07-28: ${rps('2026-07-28').toFixed(0)} req/s, p50 ${p('2026-07-28', 'p50')} ms, p99 ${p('2026-07-28', 'p99')} ms`,
      `  cost per request: ${extra(1 / rps('2025-11-25'), 1 / rps('2026-07-28'))} extra`,
    ].join('\n'),
  )
}

main().catch((err: unknown) => {
  console.error(err)
  process.exitCode = 1
})
