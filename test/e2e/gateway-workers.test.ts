import { type ChildProcess, spawn } from 'node:child_process'
import { createPublicKey } from 'node:crypto'
import { mkdir, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  loadOrCreateCheckpointKey,
  loadOrCreateDevKey,
  mintDevToken,
  REJECTED_PATH,
  verifyLog,
} from '../../src/index.js'
import {
  buildReferenceBundleWith,
  connectClient,
  eventually,
  startTestGateway,
  stockServers,
  type TestGateway,
} from '../helpers/gateway.js'
import { loggedEvents } from '../helpers/logged-events.js'
import { cliPath } from '../helpers/run-cli.js'

// `mcp-policy gateway` with decision worker threads (`workers: 2`) against the same gateway deciding
// in its main thread (`workers: 1`), each in front of its own real server-filesystem and
// server-everything over stdio, the reference policy deciding, the real SDK client calling: the
// same answers, every decision in a per-worker chain that verifies, a worker killed mid-run failing
// closed, and the CLI draining every worker's log on SIGTERM.

const EVERYTHING_GRANTED = ['echo', 'get-sum', 'get-tiny-image']

/** What the tests read of a logged event. */
interface LoggedEvent {
  decision_id: string
  path: string
  input: {
    mcp?: { method?: string; tool?: { name: string } }
    request?: { mcp?: { method?: string; tool?: { name: string } } }
    error?: { code: string }
  }
  result: { allow: boolean; reasons?: { code: string }[] }
  labels: { worker: string; chain: string }
}

/** The error a denied call raised in the SDK client: its reason codes (or the result when allowed). */
async function outcome(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    (result) => ({ content: (result as { content?: unknown }).content }),
    (e: { data?: { reasons?: { code: string }[] } }) => ({ denied: e.data?.reasons?.map((r) => r.code) }),
  )
}

