import { randomUUID } from 'node:crypto'
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose'
import { DEFAULT_DEV_CLIENT_ID, DEFAULT_DEV_KEY_DIR, DEFAULT_DEV_TOKEN_LIFETIME } from '../defaults.js'
import { McpPolicyError } from '../errors.js'
import type { IssuerConfig } from './identity-config.js'

/**
 * The issuer of dev tokens unless another is given. Not a URL so it cannot be mistaken for a real IdP.
 *
 * @example
 * ```ts
 * devIssuerConfig(key).issuer === devIssuer // true
 * ```
 */
export const devIssuer = 'urn:mcp-policy:dev'

const keyFileName = 'dev-signing-key.json'

/**
 * A local ES256 signing key for dev tokens: the private JWK (which includes the public part) and
 * its key id, the RFC 7638 thumbprint.
 */
export interface DevKey {
  kid: string
  privateJwk: JWK
  publicJwk: JWK
}

/** An RFC 8693 `act` claim: who acts on the subject's behalf, possibly for another actor. */
export interface DevActClaim {
  sub?: string
  client_id?: string
  act?: DevActClaim
}

/** What a dev token says. */
export interface DevTokenOptions {
  sub: string
  /** The resource URI (or several) of the MCP server the token is for (RFC 8707). */
  aud: string | string[]
  groups?: string[]
  roles?: string[]
  /** Written as the space-separated `scope` claim (RFC 9068). */
  scopes?: string[]
  /** The agent acting for `sub`: an id (`{sub: id}`) or a whole `act` chain. */
  act?: string | DevActClaim
  /** Default {@link devIssuer}. */
  iss?: string
  /** Seconds, or a span such as `'90s'`, `'15m'`, `'1h'`, `'7d'`; negative for an expired token. Default `'1h'`. */
  expiresIn?: number | string
  /** The `client_id` claim (RFC 9068 requires one). Default `'mcp-policy-dev'`. */
  clientId?: string
  /** More claims; the options above win over these. */
  claims?: Record<string, unknown>
  /** Issue time. Default now. */
  now?: Date
}

/**
 * Generates a fresh ES256 dev key pair in memory.
 *
 * @example
 * ```ts
 * const key = await createDevKey()
 * const token = await mintDevToken(key, { sub: 'alice', aud: 'https://mcp.example.com/github' })
 * ```
 */
export async function createDevKey(): Promise<DevKey> {
  const { privateKey } = await generateKeyPair('ES256', { extractable: true })
  return devKeyFromJwk(await exportJWK(privateKey))
}

/**
 * Loads the dev key kept in `dir` (default `.dev-keys`), creating and saving one (mode 0600) on
 * first use so that tokens minted by separate commands verify against the same key.
 *
 * @example
 * ```ts
 * const key = await loadOrCreateDevKey('.dev-keys')
 * const verifier = new TokenVerifier({ issuers: [devIssuerConfig(key)] })
 * ```
 */
export async function loadOrCreateDevKey(dir = DEFAULT_DEV_KEY_DIR): Promise<DevKey> {
  const path = join(dir, keyFileName)
  try {
    return await devKeyFromJwk(JSON.parse(await readFile(path, 'utf8')) as JWK)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const key = await createDevKey()
  // Written aside, then linked into place: link fails when the file exists, so when two processes
  // race to create the key the loser reads the winner's complete file, never a half-written one.
  const aside = `${path}.${process.pid}.${randomUUID()}`
  await writeFile(aside, `${JSON.stringify(key.privateJwk, null, 2)}\n`, { mode: 0o600 })
  try {
    await link(aside, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    return devKeyFromJwk(JSON.parse(await readFile(path, 'utf8')) as JWK)
  } finally {
    await rm(aside, { force: true })
  }
  return key
}

/**
 * Signs an RFC 9068 access token (`typ: at+jwt`, ES256) with a dev key: `iss`, `sub`, `aud`,
 * `client_id`, `iat`, `exp`, `jti`, and `groups`, `roles`, `scope`, `act` when given.
 *
 * @example
 * ```ts
 * const token = await mintDevToken(key, {
 *   sub: 'alice', aud: 'https://mcp.example.com/github', roles: ['support'], scopes: ['tools:call'], act: 'claude-agent',
 * })
 * ```
 */
export async function mintDevToken(key: DevKey, options: DevTokenOptions): Promise<string> {
  const issuedAt = Math.floor((options.now ?? new Date()).getTime() / 1000)
  const lifetime = seconds(options.expiresIn ?? DEFAULT_DEV_TOKEN_LIFETIME)
  const claims: Record<string, unknown> = {
    ...options.claims,
    client_id: options.clientId ?? DEFAULT_DEV_CLIENT_ID,
    ...(options.groups && { groups: options.groups }),
    ...(options.roles && { roles: options.roles }),
    ...(options.scopes && { scope: options.scopes.join(' ') }),
    ...(options.act !== undefined && {
      act: typeof options.act === 'string' ? { sub: options.act } : options.act,
    }),
  }
  return (
    new SignJWT(claims)
      .setProtectedHeader({ alg: 'ES256', typ: 'at+jwt', kid: key.kid })
      .setIssuer(options.iss ?? devIssuer)
      .setSubject(options.sub)
      .setAudience(options.aud)
      .setIssuedAt(issuedAt)
      // jose reads a number as an absolute time and a span as relative to the clock, not to `now`.
      .setExpirationTime(issuedAt + lifetime)
      .setJti(randomUUID())
      .sign(await importJWK(key.privateJwk, 'ES256'))
  )
}

/**
 * The issuer configuration that trusts a dev key's tokens: its public key inline, ES256 only,
 * `typ: at+jwt` required.
 *
 * @example
 * ```ts
 * const verifier = new TokenVerifier({ issuers: [devIssuerConfig(await loadOrCreateDevKey())] })
 * ```
 */
export function devIssuerConfig(key: DevKey, issuer: string = devIssuer): IssuerConfig {
  return { issuer, jwks: { keys: [key.publicJwk] }, algorithms: ['ES256'], requireAtJwt: true }
}

const unitSeconds: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 }

function seconds(span: number | string): number {
  if (typeof span === 'number' && Number.isFinite(span)) return Math.trunc(span)
  const match = typeof span === 'string' ? /^(-?\d+)\s*([smhd]?)$/.exec(span.trim()) : null
  if (!match)
    throw new McpPolicyError(
      'ERR_IDENTITY_CONFIG_INVALID',
      `expiresIn ${String(span)} is not a number of seconds or a span like 15m, 1h, 7d`,
    )
  return Number(match[1]) * unitSeconds[match[2] || 's']!
}

async function devKeyFromJwk(privateJwk: JWK): Promise<DevKey> {
  if (privateJwk.kty !== 'EC' || privateJwk.crv !== 'P-256' || typeof privateJwk.d !== 'string')
    throw new McpPolicyError(
      'ERR_IDENTITY_CONFIG_INVALID',
      'the dev key file does not hold a P-256 private JWK',
    )
  const { kty, crv, x, y } = privateJwk
  const kid = await calculateJwkThumbprint({ kty, crv, x, y })
  return {
    kid,
    privateJwk: { kty, crv, x, y, d: privateJwk.d, kid, alg: 'ES256' },
    publicJwk: { kty, crv, x, y, kid, alg: 'ES256', use: 'sig' },
  }
}
