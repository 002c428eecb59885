import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { request } from 'undici'
import { beforeAll, describe, expect, it } from 'vitest'
import { defaultServerResource, loadOrCreateDevKey, mintDevToken } from '../../src/index.js'
import { buildReferenceBundle, toolCall } from '../helpers/pdp.js'
import { cliPath, mcpPolicy } from '../helpers/run-cli.js'

interface Serving {
  url: string
  output(): string
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>
}

/** `mcp-policy serve ARGS` with `cwd` as its working directory, once it listens. */
async function serve(cwd: string, args: string[]): Promise<Serving> {
  const child: ChildProcess = spawn(process.execPath, [cliPath, 'serve', ...args], { cwd, stdio: 'pipe' })
  let output = ''
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve))
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 60_000)
    const onData = (data: Buffer) => {
      output += data.toString()
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
      if (match) {
        clearTimeout(timer)
        resolve(match[1]!)
      }
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    void exited.then((code) => reject(new Error(`serve exited ${code}:\n${output}`)))
  })
  return {
    url,
    output: () => output,
    stop: () => {
      child.kill('SIGTERM')
      return exited
    },
  }
}

async function decide(cwd: string, url: string, count: number): Promise<void> {
  const token = await mintDevToken(await loadOrCreateDevKey(join(cwd, '.dev-keys')), {
    sub: 'alice',
    roles: ['developer'],
    aud: defaultServerResource('github'),
  })
  for (let i = 0; i < count; i++) {
    const res = await request(`${url}/v1/mcp/decide`, {
      method: 'POST',
      reset: true, // new connections, so both workers get some
      body: JSON.stringify({
        message: toolCall('get_issue', { owner: 'acme', repo: 'api', issue_number: i }),
        headers: { authorization: `Bearer ${token}` },
        server: 'github',
      }),
    })
    expect(res.statusCode).toBe(200)
    expect(((await res.body.json()) as { allow: boolean }).allow).toBe(true)
  }
}

/** The log files with events, and their lines. */
async function eventFiles(logDir: string): Promise<{ path: string; lines: string[] }[]> {
  const files: { path: string; lines: string[] }[] = []
  for (const name of (await readdir(logDir)).filter((f) => f.endsWith('.jsonl')).sort()) {
    const lines = (await readFile(join(logDir, name), 'utf8')).split('\n').filter(Boolean)
    if (lines.length) files.push({ path: join(logDir, name), lines })
  }
  return files
}

const lastLine = (stdout: string) => stdout.trimEnd().split('\n').at(-1)

