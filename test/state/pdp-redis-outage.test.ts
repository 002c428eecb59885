import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { devIssuer } from '../../src/index.js'
import { buildReferenceBundle, startTestPdp, type TestPdp, toolCall } from '../helpers/pdp.js'
import { startTestRedis, type TestRedis } from '../helpers/redis-server.js'

// A PDP whose revocation state lives in a real Redis, killed and restarted under it: decisions
// for an issuer with `revocation: required` (the default) are refused while it is gone, with a
// stable reason, counted in the metrics, shown in readiness; all recovers when Redis returns.
let redis: TestRedis
let pdp: TestPdp
let bundlePath: string

beforeAll(async () => {
  redis = await startTestRedis()
  bundlePath = (await buildReferenceBundle()).path
}, 120_000)

afterAll(async () => {
  await pdp?.close()
  await redis?.stop()
})

async function decide(bearer: string) {
  const response = await request(`${pdp.url}/v1/mcp/decide`, {
    method: 'POST',
    body: JSON.stringify({
      message: toolCall('get_issue'),
      headers: { authorization: `Bearer ${bearer}` },
      server: 'github',
    }),
  })
  return (await response.body.json()) as { allow: boolean; status: number; reasons: { message: string }[] }
}

async function ready() {
  const response = await request(`${pdp.url}/health/ready`)
  return (await response.body.json()) as { state?: { backend: string; available: boolean } }
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

describe('PDP with state.backend redis: Redis killed mid-run', () => {
  it('fails closed while Redis is gone (revocation: required), and recovers when it returns', async () => {
    pdp = await startTestPdp(bundlePath, {
      state: { backend: 'redis', redis: { url: redis.url, commandTimeoutMs: 300 } },
    })
    // startTestPdp's dev issuer sets no `revocation`: the default, required, is in force.
    expect(pdp.config.identity?.issuers[0]?.revocation).toBeUndefined()
    const token = await pdp.token('alice', ['developer'])
    expect(await ready()).toMatchObject({ state: { backend: 'redis', available: true } })
    expect(await decide(token)).toMatchObject({ allow: true })

    await redis.kill()
    await until(async () => (await ready()).state?.available === false, 5_000)
    const refused = await decide(token)
    expect(refused).toMatchObject({ allow: false, status: 401 })
    expect(refused.reasons[0]?.message).toContain('revocation state cannot be read')
    const metrics = await (await request(`${pdp.url}/metrics`)).body.text()
    expect(metrics).toContain(`mcp_policy_revocation_unavailable_total{issuer="${devIssuer}",action="denied"`)
    expect(metrics).toMatch(/mcp_policy_state_store_available\{backend="redis"[^}]*\} 0/)

    await redis.restart()
    await until(async () => (await ready()).state?.available === true, 10_000)
    expect(await decide(token)).toMatchObject({ allow: true })
  })
})
