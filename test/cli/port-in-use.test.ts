import { execFile } from 'node:child_process'
import { mkdtemp } from 'node:fs/promises'
import { createServer, type Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { listenError } from '../../src/listen-error.js'
import { cliPath, mcpPolicy } from '../helpers/run-cli.js'

/** Runs the CLI in `cwd`, killed after `timeoutMs` so a command that listens after all cannot hang the run. */
function runCli(
  args: string[],
  cwd: string,
  timeoutMs = 45_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [cliPath, ...args], { cwd, timeout: timeoutMs }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? null) : 0, stdout, stderr }),
    )
  })
}

describe('a port already in use', () => {
  let holder: Server
  let port: number
  let dir: string
  let bundle: string

  beforeAll(async () => {
    // Another program holds the port: the PDP and the gateway must say so, not crash.
    holder = createServer()
    await new Promise<void>((resolve) => holder.listen(0, '127.0.0.1', resolve))
    port = (holder.address() as { port: number }).port
    dir = await mkdtemp(join(tmpdir(), 'mcp-policy-port-in-use-'))
    bundle = join(dir, 'default.tar.gz')
    const built = await mcpPolicy(['build', '--out', bundle, '--bundle-store', join(dir, 'store')])
    expect(built.code, built.stderr).toBe(0)
  })

  afterAll(async () => {
    await new Promise<void>((resolve) => holder.close(() => resolve()))
  })

  const inUse = (stderr: string) =>
    expect(stderr).toBe(
      `mcp-policy: ERR_LISTEN_ADDRESS_IN_USE: port ${port} on 127.0.0.1 is already in use; stop what holds it, or choose another with --port (port: in the configuration)\n`,
    )

  it.each([1, 2])('serve with %i worker(s) prints one line naming the port and exits 2', async (workers) => {
    const { code, stderr } = await runCli(
      ['serve', '--port', String(port), '--bundle', bundle, '--workers', String(workers)],
      dir,
    )
    expect(code).toBe(2)
    inUse(stderr)
  })

  it('gateway prints one line naming the port and exits 2', async () => {
    const { code, stderr } = await runCli(
      [
        'gateway',
        '--port',
        String(port),
        '--bundle',
        bundle,
        '--',
        process.execPath,
        '-e',
        'setInterval(() => {}, 1000)',
      ],
      dir,
    )
    expect(code).toBe(2)
    inUse(stderr)
  })

  it('another listen failure keeps the configuration error it was', async () => {
    const errorOf = (host: string) =>
      new Promise<NodeJS.ErrnoException>((resolve) => {
        const server = createServer()
        server.once('error', resolve)
        server.listen(port, host, () => server.close())
      })
    // 192.0.2.1 (TEST-NET-1) is no address of this host: EADDRNOTAVAIL, not "in use".
    const elsewhere = listenError(await errorOf('192.0.2.1'), '192.0.2.1', port, 'ERR_PDP_CONFIG_INVALID')
    expect(elsewhere.code).toBe('ERR_PDP_CONFIG_INVALID')
    expect(elsewhere.message).toMatch(
      new RegExp(`^cannot listen on 192\\.0\\.2\\.1:${port}: .*EADDRNOTAVAIL`),
    )
    const taken = listenError(await errorOf('127.0.0.1'), '127.0.0.1', port, 'ERR_GATEWAY_CONFIG_INVALID')
    expect(taken.code).toBe('ERR_LISTEN_ADDRESS_IN_USE')
    expect(taken.exitCode).toBe(2)
  })
})
