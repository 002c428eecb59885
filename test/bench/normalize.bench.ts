/**
 * Normalization benchmark (`npm run bench`): input document v1 for a realistic tools/call with a
 * bearer token the verifier has already seen (the steady state of a busy MCP session); then the
 * body parser alone on a few kinds of body, before and after the duplicate-key check, in the same
 * run. Not a test.
 */
import { readFileSync } from 'node:fs'
import { cpus } from 'node:os'
import { join } from 'node:path'
import {
  createDevKey,
  devIssuerConfig,
  McpPolicyError,
  mintDevToken,
  RequestNormalizer,
  TokenVerifier,
} from '../../src/index.js'
import { analysisDeclarations } from '../../src/normalize/argument-analysis/analysis-declarations.js'
import { loadArgumentAnalyzers } from '../../src/normalize/argument-analysis/analyze-arguments.js'
import { toolInputSchemas } from '../../src/normalize/argument-validation/tool-input-schemas.js'
import { checkValueDepth, parseMessageBody } from '../../src/normalize/parse-message.js'
import { checkWellFormed, mayEscapeSurrogate } from '../../src/normalize/well-formed.js'
import { packageRoot } from '../../src/package-root.js'

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

const rounds = Number(process.env.BENCH_ROUNDS ?? 5)

/**
 * Throughput and latency are measured apart: timing every call (two clock reads and two BigInts
 * per call) costs a few percent of a 4 µs operation, so the throughput rounds read the clock only
 * at their ends. This machine's speed drifts by ±25 % within minutes, so throughput is the median
 * of `rounds` rounds, reported with the slowest and fastest round; the percentiles come from a
 * separate pass that times each call.
 */
async function measure(name: string, run: () => Promise<unknown>) {
  for (let i = 0; i < warmup; i++) await run()
  const perRound = Math.max(1, Math.floor(iterations / rounds))
  const rates: number[] = []
  for (let r = 0; r < rounds; r++) {
    const started = process.hrtime.bigint()
    for (let i = 0; i < perRound; i++) await run()
    rates.push(perRound / (Number(process.hrtime.bigint() - started) / 1e9))
  }
  rates.sort((a, b) => a - b)
  const samples = new Float64Array(iterations).fill(-1)
  for (let i = 0; i < iterations; i++) {
    const t0 = process.hrtime.bigint()
    await run()
    samples[i] = Number(process.hrtime.bigint() - t0)
  }
  samples.sort()
  const at = (p: number) =>
    samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))]! / 1000
  const median = rates[Math.floor(rates.length / 2)]!
  console.log(
    `| ${name} | ${Math.round(median)} | ${Math.round(rates[0]!)}–${Math.round(rates.at(-1)!)} | ${at(50).toFixed(2)} | ${at(99).toFixed(2)} |`,
  )
}

console.log(
  `\nmachine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, Node ${process.version}; after ${warmup} warm-up calls: ${rounds} throughput rounds of ${Math.floor(iterations / rounds)} calls, then ${iterations} individually timed calls\n`,
)
console.log('| normalize | ops/s (median round) | slowest–fastest round | p50 µs | p99 µs |')
console.log('| --- | ---: | ---: | ---: | ---: |')
await measure('tools/call + cached ES256 token (full envelope)', () => normalizer.normalize(envelope))
await measure('tools/call, no token', () => normalizer.normalize({ message: body, server: 'github' }))
await measure('TokenVerifier.verify, cached', () => verifier.verify(token, resource))

/** A `tools/call` body. */
const call = (name: string, args: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name, arguments: args, ...extra } })

// ----- Argument analysis and validation (issue #15): the reference data's declarations -----

const referenceData: unknown = JSON.parse(
  readFileSync(join(packageRoot(), 'bundles/default/data.json'), 'utf8'),
)
const declared = {
  analysis: analysisDeclarations(referenceData),
  validation: toolInputSchemas(referenceData),
}
await loadArgumentAnalyzers()
const argumentNormalizer = new RequestNormalizer(
  {
    servers: {
      postgres: { resource: 'https://mcp.example.com/postgres' },
      fetch: { resource: 'https://mcp.example.com/fetch' },
    },
  },
  verifier,
)
const analysed: [string, string, string][] = [
  [
    'postgres',
    'SQL, short (sql:postgres)',
    call('query', { sql: 'select id, total from orders where customer_id = 42 limit 10' }),
  ],
  [
    'postgres',
    'SQL, CTE with joins and functions (sql:postgres)',
    call('query', {
      sql: "with recent as (select o.id, o.customer_id, sum(l.amount) as total from orders o join order_lines l on l.order_id = o.id where o.created_at > now() - interval '7 days' group by o.id, o.customer_id) select c.name, coalesce(r.total, 0) from customers c left join recent r on r.customer_id = c.id order by 2 desc limit 20",
    }),
  ],
  [
    'fetch',
    'URL (url: WHATWG and RFC 3986)',
    call('fetch', { url: 'https://en.wikipedia.org/wiki/Model_Context_Protocol', max_length: 5000 }),
  ],
]
for (const [server, name, message] of analysed) {
  const document = await argumentNormalizer.normalize({ message, server }, declared)
  if (!document.mcp.tool?.analysis) throw new Error(`${name}: no analysis`)
  await measure(`tools/call, ${name}`, () => argumentNormalizer.normalize({ message, server }, declared))
  await measure(`tools/call, same message, nothing declared`, () =>
    argumentNormalizer.normalize({ message, server }),
  )
}

