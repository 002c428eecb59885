import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { createConnection, createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/** A real `redis-server` on loopback, started and stopped by a test. */
export interface TestRedis {
  /** `redis://127.0.0.1:<port>`. */
  url: string
  port: number
  /** Kills the server (SIGKILL: a crash, not a shutdown); the port stays reserved for {@link TestRedis.restart}. */
  kill: () => Promise<void>
  /** Starts it again on the same port, empty (no persistence): what a replaced Redis looks like. */
  restart: () => Promise<void>
  /** Stops the process (SIGSTOP): connections stay open and nothing answers, like a partition. */
  pause: () => void
  /** Continues a paused server (SIGCONT), its data intact. */
  resume: () => void
  /** Stops it and removes its directory. */
  stop: () => Promise<void>
}

/**
 * Starts `redis-server` (the Debian package; `.ci/run` installs it) on 127.0.0.1 at a free port,
 * in a temporary directory of its own, without persistence (`--save '' --appendonly no`), and
 * waits until it answers PING.
 */
export async function startTestRedis(): Promise<TestRedis> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-redis-'))
  const port = await freePort()
  let child: ChildProcess | undefined
  const launch = async () => {
    const started = spawn(
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--save',
        '',
        '--appendonly',
        'no',
        '--protected-mode',
        'yes',
        '--loglevel',
        'warning',
      ],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    )
    let stderr = ''
    started.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString()
    })
    const failed = new Promise<never>((_, reject) => {
      started.once('error', reject)
      started.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${stderr}`)))
    })
    child = started
    await Promise.race([untilPong(port), failed])
  }
  const kill = async () => {
    const running = child
    child = undefined
    if (!running || running.exitCode !== null) return
    const exited = new Promise((resolve) => running.once('exit', resolve))
    running.kill('SIGKILL')
    await exited
  }
  await launch()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    kill,
    restart: launch,
    pause: () => child?.kill('SIGSTOP'),
    resume: () => child?.kill('SIGCONT'),
    stop: async () => {
      await kill()
      await rm(dir, { recursive: true, force: true })
    },
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0))
    })
  })
}

async function untilPong(port: number): Promise<void> {
  const deadline = Date.now() + 10_000
  while (Date.now() < deadline) {
    if (await ping(port)) return
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  throw new Error(`redis-server on port ${port} did not answer PING within 10 s`)
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let answer = ''
    socket.setTimeout(500, () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('error', () => resolve(false))
    socket.on('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk) => {
      answer += chunk.toString()
      if (answer.includes('\r\n')) {
        socket.destroy()
        resolve(answer.startsWith('+PONG'))
      }
    })
  })
}
