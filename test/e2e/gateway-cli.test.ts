import { type ChildProcess, spawn } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdir, mkdtemp, readdir, realpath, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { McpError } from '@modelcontextprotocol/sdk/types.js'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createDevKey,
  loadOrCreateDevKey,
  mintDevToken,
  POLICY_DENIED_ERROR_CODE,
  verifyLog,
} from '../../src/index.js'
import { buildReferenceBundleWith, connectClient, stockServers } from '../helpers/gateway.js'
import { cliPath, mcpPolicy } from '../helpers/run-cli.js'

// The one-command shorthand, as a user types it: `mcp-policy gateway -- node …/server-filesystem
// <dir>` run by the built CLI as a child process in an empty working directory (so the dev
// issuer's key, the bundle store and nothing else land there), then stopped with SIGTERM.

/** A CLI child and everything it printed so far. */
interface CliChild {
  child: ChildProcess
  stdout: () => string
  stderr: () => string
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
}

function spawnCli(args: string[], cwd: string): CliChild {
  const child = spawn(process.execPath, [cliPath, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    out += chunk
  })
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    err += chunk
  })
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => resolve({ code, signal })),
  )
  return { child, stdout: () => out, stderr: () => err, exited }
}

/** Resolves with stdout once `pattern` matches it; rejects if the child exits or `ms` pass first. */
async function waitForOutput(cli: CliChild, pattern: RegExp, ms = 60_000): Promise<RegExpExecArray> {
  const until = Date.now() + ms
  let exited = false
  cli.exited.then(() => {
    exited = true
  })
  for (;;) {
    const match = pattern.exec(cli.stdout())
    if (match) return match
    if (exited || Date.now() > until)
      throw new Error(
        `the gateway did not print ${pattern} (${exited ? 'it exited' : 'timed out'})\n` +
          `stdout:\n${cli.stdout()}\nstderr:\n${cli.stderr()}`,
      )
    await new Promise((r) => setTimeout(r, 100))
  }
}

