import { spawn } from 'node:child_process'
import { createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import {
  CHECKPOINT_PRIVATE_KEY_FILE,
  CHECKPOINT_PUBLIC_KEY_FILE,
  createCheckpointKey,
  DecisionLog,
  defaultCheckpointSigning,
  loadOrCreateCheckpointKey,
  McpPolicyError,
  resolvePdpConfig,
  verifyLog,
} from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'

const temp = () => mkdtemp(join(tmpdir(), 'mcp-policy-ckey-'))

async function mode(path: string): Promise<number> {
  return (await stat(path)).mode & 0o777
}

function signs(privatePem: string, publicPem: string): boolean {
  const data = Buffer.from('checkpoint')
  return verify(null, data, createPublicKey(publicPem), sign(null, data, privatePem))
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
    return undefined
  } catch (err) {
    expect(err).toBeInstanceOf(McpPolicyError)
    return (err as McpPolicyError).code
  }
}

describe('loadOrCreateCheckpointKey', () => {
  it('creates an Ed25519 pair once (private 0600, directory 0700) and reuses it', async () => {
    const dir = join(await temp(), 'keys')
    const first = await loadOrCreateCheckpointKey(dir)
    expect(first).toMatchObject({
      created: true,
      privateKeyPath: join(dir, CHECKPOINT_PRIVATE_KEY_FILE),
      publicKeyPath: join(dir, CHECKPOINT_PUBLIC_KEY_FILE),
    })
    expect(first.privateKey.asymmetricKeyType).toBe('ed25519')
    expect(await mode(first.privateKeyPath)).toBe(0o600)
    expect(await mode(dir)).toBe(0o700)
    const privatePem = await readFile(first.privateKeyPath, 'utf8')
    const publicPem = await readFile(first.publicKeyPath, 'utf8')
    expect(privatePem).toMatch(/^-----BEGIN PRIVATE KEY-----/)
    expect(publicPem).toBe(first.publicKeyPem)
    expect(signs(privatePem, publicPem)).toBe(true)
    // No file left aside by the link dance.
    expect((await readdir(dir)).sort()).toEqual([CHECKPOINT_PRIVATE_KEY_FILE, CHECKPOINT_PUBLIC_KEY_FILE])

    const again = await loadOrCreateCheckpointKey(dir)
    expect(again.created).toBe(false)
    expect(again.publicKeyPem).toBe(first.publicKeyPem)
    expect(await readFile(again.privateKeyPath, 'utf8')).toBe(privatePem)
    expect(await mode(again.privateKeyPath)).toBe(0o600)
  })

  it('processes racing to create the key end up with one key', async () => {
    const library = new URL(`file://${packageRoot()}/dist/src/index.js`).href
    // Each process imports the library, then spins until the agreed instant, so that they reach
    // creation together rather than one after the other's start-up.
    const script = `
      const { loadOrCreateCheckpointKey } = await import(${JSON.stringify(library)})
      const [dir, at] = process.argv.slice(1)
      while (Date.now() < Number(at)) {}
      const key = await loadOrCreateCheckpointKey(dir)
      process.stdout.write(JSON.stringify({ created: key.created, publicKeyPem: key.publicKeyPem }))`
    const racer = (dir: string, at: number) =>
      new Promise<{ created: boolean; publicKeyPem: string }>((resolve, reject) => {
        const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir, String(at)], {
          stdio: ['ignore', 'pipe', 'pipe'],
        })
        let out = ''
        let err = ''
        child.stdout.on('data', (c: Buffer) => {
          out += c.toString()
        })
        child.stderr.on('data', (c: Buffer) => {
          err += c.toString()
        })
        child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(err))))
      })
    const base = await temp()
    for (let round = 0; round < 3; round++) {
      const dir = join(base, `keys-${round}`)
      const at = Date.now() + 1500
      const results = await Promise.all([racer(dir, at), racer(dir, at), racer(dir, at)])
      expect(new Set(results.map((r) => r.publicKeyPem)).size).toBe(1)
      expect(results.filter((r) => r.created).length).toBe(1)
      const publicPem = await readFile(join(dir, CHECKPOINT_PUBLIC_KEY_FILE), 'utf8')
      expect(publicPem).toBe(results[0]!.publicKeyPem)
      expect(signs(await readFile(join(dir, CHECKPOINT_PRIVATE_KEY_FILE), 'utf8'), publicPem)).toBe(true)
      expect(await mode(join(dir, CHECKPOINT_PRIVATE_KEY_FILE))).toBe(0o600)
      expect((await readdir(dir)).sort()).toEqual([CHECKPOINT_PRIVATE_KEY_FILE, CHECKPOINT_PUBLIC_KEY_FILE])
    }
  })

  it('writes a missing public key again, and refuses a public key of another key or without its private key', async () => {
    const dir = await temp()
    const key = await loadOrCreateCheckpointKey(dir)
    await rm(key.publicKeyPath)
    expect((await loadOrCreateCheckpointKey(dir)).publicKeyPem).toBe(key.publicKeyPem)
    expect(await readFile(key.publicKeyPath, 'utf8')).toBe(key.publicKeyPem)

    const stranger = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' })
    await writeFile(key.publicKeyPath, stranger)
    expect(await codeOf(loadOrCreateCheckpointKey(dir))).toBe('ERR_LOG_KEY_INVALID')

    // The private key lost: a new one would not match what verifiers hold.
    await writeFile(key.publicKeyPath, key.publicKeyPem)
    await rm(key.privateKeyPath)
    expect(await codeOf(loadOrCreateCheckpointKey(dir))).toBe('ERR_LOG_KEY_INVALID')
    expect(await readdir(dir)).toEqual([CHECKPOINT_PUBLIC_KEY_FILE])
  })

  it('refuses a private key that is not Ed25519', async () => {
    const dir = await temp()
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    await writeFile(join(dir, CHECKPOINT_PRIVATE_KEY_FILE), ec.export({ type: 'pkcs8', format: 'pem' }))
    expect(await codeOf(loadOrCreateCheckpointKey(dir))).toBe('ERR_LOG_KEY_INVALID')
    await writeFile(join(dir, CHECKPOINT_PRIVATE_KEY_FILE), 'not a key')
    expect(await codeOf(loadOrCreateCheckpointKey(dir))).toBe('ERR_LOG_KEY_INVALID')
  })
})

