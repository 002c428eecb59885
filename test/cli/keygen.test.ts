import { createPublicKey, sign, verify } from 'node:crypto'
import { mkdtemp, readdir, readFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { mcpPolicy } from '../helpers/run-cli.js'

describe('mcp-policy keygen', () => {
  it('writes an Ed25519 checkpoint key pair into .checkpoint-keys/ (private 0600) and refuses to overwrite it', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mcp-policy-keygen-'))
    const written = await mcpPolicy(['keygen'], cwd)
    expect(written.code).toBe(0)
    const dir = join(cwd, '.checkpoint-keys')
    expect((await readdir(dir)).sort()).toEqual(['checkpoint-ed25519.pem', 'checkpoint-ed25519.pub.pem'])
    expect((await stat(join(dir, 'checkpoint-ed25519.pem'))).mode & 0o777).toBe(0o600)
    expect(written.stdout).toContain('.checkpoint-keys/checkpoint-ed25519.pem (mode 0600)')
    expect(written.stdout).toContain('--key .checkpoint-keys/checkpoint-ed25519.pub.pem')
    const privatePem = await readFile(join(dir, 'checkpoint-ed25519.pem'), 'utf8')
    const publicPem = await readFile(join(dir, 'checkpoint-ed25519.pub.pem'), 'utf8')
    const publicKey = createPublicKey(publicPem)
    expect(publicKey.asymmetricKeyType).toBe('ed25519')
    const data = Buffer.from('checkpoint')
    expect(verify(null, data, publicKey, sign(null, data, privatePem))).toBe(true)

    const again = await mcpPolicy(['keygen'], cwd)
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/ERR_CLI_USAGE: .*checkpoint-ed25519\.pem exists: refusing to overwrite/)
    expect(await readFile(join(dir, 'checkpoint-ed25519.pem'), 'utf8')).toBe(privatePem)
    expect(await readFile(join(dir, 'checkpoint-ed25519.pub.pem'), 'utf8')).toBe(publicPem)
  })

  it('--out DIR writes the pair there', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'mcp-policy-keygen-'))
    const out = join(cwd, 'keys', 'prod')
    expect((await mcpPolicy(['keygen', '--out', out], cwd)).code).toBe(0)
    expect((await readdir(out)).sort()).toEqual(['checkpoint-ed25519.pem', 'checkpoint-ed25519.pub.pem'])
    expect((await mcpPolicy(['keygen', '--out', out], cwd)).code).toBe(2)
  })
})
