import { connect } from 'node:net'
import fc from 'fast-check'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildReferenceBundle, startTestPdp, type TestPdp, toolCall } from '../helpers/pdp.js'

let pdp: TestPdp

beforeAll(async () => {
  const bundle = await buildReferenceBundle()
  pdp = await startTestPdp(bundle.path, {
    limits: {
      maxBodyBytes: 64 * 1024,
      maxDepth: 32,
      maxHeaders: 40,
      maxHeaderBytes: 8 * 1024,
      requestTimeoutMs: 2_000,
      headersTimeoutMs: 400,
      keepAliveTimeoutMs: 1_000,
      maxRequestsPerSocket: 100,
      evaluationDeadlineMs: 500,
    },
  })
}, 120_000)

afterAll(async () => {
  await pdp?.close()
})

/** Sends raw bytes on a fresh connection and resolves with everything the server wrote before closing. */
function raw(chunks: (string | Buffer)[], options: { gapMs?: number } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(pdp.port, '127.0.0.1')
    let received = ''
    socket.on('data', (data) => {
      received += data.toString('utf8')
    })
    socket.on('error', () => resolve(received))
    socket.on('close', () => resolve(received))
    socket.on('connect', async () => {
      for (const chunk of chunks) {
        if (socket.destroyed) break
        socket.write(chunk)
        if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs))
      }
    })
    setTimeout(() => reject(new Error(`no answer; got ${received}`)), 10_000).unref()
  })
}

function statusOf(response: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(response)?.[1])
}

function bodyOf(response: string): unknown {
  return JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4))
}

async function stillHealthy(): Promise<void> {
  const res = await request(`${pdp.url}/health/ready`)
  expect(res.statusCode).toBe(200)
  await res.body.dump()
}

describe('limits: oversized, deep, slow and malformed requests', () => {
  it('refuses a declared oversized body before reading it (413)', async () => {
    const response = await raw([
      `POST /v1/mcp/decide HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${10 * 1024 * 1024}\r\n\r\n{"message":`,
    ])
    expect(statusOf(response)).toBe(413)
    expect(bodyOf(response)).toEqual({ code: 'ERR_PDP_BODY_TOO_LARGE', message: expect.any(String) })
    await stillHealthy()
  })

  it('cuts off a chunked body once it passes the bound (413)', async () => {
    const chunk = Buffer.alloc(16 * 1024, 'a')
    const chunked = `${chunk.byteLength.toString(16)}\r\n${chunk.toString()}\r\n`
    const response = await raw([
      'POST /v1/mcp/decide HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n',
      ...Array.from({ length: 8 }, () => chunked),
    ])
    expect(statusOf(response)).toBe(413)
    await stillHealthy()
  })

  it('refuses JSON nested deeper than the bound (400) without parsing it', async () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`
    const res = await request(`${pdp.url}/v1/mcp/decide`, { method: 'POST', body: `{"message":${deep}}` })
    expect(res.statusCode).toBe(400)
    expect(((await res.body.json()) as { code: string }).code).toBe('ERR_PDP_BODY_INVALID')
    await stillHealthy()
  })

  it('refuses more headers than the bound (431)', async () => {
    const headers = Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`x-h${i}`, 'v']))
    const res = await request(`${pdp.url}/v1/mcp/decide`, { method: 'POST', headers, body: '{}' })
    expect(res.statusCode).toBe(431)
    expect(((await res.body.json()) as { code: string }).code).toBe('ERR_PDP_HEADERS_TOO_LARGE')
  })

  it('refuses headers larger than the bound (431)', async () => {
    const response = await raw([`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`])
    expect(statusOf(response)).toBe(431)
    expect(bodyOf(response)).toEqual({ code: 'ERR_PDP_HEADERS_TOO_LARGE', message: expect.any(String) })
    await stillHealthy()
  })

  it('cuts off a slowloris client that never finishes its headers (408)', async () => {
    const dribble = [
      'POST /v1/mcp/decide HTTP/1.1\r\n',
      ...Array.from({ length: 40 }, (_, i) => `X-Slow-${i}: 1\r\n`),
    ]
    const response = await raw(dribble, { gapMs: 100 })
    expect(statusOf(response)).toBe(408)
    expect(bodyOf(response)).toEqual({ code: 'ERR_PDP_TIMEOUT', message: expect.any(String) })
    await stillHealthy()
  })

  it('answers garbage that is not HTTP with 400 in the error shape', async () => {
    const response = await raw(['\x16\x03\x01 not http at all\r\n\r\n'])
    expect(statusOf(response)).toBe(400)
    await stillHealthy()
  })

  it('answers every body thrown at /v1/mcp/decide with a decision or a 4xx in the error shape, never a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.json({ maxDepth: 6 }),
          fc.jsonValue({ maxDepth: 4 }).map((message) => JSON.stringify({ message, server: 'github' })),
          fc.constantFrom(
            '{"message":{"jsonrpc":"2.0","id":1,"method":"tools/call","__proto__":{"x":1}}}',
            '\uD800',
          ),
        ),
        async (body) => {
          const res = await request(`${pdp.url}/v1/mcp/decide`, { method: 'POST', body })
          const parsed = (await res.body.json()) as Record<string, unknown>
          if (res.statusCode === 200) {
            expect(typeof parsed.allow).toBe('boolean')
            if (!parsed.allow) expect((parsed.reasons as unknown[]).length).toBeGreaterThan(0)
          } else {
            expect(res.statusCode).toBeGreaterThanOrEqual(400)
            expect(res.statusCode).toBeLessThan(500)
            expect(Object.keys(parsed).sort()).toEqual(['code', 'message'])
          }
        },
      ),
      { numRuns: 150 },
    )
    await stillHealthy()
  })
})

describe('bundles', () => {
  it('keeps serving the old bundle when a corrupt one arrives, and reports it', async () => {
    const before = pdp.service.engine.bundle?.digest
    await expect(pdp.loadBundleBytes(Buffer.from('not a bundle'), 'test')).rejects.toMatchObject({
      code: 'ERR_BUNDLE_CORRUPT',
    })
    expect(pdp.service.engine.bundle?.digest).toBe(before)
    const ready = await request(`${pdp.url}/health/ready`)
    const body = (await ready.body.json()) as { ready: boolean; last_bundle_error: { code: string } }
    expect(ready.statusCode).toBe(200)
    expect(body.last_bundle_error.code).toBe('ERR_BUNDLE_CORRUPT')
    const metrics = await (await request(`${pdp.url}/metrics`)).body.text()
    expect(metrics).toMatch(/mcp_policy_bundle_load_failures_total\{[^}]*code="ERR_BUNDLE_CORRUPT"[^}]*\} 1/)
    const alice = await pdp.token('alice', ['developer'])
    const res = await request(`${pdp.url}/v1/mcp/decide`, {
      method: 'POST',
      body: JSON.stringify({
        message: toolCall('get_issue'),
        headers: { authorization: `Bearer ${alice}` },
        server: 'github',
      }),
    })
    expect(((await res.body.json()) as { allow: boolean }).allow).toBe(true)
  })
})
