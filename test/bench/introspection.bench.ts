/**
 * Introspection benchmark (issue #17): decisions per second through the whole in-process decision
 * path — `RequestNormalizer` (token verification) → `DecisionService` → the reference policy in
 * WebAssembly, log off — with opaque tokens introspected (RFC 7662) at a loopback endpoint:
 *
 * - 99 % cache hits: one call in a hundred presents a token never seen before (a real HTTP
 *   introspection), the others reuse one of 99 live tokens;
 * - 0 % hits (`cacheTtlSeconds: 0`): every call introspects, what the cache saves;
 * - the same decisions with a locally verified JWT (cached), without and with the revocation check
 *   over 1,000 revocations held: the peer rows, measured in the same run.
 *
 * The endpoint is a node:http server in this process (it shares the core, as an IdP sidecar
 * would not). A benchmark, not a test: it asserts nothing, it reports.
 *
 * `npm run build && taskset -c 0 node dist/test/bench/introspection.bench.js`
 */
import { mkdtemp } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { cpus, tmpdir } from 'node:os'
import { join } from 'node:path'
import { exportJWK, generateKeyPair, SignJWT } from 'jose'
import type { IdentityConfig } from '../../src/identity/identity-config.js'
import { RevocationList } from '../../src/identity/revocation-list.js'
import {
  buildBundle,
  DecisionService,
  defaultPdpConfig,
  defaultServerResource,
  PolicyEngine,
  RequestNormalizer,
  TokenVerifier,
} from '../../src/index.js'
import { MemoryStateStore } from '../../src/state/memory-state-store.js'

const calls = Number(process.env.BENCH_INTROSPECTION_CALLS ?? 20_000)
const issuer = 'https://idp.bench.test'
const audience = defaultServerResource('github')
const message = {
  jsonrpc: '2.0',
  id: 1,
  method: 'tools/call',
  params: { name: 'get_issue', arguments: { repo: 'acme/api', number: 7 } },
}

// The endpoint: every token is active, issued to `agent`, for the github server.
let introspections = 0
const endpoint = createServer((req, res) => {
  introspections++
  req.resume()
  req.on('end', () => {
    const now = Math.floor(Date.now() / 1000)
    res.writeHead(200, { 'content-type': 'application/json' }).end(
      JSON.stringify({
        active: true,
        iss: issuer,
        sub: 'agent-7',
        aud: audience,
        client_id: 'agent-7',
        scope: 'tools:call',
        roles: ['developer'],
        iat: now,
        exp: now + 3600,
      }),
    )
  })
})
await new Promise<void>((resolve) => endpoint.listen(0, '127.0.0.1', resolve))
const endpointUrl = `http://127.0.0.1:${(endpoint.address() as AddressInfo).port}/introspect`

const work = await mkdtemp(join(tmpdir(), 'mcp-policy-introspection-bench-'))
const built = await buildBundle({ out: join(work, 'bench.tar.gz'), bundleStore: join(work, 'store') })
const engine = await PolicyEngine.fromBundleFile(built.path)

const { privateKey, publicKey } = await generateKeyPair('ES256')
const publicJwk = { ...(await exportJWK(publicKey)), kid: 'bench', alg: 'ES256', use: 'sig' }
const now = Math.floor(Date.now() / 1000)
const jwt = await new SignJWT({ client_id: 'agent-7', scope: 'tools:call', roles: ['developer'] })
  .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: 'bench' })
  .setIssuer(issuer)
  .setSubject('agent-7')
  .setAudience(audience)
  .setIssuedAt(now)
  .setExpirationTime(now + 3600)
  .sign(privateKey)

function identity(cacheTtlSeconds: number): IdentityConfig {
  return {
    issuers: [
      {
        issuer,
        jwks: { keys: [publicJwk] },
        introspection: {
          endpoint: endpointUrl,
          clientId: 'pdp',
          clientSecret: 'bench-secret',
          cacheTtlSeconds,
        },
      },
    ],
  }
}

function service(verifier: TokenVerifier): DecisionService {
  return new DecisionService({
    engine,
    normalizer: new RequestNormalizer(defaultPdpConfig().normalize, verifier),
  })
}

interface Row {
  name: string
  perSecond: number
  p50Us: number
  p99Us: number
  introspected: number
}

async function measure(name: string, decide: DecisionService, bearer: (i: number) => string): Promise<Row> {
  const run = async (i: number) => {
    const response = await decide.decideMcp({
      message,
      headers: { authorization: `Bearer ${bearer(i)}` },
      server: 'github',
    })
    if (!response.allow) throw new Error(`bench decision denied: ${JSON.stringify(response.reasons)}`)
  }
  for (let i = 0; i < 500; i++) await run(calls + i)
  const before = introspections
  const times = new Float64Array(calls)
  const started = process.hrtime.bigint()
  for (let i = 0; i < calls; i++) {
    const t0 = process.hrtime.bigint()
    await run(i)
    times[i] = Number(process.hrtime.bigint() - t0)
  }
  const totalNs = Number(process.hrtime.bigint() - started)
  times.sort()
  const at = (p: number) => times[Math.min(calls - 1, Math.floor((p / 100) * calls))]! / 1000
  return {
    name,
    perSecond: calls / (totalNs / 1e9),
    p50Us: at(50),
    p99Us: at(99),
    introspected: introspections - before,
  }
}

// 99 live tokens, reused; every hundredth call a token never seen before.
const live = Array.from({ length: 99 }, (_, i) => `live-token-${i}-${'x'.repeat(32)}`)
let fresh = 0
const ninetyNine = (i: number) =>
  i % 100 === 99 ? `fresh-token-${fresh++}-${'y'.repeat(32)}` : live[i % 99]!

const rows: Row[] = []
rows.push(
  await measure(
    'JWT verified locally (cached), no revocation list',
    service(new TokenVerifier(identity(30))),
    () => jwt,
  ),
)
{
  const store = new MemoryStateStore()
  const revocations = new RevocationList(store, { maxTokenLifetime: () => 7200 })
  await revocations.start()
  for (let i = 0; i < 1_000; i++)
    await revocations.revoke({
      kind: i % 2 ? 'session' : 'subject',
      issuer,
      value: `other-${i}`,
      event: 'bench',
    })
  rows.push(
    await measure(
      'JWT verified locally (cached), revocation check (1,000 held)',
      service(new TokenVerifier(identity(30), { revocations })),
      () => jwt,
    ),
  )
  await store.close()
}
rows.push(
  await measure(
    'opaque, introspection cached, 99 % hits',
    service(new TokenVerifier(identity(30))),
    ninetyNine,
  ),
)
rows.push(
  await measure(
    'opaque, introspection every call (TTL 0)',
    service(new TokenVerifier(identity(0))),
    ninetyNine,
  ),
)
endpoint.close()

const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits })
process.stdout.write(
  `Introspection with cache — Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ` +
    `${calls} decisions per row (after 500 warm-up), reference policy, log off\n\n`,
)
process.stdout.write(
  '| path | decisions/s | p50 µs | p99 µs | introspection requests |\n| --- | ---: | ---: | ---: | ---: |\n',
)
for (const row of rows)
  process.stdout.write(
    `| ${row.name} | ${fmt(row.perSecond, 0)} | ${fmt(row.p50Us)} | ${fmt(row.p99Us)} | ${row.introspected} |\n`,
  )
