import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultPdpConfig, verifyLog } from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'
import { loggedEvents } from '../helpers/logged-events.js'
import { startTestPdp, type TestPdp, toolCall } from '../helpers/pdp.js'
import { SLOW_POLICY } from '../helpers/slow-policy.js'

// `serve`'s evaluation deadline (`limits.evaluationDeadlineMs`), through the real HTTP API: the
// engine evaluates in its own worker thread (the built deadline-evaluator-worker.js), stopped past
// the deadline. A policy built by the real OPA walks 20,000² pairs for the tool `slow` (SLOW_POLICY,
// about 10 s of WebAssembly here) and allows everything else at once.

const DEADLINE_MS = 300
const SLACK_MS = 1_500

interface LoggedEvent {
  decision_id: string
  path: string
  result: { allow: boolean; reasons: { code: string }[] }
  error?: { code: string }
}

let pdp: TestPdp
let token: string

beforeAll(async () => {
  const built = await buildPolicy({ rego: { 'policy.rego': SLOW_POLICY } })
  pdp = await startTestPdp(built.path, {
    limits: { ...defaultPdpConfig().limits, evaluationDeadlineMs: DEADLINE_MS },
  })
  token = await pdp.token('alice', ['developer'])
}, 60_000)

afterAll(async () => {
  await pdp?.close()
})

async function decide(name: string) {
  const t0 = performance.now()
  const res = await request(`${pdp.url}/v1/mcp/decide`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      server: 'github',
      headers: { authorization: `Bearer ${token}` },
      message: toolCall(name),
    }),
  })
  const body = (await res.body.json()) as {
    allow: boolean
    status: number
    reasons: { code: string }[]
    decision_id: string
  }
  return { status: res.statusCode, body, took: performance.now() - t0 }
}

describe('serve: the evaluation deadline', () => {
  it('denies a call whose policy runs past the deadline with ERR_ENGINE_DEADLINE, on time and logged, and answers the next', async () => {
    const slow = await decide('slow')
    expect(slow.body).toMatchObject({ allow: false, status: 500 })
    expect(slow.body.reasons[0]?.code).toBe('ERR_ENGINE_DEADLINE')
    expect(slow.took).toBeGreaterThanOrEqual(DEADLINE_MS)
    expect(slow.took).toBeLessThan(DEADLINE_MS + SLACK_MS)

    const next = await decide('echo')
    expect(next.body).toMatchObject({ allow: true, status: 200 })

    const ready = await request(`${pdp.url}/health/ready`)
    expect(((await ready.body.json()) as { evaluation?: unknown }).evaluation).toEqual({
      deadlineMs: DEADLINE_MS,
      deadlineStops: 1,
    })

    await pdp.close()
    const logged = (await loggedEvents<LoggedEvent>(pdp.logDir)).find(
      (e) => e.decision_id === slow.body.decision_id,
    )
    expect(logged?.result).toMatchObject({ allow: false, reasons: [{ code: 'ERR_ENGINE_DEADLINE' }] })
    expect((await verifyLog([pdp.logDir])).intact).toBe(true)
  }, 30_000)
})
