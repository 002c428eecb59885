import type { KeyObject } from 'node:crypto'
import { exportJWK, generateKeyPair, type JWK, type JWTHeaderParameters, SignJWT } from 'jose'

/** A signing key pair for forging and minting test tokens, with its public JWK. */
export interface TestKey {
  alg: string
  kid: string
  privateKey: CryptoKey | KeyObject
  publicKey: CryptoKey
  publicJwk: JWK
}

/** Generates a key pair for `alg` whose public JWK carries `kid`, `alg` and `use: sig`. */
export async function testKey(alg: string, kid: string): Promise<TestKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' }
  return { alg, kid, privateKey, publicKey, publicJwk }
}

/**
 * Signs exactly the given claims (nothing added) with `key`. The header is `{alg, kid, typ:
 * 'at+jwt'}` merged with `header`; a header member set to undefined is left out.
 */
export function signToken(
  key: TestKey,
  claims: Record<string, unknown>,
  header: Partial<JWTHeaderParameters> = {},
): Promise<string> {
  const merged: Record<string, unknown> = { alg: key.alg, kid: key.kid, typ: 'at+jwt', ...header }
  for (const name of Object.keys(merged)) if (merged[name] === undefined) delete merged[name]
  return new SignJWT(claims).setProtectedHeader(merged as JWTHeaderParameters).sign(key.privateKey)
}

/** The current time in epoch seconds. */
export function epochSeconds(): number {
  return Math.floor(Date.now() / 1000)
}

/** Base64url of a JSON value, for hand-built tokens. */
export function b64json(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url')
}