describe('createCheckpointKey (keygen)', () => {
  it('writes a new pair and never overwrites one', async () => {
    const dir = join(await temp(), 'out')
    const key = await createCheckpointKey(dir)
    expect(key.created).toBe(true)
    expect(await mode(key.privateKeyPath)).toBe(0o600)
    const privatePem = await readFile(key.privateKeyPath, 'utf8')
    expect(signs(privatePem, await readFile(key.publicKeyPath, 'utf8'))).toBe(true)
    expect(await codeOf(createCheckpointKey(dir))).toBe('ERR_CLI_USAGE')
    expect(await readFile(key.privateKeyPath, 'utf8')).toBe(privatePem)
    // Either file alone blocks it.
    await rm(key.privateKeyPath)
    expect(await codeOf(createCheckpointKey(dir))).toBe('ERR_CLI_USAGE')
    expect(await readdir(dir)).toEqual([CHECKPOINT_PUBLIC_KEY_FILE])
  })
})

describe('defaultCheckpointSigning', () => {
  const log = { dir: 'decision-logs', durability: 'batch' as const }

  it('signs with the default key when the log is on and no key is configured', async () => {
    const keyDir = join(await temp(), 'ck')
    const signing = await defaultCheckpointSigning(log, { dir: keyDir })
    expect(signing.key?.created).toBe(true)
    expect(signing.log).toEqual({ ...log, signingKeyFile: join(keyDir, CHECKPOINT_PRIVATE_KEY_FILE) })
    const notice = signing.notice.join('\n')
    expect(notice).toContain(`created ${join(keyDir, CHECKPOINT_PRIVATE_KEY_FILE)}`)
    expect(notice).toMatch(/in production keep the private key elsewhere/)
    expect(notice).toContain(`verify-log decision-logs --key ${join(keyDir, CHECKPOINT_PUBLIC_KEY_FILE)}`)
    // The caller's configuration is left as it was.
    expect(log).toEqual({ dir: 'decision-logs', durability: 'batch' })
    const again = await defaultCheckpointSigning(log, { dir: keyDir })
    expect(again.key?.created).toBe(false)
    expect(again.notice.join('\n')).not.toContain('created')
  })

  it('a configured signingKeyFile wins; checkpoints: false turns signing off; both together are refused', async () => {
    const keyDir = join(await temp(), 'ck')
    const configured = { ...log, signingKeyFile: 'keys/mine.pem' }
    expect(await defaultCheckpointSigning(configured, { dir: keyDir })).toEqual({
      log: configured,
      notice: [],
    })
    const off = { ...log, checkpoints: false }
    const signing = await defaultCheckpointSigning(off, { dir: keyDir })
    expect(signing.log).toEqual(off)
    expect(signing.key).toBeUndefined()
    expect(signing.notice.join('\n')).toMatch(/checkpoints: off .*cannot detect/)
    expect(await defaultCheckpointSigning(false, { dir: keyDir })).toEqual({ log: false, notice: [] })
    await expect(stat(keyDir)).rejects.toMatchObject({ code: 'ENOENT' })
    expect(
      await codeOf(defaultCheckpointSigning({ ...configured, checkpoints: false }, { dir: keyDir })),
    ).toBe('ERR_LOG_CONFIG_INVALID')
  })

  it('the PDP configuration accepts log.checkpoints and refuses it false with a signingKeyFile', () => {
    const resolved = resolvePdpConfig({ log: { checkpoints: false } })
    expect(resolved.log).toMatchObject({ dir: 'decision-logs', checkpoints: false })
    expect(() => resolvePdpConfig({ log: { checkpoints: 'no' } })).toThrow(/invalid PDP configuration/)
    expect(() => resolvePdpConfig({ log: { checkpoints: false, signingKeyFile: 'k.pem' } })).toThrow(
      /log.checkpoints is false but log.signingKeyFile is set/,
    )
  })
})

