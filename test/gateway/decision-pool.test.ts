import { createPublicKey } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { DecisionPool } from '../../src/gateway/decision-pool.js'
import { decisionCoreConfig } from '../../src/gateway/gateway-config.js'
import {
  createDevKey,
  type DecidedMessage,
  type DevKey,
  defaultGatewayConfig,
  devIssuerConfig,
  loadOrCreateCheckpointKey,
  mintDevToken,
  REJECTED_PATH,
  verifyLog,
} from '../../src/index.js'
import type { RequestEnvelope } from '../../src/normalize/request-normalizer.js'
import { type DecisionCore, openDecisionCore } from '../../src/pdp/decision-core.js'
import { buildReferenceBundleWith } from '../helpers/gateway.js'
import { loggedEvents } from '../helpers/logged-events.js'

// The gateway's decision pool on its own: real worker threads (the built decision-worker.js), each
// with its own WebAssembly engine and log chain, fed by a real main-thread decision core, deciding
// with the reference policy built by the real OPA.

const SERVER = 'tools'

/** A core and a pool as the gateway opens them, with their own log directory and checkpoint key. */
interface Rig {
  core: DecisionCore
  pool: DecisionPool
  logDir: string
  key: DevKey
  publicKeyPem: string
  printed: string[]
  setBundle(bytes: Uint8Array): Promise<void>
}

let grantedBundle = ''
let revokedBundle = ''
let key: DevKey
const rigs: Rig[] = []

async function openRig(options: { window?: number; maxQueued?: number; maxBodyBytes?: number } = {}) {
  const dir = join(grantedBundle, '..', `rig-${rigs.length}-${Date.now()}`)
  const logDir = join(dir, 'logs')
  const checkpoint = await loadOrCreateCheckpointKey(join(dir, 'checkpoint'))
  const gatewayConfig = {
    ...defaultGatewayConfig(),
    port: 0,
    servers: { [SERVER]: { command: 'unused' } },
    bundle: { file: grantedBundle },
    identity: { issuers: [devIssuerConfig(key)] },
    log: { dir: logDir, durability: 'batch' as const, signingKeyFile: checkpoint.privateKeyPath },
    bundleStore: join(dir, 'store'),
  }
  if (options.maxBodyBytes) gatewayConfig.limits.maxRequestBytes = options.maxBodyBytes
  const config = decisionCoreConfig(gatewayConfig, 8080)
  let latest: { bytes: Uint8Array; origin: string } | undefined
  let pool: DecisionPool | undefined
  const core = await openDecisionCore(config, {
    worker: '0',
    chain: 'gateway',
    onBundle: async (bytes, origin) => {
      latest = { bytes, origin }
      await pool?.loadBundle(bytes, origin)
    },
  })
  const printed: string[] = []
  pool = await DecisionPool.start({
    size: 2,
    config: { ...config, identity: core.identity },
    bundle: () => latest!,
    maxQueued: options.maxQueued ?? 1024,
    window: options.window,
    refuse: (facts, error) => core.service.refuse(facts, error),
    print: (line) => printed.push(line),
  })
  const rig: Rig = {
    core,
    pool,
    logDir,
    key,
    publicKeyPem: checkpoint.publicKeyPem,
    printed,
    // As the gateway's bundle source does: the main core loads it, its onBundle hands it on.
    setBundle: (bytes) => core.loadBundleBytes(bytes, 'test'),
  }
  rigs.push(rig)
  return rig
}

async function closeRig(rig: Rig) {
  await rig.pool.close()
  await rig.core.close()
}

/** What the tests read of a logged event. */
interface LoggedEvent {
  decision_id: string
  path: string
  input: unknown
  labels: { worker: string; chain: string }
}

/** Every event of a log directory, every chain. */

const call = (id: number, tool: string, args: Record<string, unknown> = {}) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: args } })

async function facts(message: string, sub = 'alice'): Promise<RequestEnvelope> {
  const token = await mintDevToken(key, {
    sub,
    roles: ['developer'],
    aud: `http://127.0.0.1:8080/mcp/${SERVER}`,
  })
  return { message: Buffer.from(message), headers: { authorization: `Bearer ${token}` }, server: SERVER }
}

/** A decision without what differs between two deciders of the same message: ids and time. */
function comparable(decided: DecidedMessage) {
  const { decision_id: _, ...response } = decided.response
  const input = decided.input
  return {
    response,
    message: decided.message,
    input: input && {
      ...input,
      context: { ...input.context, time: undefined, request: { ...input.context.request, id: undefined } },
    },
  }
}

