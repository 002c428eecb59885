import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import {
  StreamableHTTPClientTransport,
  StreamableHTTPError,
} from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { stringify } from 'yaml'
import { REVOCATION_PATH, replayLog, verifyLog } from '../../src/index.js'
import { findNginx, freePort, type NginxGateway, startNginxGateway } from '../helpers/nginx-gateway.js'
import { type IdpUser, startTestIdp, type TestIdp } from '../helpers/oidc-idp.js'
import { registerLogoutClient, signInSession } from '../helpers/oidc-session.js'
import { buildReferenceBundle, toolCall } from '../helpers/pdp.js'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js'
import { type SampleMcpServer, startSampleMcpServer } from '../helpers/sample-mcp-server.js'

// Issue #17 end to end, every part real: an agent (the MCP SDK client) calls tools on an SDK MCP
// server through the nginx + njs gateway, which asks `mcp-policy serve` (the built CLI) for every
// decision; the agent's token comes from a user's sign-in at oidc-provider. The user signs out at
// the IdP; oidc-provider posts its back-channel logout token to the PDP; the agent's next
// tools/call is refused — on a PDP with 2 worker processes (in-memory state relayed by the
// cluster primary), and on 2 PDP replicas sharing one redis-server, the logout posted to one and
// the gateway asking the other. In CI a missing nginx is a failure, elsewhere the suite is skipped.

const found = findNginx()
const run = found !== undefined || process.env.CI !== undefined
const cli = join(import.meta.dirname, '../../dist/cli/main.js')
const github = 'https://mcp.example.com/github'
const alice: IdpUser = {
  user: 'alice',
  password: 'correct horse battery staple',
  roles: ['developer'],
  groups: [],
}
// Fresh connections each time, so node:cluster hands them to either worker.
const fresh = new Agent({ connectTimeout: 5_000, headersTimeout: 5_000, bodyTimeout: 5_000 })

interface Serve {
  url: string
  logDir: string
  bundleStore: string
  process: ChildProcess
  stop: () => Promise<void>
}

/** Runs `mcp-policy serve --config <yaml>` and waits for its listening line. */
async function startServe(config: Record<string, unknown>): Promise<Serve> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-revocation-e2e-'))
  const logDir = join(dir, 'logs')
  const bundleStore = join(dir, 'store')
  const file = join(dir, 'pdp.yaml')
  await writeFile(
    file,
    stringify({
      host: '127.0.0.1',
      devKeyDir: join(dir, 'keys'),
      bundleStore,
      log: { dir: logDir, durability: 'batch' },
      ...config,
    }),
  )
  const child = spawn(process.execPath, [cli, 'serve', '--config', file], { stdio: 'pipe' })
  let output = ''
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 90_000)
    const onData = (data: Buffer) => {
      output += data.toString()
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    child.once('exit', (code) => reject(new Error(`serve exited ${code}:\n${output}`)))
  })
  return {
    url,
    logDir,
    bundleStore,
    process: child,
    stop: async () => {
      if (child.exitCode !== null) return
      const exited = new Promise((resolve) => child.once('exit', resolve))
      child.kill('SIGTERM')
      await exited
    },
  }
}

/** The JSON-RPC error the gateway answered, from the SDK client's HTTP error. */
function gatewayDenial(error: unknown): { status: number; data: Record<string, unknown> } {
  expect(error).toBeInstanceOf(StreamableHTTPError)
  const message = (error as StreamableHTTPError).message
  const body = JSON.parse(message.slice(message.indexOf('{'))) as { error: { data: Record<string, unknown> } }
  return { status: (error as StreamableHTTPError).code as number, data: body.error.data }
}

async function agent(gateway: NginxGateway, accessToken: string): Promise<Client> {
  const client = new Client({ name: 'revocation-e2e-agent', version: '1.0.0' })
  await client.connect(
    new StreamableHTTPClientTransport(new URL(gateway.url), {
      requestInit: { headers: { authorization: `Bearer ${accessToken}` } },
    }),
  )
  return client
}

async function logEvents(dir: string): Promise<Record<string, unknown>[]> {
  const files = (await readdir(dir)).filter((name) => name.endsWith('.jsonl'))
  return (await Promise.all(files.map((name) => readFile(join(dir, name), 'utf8'))))
    .join('')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as Record<string, unknown>)
}

const identityFor = (idp: TestIdp) => ({ issuers: [idp.issuerConfig] })
const normalize = { servers: { github: { resource: github } }, environment: 'staging' }

