import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Agent, request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { defaultServerResource, loadOrCreateDevKey, mintDevToken, verifyLog } from '../../src/index.js'
import { buildReferenceBundle, toolCall } from '../helpers/pdp.js'

const cli = join(import.meta.dirname, '../../dist/cli/main.js')

let dir: string
let serve: ChildProcess
let url: string
let output = ''
// A connection node:cluster's primary was handing to a worker at the instant it was SIGKILLed is
// never answered: real clients (gateways) bound their wait, and so does this one.
const client = new Agent({ headersTimeout: 5_000, bodyTimeout: 5_000, connectTimeout: 5_000 })

beforeAll(async () => {
  const bundle = await buildReferenceBundle()
  dir = await mkdtemp(join(tmpdir(), 'mcp-policy-cluster-'))
  await writeFile(
    join(dir, 'pdp.yaml'),
    [
      'host: 127.0.0.1',
      'port: 0',
      'workers: 2',
      `devKeyDir: ${join(dir, 'keys')}`,
      `bundleStore: ${join(dir, 'store')}`,
      'bundle:',
      `  file: ${bundle.path}`,
      'log:',
      `  dir: ${join(dir, 'logs')}`,
      '  durability: batch',
      '',
    ].join('\n'),
  )
  serve = spawn(process.execPath, [cli, 'serve', '--config', join(dir, 'pdp.yaml')], { stdio: 'pipe' })
  url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 60_000)
    const onData = (data: Buffer) => {
      output += data.toString()
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    }
    serve.stdout!.on('data', onData)
    serve.stderr!.on('data', onData)
    serve.on('exit', (code) => reject(new Error(`serve exited ${code}:\n${output}`)))
  })
}, 120_000)

afterAll(async () => {
  if (serve && serve.exitCode === null) serve.kill('SIGKILL')
  await client.close()
})

async function workerPids(): Promise<Set<number>> {
  const pids = new Set<number>()
  for (let i = 0; i < 40; i++) {
    try {
      const res = await request(`${url}/health`, { reset: true, dispatcher: client })
      pids.add(((await res.body.json()) as { pid: number }).pid)
    } catch {
      // a connection lost with a killed worker: ask again
    }
  }
  return pids
}

describe('mcp-policy serve with worker processes', () => {
  it('replaces a worker killed with SIGKILL under load, loses no acknowledged decision, and drains on SIGTERM', async () => {
    const key = await loadOrCreateDevKey(join(dir, 'keys'))
    const token = await mintDevToken(key, {
      sub: 'alice',
      roles: ['developer'],
      aud: defaultServerResource('github'),
    })
    const before = await workerPids()
    expect(before.size).toBe(2)

    const acknowledged: string[] = []
    let failures = 0
    let stop = false
    const load = async () => {
      for (let i = 0; !stop; i++) {
        try {
          const res = await request(`${url}/v1/mcp/decide`, {
            method: 'POST',
            dispatcher: client,
            reset: i % 5 === 0,
            body: JSON.stringify({
              message: toolCall('get_issue', { owner: 'acme', repo: 'api', issue_number: i }),
              headers: { authorization: `Bearer ${token}` },
              server: 'github',
            }),
          })
          const body = (await res.body.json()) as { decision_id: string; allow: boolean }
          if (res.statusCode === 200 && body.allow) acknowledged.push(body.decision_id)
          else failures++
        } catch {
          failures++ // in flight on the killed worker: never acknowledged
        }
      }
    }
    const loaders = Array.from({ length: 4 }, load)
    const waitFor = async (count: number) => {
      for (let i = 0; acknowledged.length < count; i++) {
        if (i > 1500)
          throw new Error(`only ${acknowledged.length} acknowledged, ${failures} failed:\n${output}`)
        await new Promise((r) => setTimeout(r, 20))
      }
    }
    await waitFor(200)
    const victim = [...before][0]!
    process.kill(victim, 'SIGKILL')
    const countAtKill = acknowledged.length
    await waitFor(countAtKill + 300)
    stop = true
    await Promise.all(loaders)

    let after = await workerPids()
    for (let i = 0; i < 50 && (after.size < 2 || after.has(victim)); i++) {
      await new Promise((r) => setTimeout(r, 100))
      after = await workerPids()
    }
    expect(after.has(victim)).toBe(false)
    expect(after.size).toBe(2)
    expect(output).toMatch(/exited \(SIGKILL\); starting a replacement/)

    const exit = new Promise<number | null>((resolve) => serve.on('exit', (code) => resolve(code)))
    serve.kill('SIGTERM')
    expect(await exit).toBe(0)

    const logDir = join(dir, 'logs')
    const files = (await readdir(logDir)).filter((f) => f.endsWith('.jsonl'))
    const logged = (await Promise.all(files.map((f) => readFile(join(logDir, f), 'utf8')))).join('')
    const missing = acknowledged.filter((id) => !logged.includes(id))
    expect(missing).toEqual([])
    const verification = await verifyLog([logDir])
    // The killed worker may leave a torn last line: reported, never silently dropped; nothing else.
    expect(verification.findings.filter((f) => f.kind !== 'torn_last_line')).toEqual([])
    expect(verification.chains.length).toBe(3)
  }, 120_000)
})