describe('mcp-policy gateway with decision worker threads', () => {
  let srv = ''
  let bundlePath = ''
  const gateways: Record<'inProcess' | 'pooled', TestGateway> = {} as never
  const logDirs: Record<'inProcess' | 'pooled', string> = { inProcess: '', pooled: '' }
  let checkpointPem = ''
  const clients: Client[] = []

  beforeAll(async () => {
    srv = await mkdtemp(join(tmpdir(), 'mcp-policy-workers-srv-'))
    await mkdir(join(srv, 'secrets'))
    await writeFile(join(srv, 'readme.txt'), 'hello from the project\n')
    await writeFile(join(srv, 'keys.txt'), 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n')
    await writeFile(join(srv, 'secrets', 'token.txt'), 'top secret\n')
    const bundle = await buildReferenceBundleWith((data) => {
      data.servers.filesystem = JSON.parse(
        JSON.stringify(data.servers.filesystem).replaceAll('/srv/projects/', `${srv}/`),
      )
      // Writes are judged by the grant alone, not by the time of day the suite happens to run at.
      delete data.servers.filesystem.write_window
      data.servers.everything = {
        classification: 'internal',
        tools: Object.fromEntries([...EVERYTHING_GRANTED, 'get-env'].map((t) => [t, {}])),
      }
      data.grants.roles.developer.tools.everything = EVERYTHING_GRANTED
    })
    bundlePath = bundle.path
    const checkpoint = await loadOrCreateCheckpointKey(join(bundle.dir, 'checkpoint'))
    checkpointPem = checkpoint.publicKeyPem
    const start = async (name: 'inProcess' | 'pooled', workers: number) => {
      logDirs[name] = join(bundle.dir, `logs-${name}`)
      gateways[name] = await startTestGateway(
        bundlePath,
        {
          filesystem: { command: process.execPath, args: [stockServers.filesystem, srv] },
          everything: { command: process.execPath, args: [stockServers.everything, 'stdio'] },
        },
        {
          workers,
          log: { dir: logDirs[name], durability: 'batch', signingKeyFile: checkpoint.privateKeyPath },
        },
      )
    }
    await start('inProcess', 1)
    await start('pooled', 2)
  })

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()))
    await Promise.allSettled(Object.values(gateways).map((g) => g.close()))
  })

  /** The same calls, made through one gateway: lists, allowed, denied, redacted and blocked results. */
  async function scenario(gateway: TestGateway) {
    const fs = await connectClient(
      gateway.endpoints.filesystem!,
      await gateway.token('alice', ['developer'], 'filesystem'),
    )
    const everything = await connectClient(
      gateway.endpoints.everything!,
      await gateway.token('alice', ['developer'], 'everything'),
    )
    clients.push(fs, everything)
    const support = await connectClient(
      gateway.endpoints.filesystem!,
      await gateway.token('bob', ['support'], 'filesystem'),
    )
    clients.push(support)
    return {
      fsTools: (await fs.listTools()).tools.map((t) => t.name).sort(),
      supportTools: (await support.listTools()).tools.map((t) => t.name),
      everythingTools: (await everything.listTools()).tools.map((t) => t.name).sort(),
      read: await outcome(fs.callTool({ name: 'read_file', arguments: { path: join(srv, 'readme.txt') } })),
      write: await outcome(
        fs.callTool({ name: 'write_file', arguments: { path: join(srv, 'x.txt'), content: 'x' } }),
      ),
      secretPath: await outcome(
        fs.callTool({ name: 'read_file', arguments: { path: join(srv, 'secrets', 'token.txt') } }),
      ),
      secretContent: await outcome(
        fs.callTool({ name: 'read_file', arguments: { path: join(srv, 'keys.txt') } }),
      ),
      supportRead: await outcome(
        support.callTool({ name: 'read_file', arguments: { path: join(srv, 'readme.txt') } }),
      ),
      echo: await outcome(everything.callTool({ name: 'echo', arguments: { message: 'hi there' } })),
      redacted: await outcome(
        everything.callTool({ name: 'echo', arguments: { message: 'write to alice@example.com' } }),
      ),
      sum: await outcome(everything.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } })),
      env: await outcome(everything.callTool({ name: 'get-env', arguments: {} })),
    }
  }

  /** The tools/list and tools/call judgements of a log: what was decided, not by whom or when. */
  function judgements(logged: LoggedEvent[]): string[] {
    return logged
      .flatMap((e) => {
        const mcp = e.path === 'mcp/response' ? e.input.request?.mcp : e.input.mcp
        if (!mcp || (mcp.method !== 'tools/list' && mcp.method !== 'tools/call')) return []
        const reasons = (e.result.reasons ?? []).map((r) => r.code).join(',')
        return [`${e.path} ${mcp.method} ${mcp.tool?.name ?? ''} ${e.result.allow} ${reasons}`]
      })
      .sort()
  }

  it('answers lists, allowed, denied, redacted and blocked calls exactly as the gateway deciding in its main thread', async () => {
    expect(gateways.inProcess.pool).toBeUndefined()
    expect(gateways.pooled.pool?.status()).toMatchObject({ size: 2, ready: 2 })
    const inProcess = await scenario(gateways.inProcess)
    const pooled = await scenario(gateways.pooled)
    expect(pooled).toEqual(inProcess)
    // …and what both answered is the policy's, not an accident of the comparison.
    expect(pooled.fsTools).toContain('read_file')
    expect(pooled.fsTools).not.toContain('write_file')
    expect(pooled.supportTools).toEqual([])
    expect(pooled.everythingTools).toEqual([...EVERYTHING_GRANTED].sort())
    expect(JSON.stringify(pooled.read)).toContain('hello from the project')
    // The first reason is the grant's; the policy may add others (argument checks) after it.
    expect((pooled.write as { denied: string[] }).denied[0]).toBe('not_granted')
    expect((pooled.secretPath as { denied: string[] }).denied).toContain('argument_path_denied')
    expect((pooled.secretContent as { denied: string[] }).denied).toContain('sensitive_data_blocked')
    expect(JSON.stringify(pooled.redacted)).not.toContain('alice@example.com')
    expect((pooled.env as { denied: string[] }).denied[0]).toBe('not_granted')
  })

  it('logs every decision in the per-worker chains, the same judgements as in one thread, each chain verifying', async () => {
    await Promise.all(Object.values(gateways).map((g) => g.flushLogs()))
    const [inProcess, pooled] = await Promise.all([
      loggedEvents<LoggedEvent>(logDirs.inProcess),
      loggedEvents<LoggedEvent>(logDirs.pooled),
    ])
    expect(judgements(pooled)).toEqual(judgements(inProcess))
    expect(judgements(pooled).length).toBeGreaterThanOrEqual(14)
    // Decided by the workers, both of them; the main thread's chain holds only what none could decide.
    const byWorker = new Map<string, number>()
    for (const e of pooled) byWorker.set(e.labels.worker, (byWorker.get(e.labels.worker) ?? 0) + 1)
    expect(byWorker.get('1')).toBeGreaterThan(0)
    expect(byWorker.get('2')).toBeGreaterThan(0)
    expect(byWorker.get('0') ?? 0).toBe(0)
    expect(new Set(inProcess.map((e) => e.labels.worker))).toEqual(new Set(['0']))

    const key = createPublicKey(checkpointPem)
    const verification = await verifyLog([logDirs.pooled], { key })
    expect(verification.findings).toEqual([])
    expect(verification.verified).toBe(true)
    expect(verification.chains.map((c) => c.chain.split('-')[1]).sort()).toEqual(['0', '1', '2'])
    // Every event read above is in a verified chain. server-everything keeps sending notifications
    // (each decided and logged), so more may have been written since: bounded by a second read.
    const verifiedEvents = verification.chains.reduce((n, c) => n + c.events, 0)
    expect(verifiedEvents).toBeGreaterThanOrEqual(pooled.length)
    expect(verifiedEvents).toBeLessThanOrEqual((await loggedEvents<LoggedEvent>(logDirs.pooled)).length)
  })

  it('fails closed when a worker is killed mid-run: its decisions denied ERR_GATEWAY_WORKER_FAILED and logged, the worker replaced', async () => {
    const gateway = gateways.pooled
    const pool = gateway.pool!
    const token = await gateway.token('alice', ['developer'], 'everything')
    const transport = new StreamableHTTPClientTransport(new URL(gateway.endpoints.everything!), {
      requestInit: { headers: { authorization: `Bearer ${token}` } },
    })
    const client = new Client({ name: 'workers-test', version: '1.0.0' })
    await client.connect(transport)
    clients.push(client)
    const headers = {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      authorization: `Bearer ${token}`,
      'mcp-session-id': transport.sessionId!,
      'mcp-protocol-version': transport.protocolVersion ?? '2025-11-25',
    }
    // A burst of calls, and one worker terminated while it holds some of them.
    const burst = Array.from({ length: 60 }, (_, i) =>
      fetch(gateway.endpoints.everything!, {
        method: 'POST',
        headers,
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1000 + i,
          method: 'tools/call',
          params: { name: 'echo', arguments: { message: `call ${i} ${'x'.repeat(20_000)}` } },
        }),
      }),
    )
    const holder = await new Promise<ReturnType<typeof pool.workers>[number]>((resolve, reject) => {
      const until = Date.now() + 10_000
      const look = () => {
        const busy = pool.workers().find((w) => w.inFlight >= 2)
        if (busy) resolve(busy)
        else if (Date.now() > until) reject(new Error('no worker ever held two decisions'))
        else setImmediate(look)
      }
      look()
    })
    await holder.worker.terminate()

    const answers = await Promise.all(
      burst.map(async (pending) => {
        const response = await pending
        const text = await response.text()
        if (response.status !== 200) return { status: response.status, body: JSON.parse(text) }
        // The call's answer on its SSE stream (its priming event has no data).
        const data = text
          .split('\n')
          .filter((l) => l.startsWith('data: ') && l.length > 6)
          .map((l) => JSON.parse(l.slice(6)))
        return { status: 200, body: data.find((m) => m.id !== undefined) }
      }),
    )
    const failed: string[] = []
    for (const { status, body } of answers) {
      if (body.result) {
        expect(status).toBe(200)
        expect(JSON.stringify(body.result.content)).toContain('Echo: call')
        continue
      }
      // Undecided (the request) is 503 with Retry-After; an unjudged result is the call's error.
      expect([200, 503]).toContain(status)
      expect(body.error.data.reason).toBe('ERR_GATEWAY_WORKER_FAILED')
      failed.push(body.error.data.decision_id)
    }
    expect(failed.length).toBeGreaterThan(0)

    await gateway.flushLogs()
    const logged = new Map((await loggedEvents<LoggedEvent>(logDirs.pooled)).map((e) => [e.decision_id, e]))
    for (const id of failed) {
      expect(logged.get(id)).toMatchObject({
        path: REJECTED_PATH,
        labels: { worker: '0' },
        input: { error: { code: 'ERR_GATEWAY_WORKER_FAILED' } },
      })
    }
    await eventually(async () => expect(pool.status()).toMatchObject({ ready: 2, replaced: 1 }))
    expect(gateway.printed.some((l) => l.includes(`decision worker ${holder.id} exited`))).toBe(true)
    // The session lives on, decided by the workers there are now.
    for (let i = 0; i < 4; i++) {
      const echo = await client.callTool({ name: 'echo', arguments: { message: `after ${i}` } })
      expect(JSON.stringify(echo.content)).toContain(`after ${i}`)
    }
    const verification = await verifyLog([logDirs.pooled], { key: createPublicKey(checkpointPem) })
    expect(verification.findings).toEqual([])
  })

  it('the CLI (--workers 2) drains on SIGTERM: every worker’s chain flushed and signed, exit 0', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mcp-policy-workers-cwd-'))
    const logDir = join(cwd, 'logs')
    const child: ChildProcess = spawn(
      process.execPath,
      [
        cliPath,
        'gateway',
        '--workers',
        '2',
        '--port',
        '0',
        '--bundle',
        bundlePath,
        '--log-dir',
        logDir,
        '--id',
        'everything',
        '--',
        process.execPath,
        stockServers.everything,
        'stdio',
      ],
      { cwd, stdio: ['ignore', 'pipe', 'pipe'] },
    )
    let out = ''
    let err = ''
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c
    })
    child.stderr!.setEncoding('utf8').on('data', (c: string) => {
      err += c
    })
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    try {
      const endpoint = await eventually(async () => {
        const match = /^\s+everything\s+(http:\/\/\S+)$/m.exec(out)
        if (!match || !out.includes('decisions are logged')) throw new Error(`not ready:\n${out}\n${err}`)
        return match[1]!
      }, 60_000)
      expect(out).toContain('decisions: 2 worker threads, one log chain each')
      const publicKeyPath = /verify-log \S+ --key (\S+)$/m.exec(out)?.[1]
      expect(publicKeyPath).toBeDefined()
      const key = await loadOrCreateDevKey(join(cwd, '.dev-keys'))
      const token = await mintDevToken(key, { sub: 'alice', roles: ['developer'], aud: endpoint })
      const client = await connectClient(endpoint, token)
      clients.push(client)
      const calls = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          client.callTool({ name: 'echo', arguments: { message: `m${i}` } }),
        ),
      )
      expect(calls.every((c) => JSON.stringify(c.content).includes('Echo: m'))).toBe(true)

      child.kill('SIGTERM')
      expect(await exited).toBe(0)
      const verification = await verifyLog([logDir], {
        key: createPublicKey(await readFile(resolve(cwd, publicKeyPath!), 'utf8')),
      })
      expect(verification.findings).toEqual([])
      expect(verification.verified).toBe(true)
      // The main thread's chain and one per worker, each signed up to its last event at close.
      expect(verification.chains.map((c) => c.chain.split('-')[1]).sort()).toEqual(['0', '1', '2'])
      expect(verification.chains.every((c) => c.unsignedEvents === 0)).toBe(true)
      const workerEvents = verification.chains.filter((c) => !c.chain.startsWith('gateway-0-'))
      expect(workerEvents.every((c) => c.events > 0)).toBe(true)
      // 20 calls judged twice each, and the session's own messages.
      expect(verification.chains.reduce((n, c) => n + c.events, 0)).toBeGreaterThanOrEqual(40)
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
      await exited
    }
  })
})