describe.runIf(run)('a user signs out at the IdP: the agent is cut off at its next tools/call', () => {
  let bundlePath = ''
  let idp: TestIdp
  let upstream: SampleMcpServer
  const stops: (() => Promise<void>)[] = []

  beforeAll(async () => {
    if (!found) throw new Error('CI is set but nginx with the njs module is not installed (see .ci/run)')
    bundlePath = (await buildReferenceBundle()).path
    idp = await startTestIdp([], [github], { users: [alice], backchannelLogout: true })
    upstream = await startSampleMcpServer()
  }, 180_000)

  afterAll(async () => {
    for (const stop of stops.reverse()) await stop().catch(() => {})
    await upstream?.close()
    await idp?.close()
    await fresh.close()
  })

  it('PDP with 2 workers (in-memory state): the logout lands on one worker, every worker refuses the session', async () => {
    const port = await freePort()
    const clientId = await registerLogoutClient(idp, `http://127.0.0.1:${port}/oidc/backchannel-logout`)
    const serve = await startServe({
      port,
      workers: 2,
      bundle: { file: bundlePath },
      identity: identityFor(idp),
      normalize,
      backchannelLogout: { issuers: [{ issuer: idp.issuer, clientIds: [clientId] }] },
    })
    stops.push(serve.stop)
    const gateway = await startNginxGateway({ pdp: serve.url, upstream: upstream.url, serverId: 'github' })
    stops.push(gateway.close)

    const { accessToken, signIn } = await signInSession(idp, clientId, github, alice)
    const client = await agent(gateway, accessToken)
    stops.push(() => client.close())
    const result = await client.callTool({ name: 'get_issue', arguments: { number: 7 } })
    expect(result.content).toEqual([{ type: 'text', text: 'Issue #7: login fails on the settings page' }])
    const executed = upstream.executed.length

    await idp.signOut(signIn)

    const denial = gatewayDenial(
      await client.callTool({ name: 'get_issue', arguments: { number: 8 } }).catch((e: unknown) => e),
    )
    expect(denial).toMatchObject({ status: 401, data: { reason: 'unauthenticated', status: 401 } })
    expect(upstream.executed.length).toBe(executed)

    // Both workers refuse it: fresh connections, spread by the cluster primary (round robin).
    const pids = new Set<number>()
    for (let i = 0; i < 6; i++) {
      const health = await request(`${serve.url}/health`, { dispatcher: fresh, reset: true })
      pids.add(((await health.body.json()) as { pid: number }).pid)
    }
    for (let i = 0; i < 20; i++) {
      const answer = await request(`${serve.url}/v1/mcp/decide`, {
        method: 'POST',
        dispatcher: fresh,
        reset: true,
        body: JSON.stringify({
          message: toolCall('get_issue'),
          headers: { authorization: `Bearer ${accessToken}` },
          server: 'github',
        }),
      })
      expect(await answer.body.json()).toMatchObject({ allow: false, status: 401 })
    }
    expect(pids.size).toBe(2)

    await serve.stop()
    const events = await logEvents(serve.logDir)
    const revocations = events.filter((e) => e.path === REVOCATION_PATH)
    expect(revocations).toHaveLength(1)
    expect(revocations[0]).toMatchObject({
      input: { receiver: 'oidc-backchannel-logout', issuer: idp.issuer, subject: { sub: 'alice' } },
      result: { outcome: 'revoked', revocations: [{ kind: 'session', issuer: idp.issuer }] },
    })
    const refusedBy = new Set(
      events
        .filter(
          (e) =>
            e.path === 'mcp/decision' &&
            (e.input as { subject?: { reason?: { code?: string } } }).subject?.reason?.code ===
              'ERR_IDENTITY_TOKEN_REVOKED',
        )
        .map((e) => (e.labels as { worker: string }).worker),
    )
    expect(refusedBy.size).toBe(2)
    expect((await verifyLog([serve.logDir])).intact).toBe(true)
    const report = await replayLog([serve.logDir], { bundleStore: serve.bundleStore })
    expect(report).toMatchObject({ revocations: 1, differing: 0, missingBundles: {} })
    expect(report.same).toBe(report.events - 1 - report.rejected - report.withheld)
  })

  describe('2 PDP replicas sharing one redis-server', () => {
    let redis: TestRedis
    beforeAll(async () => {
      redis = await startTestRedis()
    })
    afterAll(async () => {
      await redis?.stop()
    })

    it('the IdP posts the logout to replica A; the gateway asks replica B, which refuses the next tools/call', async () => {
      const portA = await freePort()
      const clientId = await registerLogoutClient(idp, `http://127.0.0.1:${portA}/oidc/backchannel-logout`)
      const replica = (port: number) =>
        startServe({
          port,
          workers: 1,
          bundle: { file: bundlePath },
          identity: identityFor(idp),
          normalize,
          state: { backend: 'redis', redis: { url: redis.url, keyPrefix: 'e2e-replicas:' } },
          backchannelLogout: { issuers: [{ issuer: idp.issuer, clientIds: [clientId] }] },
        })
      const a = await replica(portA)
      stops.push(a.stop)
      const b = await replica(0)
      stops.push(b.stop)
      const gateway = await startNginxGateway({ pdp: b.url, upstream: upstream.url, serverId: 'github' })
      stops.push(gateway.close)

      const { accessToken, signIn } = await signInSession(idp, clientId, github, alice)
      const client = await agent(gateway, accessToken)
      stops.push(() => client.close())
      expect((await client.callTool({ name: 'get_issue', arguments: { number: 7 } })).isError).toBeFalsy()

      await idp.signOut(signIn)

      const denial = gatewayDenial(
        await client.callTool({ name: 'get_issue', arguments: { number: 9 } }).catch((e: unknown) => e),
      )
      expect(denial).toMatchObject({ status: 401, data: { reason: 'unauthenticated' } })
      // A's log holds the logout; B's holds the refusal.
      await a.stop()
      await b.stop()
      expect((await logEvents(a.logDir)).filter((e) => e.path === REVOCATION_PATH)).toHaveLength(1)
      expect(
        (await logEvents(b.logDir)).some(
          (e) =>
            (e.input as { subject?: { reason?: { code?: string } } }).subject?.reason?.code ===
            'ERR_IDENTITY_TOKEN_REVOKED',
        ),
      ).toBe(true)
    })
  })
})
