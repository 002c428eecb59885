import { mkdtemp, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DecisionLog, DecisionService, PolicyEngine, RequestNormalizer } from '../../src/index.js'

// Issue #15 class 3: a request refused before any policy ran is logged with its error code, server
// id and method only, and its reason quotes no credential: masked before it is cut to size, so a
// long prefix cannot push a token past the cut and leave half of it.

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url')
const jwt = `${b64({ alg: 'ES256', typ: 'at+jwt' })}.${b64({ sub: 'alice' })}.${'S1gnatureS1gnatureS1gnature'}`

describe('refusals in the decision log', () => {
  let dir = ''
  let log: DecisionLog
  let service: DecisionService

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mcp-policy-rejected-'))
    log = await DecisionLog.open({ dir, durability: 'sync' })
    // No bundle is needed: a refusal is decided before any policy runs.
    service = new DecisionService({
      engine: new PolicyEngine(),
      normalizer: new RequestNormalizer({
        servers: { github: { resource: 'https://mcp.example.com/github' } },
      }),
      log,
    })
  })

  afterAll(async () => {
    await log?.close()
  })

  async function logged(): Promise<string> {
    let text = ''
    for (const file of await readdir(dir))
      if (file.endsWith('.jsonl')) text += await readFile(join(dir, file), 'utf8')
    return text
  }

  it('masks the server id, the method and the reason, then cuts them', async () => {
    const long = 'x'.repeat(240)
    const response = await service.decideMcp({
      message: { jsonrpc: '2.0', id: 1, method: `${long}${jwt}`, params: {} },
      server: `${long}?access_token=${jwt}`,
      headers: { authorization: 'Bearer presented-opaque-credential' },
    })
    expect(response.allow).toBe(false)
    expect(response.reasons[0]!.code).toBe('ERR_NORMALIZE_SERVER_UNKNOWN')
    expect(response.reasons[0]!.message).toContain('[REDACTED]')
    const text = await logged()
    const event = JSON.parse(text.trim().split('\n').at(-1)!)
    expect(event.path).toBe('mcp-policy/rejected')
    expect(event.input.method).toBe(`${long}[REDACTED]`.slice(0, 256))
    expect(event.input.server).toBe(`${long}?access_token=[REDACTED]`.slice(0, 256))
    for (const part of [jwt, jwt.split('.')[0]!, jwt.split('.')[2]!]) expect(text).not.toContain(part)
    expect(JSON.stringify(response)).not.toContain(jwt.split('.')[2]!)
  })

  it('quotes a credential the headers presented nowhere, and keeps a lone surrogate out of the log', async () => {
    const presented = 'presented-opaque-credential-42'
    const response = await service.decideMcp({
      message: { jsonrpc: '2.0', id: 1, method: `tools/\ud800${presented}`, params: {} },
      server: `github-${presented}`,
      headers: { 'x-api-key': presented },
    })
    expect(response.reasons[0]!.code).toBe('ERR_NORMALIZE_JSON_INVALID')
    const text = await logged()
    expect(text).not.toContain(presented)
    expect(text.isWellFormed()).toBe(true)
    expect(JSON.stringify(response)).not.toContain(presented)
  })
})
