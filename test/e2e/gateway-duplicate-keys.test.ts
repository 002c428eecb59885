import { access, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { POLICY_DENIED_ERROR_CODE, verifyLog } from '../../src/index.js'
import {
  buildReferenceBundleWith,
  connectClient,
  startTestGateway,
  stockServers,
  type TestGateway,
} from '../helpers/gateway.js'
import { findNginx, type NginxGateway, startNginxGateway } from '../helpers/nginx-gateway.js'
import { buildReferenceBundle, startTestPdp, type TestPdp } from '../helpers/pdp.js'
import { type SampleMcpServer, startSampleMcpServer } from '../helpers/sample-mcp-server.js'

// Issue #15 class 5 at the gateways: the raw body goes to the normalizer, so a message holding a key
// twice (`"name":"write_file",…,"name":"read_file"`: JSON.parse keeps the last, a first-wins server
// would write) is answered 400 with ERR_NORMALIZE_DUPLICATE_KEY and never reaches the MCP server.

describe('mcp-policy gateway: duplicate JSON keys', () => {
  let gateway: TestGateway
  let client: Client
  let srv = ''
  let post: (body: string) => Promise<Response>

  beforeAll(async () => {
    srv = await mkdtemp(join(tmpdir(), 'mcp-policy-dup-srv-'))
    await writeFile(join(srv, 'readme.txt'), 'hello from the project\n')
    const bundle = await buildReferenceBundleWith((data) => {
      // The filesystem rules name /srv/projects/; this run's directory stands in for it.
      data.servers.filesystem = JSON.parse(
        JSON.stringify(data.servers.filesystem).replaceAll('/srv/projects/', `${srv}/`),
      )
    })
    gateway = await startTestGateway(bundle.path, {
      filesystem: { command: process.execPath, args: [stockServers.filesystem, srv] },
    })
    const token = await gateway.token('alice', ['developer'], 'filesystem')
    client = await connectClient(gateway.endpoints.filesystem!, token)
    const sessionId = (client.transport as { sessionId?: string }).sessionId!
    post = (body) =>
      fetch(gateway.endpoints.filesystem!, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          authorization: `Bearer ${token}`,
          'mcp-session-id': sessionId,
          'mcp-protocol-version': '2025-11-25',
        },
        body,
      })
  })

  afterAll(async () => {
    await client?.close().catch(() => {})
    await gateway?.close()
  })

  const call = (params: string, id = 1) =>
    `{"jsonrpc":"2.0","id":${id},"method":"tools/call","params":${params}}`

  it('forwards the call written once (the baseline)', async () => {
    const res = await post(
      call(`{"name":"read_file","arguments":{"path":${JSON.stringify(join(srv, 'readme.txt'))}}}`),
    )
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('hello from the project')
  })

  const pwned = () => JSON.stringify(join(srv, 'pwned.txt'))
  const readme = () => JSON.stringify(join(srv, 'readme.txt'))
  it.each<[string, () => string]>([
    [
      'name twice (the review example: write_file, then read_file)',
      () =>
        call(`{"name":"write_file","arguments":{"path":${pwned()},"content":"pwned"},"name":"read_file"}`),
    ],
    [
      'name twice, the second spelled with an escape',
      () =>
        call(
          `{"name":"write_file","arguments":{"path":${pwned()},"content":"pwned"},"n\\u0061me":"read_file"}`,
        ),
    ],
    [
      'an argument twice',
      () => call(`{"name":"read_file","arguments":{"path":"/etc/shadow","path":${readme()}}}`),
    ],
    [
      'a _meta member twice',
      () =>
        call(
          `{"name":"read_file","arguments":{"path":${readme()}},"_meta":{"progressToken":1,"progressToken":2}}`,
        ),
    ],
  ])('answers 400 with ERR_NORMALIZE_DUPLICATE_KEY for %s', async (_what, body) => {
    const res = await post(body())
    expect(res.status).toBe(400)
    const answer = (await res.json()) as {
      id: unknown
      error: { code: number; data: { reason: string; status: number } }
    }
    expect(answer.id).toBeNull()
    expect(answer.error.code).toBe(POLICY_DENIED_ERROR_CODE)
    expect(answer.error.data).toMatchObject({ reason: 'ERR_NORMALIZE_DUPLICATE_KEY', status: 400 })
    // Refused before the MCP server saw it: nothing was written.
    await expect(access(join(srv, 'pwned.txt'))).rejects.toThrow()
  })

  it('logged every refusal with its code, in a log that verifies', async () => {
    await gateway.flushLogs()
    const verification = await verifyLog([gateway.logDir])
    expect(verification.intact).toBe(true)
    const files = await collectJsonl(gateway.logDir)
    const refused = files.filter((e) => e.input?.error?.code === 'ERR_NORMALIZE_DUPLICATE_KEY')
    expect(refused.length).toBe(4)
    // The raw body is never logged: not the content the duplicate tried to write.
    expect(JSON.stringify(files)).not.toContain('pwned')
  })
})

// The nginx gateway forwards the raw body text to the PDP's /v1/mcp/decide as `message`, so the
// normalizer's check covers it; one case confirms it end to end. In CI a missing nginx is a
// failure, elsewhere the suite is skipped (as test/e2e/nginx-gateway.test.ts).
const nginxFound = findNginx()
describe.runIf(nginxFound !== undefined || process.env.CI !== undefined)(
  'nginx gateway: duplicate JSON keys',
  () => {
    let pdp: TestPdp
    let upstream: SampleMcpServer
    let nginx: NginxGateway

    beforeAll(async () => {
      if (!nginxFound)
        throw new Error('CI is set but nginx with the njs module is not installed (see .ci/run)')
      const bundle = await buildReferenceBundle()
      pdp = await startTestPdp(bundle.path)
      upstream = await startSampleMcpServer()
      nginx = await startNginxGateway({ pdp: pdp.url, upstream: upstream.url, serverId: 'github' })
    })

    afterAll(async () => {
      await nginx?.close()
      await upstream?.close()
      await pdp?.close()
    })

    it('answers 400 with ERR_NORMALIZE_DUPLICATE_KEY for the review example', async () => {
      const token = await pdp.token('alice', ['developer'])
      const post = (body: string) =>
        fetch(nginx.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            accept: 'application/json, text/event-stream',
            authorization: `Bearer ${token}`,
          },
          body,
        })
      const review =
        '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_repository","arguments":{},"name":"get_issue"}}'
      const res = await post(review)
      expect(res.status).toBe(400)
      const answer = (await res.json()) as { id: unknown; error: { code: number; data: { reason: string } } }
      expect(answer.id).toBe(1)
      expect(answer.error.code).toBe(POLICY_DENIED_ERROR_CODE)
      expect(answer.error.data.reason).toBe('ERR_NORMALIZE_DUPLICATE_KEY')
    })
  },
)

async function collectJsonl(dir: string): Promise<{ input?: { error?: { code?: string } } }[]> {
  const files = (await readdir(dir)).filter((f) => f.endsWith('.jsonl'))
  const text = (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')))).join('')
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
}