describe('mcp-policy serve signs decision-log checkpoints by default', () => {
  let bundle: string
  beforeAll(async () => {
    bundle = (await buildReferenceBundle()).path
  })

  it('creates the key on first run and says where; the log verifies with the public key, deleting its last lines is detected, and without --key the verdict says what cannot be detected', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mcp-policy-serve-ck-'))
    const first = await serve(cwd, ['--bundle', bundle, '--port', '0', '--workers', '2'])
    expect(first.output()).toContain(
      'checkpoint key: created .checkpoint-keys/checkpoint-ed25519.pem signs the decision-log checkpoints',
    )
    expect(first.output()).toMatch(
      /in production keep the private key elsewhere .* give verifiers the public key/,
    )
    expect(first.output()).toContain(
      'npx mcp-policy verify-log decision-logs --key .checkpoint-keys/checkpoint-ed25519.pub.pem',
    )
    const privateKey = join(cwd, '.checkpoint-keys', 'checkpoint-ed25519.pem')
    const publicKey = join(cwd, '.checkpoint-keys', 'checkpoint-ed25519.pub.pem')
    expect((await stat(privateKey)).mode & 0o777).toBe(0o600)
    await decide(cwd, first.url, 12)
    expect(await first.stop()).toBe(0)

    const logDir = join(cwd, 'decision-logs')
    const checkpoints = (await readdir(logDir)).filter((f) => f.endsWith('.checkpoints'))
    expect(checkpoints.length).toBe(2) // one chain per worker, each signed
    const signed = await mcpPolicy(['verify-log', logDir, '--key', publicKey])
    expect(signed.code).toBe(0)
    expect(signed.stdout).toMatch(/signed through seq \d+, \d+ checkpoint\(s\) verified/)
    expect(lastLine(signed.stdout)).toBe('intact')

    const keyless = await mcpPolicy(['verify-log', logDir])
    expect(keyless.code).toBe(3)
    expect(lastLine(keyless.stdout)).toMatch(
      /^NOT VERIFIED \(no --key\): .*deleted last lines \(truncation after the last checkpoint\) and forged events cannot be detected/,
    )

    // A second run reuses the key.
    const before = await readFile(privateKey, 'utf8')
    const second = await serve(cwd, ['--bundle', bundle, '--port', '0', '--workers', '1'])
    expect(second.output()).toContain(
      'checkpoint key: .checkpoint-keys/checkpoint-ed25519.pem signs the decision-log checkpoints',
    )
    expect(second.output()).not.toContain('checkpoint key: created')
    // One decision first: a single-process PDP prints "listening on" a moment before it handles
    // SIGTERM, and this also gives the second run's chain a signed head.
    await decide(cwd, second.url, 1)
    expect(await second.stop()).toBe(0)
    expect(await readFile(privateKey, 'utf8')).toBe(before)

    // Deleting the last lines of a chain: caught by the signed checkpoint of its head.
    const victim = (await eventFiles(logDir)).sort((a, b) => b.lines.length - a.lines.length)[0]
    expect(victim!.lines.length).toBeGreaterThanOrEqual(6)
    await writeFile(victim!.path, `${victim!.lines.slice(0, -2).join('\n')}\n`)
    const truncated = await mcpPolicy(['verify-log', logDir, '--key', publicKey])
    expect(truncated.code).toBe(1)
    expect(truncated.stdout).toMatch(/^truncated: .*which the log no longer holds/m)
    expect(lastLine(truncated.stdout)).toMatch(/^NOT intact: 1 finding/)
  }, 180_000)

  it('log.checkpoints: false signs nothing; deleting the last lines then reads NOT VERIFIED, with or without a key, never intact', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mcp-policy-serve-ck-'))
    await writeFile(
      join(cwd, 'pdp.yaml'),
      ['port: 0', 'workers: 1', `bundle: { file: ${bundle} }`, 'log: { checkpoints: false }', ''].join('\n'),
    )
    const pdp = await serve(cwd, ['--config', 'pdp.yaml'])
    expect(pdp.output()).toMatch(/^checkpoints: off \(log.checkpoints: false\): verify-log cannot detect/m)
    await decide(cwd, pdp.url, 5)
    expect(await pdp.stop()).toBe(0)
    await expect(stat(join(cwd, '.checkpoint-keys'))).rejects.toMatchObject({ code: 'ENOENT' })

    const logDir = join(cwd, 'decision-logs')
    const [file] = await eventFiles(logDir)
    expect(file!.lines.length).toBe(5)
    await writeFile(file!.path, `${file!.lines.slice(0, 3).join('\n')}\n`)
    const keyless = await mcpPolicy(['verify-log', logDir])
    expect(keyless.code).toBe(3)
    expect(keyless.stdout).toMatch(
      /3 events in 1 file\(s\), last seq 3, 0 checkpoint\(s\) NOT verified \(no --key\)/,
    )
    expect(lastLine(keyless.stdout)).toMatch(/^NOT VERIFIED \(no --key\): .*cannot be detected$/)
    expect(keyless.stdout).not.toMatch(/^intact/m)

    // A key does not help a chain that has no signed checkpoint.
    expect((await mcpPolicy(['keygen'], cwd)).code).toBe(0)
    const withKey = await mcpPolicy(
      ['verify-log', logDir, '--key', '.checkpoint-keys/checkpoint-ed25519.pub.pem'],
      cwd,
    )
    expect(withKey.code).toBe(3)
    expect(lastLine(withKey.stdout)).toMatch(
      /^NOT VERIFIED: no inconsistency found, but chain\(s\) pdp-0-\S+ have no signed checkpoint: deleted last lines and forged events cannot be detected$/,
    )

    // Both a key file and checkpoints: false is a contradiction, refused at startup.
    await writeFile(
      join(cwd, 'both.yaml'),
      [
        'port: 0',
        `bundle: { file: ${bundle} }`,
        'log: { checkpoints: false, signingKeyFile: .checkpoint-keys/checkpoint-ed25519.pem }',
        '',
      ].join('\n'),
    )
    const refused = await mcpPolicy(['serve', '--config', 'both.yaml'], cwd)
    expect(refused.code).toBe(2)
    expect(refused.stderr).toMatch(
      /ERR_PDP_CONFIG_INVALID: .*log.checkpoints is false but log.signingKeyFile is set/,
    )
  }, 180_000)
})
