import { spawn } from 'node:child_process'
import { mkdtemp, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gunzipSync } from 'node:zlib'
import { request } from 'undici'
import { describe, expect, it } from 'vitest'
import { defaultServerResource, loadOrCreateDevKey, mintDevToken } from '../../src/index.js'
import { buildReferenceBundle, toolCall } from '../helpers/pdp.js'

const cli = join(import.meta.dirname, '../../dist/cli/main.js')

describe('mcp-policy serve ships its decision log', () => {
  it('uploads every decision to the collector in OPA format, the last ones on SIGTERM', async () => {
    const received: { decision_id: string; path: string }[] = []
    const uploads: { url?: string; encoding?: string; auth?: string }[] = []
    let failFirst = 2
    const collector = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (c: Buffer) => chunks.push(c))
      req.on('end', () => {
        // The first uploads fail: the PDP must retry, not drop.
        if (failFirst-- > 0) {
          res.writeHead(503).end()
          return
        }
        uploads.push({
          url: req.url,
          encoding: req.headers['content-encoding'],
          auth: req.headers.authorization,
        })
        received.push(...(JSON.parse(gunzipSync(Buffer.concat(chunks)).toString()) as typeof received))
        res.writeHead(204).end()
      })
    })
    await new Promise<void>((resolve) => collector.listen(0, '127.0.0.1', resolve))
    const collectorUrl = `http://127.0.0.1:${(collector.address() as AddressInfo).port}`

    const bundle = await buildReferenceBundle()
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-ship-'))
    await writeFile(
      join(dir, 'pdp.json'),
      JSON.stringify({
        port: 0,
        workers: 1,
        devKeyDir: join(dir, 'keys'),
        bundleStore: join(dir, 'store'),
        bundle: { file: bundle.path },
        log: {
          dir: join(dir, 'logs'),
          durability: 'sync',
          ship: { url: collectorUrl, token: 'collector-token', pollIntervalMs: 100 },
        },
      }),
    )
    const serve = spawn(process.execPath, [cli, 'serve', '--config', join(dir, 'pdp.json')], {
      stdio: 'pipe',
    })
    let output = ''
    const url = await new Promise<string>((resolve, reject) => {
      const onData = (data: Buffer) => {
        output += data.toString()
        const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
        if (match) resolve(match[1]!)
      }
      serve.stdout.on('data', onData)
      serve.stderr.on('data', onData)
      serve.on('exit', (code) => reject(new Error(`serve exited ${code}: ${output}`)))
    })
    const key = await loadOrCreateDevKey(join(dir, 'keys'))
    const token = await mintDevToken(key, {
      sub: 'alice',
      roles: ['developer'],
      aud: defaultServerResource('github'),
    })
    const ids: string[] = []
    for (let i = 0; i < 5; i++) {
      const res = await request(`${url}/v1/mcp/decide`, {
        method: 'POST',
        body: JSON.stringify({
          message: toolCall('get_issue', { issue_number: i }),
          headers: { authorization: `Bearer ${token}` },
          server: 'github',
        }),
      })
      ids.push(((await res.body.json()) as { decision_id: string }).decision_id)
    }
    const exit = new Promise<number | null>((resolve) => serve.on('exit', resolve))
    serve.kill('SIGTERM')
    expect(await exit).toBe(0)
    collector.close()
    const shipped = new Set(received.map((e) => e.decision_id))
    expect(ids.filter((id) => !shipped.has(id))).toEqual([])
    expect(received.every((e) => e.path === 'mcp/decision')).toBe(true)
    expect(uploads.length).toBeGreaterThan(0)
    for (const upload of uploads)
      expect(upload).toEqual({ url: '/logs', encoding: 'gzip', auth: 'Bearer collector-token' })
  }, 120_000)
})
