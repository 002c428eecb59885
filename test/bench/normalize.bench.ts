/**
 * Normalization benchmark (`npm run bench`): input document v1 for a realistic tools/call with a
 * bearer token the verifier has already seen (the steady state of a busy MCP session). Not a test.
 */
import { cpus } from 'node:os'
import {
  createDevKey,
  devIssuerConfig,
  mintDevToken,
  RequestNormalizer,
  TokenVerifier,
} from '../../src/index.js'

const iterations = Number(process.env.BENCH_ITERATIONS ?? 300_000)
const warmup = Math.min(100_000, iterations / 2)
const resource = 'https://mcp.example.com/github'
const key = await createDevKey()
const verifier = new TokenVerifier({
  issuers: [{ ...devIssuerConfig(key), claims: { groups: ['groups'], roles: ['roles'] } }],
})
const normalizer = new RequestNormalizer({ servers: { github: { resource } }, environment: 'prod' }, verifier)
const token = await mintDevToken(key, {
  sub: 'alice',
  aud: resource,
  groups: ['eng', 'payments'],
  roles: ['developer'],
  act: 'claude-desktop',
})
const body = JSON.stringify({
  jsonrpc: '2.0',
  id: 7,
  method: 'tools/call',
  params: {
    name: 'create_issue',
    arguments: { owner: 'acme', repo: 'payments', title: 'Flaky test in ledger', labels: ['bug', 'ci'] },
  },
})
const headers = {
  authorization: `Bearer ${token}`,
  'mcp-protocol-version': '2025-11-25',
  'mcp-session-id': '5f1c7a9e-2b44-4f5e-9a57-1c0d9e2b7f31',
  'user-agent': 'mcp-gateway/1.0',
  'x-forwarded-for': '203.0.113.9',
  traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
}
const envelope = { message: body, headers, server: 'github' }

const first = await normalizer.normalize(envelope)
if (!first.subject.authenticated) throw new Error(`bench token rejected: ${first.subject.reason?.code}`)

async function measure(name: string, run: () => Promise<unknown>) {
  const samples = new Float64Array(iterations).fill(-1)
  for (let i = 0; i < warmup; i++) await run()
  const started = process.hrtime.bigint()
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint()
    await run()
    samples[i] = Number(process.hrtime.bigint() - t0)
  }
  const total = Number(process.hrtime.bigint() - started)
  samples.sort()
  const at = (p: number) =>
    samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))]! / 1000
  console.log(
    `| ${name} | ${Math.round(iterations / (total / 1e9))} | ${at(50).toFixed(2)} | ${at(99).toFixed(2)} |`,
  )
}

console.log(
  `\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; ${iterations} samples after ${warmup} warm-up\n`,
)
console.log('| normalize | ops/s | p50 µs | p99 µs |')
console.log('| --- | ---: | ---: | ---: |')
await measure('tools/call + cached ES256 token (full envelope)', () => normalizer.normalize(envelope))
await measure('tools/call, no token', () => normalizer.normalize({ message: body, server: 'github' }))
await measure('TokenVerifier.verify, cached', () => verifier.verify(token, resource))
