import { generateKeyPairSync } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CompactSign } from 'jose'
import { describe, expect, it } from 'vitest'
import { readBundleArchive } from '../../src/bundle/read-bundle-archive.js'
import {
  type BundleVerification,
  loadBundle,
  type McpPolicyErrorCode,
  PolicyEngine,
} from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'
import { packFiles, repackBundle } from '../helpers/repack.js'

const rego = {
  'policy.rego':
    'package mcp\n\ndecision := {"allow": input.ok == true, "reasons": [{"code": "c", "message": "m"}]}\n',
}

function rsaKeys() {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  return {
    privatePem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
  }
}

describe('bundle signatures (OPA .signatures.json, verified with jose)', async () => {
  const keys = rsaKeys()
  const other = rsaKeys()
  const built = await buildPolicy({
    rego,
    data: { tier: 'gold' },
    signingKey: await keyFile(keys.privatePem),
  })
  const archive = await readFile(built.path)
  const verification: BundleVerification = { keys: { default: { key: keys.publicPem, algorithm: 'RS256' } } }

  const rejects = async (
    source: Uint8Array,
    code: McpPolicyErrorCode,
    config = verification,
    message?: RegExp,
  ) => {
    const failure = loadBundle(source, { verification: config })
    await expect(failure).rejects.toMatchObject({ code })
    if (message) await expect(failure).rejects.toThrow(message)
  }

  async function keyFile(pem: string) {
    const { mkdtemp } = await import('node:fs/promises')
    const { tmpdir } = await import('node:os')
    const path = join(await mkdtemp(join(tmpdir(), 'mcp-policy-key-')), 'key.pem')
    await writeFile(path, pem)
    return path
  }

  async function signedClaims(
    edit: (claims: { files: { name: string; hash: string; algorithm: string }[] }) => void,
  ) {
    const files = await readBundleArchive(archive)
    const token = JSON.parse(Buffer.from(files.get('.signatures.json')!).toString()).signatures[0] as string
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString())
    edit(claims)
    return { files, claims }
  }

  it('a bundle signed by opa build verifies and serves', async () => {
    const bundle = await loadBundle(archive, { verification })
    expect(bundle.signed).toBe(true)
    const engine = new PolicyEngine()
    await engine.load(bundle)
    expect(engine.decide({ ok: true }).decision.allow).toBe(true)
  })

  it('an ES256-signed bundle verifies with its EC key', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const ecBuilt = await buildPolicy({
      rego,
      signingKey: await keyFile(privateKey.export({ type: 'sec1', format: 'pem' }).toString()),
    })
    const ec = publicKey.export({ type: 'spki', format: 'pem' }).toString()
    await expect(
      loadBundle(ecBuilt.path, { verification: { keys: { default: { key: ec, algorithm: 'ES256' } } } }),
    ).resolves.toMatchObject({
      signed: true,
    })
  })

  it('an unsigned bundle is rejected when verification is on', async () => {
    const unsigned = await buildPolicy({ rego })
    await rejects(await readFile(unsigned.path), 'ERR_BUNDLE_SIGNATURE_MISSING')
  })

  it('edited data.json is rejected (digest mismatch)', async () => {
    const tampered = await repackBundle(archive, (f) =>
      f.set('data.json', Buffer.from('{"tier":"platinum"}')),
    )
    await rejects(tampered, 'ERR_BUNDLE_SIGNATURE_INVALID', verification, /data.json: digest mismatch/)
  })

  it('a replaced policy.wasm is rejected', async () => {
    const unsigned = await readBundleArchive(
      await readFile(
        (
          await buildPolicy({
            rego: { 'policy.rego': 'package mcp\n\ndecision := {"allow": true, "reasons": []}\n' },
          })
        ).path,
      ),
    )
    const tampered = await repackBundle(archive, (f) => f.set('policy.wasm', unsigned.get('policy.wasm')!))
    await rejects(tampered, 'ERR_BUNDLE_SIGNATURE_INVALID', verification, /policy.wasm: digest mismatch/)
  })

  it('an added file is rejected', async () => {
    const tampered = await repackBundle(archive, (f) =>
      f.set('extra/data.json', Buffer.from('{"admin":true}')),
    )
    await rejects(tampered, 'ERR_BUNDLE_SIGNATURE_INVALID', verification, /not included in bundle signature/)
  })

  it('a removed file is rejected', async () => {
    const tampered = await repackBundle(archive, (f) => f.delete('data.json'))
    await rejects(tampered, 'ERR_BUNDLE_SIGNATURE_INVALID', verification, /not found in the bundle/)
  })

  it('a signature by another key is rejected', async () => {
    await rejects(archive, 'ERR_BUNDLE_SIGNATURE_INVALID', {
      keys: { default: { key: other.publicPem, algorithm: 'RS256' } },
    })
  })

  it('an unknown key id is rejected', async () => {
    await rejects(
      archive,
      'ERR_BUNDLE_SIGNATURE_INVALID',
      { keys: { rotated: { key: keys.publicPem } } },
      /not found/,
    )
  })

  it('a scope mismatch is rejected', async () => {
    await rejects(
      archive,
      'ERR_BUNDLE_SIGNATURE_INVALID',
      { ...verification, scope: 'write' },
      /scope mismatch/,
    )
  })

  it('HS256 signed with the RSA public key (algorithm confusion) is rejected', async () => {
    const { files, claims } = await signedClaims(() => {})
    const forged = await new CompactSign(Buffer.from(JSON.stringify(claims)))
      .setProtectedHeader({ alg: 'HS256', kid: 'default' })
      .sign(Buffer.from(keys.publicPem))
    files.set('.signatures.json', Buffer.from(JSON.stringify({ signatures: [forged] })))
    await rejects(await packFiles(files), 'ERR_BUNDLE_SIGNATURE_INVALID')
  })

  it('alg none is rejected', async () => {
    const { files, claims } = await signedClaims(() => {})
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')
    const unsignedToken = `${b64({ alg: 'none', kid: 'default' })}.${b64(claims)}.`
    files.set('.signatures.json', Buffer.from(JSON.stringify({ signatures: [unsignedToken] })))
    await rejects(await packFiles(files), 'ERR_BUNDLE_SIGNATURE_INVALID')
  })

  it('two signatures, or none in the list, are rejected', async () => {
    const files = await readBundleArchive(archive)
    const { signatures } = JSON.parse(Buffer.from(files.get('.signatures.json')!).toString())
    files.set('.signatures.json', Buffer.from(JSON.stringify({ signatures: [signatures[0], signatures[0]] })))
    await rejects(await packFiles(files), 'ERR_BUNDLE_SIGNATURE_INVALID', verification, /multiple JWTs/)
    files.set('.signatures.json', Buffer.from(JSON.stringify({ signatures: [] })))
    await rejects(await packFiles(files), 'ERR_BUNDLE_SIGNATURE_INVALID', verification, /missing JWT/)
  })

  it('without verification configured, a signed bundle still loads (signature not required)', async () => {
    await expect(loadBundle(archive)).resolves.toMatchObject({ signed: false })
  })
})
