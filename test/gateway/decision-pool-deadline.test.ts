import { createPublicKey } from 'node:crypto'
import { join } from 'node:path'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadOrCreateCheckpointKey } from '../../src/audit/checkpoint-key.js'
import { REJECTED_PATH } from '../../src/audit/decision-event.js'
import { verifyLog } from '../../src/audit/verify-log.js'
import { DecisionPool } from '../../src/gateway/decision-pool.js'
import {
  decisionCoreConfig,
  defaultGatewayConfig,
  resolveGatewayConfig,
} from '../../src/gateway/gateway-config.js'
import { createDevKey, type DevKey, devIssuerConfig, mintDevToken } from '../../src/identity/dev-token.js'
import type { RequestEnvelope } from '../../src/normalize/request-normalizer.js'
import { type DecisionCore, openDecisionCore } from '../../src/pdp/decision-core.js'
import type { DecidedMessage } from '../../src/pdp/decision-port.js'
import { buildPolicy } from '../helpers/build-policy.js'
import { loggedEvents } from '../helpers/logged-events.js'
import { SLOW_POLICY } from '../helpers/slow-policy.js'

// The evaluation deadline of the gateway's decision pool, with a real pathological policy built by
// the real OPA: a call of the tool `slow` makes the policy walk 20,000 × 20,000 pairs (about 10 s
// of WebAssembly here, unstopped), any other tool is decided in microseconds. Real worker threads (the built
// decision-worker.js), real logs.

const SERVER = 'tools'
const DEADLINE_MS = 300
// The deadline is checked every tenth of it; the rest is for a loaded machine (the terminate, the
// main thread's refusal and its log write).
const SLACK_MS = 1_500

let key: DevKey
let bundlePath = ''
const rigs: { core: DecisionCore; pool: DecisionPool }[] = []

async function openRig(size: number) {
  const dir = join(bundlePath, '..', `rig-${rigs.length}-${Date.now()}`)
  const logDir = join(dir, 'logs')
  const checkpoint = await loadOrCreateCheckpointKey(join(dir, 'checkpoint'))
  const config = decisionCoreConfig(
    {
      ...defaultGatewayConfig(),
      port: 0,
      servers: { [SERVER]: { command: 'unused' } },
      bundle: { file: bundlePath },
      identity: { issuers: [devIssuerConfig(key)] },
      log: { dir: logDir, durability: 'batch' as const, signingKeyFile: checkpoint.privateKeyPath },
      bundleStore: join(dir, 'store'),
    },
    8080,
  )
  let latest: { bytes: Uint8Array; origin: string } | undefined
  const core = await openDecisionCore(config, {
    worker: '0',
    chain: 'gateway',
    onBundle: async (bytes, origin) => {
      latest = { bytes, origin }
    },
  })
  const printed: string[] = []
  const pool = await DecisionPool.start({
    size,
    config: { ...config, identity: core.identity },
    bundle: () => latest!,
    maxQueued: 1024,
    deadlineMs: DEADLINE_MS,
    refuse: (facts, error) => core.service.refuse(facts, error),
    print: (line) => printed.push(line),
  })
  rigs.push({ core, pool })
  return { core, pool, logDir, printed, publicKeyPem: checkpoint.publicKeyPem }
}

interface LoggedEvent {
  decision_id: string
  path: string
  input: unknown
  result: unknown
  labels: { worker: string }
}

const call = (id: number, tool: string) =>
  JSON.stringify({ jsonrpc: '2.0', id, method: 'tools/call', params: { name: tool, arguments: {} } })

async function facts(message: string): Promise<RequestEnvelope> {
  const token = await mintDevToken(key, {
    sub: 'alice',
    roles: ['developer'],
    aud: `http://127.0.0.1:8080/mcp/${SERVER}`,
  })
  return { message: Buffer.from(message), headers: { authorization: `Bearer ${token}` }, server: SERVER }
}

/** A decision and when it was answered, in ms since `t0`. */
async function timed(t0: number, decided: Promise<DecidedMessage>) {
  const result = await decided
  return { ...result, at: performance.now() - t0 }
}