// ----- The body parser alone: before and after the duplicate-key check (issue #15 class 5) -----

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * `parseMessageBody` as it was before duplicate keys were refused (the lone-surrogate check of the
 * same hardening kept), so both run in the same process on the same bodies.
 */
function parseBefore(body: string | Uint8Array, limits: { maxBytes: number; maxDepth: number }): unknown {
  let text: string
  if (typeof body === 'string') {
    if (!body.isWellFormed()) throw new McpPolicyError('ERR_NORMALIZE_JSON_INVALID', 'not Unicode')
    text = body
  } else {
    if (body.byteLength > limits.maxBytes) throw new McpPolicyError('ERR_NORMALIZE_TOO_LARGE', 'too large')
    text = utf8.decode(body)
  }
  const scanned = text.length > 4096
  if (scanned) checkTextDepthBefore(text, limits.maxDepth)
  const value: unknown = JSON.parse(text)
  if (mayEscapeSurrogate(text)) checkWellFormed(value, 'ERR_NORMALIZE_JSON_INVALID', 'body')
  if (!scanned) checkValueDepth(value, limits.maxDepth)
  return value
}

function checkTextDepthBefore(text: string, maxDepth: number): void {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 0x5c) i++
      else if (c === 0x22) inString = false
    } else if (c === 0x22) inString = true
    else if (c === 0x7b || c === 0x5b) {
      if (++depth > maxDepth) throw new McpPolicyError('ERR_NORMALIZE_TOO_DEEP', 'too deep')
    } else if (c === 0x7d || c === 0x5d) depth--
  }
}

const parseLimits = { maxBytes: 4 << 20, maxDepth: 64 }
const bodies: [string, Buffer][] = [
  ['tools/call above (the common case)', Buffer.from(body)],
  [
    'resources/read, URI and _meta (colons in strings)',
    Buffer.from(
      JSON.stringify({
        jsonrpc: '2.0',
        id: 8,
        method: 'resources/read',
        params: {
          uri: 'file:///srv/projects/app/config.yaml',
          _meta: { progressToken: 'req:8:2025-01-01T00:00:00Z' },
        },
      }),
    ),
  ],
  [
    'tools/call with JSON text in an argument (escaped quotes before colons)',
    Buffer.from(
      call('query', { filter: JSON.stringify({ status: 'open', labels: ['bug'], since: '12:00' }) }),
    ),
  ],
  [
    'tools/call with a string starting with a colon (counted exactly)',
    Buffer.from(call('connect', { host: '::1', port: 5432 })),
  ],
  [
    '64 KiB of structured arguments',
    Buffer.from(
      call('bulk_create', {
        items: Array.from({ length: 600 }, (_, i) => ({
          id: i,
          title: `item ${i}`,
          labels: ['a', 'b'],
          meta: { created: '2025-01-01T00:00:00Z', done: i % 2 === 0 },
        })),
      }),
    ),
  ],
  [
    '512 KiB file content',
    Buffer.from(
      call('write_file', { path: '/srv/a.txt', content: 'lorem ipsum "dolor" sit\n'.repeat(21_000) }),
    ),
  ],
]
const refusedBody = Buffer.from(
  body.replace('"name":"create_issue",', '"name":"delete_repository","name":"create_issue",'),
)

/** Calls per second of `run` over about `ms` milliseconds. */
function rate(run: () => unknown, ms: number): number {
  let calls = 0
  const started = process.hrtime.bigint()
  const until = started + BigInt(ms * 1e6)
  let now = started
  while (now < until) {
    for (let i = 0; i < 64; i++) run()
    calls += 64
    now = process.hrtime.bigint()
  }
  return calls / (Number(now - started) / 1e9)
}

/** Before and after alternate round by round, so drift in the machine's speed hits both alike. */
function compare(name: string, bytes: number, before: () => unknown, after: () => unknown) {
  rate(before, 300)
  rate(after, 300)
  const rates: [number, number][] = []
  for (let r = 0; r < rounds * 2; r++) rates.push([rate(before, 150), rate(after, 150)])
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!
  const b = median(rates.map(([x]) => x))
  const a = median(rates.map(([, y]) => y))
  const ratios = rates.map(([x, y]) => y / x).sort((p, q) => p - q)
  console.log(
    `| ${name} | ${bytes} | ${Math.round(b)} | ${Math.round(a)} | ${(1e6 / a - 1e6 / b).toFixed(2)} | ${((a / b - 1) * 100).toFixed(1)} % (${((ratios[0]! - 1) * 100).toFixed(0)}…${((ratios.at(-1)! - 1) * 100).toFixed(0)} %) |`,
  )
}

console.log(
  '\n| parseMessageBody | bytes | before ops/s | after ops/s | µs added per call | throughput change (per round pair, min…max) |',
)
console.log('| --- | ---: | ---: | ---: | ---: | ---: |')
for (const [name, bytes] of bodies) {
  if (
    JSON.stringify(parseMessageBody(bytes, parseLimits)) !== JSON.stringify(parseBefore(bytes, parseLimits))
  )
    throw new Error(`${name}: the parsers disagree`)
  compare(
    name,
    bytes.byteLength,
    () => parseBefore(bytes, parseLimits),
    () => parseMessageBody(bytes, parseLimits),
  )
}
const refuse = () => {
  try {
    parseMessageBody(refusedBody, parseLimits)
  } catch (err) {
    return err
  }
  throw new Error('the duplicate key was not refused')
}
compare(
  'the same tools/call with "name" twice: before parses it, after refuses it',
  refusedBody.byteLength,
  () => parseBefore(refusedBody, parseLimits),
  refuse,
)
