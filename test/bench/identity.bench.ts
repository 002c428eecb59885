/**
 * Identity benchmark: the first-time cost of verifying RS256, ES256 and EdDSA access tokens (every
 * sample a distinct token, so every sample checks a signature) against jose's `jwtVerify` alone
 * on the same tokens, the first verification by a brand-new verifier (key import included), and
 * the cached path a busy session takes. A benchmark, not a test: it asserts nothing, it reports.
 */
import { cpus } from 'node:os'
import { exportJWK, generateKeyPair, type JWK, jwtVerify, SignJWT } from 'jose'
import { TokenVerifier } from '../../src/identity/token-verifier.js'

const samples = Number(process.env.BENCH_IDENTITY_SAMPLES ?? 2_000)
const cachedIterations = Number(process.env.BENCH_IDENTITY_CACHED ?? 200_000)
const issuer = 'https://idp.bench.test'
const audience = 'https://mcp.example.com/github'

interface Row {
  name: string
  count: number
  perSecond: number
  meanUs: number
  p50Us: number
  p99Us: number
}

const warmup = 200

async function measure(name: string, count: number, run: (i: number) => Promise<unknown>): Promise<Row> {
  // Warm-up on indices past the timed ones, so JIT tier-up is not billed to the first samples.
  for (let i = count; i < count + warmup; i++) await run(i)
  const times = new Float64Array(count)
  const started = process.hrtime.bigint()
  for (let i = 0; i < count; i++) {
    const t0 = process.hrtime.bigint()
    await run(i)
    times[i] = Number(process.hrtime.bigint() - t0)
  }
  const totalNs = Number(process.hrtime.bigint() - started)
  times.sort()
  const at = (p: number) => times[Math.min(count - 1, Math.floor((p / 100) * count))]! / 1000
  return {
    name,
    count,
    perSecond: count / (totalNs / 1e9),
    meanUs: totalNs / count / 1000,
    p50Us: at(50),
    p99Us: at(99),
  }
}

async function family(alg: 'RS256' | 'ES256' | 'EdDSA'): Promise<Row[]> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk: JWK = { ...(await exportJWK(publicKey)), kid: `${alg}-1`, alg, use: 'sig' }
  const now = Math.floor(Date.now() / 1000)
  // Distinct tokens (jti, sub), and the verifiers' subject cache off, so that every sample checks
  // a signature. The extra ones are for the warm-up.
  const tokens: string[] = []
  for (let i = 0; i < samples + warmup; i++) {
    tokens.push(
      await new SignJWT({ client_id: 'agent', scope: 'tools:read tools:call', roles: ['support'] })
        .setProtectedHeader({ alg, typ: 'at+jwt', kid: publicJwk.kid })
        .setIssuer(issuer)
        .setSubject(`user-${i}`)
        .setAudience(audience)
        .setIssuedAt(now)
        .setExpirationTime(now + 3600)
        .setJti(`jti-${i}`)
        .sign(privateKey),
    )
  }
  const config = () => ({
    issuers: [{ issuer, jwks: { keys: [publicJwk] }, algorithms: [alg], requireAtJwt: true }],
    cacheMaxEntries: 0,
  })
  const verifier = new TokenVerifier(config())
  const verified = (subject: { authenticated: boolean; reason?: { code: string } }) => {
    if (!subject.authenticated) throw new Error(`bench token rejected: ${subject.reason?.code}`)
  }
  const rows: Row[] = []
  rows.push(
    await measure(`jose jwtVerify, ${alg} (peer)`, samples, (i) =>
      jwtVerify(tokens[i]!, publicKey, { issuer, audience, algorithms: [alg], typ: 'at+jwt' }),
    ),
  )
  rows.push(
    await measure(`TokenVerifier first sight, ${alg}`, samples, async (i) =>
      verified(await verifier.verify(tokens[i]!, audience)),
    ),
  )
  rows.push(
    await measure(`new TokenVerifier + first verify, ${alg}`, samples, async (i) =>
      verified(await new TokenVerifier(config()).verify(tokens[i]!, audience)),
    ),
  )
  if (alg === 'ES256') {
    const cached = new TokenVerifier({ ...config(), cacheMaxEntries: 10_000 })
    rows.push(
      await measure(`TokenVerifier cached, ${alg}`, cachedIterations, async () =>
        verified(await cached.verify(tokens[0]!, audience)),
      ),
    )
  }
  return rows
}

const rows: Row[] = []
for (const alg of ['RS256', 'ES256', 'EdDSA'] as const) rows.push(...(await family(alg)))

const fmt = (n: number, digits = 1) => n.toLocaleString('en-US', { maximumFractionDigits: digits })
process.stdout.write(
  `Identity verification — Node ${process.version}, ${cpus()[0]?.model ?? 'unknown CPU'}, ` +
    `${samples} distinct tokens per first-sight row, ${cachedIterations} cached calls\n\n`,
)
process.stdout.write(
  '| path | samples | ops/s | µs/op (mean) | p50 µs | p99 µs |\n| --- | ---: | ---: | ---: | ---: | ---: |\n',
)
for (const row of rows) {
  process.stdout.write(
    `| ${row.name} | ${row.count} | ${fmt(row.perSecond, 0)} | ${fmt(row.meanUs)} | ${fmt(row.p50Us)} | ${fmt(row.p99Us)} |\n`,
  )
}
