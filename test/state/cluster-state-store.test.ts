import { type ChildProcess, spawn } from 'node:child_process'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// The in-memory store across node:cluster workers: a real primary with the relay, real workers,
// real IPC. Built by `npm run build` (pretest) like the other fixture programs.
const fixture = join(import.meta.dirname, '../../dist/test/state/cluster-state-fixture.js')

interface WorkerInfo {
  worker: number
  pid: number
  port: number
}

let program: ChildProcess
let primaryPid = 0
const workers = new Map<number, WorkerInfo>()
const waiters: (() => void)[] = []

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

async function call(port: number, path: string): Promise<Record<string, unknown>> {
  const response = await request(`http://127.0.0.1:${port}${path}`, { headersTimeout: 10_000 })
  return (await response.body.json()) as Record<string, unknown>
}

async function until<T>(probe: () => Promise<T | undefined>, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const value = await probe()
    if (value !== undefined) return value
    if (Date.now() > deadline) throw new Error(`not met within ${timeoutMs} ms`)
    await sleep(10)
  }
}

function live(): WorkerInfo[] {
  return [...workers.values()]
}

async function workersReady(count: number): Promise<WorkerInfo[]> {
  while (workers.size < count) await new Promise<void>((resolve) => waiters.push(resolve))
  // A worker is ready once its snapshot arrived.
  for (const w of live())
    await until(async () => ((await call(w.port, '/status')).available ? true : undefined), 10_000)
  return live()
}

beforeAll(async () => {
  program = spawn(process.execPath, [fixture], { stdio: ['ignore', 'pipe', 'inherit'] })
  let buffered = ''
  program.stdout!.on('data', (chunk: Buffer) => {
    buffered += chunk.toString()
    let newline = buffered.indexOf('\n')
    while (newline >= 0) {
      const line = JSON.parse(buffered.slice(0, newline)) as { primary?: number } & Partial<WorkerInfo>
      buffered = buffered.slice(newline + 1)
      newline = buffered.indexOf('\n')
      if (line.primary) primaryPid = line.primary
      if (line.worker !== undefined) {
        workers.set(line.worker, line as WorkerInfo)
        for (const wake of waiters.splice(0)) wake()
      }
    }
  })
  await workersReady(2)
}, 60_000)

afterAll(async () => {
  if (primaryPid) process.kill(primaryPid, 'SIGCONT')
  if (program && program.exitCode === null) {
    const exited = new Promise((resolve) => program.once('exit', resolve))
    program.kill('SIGTERM')
    await exited
  }
})

describe('in-memory state across node:cluster workers (relayed by the primary)', () => {
  it('a write in one worker reaches the other worker at once: its watchers, get and scan', async () => {
    const [one, two] = await workersReady(2)
    const sent = (await call(one!.port, '/set?key=session:a&value=revoked')) as { at: number }
    const change = await until(async () => {
      const changes = (await call(two!.port, '/status')).changes as { key: string; receivedAt: number }[]
      return changes.find((c) => c.key === 'session:a')
    }, 5_000)
    expect(change.receivedAt - sent.at).toBeLessThan(1_000)
    expect(((await call(two!.port, '/get?key=session:a')).entry as { value: string }).value).toBe('revoked')
    expect((await call(two!.port, '/scan')).keys).toContain('session:a')
  })

  it('setIfAbsent from both workers at once has exactly one winner (the primary judges)', async () => {
    const [one, two] = await workersReady(2)
    for (let round = 0; round < 10; round++) {
      const answers = await Promise.all(
        [one!, two!, one!, two!].map((w) => call(w.port, `/set-if-absent?ns=jti&key=set-${round}&value=x`)),
      )
      expect(answers.filter((a) => a.written === true)).toHaveLength(1)
    }
  })

  it('a replaced worker loads every entry from the primary (a restarted worker sees past revocations)', async () => {
    const [one, two] = await workersReady(2)
    for (let i = 0; i < 50; i++) await call(one!.port, `/set?key=subject:${i}&value=v${i}`)
    workers.delete(two!.worker)
    process.kill(two!.pid, 'SIGKILL')
    const [replacement] = (await workersReady(2)).filter((w) => w.worker !== one!.worker)
    expect(replacement!.pid).not.toBe(two!.pid)
    const keys = (await call(replacement!.port, '/scan')).keys as string[]
    for (let i = 0; i < 50; i++) expect(keys).toContain(`subject:${i}`)
  })

  it('while the primary is stopped, workers keep answering from their replica; changes spread once it resumes', async () => {
    const [one, two] = await workersReady(2)
    process.kill(primaryPid, 'SIGSTOP')
    try {
      await call(one!.port, '/set?key=during-stall&value=x')
      // The writer sees its own write, and both workers keep reading (decisions go on).
      expect((await call(one!.port, '/get?key=during-stall')).entry).not.toBeNull()
      const status = await call(two!.port, '/status')
      expect(status.available).toBe(true)
      expect((await call(two!.port, '/get?key=session:a')).entry).not.toBeNull()
      expect((await call(two!.port, '/get?key=during-stall')).entry).toBeNull()
      // The one operation that needs the primary's judgement fails closed, with a code.
      const judged = await call(one!.port, '/set-if-absent?ns=jti&key=during-stall&value=x')
      expect(judged).toMatchObject({ code: 'ERR_STATE_UNAVAILABLE' })
    } finally {
      process.kill(primaryPid, 'SIGCONT')
    }
    await until(
      async () => ((await call(two!.port, '/get?key=during-stall')).entry ? true : undefined),
      5_000,
    )
  })
})
