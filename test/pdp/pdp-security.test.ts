import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createDevKey,
  DecisionLog,
  DecisionService,
  defaultPdpConfig,
  devIssuerConfig,
  eventFilePath,
  loadPdpConfig,
  mintDevToken,
  PolicyEngine,
  RequestNormalizer,
  resolvePdpConfig,
  startPdp,
  TokenVerifier,
} from '../../src/index.js'
import { buildReferenceBundle, startTestPdp, toolCall } from '../helpers/pdp.js'

let bundlePath: string

beforeAll(async () => {
  bundlePath = (await buildReferenceBundle()).path
}, 120_000)

describe('caller authentication (bearer)', () => {
  const secret = 'gateway-secret-0123456789abcdef'
  let pdp: Awaited<ReturnType<typeof startTestPdp>>

  beforeAll(async () => {
    pdp = await startTestPdp(bundlePath, { callerAuth: { bearerTokens: [secret] } })
  })
  afterAll(async () => pdp?.close())

  const decide = (headers: Record<string, string>) =>
    request(`${pdp.url}/v1/mcp/decide`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ message: toolCall('get_issue'), server: 'github' }),
    })

  it('answers 401 without a credential and with a wrong one, saying nothing more', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer wrong' },
      { authorization: `Bearer ${secret}x` },
    ]) {
      const res = await decide(headers)
      expect(res.statusCode).toBe(401)
      expect(await res.body.json()).toEqual({
        code: 'ERR_PDP_UNAUTHORIZED',
        message: 'caller authentication required',
      })
    }
  })

  it('accepts the configured token', async () => {
    const res = await decide({ authorization: `Bearer ${secret}` })
    expect(res.statusCode).toBe(200)
    await res.body.dump()
  })

  it('keeps liveness open to probes but guards readiness and metrics', async () => {
    expect((await request(`${pdp.url}/health`)).statusCode).toBe(200)
    expect((await request(`${pdp.url}/metrics`)).statusCode).toBe(401)
  })

  it('takes the caller credential from X-MCP-Policy-Authorization on ext_authz, where Authorization is the user', async () => {
    const alice = await pdp.token('alice', ['developer'])
    const res = await request(`${pdp.url}/envoy/ext_authz/mcp/github`, {
      method: 'POST',
      headers: { authorization: `Bearer ${alice}`, 'x-mcp-policy-authorization': `Bearer ${secret}` },
      body: JSON.stringify(toolCall('get_issue')),
    })
    expect(res.statusCode).toBe(200)
    await res.body.dump()
    const withoutCaller = await request(`${pdp.url}/envoy/ext_authz/mcp/github`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}` },
      body: JSON.stringify(toolCall('get_issue')),
    })
    expect(withoutCaller.statusCode).toBe(401)
    expect(((await withoutCaller.body.json()) as { code: string }).code).toBe('ERR_PDP_UNAUTHORIZED')
  })
})

describe('caller authentication (TLS client certificates)', () => {
  let dir: string
  let pdp: Awaited<ReturnType<typeof startTestPdp>>
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcp-policy-mtls-'))
    openssl(
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:P-256',
      '-nodes',
      '-keyout',
      'ca.key',
      '-out',
      'ca.pem',
      '-days',
      '1',
      '-subj',
      '/CN=test-ca',
    )
    for (const name of ['server', 'client', 'rogue']) {
      openssl(
        'req',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:P-256',
        '-nodes',
        '-keyout',
        `${name}.key`,
        '-out',
        `${name}.csr`,
        '-subj',
        `/CN=${name === 'server' ? '127.0.0.1' : name}`,
      )
    }
    await writeFile(join(dir, 'san.ext'), 'subjectAltName=IP:127.0.0.1\n')
    openssl(
      'x509',
      '-req',
      '-in',
      'server.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'server.pem',
      '-days',
      '1',
      '-extfile',
      'san.ext',
    )
    openssl(
      'x509',
      '-req',
      '-in',
      'client.csr',
      '-CA',
      'ca.pem',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      'client.pem',
      '-days',
      '1',
    )
    // Self-signed: a certificate no configured CA vouches for.
    openssl('x509', '-req', '-in', 'rogue.csr', '-signkey', 'rogue.key', '-out', 'rogue.pem', '-days', '1')
    pdp = await startTestPdp(bundlePath, {
      tls: { cert: join(dir, 'server.pem'), key: join(dir, 'server.key'), ca: join(dir, 'ca.pem') },
      callerAuth: { clientCertificates: true },
    })
  }, 60_000)
  afterAll(async () => pdp?.close())

  async function call(cert?: string) {
    const ca = await readFile(join(dir, 'ca.pem'))
    const connect = cert
      ? { ca, cert: await readFile(join(dir, `${cert}.pem`)), key: await readFile(join(dir, `${cert}.key`)) }
      : { ca }
    const dispatcher = new Agent({ connect })
    try {
      const res = await request(`${pdp.url}/v1/mcp/decide`, {
        method: 'POST',
        dispatcher,
        body: JSON.stringify({ message: toolCall('get_issue'), server: 'github' }),
      })
      return { status: res.statusCode, body: (await res.body.json()) as Record<string, unknown> }
    } finally {
      await dispatcher.close()
    }
  }

  it('serves https and accepts a client certificate from the configured CA', async () => {
    expect(pdp.url).toMatch(/^https:/)
    const res = await call('client')
    expect(res.status).toBe(200)
    expect(res.body.allow).toBe(false)
  })

  it('answers 401 without a client certificate, and for one the CA did not sign', async () => {
    expect((await call()).body).toEqual({
      code: 'ERR_PDP_UNAUTHORIZED',
      message: 'caller authentication required',
    })
    expect((await call('rogue')).status).toBe(401)
  })
})

describe('configuration', () => {
  it('refuses to bind a non-loopback address without caller authentication', async () => {
    const config = { ...defaultPdpConfig(), host: '0.0.0.0', port: 0, bundle: { file: bundlePath } }
    await expect(startPdp(config)).rejects.toMatchObject({ code: 'ERR_PDP_INSECURE_BIND' })
  })

  it('reads YAML, fills every default, and names schema violations', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-config-'))
    await writeFile(
      join(dir, 'pdp.yaml'),
      'port: 9999\nbundle:\n  file: b.tar.gz\nlog:\n  durability: sync\nlimits:\n  maxBodyBytes: 2048\n',
    )
    const config = await loadPdpConfig(join(dir, 'pdp.yaml'))
    expect(config).toMatchObject({
      host: '127.0.0.1',
      port: 9999,
      bundle: { file: 'b.tar.gz' },
      log: { dir: 'decision-logs', durability: 'sync' },
      limits: { maxBodyBytes: 2048, maxDepth: 64 },
    })
    expect(() => resolvePdpConfig({ port: 'x', limits: { maxBodyBytes: -1 }, unknown: 1 })).toThrow(
      /\/port must be integer.*\/limits\/maxBodyBytes must be >= 1/,
    )
    expect(() => resolvePdpConfig({ bundle: { file: 'a', url: 'https://b' } })).toThrow(/not both/)
    await writeFile(join(dir, 'bad.yaml'), 'port: [')
    await expect(loadPdpConfig(join(dir, 'bad.yaml'))).rejects.toMatchObject({
      code: 'ERR_PDP_CONFIG_INVALID',
    })
  })
})

// Filling a real (tiny tmpfs) disk needs mount, i.e. root; CI runs as root, so there it always runs.
const canMount = process.getuid?.() === 0 || process.env.CI !== undefined

describe.runIf(canMount)('decision log failure', () => {
  it('denies with ERR_LOG_WRITE_FAILED once the disk is full in sync mode; every acknowledged decision is in the log', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-full-'))
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48k', 'tmpfs', dir])
    try {
      const log = await DecisionLog.open({ dir, chain: 'disk-full', durability: 'sync' })
      const key = await createDevKey()
      const engine = await PolicyEngine.fromBundleFile(bundlePath)
      const service = new DecisionService({
        engine,
        normalizer: new RequestNormalizer(
          defaultPdpConfig().normalize,
          new TokenVerifier({ issuers: [devIssuerConfig(key)] }),
        ),
        log,
      })
      const token = await mintDevToken(key, {
        sub: 'alice',
        roles: ['developer'],
        aud: 'https://localhost/mcp/github',
      })
      const acknowledged: string[] = []
      let refusal: Awaited<ReturnType<typeof service.decideMcp>> | undefined
      for (let i = 0; i < 5_000 && !refusal; i++) {
        const decision = await service.decideMcp({
          message: toolCall('get_issue', { owner: 'acme', repo: 'api', issue_number: i }),
          headers: { authorization: `Bearer ${token}` },
          server: 'github',
        })
        if (decision.allow) acknowledged.push(decision.decision_id)
        else refusal = decision
      }
      expect(acknowledged.length).toBeGreaterThan(0)
      expect(refusal).toMatchObject({ allow: false, status: 503 })
      expect(refusal!.reasons[0]!.code).toBe('ERR_LOG_WRITE_FAILED')
      // Once failed, the log stays failed: later decisions deny too.
      const after = await service.decideMcp({
        message: toolCall('get_issue'),
        headers: { authorization: `Bearer ${token}` },
        server: 'github',
      })
      expect(after.reasons[0]!.code).toBe('ERR_LOG_WRITE_FAILED')
      await log.close().catch(() => {})
      const text = await readFile(eventFilePath(dir, 'disk-full', 1), 'utf8')
      for (const id of acknowledged) expect(text).toContain(id)
    } finally {
      execFileSync('umount', [dir])
    }
  })
})
