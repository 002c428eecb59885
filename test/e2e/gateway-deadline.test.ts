import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { REJECTED_PATH } from '../../src/audit/decision-event.js'
import { defaultGatewayConfig } from '../../src/gateway/gateway-config.js'
import { buildPolicy } from '../helpers/build-policy.js'
import { connectClient, startTestGateway, stockServers, type TestGateway } from '../helpers/gateway.js'
import { loggedEvents } from '../helpers/logged-events.js'
import { SLOW_POLICY } from '../helpers/slow-policy.js'

// `mcp-policy gateway` with two decision workers and `limits.evaluationDeadlineMs: 1000`, in front of
// the real server-everything over stdio, the real SDK client calling, and a policy built by the real
// OPA that spends seconds of WebAssembly on a call of the tool `slow` and allows everything else:
// the slow call is answered on time with HTTP 500 and ERR_ENGINE_DEADLINE (logged), echo calls made
// meanwhile are answered, and the gateway keeps working with a replaced worker.

const DEADLINE_MS = 1_000
const SLACK_MS = 2_000

interface LoggedEvent {
  decision_id: string
  path: string
  input: { error?: { code: string }; server?: string }
  labels: { worker: string }
}

describe('mcp-policy gateway: the evaluation deadline', () => {
  let gateway: TestGateway
  let client: Client

  beforeAll(async () => {
    const built = await buildPolicy({ rego: { 'policy.rego': SLOW_POLICY } })
    gateway = await startTestGateway(
      built.path,
      { everything: { command: process.execPath, args: [stockServers.everything, 'stdio'] } },
      { workers: 2, limits: { ...defaultGatewayConfig().limits, evaluationDeadlineMs: DEADLINE_MS } },
    )
    client = await connectClient(
      gateway.endpoints.everything!,
      await gateway.token('alice', ['developer'], 'everything'),
    )
  }, 60_000)

  afterAll(async () => {
    await client?.close()
    await gateway?.close()
  })

  it('answers a call whose policy runs past the deadline with 500 ERR_ENGINE_DEADLINE, on time, while echo calls are answered', async () => {
    const token = await gateway.token('alice', ['developer'], 'everything')
    // The slow call as a raw POST, to read the HTTP status and the JSON-RPC error the client gets.
    const t0 = performance.now()
    const slow = fetch(gateway.endpoints.everything!, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': client.transport?.sessionId ?? '',
        'mcp-protocol-version': '2025-06-18',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'slow-1',
        method: 'tools/call',
        params: { name: 'slow', arguments: {} },
      }),
    }).then(async (res) => ({ status: res.status, body: await res.json(), at: performance.now() - t0 }))
    let slowDone = false
    slow.then(() => {
      slowDone = true
    })
    // Echo calls once the slow evaluation has begun: a message its worker had already taken in
    // before (one being normalized) would be refused with it (ERR_GATEWAY_WORKER_FAILED, 503).
    await new Promise((resolve) => setTimeout(resolve, 200))
    const echoed: string[] = []
    for (let i = 0; i < 50 && !slowDone; i++) {
      const result = await client.callTool({ name: 'echo', arguments: { message: `meanwhile ${i}` } })
      echoed.push(JSON.stringify(result.content))
    }
    const { status, body, at } = await slow

    expect(status).toBe(500)
    expect(body.error.data.reasons[0].code).toBe('ERR_ENGINE_DEADLINE')
    expect(at).toBeGreaterThanOrEqual(DEADLINE_MS)
    expect(at).toBeLessThan(DEADLINE_MS + SLACK_MS)
    expect(echoed.length).toBeGreaterThanOrEqual(1)
    expect(echoed.every((text) => text.includes('meanwhile'))).toBe(true)
    expect(gateway.printed.some((l) => /ran past the 1000 ms deadline/.test(l))).toBe(true)

    // Still answering once the worker is replaced.
    const after = await client.callTool({ name: 'echo', arguments: { message: 'after' } })
    expect(JSON.stringify(after.content)).toContain('after')
    // Logged by the main thread (written before the answer): a refusal naming the code and the server.
    const refusal = (await loggedEvents<LoggedEvent>(gateway.logDir)).find(
      (e) => e.decision_id === body.error.data.decision_id,
    )
    expect(refusal).toMatchObject({
      path: REJECTED_PATH,
      input: { error: { code: 'ERR_ENGINE_DEADLINE' }, server: 'everything' },
      labels: { worker: '0' },
    })
  }, 60_000)
})