describe('DecisionPool: the evaluation deadline', () => {
  beforeAll(async () => {
    key = await createDevKey()
    bundlePath = (await buildPolicy({ rego: { 'policy.rego': SLOW_POLICY } })).path
  })

  afterEach(async () => {
    await Promise.allSettled(
      rigs.splice(0).map(async ({ core, pool }) => {
        await pool.close({ timeoutMs: 2_000 })
        await core.close()
      }),
    )
  })

  it('stops a pathological evaluation on time: denied ERR_ENGINE_DEADLINE, logged, replaced, while the other worker keeps answering', async () => {
    const rig = await openRig(2)
    expect((await rig.pool.decideMessage(await facts(call(1, 'echo')))).response.allow).toBe(true)

    const slowFacts = await facts(call(2, 'slow'))
    const cheap = await Promise.all(Array.from({ length: 200 }, (_, i) => facts(call(100 + i, 'echo'))))
    const t0 = performance.now()
    const slow = timed(t0, rig.pool.decideMessage(slowFacts))
    let slowDone = false
    slow.then(() => {
      slowDone = true
    })
    // One cheap message after another for as long as the slow one is pending.
    const answered: { allow: boolean; at: number }[] = []
    for (const f of cheap) {
      if (slowDone) break
      const { response, at } = await timed(t0, rig.pool.decideMessage(f))
      answered.push({ allow: response.allow, at })
    }
    const { response, input, at } = await slow

    expect(response.reasons[0]?.code).toBe('ERR_ENGINE_DEADLINE')
    expect(response).toMatchObject({ allow: false, status: 500 })
    expect(input).toBeUndefined()
    expect(at).toBeGreaterThanOrEqual(DEADLINE_MS)
    expect(at).toBeLessThan(DEADLINE_MS + SLACK_MS)
    // Answered meanwhile, each allowed, most long before the deadline passed.
    expect(answered.length).toBeGreaterThanOrEqual(5)
    expect(answered.every((a) => a.allow)).toBe(true)
    expect(answered.filter((a) => a.at < DEADLINE_MS).length).toBeGreaterThanOrEqual(3)

    expect(rig.printed.some((l) => /ran past the 300 ms deadline; stopping the worker/.test(l))).toBe(true)
    await expect
      .poll(() => rig.pool.status(), { timeout: 20_000 })
      .toMatchObject({
        ready: 2,
        replaced: 1,
        deadlineStops: 1,
      })
    // Logged by the main thread, as a refusal naming the code and the server.
    await rig.core.log!.flush()
    const event = (await loggedEvents<LoggedEvent>(rig.logDir)).find(
      (e) => e.decision_id === response.decision_id,
    )
    expect(event).toMatchObject({
      path: REJECTED_PATH,
      input: { error: { code: 'ERR_ENGINE_DEADLINE' }, server: SERVER },
      labels: { worker: '0' },
    })
    // Deciding again with both workers, the replacement included.
    const after = await Promise.all(
      [1, 2, 3, 4].map(async (i) => rig.pool.decideMessage(await facts(call(i, 'echo')))),
    )
    expect(after.every((d) => d.response.allow)).toBe(true)
    // The stopped worker's chain, cut short, still verifies with every other chain.
    rigs.splice(0)
    await rig.pool.close()
    await rig.core.close()
    const verification = await verifyLog([rig.logDir], { key: createPublicKey(rig.publicKeyPem) })
    expect(verification.findings).toEqual([])
    expect(verification.verified).toBe(true)
  }, 60_000)

  it('hands what the stopped worker never received to its replacement, decided and logged there', async () => {
    const rig = await openRig(1)
    const slow = rig.pool.decideMessage(await facts(call(1, 'slow')))
    // The only worker is stuck in the slow evaluation: what it is sent now waits unread.
    await expect.poll(() => rig.pool.workers()[0]?.stalled, { timeout: 10_000, interval: 5 }).toBe(true)
    const stopped = rig.pool.workers()[0]!.id
    const later = [2, 3, 4].map(async (i) => rig.pool.decideMessage(await facts(call(i, 'echo'))))
    const { response } = await slow
    expect(response.reasons[0]?.code).toBe('ERR_ENGINE_DEADLINE')
    const decided = await Promise.all(later)
    expect(decided.map((d) => d.response.allow)).toEqual([true, true, true])
    expect(decided.every((d) => d.input !== undefined)).toBe(true)
    // Decided by the replacement, in its own chain: not refused by the main thread.
    await rig.pool.flush()
    const logged = new Map((await loggedEvents<LoggedEvent>(rig.logDir)).map((e) => [e.decision_id, e]))
    for (const d of decided) {
      const event = logged.get(d.response.decision_id)
      expect(event?.path).toBe('mcp/decision')
      expect(event?.labels.worker).not.toBe(stopped)
      expect(event?.labels.worker).not.toBe('0')
    }
  }, 60_000)

  it('is configured by limits.evaluationDeadlineMs: 500 ms by default, 0 turns it off, negative is refused', () => {
    expect(resolveGatewayConfig({}).limits.evaluationDeadlineMs).toBe(500)
    expect(resolveGatewayConfig({ limits: { evaluationDeadlineMs: 0 } }).limits.evaluationDeadlineMs).toBe(0)
    expect(() => resolveGatewayConfig({ limits: { evaluationDeadlineMs: -1 } })).toThrow(
      /evaluationDeadlineMs/,
    )
  })
})