async function exitWithin(cli: CliChild, ms: number) {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no exit within ${ms} ms\nstderr:\n${cli.stderr()}`)), ms)
  })
  try {
    return await Promise.race([cli.exited, timeout])
  } finally {
    clearTimeout(timer)
  }
}

describe('mcp-policy gateway -- COMMAND…: the built CLI in front of server-filesystem', () => {
  let srv = ''
  let cwd = ''
  let logDir = ''
  let bundlePath = ''
  let cli: CliChild | undefined
  const clients: Client[] = []

  beforeAll(async () => {
    srv = await realpath(await mkdtemp(join(tmpdir(), 'mcp-policy-cli-srv-')))
    await mkdir(join(srv, 'secrets'))
    await writeFile(join(srv, 'readme.txt'), 'served through the one-command gateway\n')
    await writeFile(join(srv, 'secrets', 'token.txt'), 'top secret\n')
    const bundle = await buildReferenceBundleWith((data) => {
      // The filesystem rules name /srv/projects/; this run's directory stands in for it.
      data.servers.filesystem = JSON.parse(
        JSON.stringify(data.servers.filesystem).replaceAll('/srv/projects/', `${srv}/`),
      )
    })
    bundlePath = bundle.path
    cwd = await mkdtemp(join(tmpdir(), 'mcp-policy-cli-cwd-'))
    logDir = join(await mkdtemp(join(tmpdir(), 'mcp-policy-cli-log-')), 'decisions')
  })

  afterAll(async () => {
    await Promise.allSettled(clients.map((c) => c.close()))
    if (cli && cli.child.exitCode === null && cli.child.signalCode === null) {
      cli.child.kill('SIGKILL')
      await cli.exited
    }
  })

  it('serves the server at the printed endpoint to a dev token, decides, and exits 0 on SIGTERM with a verifying log', async () => {
    cli = spawnCli(
      [
        'gateway',
        '--port',
        '0',
        '--bundle',
        bundlePath,
        '--log-dir',
        logDir,
        '--',
        // `node`, as typed: the gateway's child finds it on PATH, as a user's would.
        'node',
        stockServers.filesystem,
        srv,
      ],
      cwd,
    )
    const listening = await waitForOutput(
      cli,
      /^mcp-policy gateway listening on (http:\/\/127\.0\.0\.1:(\d+))$/m,
    )
    const url = listening[1]!
    expect(Number(listening[2])).toBeGreaterThan(0)
    // One line per server: the id derived from the package name, and its endpoint.
    const served = await waitForOutput(cli, /^\s+(\S+)\s+(http:\/\/\S+)$/m)
    expect(served[1]).toBe('filesystem')
    const endpoint = served[2]!
    expect(endpoint).toBe(`${url}/mcp/filesystem`)
    const hint = await waitForOutput(cli, /mint one: .*--aud (\S+)$/m)
    const resource = hint[1]!
    expect(resource).toBe(`${url}/mcp/filesystem`)
    await waitForOutput(cli, /^decisions are logged to (.+)\/$/m)
    expect(cli.stdout()).toContain(`decisions are logged to ${logDir}/`)

    // The dev issuer's key the gateway made in its working directory, read as `mcp-policy token` would.
    expect(existsSync(join(cwd, '.dev-keys'))).toBe(true)
    const key = await loadOrCreateDevKey(join(cwd, '.dev-keys'))
    const token = await mintDevToken(key, { sub: 'alice', roles: ['developer'], aud: resource })

    const alice = await connectClient(endpoint, token)
    clients.push(alice)
    expect(alice.getServerVersion()?.name).toBe('secure-filesystem-server')
    const tools = (await alice.listTools()).tools.map((t) => t.name)
    expect(tools).toContain('read_text_file')
    expect(tools).toContain('list_directory')
    expect(tools).not.toContain('write_file')

    const read = await alice.callTool({
      name: 'read_text_file',
      arguments: { path: join(srv, 'readme.txt') },
    })
    expect(JSON.stringify(read.content)).toContain('served through the one-command gateway')

    const secret = await alice
      .callTool({ name: 'read_text_file', arguments: { path: join(srv, 'secrets', 'token.txt') } })
      .then(
        () => undefined,
        (e: unknown) => e,
      )
    expect(secret).toBeInstanceOf(McpError)
    expect((secret as McpError).code).toBe(POLICY_DENIED_ERROR_CODE)
    expect(
      ((secret as McpError).data as { reasons: { code: string }[] }).reasons.map((r) => r.code),
    ).toContain('argument_path_denied')

    // A token signed by another key is not the dev issuer's.
    const stranger = await mintDevToken(await createDevKey(), {
      sub: 'alice',
      roles: ['developer'],
      aud: resource,
    })
    const refused = await fetch(endpoint, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        authorization: `Bearer ${stranger}`,
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }),
    })
    expect(refused.status).toBe(401)
    await refused.body?.cancel()

    // Stopped as a service manager stops it; the client's session is still open.
    cli.child.kill('SIGTERM')
    const exit = await exitWithin(cli, 30_000)
    expect({ ...exit, stderr: exit.code === 0 ? '' : cli.stderr() }).toEqual({
      code: 0,
      signal: null,
      stderr: '',
    })

    const verification = await verifyLog([logDir])
    expect(verification.findings).toEqual([])
    expect(verification.intact).toBe(true)
    const events = verification.chains.reduce((n, c) => n + c.events, 0)
    // initialize, initialized, tools/list and its result, two calls and one result, the refused ping
    expect(events).toBeGreaterThanOrEqual(6)
    // Nothing was logged in the working directory: --log-dir was honoured.
    expect(await readdir(cwd)).not.toContain('decision-logs')
  })

  it('exits 2 with ERR_GATEWAY_CONFIG_INVALID when given no server and no configuration', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-cli-empty-'))
    const result = await mcpPolicy(['gateway', '--port', '0'], dir)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('ERR_GATEWAY_CONFIG_INVALID')
    expect(result.stderr).toContain('no upstream server')
    expect(result.stdout).toBe('')
    // Refused before anything was made: no dev key in the working directory.
    expect(await readdir(dir)).toEqual([])
  })

  it('exits 2 for an --id that is not a server id', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-cli-badid-'))
    const result = await mcpPolicy(['gateway', '--port', '0', '--id', 'bad id!', '--', 'node', 'x.js'], dir)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('ERR_GATEWAY_CONFIG_INVALID')
    expect(result.stderr).toContain('is not a server id')
  })

  it('exits 2 naming the field a --config file gets wrong', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-cli-config-'))
    const config = join(dir, 'gateway.yaml')
    await writeFile(
      config,
      [
        'port: 0',
        'servers:',
        '  filesystem:',
        `    command: ${process.execPath}`,
        `    args: ${stockServers.filesystem}`,
        '',
      ].join('\n'),
    )
    const result = await mcpPolicy(['gateway', '--config', config], dir)
    expect(result.code).toBe(2)
    expect(result.stderr).toContain('ERR_GATEWAY_CONFIG_INVALID')
    expect(result.stderr).toContain('/servers/filesystem/args must be array')
    expect(result.stdout).toBe('')

    await writeFile(config, 'port: eighty\nservers:\n  filesystem:\n    command: node\n')
    const port = await mcpPolicy(['gateway', '--config', config], dir)
    expect(port.code).toBe(2)
    expect(port.stderr).toContain('ERR_GATEWAY_CONFIG_INVALID')
    expect(port.stderr).toContain('/port must be integer')
  })
})