describe('verifyLog says what it could verify', () => {
  const record = (i: number) => ({
    path: 'mcp/decision',
    input: { i },
    result: { allow: true },
    bundles: {},
  })

  it('verified only with the key and a signed checkpoint per chain; the unsigned tail is counted', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const dir = await temp()
    let now = 0
    const log = await DecisionLog.open({
      dir,
      durability: 'sync',
      signingKey: privateKey,
      checkpointEvery: 5,
      checkpointIntervalMs: 1e9,
      now: () => now++,
    })
    for (let i = 0; i < 7; i++) await log.append(record(i))
    // Not closed yet: the head (seq 7) is not signed; the last checkpoint names seq 5.
    const running = await verifyLog([dir], { key: publicKey })
    expect(running).toMatchObject({ intact: true, verified: true })
    expect(running.chains[0]).toMatchObject({ lastSeq: 7, signedSeq: 5, unsignedEvents: 2 })
    await log.close()
    const closed = await verifyLog([dir], { key: publicKey })
    expect(closed.chains[0]).toMatchObject({ lastSeq: 7, signedSeq: 7, unsignedEvents: 0 })
    expect(closed.verified).toBe(true)

    const keyless = await verifyLog([dir])
    expect(keyless).toMatchObject({ intact: true, verified: false })
    expect(keyless.chains[0]).toMatchObject({ signedSeq: 0, unsignedEvents: 7, checkpointsVerified: false })
  })

  it('an unsigned chain is never verified, even with a key', async () => {
    const dir = await temp()
    const log = await DecisionLog.open({ dir, durability: 'sync' })
    for (let i = 0; i < 3; i++) await log.append(record(i))
    await log.close()
    const report = await verifyLog([dir], { key: generateKeyPairSync('ed25519').publicKey })
    expect(report).toMatchObject({ intact: true, verified: false })
    expect(report.chains[0]).toMatchObject({ checkpoints: 0, signedSeq: 0, unsignedEvents: 3 })
  })
})
