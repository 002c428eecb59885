import { createPublicKey, createSecretKey, type KeyObject } from 'node:crypto'
import { compactVerify, decodeProtectedHeader } from 'jose'
import { McpPolicyError } from '../errors.js'
import { opaFileHash } from './opa-file-hash.js'

/** One key that may sign bundles, as in OPA's `keys` configuration. */
export interface BundleVerificationKey {
  /** PEM public key or certificate (RS*, PS*, ES*, EdDSA), or the shared secret for HS*. */
  key: string
  /** The only algorithm accepted with this key (no algorithm confusion). Default `RS256`. */
  algorithm?: string
  /** Expected `scope` claim when the bundle configuration sets none. */
  scope?: string
}

/** Bundle signature verification settings, mirroring OPA's `signing` bundle configuration. */
export interface BundleVerification {
  /** Keys by key id. */
  keys: Record<string, BundleVerificationKey>
  /** Force this key id instead of the token's `kid` header or `keyid` claim. */
  keyId?: string
  /** Expected `scope` claim. */
  scope?: string
}

interface SignedFile {
  name: string
  hash: string
  algorithm: string
}

/**
 * Verifies a bundle's `.signatures.json` with OPA's rules: exactly one JWS, a key chosen by
 * configured key id, `kid` header or `keyid` claim, the signature valid for that key's single
 * algorithm, the scope matching, every file in the bundle listed with a matching hash and every
 * listed file present.
 *
 * @throws McpPolicyError `ERR_BUNDLE_SIGNATURE_MISSING` or `ERR_BUNDLE_SIGNATURE_INVALID`.
 * @example
 * ```ts
 * await verifyBundleSignature(files, { keys: { default: { key: publicPem, algorithm: 'RS256' } } })
 * ```
 */
export async function verifyBundleSignature(
  files: ReadonlyMap<string, Uint8Array>,
  verification: BundleVerification,
): Promise<void> {
  const signaturesFile = files.get('.signatures.json')
  if (!signaturesFile)
    throw new McpPolicyError('ERR_BUNDLE_SIGNATURE_MISSING', 'bundle missing .signatures.json file')
  const token = parseSignatures(signaturesFile)
  const signed = await verifyToken(token, verification)
  const listed = new Map<string, SignedFile>()
  for (const file of signed.files) listed.set(file.name.replace(/^\/+/, ''), file)
  for (const [name, bytes] of files) {
    if (name === '.signatures.json') continue
    const entry = listed.get(name)
    if (!entry) invalid(`file ${name} not included in bundle signature`)
    let actual: string
    try {
      actual = opaFileHash(name, bytes, entry.algorithm)
    } catch (err) {
      invalid(`${name}: cannot hash: ${(err as Error).message}`, err)
    }
    if (actual !== entry.hash.toLowerCase())
      invalid(`${name}: digest mismatch (want: ${entry.hash}, got: ${actual})`)
    listed.delete(name)
  }
  if (listed.size > 0) {
    invalid(
      `file(s) ${[...listed.keys()].join(', ')} specified in bundle signatures but not found in the bundle`,
    )
  }
}

function parseSignatures(bytes: Uint8Array): string {
  let parsed: unknown
  try {
    parsed = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch (err) {
    invalid('.signatures.json is not JSON', err)
  }
  const signatures = (parsed as { signatures?: unknown })?.signatures
  if (!Array.isArray(signatures) || signatures.length === 0) {
    invalid('.signatures.json: missing JWT (expected exactly one)')
  }
  if (signatures.length > 1) invalid('.signatures.json: multiple JWTs not supported (expected exactly one)')
  if (typeof signatures[0] !== 'string') invalid('.signatures.json: signature is not a compact JWS')
  return signatures[0]
}

async function verifyToken(
  token: string,
  verification: BundleVerification,
): Promise<{ files: SignedFile[]; scope?: string }> {
  let keyId = verification.keyId
  let claims: { files?: unknown; keyid?: unknown; scope?: unknown }
  try {
    keyId ||= decodeProtectedHeader(token).kid
    claims = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))
  } catch (err) {
    invalid('bundle signature is not a compact JWS', err)
  }
  if (!keyId && typeof claims.keyid === 'string') keyId = claims.keyid
  if (!keyId) invalid('verification key ID is empty')
  const keyConfig = Object.hasOwn(verification.keys, keyId) ? verification.keys[keyId] : undefined
  if (!keyConfig) invalid(`verification key corresponding to ID ${keyId} not found`)
  const algorithm = keyConfig.algorithm ?? 'RS256'
  let payload: Uint8Array
  try {
    ;({ payload } = await compactVerify(token, importKey(keyConfig.key, algorithm), {
      algorithms: [algorithm],
    }))
  } catch (err) {
    invalid(`failed to verify JWT signature: ${(err as Error).message}`, err)
  }
  const verified = JSON.parse(Buffer.from(payload).toString('utf8')) as { files?: unknown; scope?: unknown }
  const expectedScope = verification.scope || keyConfig.scope || undefined
  if ((verified.scope ?? undefined) !== expectedScope) invalid('scope mismatch')
  if (!Array.isArray(verified.files) || !verified.files.every(isSignedFile))
    invalid('signature lists no valid files')
  return { files: verified.files }
}

function importKey(key: string, algorithm: string): KeyObject {
  if (algorithm.startsWith('HS')) return createSecretKey(Buffer.from(key, 'utf8'))
  try {
    return createPublicKey(key)
  } catch (err) {
    invalid('failed to parse PEM block containing the key', err)
  }
}

function isSignedFile(f: unknown): f is SignedFile {
  const file = f as SignedFile
  return typeof file?.name === 'string' && typeof file.hash === 'string' && typeof file.algorithm === 'string'
}

function invalid(message: string, cause?: unknown): never {
  throw new McpPolicyError('ERR_BUNDLE_SIGNATURE_INVALID', message, { cause })
}