describe('DecisionPool: worker threads deciding for the gateway', () => {
  beforeAll(async () => {
    key = await createDevKey()
    const granted = await buildReferenceBundleWith((data) => {
      data.servers[SERVER] = { classification: 'internal', tools: { echo: {}, wipe: {} } }
      data.grants.roles.developer.tools[SERVER] = ['echo']
    })
    grantedBundle = granted.path
    const revoked = await buildReferenceBundleWith((data) => {
      data.servers[SERVER] = { classification: 'internal', tools: { echo: {}, wipe: {} } }
      data.grants.roles.developer.tools[SERVER] = []
    })
    revokedBundle = revoked.path
  })

  afterEach(async () => {
    await Promise.allSettled(rigs.splice(0).map(closeRig))
  })

  afterAll(async () => {
    await Promise.allSettled(rigs.map(closeRig))
  })

  it('decides and judges as the main thread’s own DecisionService does, message for message', async () => {
    const rig = await openRig()
    const messages = [
      call(1, 'echo', { text: 'hi' }),
      call(2, 'wipe'),
      JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list' }),
      '{"jsonrpc":"2.0","id":4,',
      '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":{"name":"echo","name":"wipe"}}',
    ]
    for (const message of messages) {
      const f = await facts(message)
      const inProcess = await rig.core.service.decideMessage(f)
      const pooled = await rig.pool.decideMessage(f)
      expect(comparable(pooled)).toEqual(comparable(inProcess))
    }
    // No token at all: the same refusal, with the same status a challenge is built from.
    const anonymous = { message: Buffer.from(call(6, 'echo')), headers: {}, server: SERVER }
    expect(comparable(await rig.pool.decideMessage(anonymous))).toEqual(
      comparable(await rig.core.service.decideMessage(anonymous)),
    )

    const decided = await rig.core.service.decideMessage(await facts(call(7, 'echo')))
    const secret = { content: [{ type: 'text', text: 'aws_access_key_id = AKIAIOSFODNN7EXAMPLE' }] }
    const plain = { content: [{ type: 'text', text: 'hello' }] }
    for (const result of [secret, plain]) {
      const body = {
        request: decided.input,
        result,
        requestRedact: decided.response.obligations.redact ?? [],
      }
      const { decision_id: _a, ...inProcess } = await rig.core.service.judgeResponse(body)
      const { decision_id: _b, ...pooled } = await rig.pool.judgeResponse(body)
      expect(pooled).toEqual(inProcess)
    }
    expect((await rig.pool.judgeResponse({ request: decided.input, result: secret })).allow).toBe(false)
  })

  it('spreads decisions over every worker, each logging to its own chain, all verifying', async () => {
    const rig = await openRig()
    const decided = await Promise.all(
      Array.from({ length: 40 }, async (_, i) => rig.pool.decideMessage(await facts(call(i, 'echo')))),
    )
    expect(decided.every((d) => d.response.allow)).toBe(true)
    await rig.pool.flush()
    const logged = await loggedEvents<LoggedEvent>(rig.logDir)
    const byId = new Map(logged.map((e) => [e.decision_id, e]))
    const workers = new Set(decided.map((d) => byId.get(d.response.decision_id)?.labels.worker))
    expect([...workers].sort()).toEqual(['1', '2'])
    await closeRig(rig)
    rigs.splice(rigs.indexOf(rig), 1)
    const verification = await verifyLog([rig.logDir], { key: createPublicKey(rig.publicKeyPem) })
    expect(verification.findings).toEqual([])
    expect(verification.verified).toBe(true)
    // The main thread's chain (empty: every message was decided) and one per worker.
    expect(verification.chains.map((c) => c.chain.split('-')[1]).sort()).toEqual(['0', '1', '2'])
    expect(verification.chains.reduce((n, c) => n + c.events, 0)).toBe(40)
  })

  it('denies ERR_GATEWAY_OVERLOADED past the queue bound, and logs each refusal in the main chain', async () => {
    // One message in flight per worker, two waiting: of eight at once, four are refused.
    const rig = await openRig({ window: 1, maxQueued: 2 })
    const all = await Promise.all(Array.from({ length: 8 }, async (_, i) => facts(call(i, 'echo')))).then(
      (list) => Promise.all(list.map((f) => rig.pool.decideMessage(f))),
    )
    const refused = all.filter((d) => d.response.reasons[0]?.code === 'ERR_GATEWAY_OVERLOADED')
    const decided = all.filter((d) => d.response.allow)
    expect(refused.length).toBe(4)
    expect(decided.length).toBe(4)
    for (const r of refused) {
      expect(r.response).toMatchObject({ allow: false, status: 503 })
      expect(r.input).toBeUndefined()
    }
    await rig.core.log!.flush()
    const logged = new Map((await loggedEvents<LoggedEvent>(rig.logDir)).map((e) => [e.decision_id, e]))
    for (const r of refused) {
      const event = logged.get(r.response.decision_id)
      expect(event?.path).toBe(REJECTED_PATH)
      expect(event?.labels.worker).toBe('0')
      expect(event?.input).toEqual({ error: { code: 'ERR_GATEWAY_OVERLOADED' }, server: SERVER })
    }
    // The queue drains: later messages are decided again.
    expect((await rig.pool.decideMessage(await facts(call(99, 'echo')))).response.allow).toBe(true)
  })

  it('fails closed when a worker dies holding a decision: denied ERR_GATEWAY_WORKER_FAILED, logged, replaced', async () => {
    const rig = await openRig({ maxBodyBytes: 64 * 1024 * 1024 })
    // A message big enough that no worker could decide it before the terminate lands.
    const big = await facts(call(1, 'echo', { text: 'x'.repeat(24 * 1024 * 1024) }))
    const pending = rig.pool.decideMessage(big)
    const holder = rig.pool.workers().find((w) => w.inFlight > 0)
    expect(holder).toBeDefined()
    await holder!.worker.terminate()
    const { response, input } = await pending
    expect(input).toBeUndefined()
    expect(response).toMatchObject({ allow: false, status: 503 })
    expect(response.reasons[0]?.code).toBe('ERR_GATEWAY_WORKER_FAILED')
    await rig.core.log!.flush()
    const event = (await loggedEvents<LoggedEvent>(rig.logDir)).find(
      (e) => e.decision_id === response.decision_id,
    )
    expect(event).toMatchObject({
      path: REJECTED_PATH,
      input: { error: { code: 'ERR_GATEWAY_WORKER_FAILED' }, server: SERVER },
      labels: { worker: '0' },
    })
    // Replaced, and deciding again with both workers.
    await expect.poll(() => rig.pool.status(), { timeout: 20_000 }).toMatchObject({ ready: 2, replaced: 1 })
    expect(rig.printed.some((l) => /decision worker \d exited \(\d+\); starting a replacement/.test(l))).toBe(
      true,
    )
    expect(rig.pool.workers().map((w) => w.id)).not.toContain(holder!.id)
    const after = await Promise.all(
      [1, 2, 3, 4].map(async (i) => rig.pool.decideMessage(await facts(call(i, 'echo')))),
    )
    expect(after.every((d) => d.response.allow)).toBe(true)
  })

  it('hands a new bundle to every worker, and a replacement starts with it', async () => {
    const rig = await openRig({ window: 1 })
    const decide = () =>
      Promise.all([1, 2].map(async (i) => rig.pool.decideMessage(await facts(call(i, 'echo')))))
    expect((await decide()).map((d) => d.response.allow)).toEqual([true, true])
    await rig.setBundle(new Uint8Array(await readFile(revokedBundle)))
    // One message in flight per worker: two at once are decided by both workers.
    const revoked = await decide()
    expect(revoked.map((d) => d.response.reasons[0]?.code)).toEqual(['not_granted', 'not_granted'])
    await rig.pool.flush()
    const logged = new Map((await loggedEvents<LoggedEvent>(rig.logDir)).map((e) => [e.decision_id, e]))
    expect(revoked.map((d) => logged.get(d.response.decision_id)?.labels.worker).sort()).toEqual(['1', '2'])
    await rig.pool.workers()[0]!.worker.terminate()
    await expect.poll(() => rig.pool.status(), { timeout: 20_000 }).toMatchObject({ ready: 2, replaced: 1 })
    const again = await decide()
    expect(again.map((d) => d.response.reasons[0]?.code)).toEqual(['not_granted', 'not_granted'])
  })

  it('drains on close: what is in flight is decided, every chain flushed and signed', async () => {
    const rig = await openRig()
    const all = await Promise.all(Array.from({ length: 30 }, async (_, i) => facts(call(i, 'echo'))))
    const pending = all.map((f) => rig.pool.decideMessage(f))
    await rig.pool.close()
    const decided = await Promise.all(pending)
    expect(decided.every((d) => d.response.allow)).toBe(true)
    // Closed: a late message is not decided, but still denied and logged (by the main thread), not dropped.
    const late = await rig.pool.decideMessage(all[0]!)
    expect(late.response.reasons[0]?.code).toBe('ERR_GATEWAY_WORKER_FAILED')
    await rig.core.close()
    rigs.splice(rigs.indexOf(rig), 1)
    const verification = await verifyLog([rig.logDir], { key: createPublicKey(rig.publicKeyPem) })
    expect(verification.findings).toEqual([])
    expect(verification.verified).toBe(true)
    expect(verification.chains.every((c) => c.unsignedEvents === 0)).toBe(true)
    expect(verification.chains.reduce((n, c) => n + c.events, 0)).toBe(31)
  })
})
