import { readFile } from 'node:fs/promises'
import {
  type CompactJWSHeaderParameters,
  createLocalJWKSet,
  createRemoteJWKSet,
  type FlattenedJWSInput,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
} from 'jose'
import { McpPolicyError } from '../errors.js'
import type { IssuerConfig } from './identity-config.js'
import { quoteUntrusted as quote } from './quote-untrusted.js'

/** Timing of remote and file key sources. */
export interface IssuerKeyOptions {
  timeoutMs: number
  cooldownMs: number
}

type LocalKeySet = ReturnType<typeof createLocalJWKSet>

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * The key resolver jose calls for one issuer's tokens. Every failure leaves it as an
 * {@link McpPolicyError}: `ERR_IDENTITY_KEY_UNKNOWN` when the key set has no single key for the
 * token, `ERR_IDENTITY_JWKS_UNAVAILABLE` when the key set cannot be fetched, read or used.
 *
 * @throws McpPolicyError `ERR_IDENTITY_CONFIG_INVALID` when the issuer names no key source, several, or an insecure JWKS URL.
 * @example
 * ```ts
 * const keys = issuerKeys({ issuer, jwksUri }, { timeoutMs: 5000, cooldownMs: 30000 })
 * await jwtVerify(token, keys, { issuer, audience })
 * ```
 */
export function issuerKeys(config: IssuerConfig, options: IssuerKeyOptions): JWTVerifyGetKey {
  const sources = [config.jwksUri, config.jwksFile, config.jwks].filter((source) => source !== undefined)
  if (sources.length !== 1) {
    throw new McpPolicyError(
      'ERR_IDENTITY_CONFIG_INVALID',
      `issuer ${config.issuer}: give exactly one of jwksUri, jwksFile or jwks (got ${sources.length})`,
    )
  }
  if (config.jwksUri !== undefined) return remoteKeys(config.issuer, config.jwksUri, options)
  if (config.jwksFile !== undefined) return fileKeys(config.issuer, config.jwksFile, options)
  return inlineKeys(config.issuer, config.jwks as JSONWebKeySet)
}

function remoteKeys(issuer: string, uri: string, options: IssuerKeyOptions): JWTVerifyGetKey {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    throw new McpPolicyError('ERR_IDENTITY_CONFIG_INVALID', `issuer ${issuer}: jwksUri ${uri} is not a URL`)
  }
  // Keys fetched in clear text can be swapped by anyone on the path; loopback is the one exception
  // (a sidecar IdP, tests).
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopbackHosts.has(url.hostname))) {
    throw new McpPolicyError(
      'ERR_IDENTITY_CONFIG_INVALID',
      `issuer ${issuer}: jwksUri must be https (http only on a loopback host)`,
    )
  }
  const remote = createRemoteJWKSet(url, {
    timeoutDuration: options.timeoutMs,
    cooldownDuration: options.cooldownMs,
  })
  // After a failed fetch (unreachable, timeout, not 200, not a JWKS) the last keys that were
  // fetched keep verifying (an IdP outage must not log everybody out), and for one cooldown nobody waits on another fetch that will likely fail.
  // With no keys ever fetched, every call tries again: there is nothing else to verify with.
  let failedAt = Number.NEGATIVE_INFINITY
  let stale: LocalKeySet | undefined
  const fromStale = async (header: CompactJWSHeaderParameters, token: FlattenedJWSInput, cause: unknown) => {
    if (stale) {
      try {
        return await stale(header, token)
      } catch (err) {
        if (!isNoMatchingKey(err)) throw unusable(issuer, err)
      }
    }
    throw new McpPolicyError(
      'ERR_IDENTITY_JWKS_UNAVAILABLE',
      `issuer ${issuer}: JWKS ${url.href} cannot be fetched (${describe(cause)}) and no cached key matches`,
      { cause },
    )
  }
  return async (header, token) => {
    if (stale && Date.now() < failedAt + options.cooldownMs)
      return fromStale(header, token, 'fetch failed recently')
    try {
      return await remote(header, token)
    } catch (err) {
      if (isNoMatchingKey(err)) throw keyUnknown(issuer, header, err)
      failedAt = Date.now()
      const last = remote.jwks()
      stale = last ? createLocalJWKSet(last) : undefined
      return fromStale(header, token, err)
    }
  }
}

function fileKeys(issuer: string, path: string, options: IssuerKeyOptions): JWTVerifyGetKey {
  let keys: LocalKeySet | undefined
  let loadedAt = Number.NEGATIVE_INFINITY
  const load = async () => {
    let parsed: unknown
    try {
      parsed = JSON.parse(await readFile(path, 'utf8'))
    } catch (err) {
      throw new McpPolicyError(
        'ERR_IDENTITY_JWKS_UNAVAILABLE',
        `issuer ${issuer}: cannot read JWKS file ${path}: ${describe(err)}`,
        { cause: err },
      )
    }
    try {
      keys = createLocalJWKSet(parsed as JSONWebKeySet)
    } catch (err) {
      throw unusable(issuer, err)
    }
    loadedAt = Date.now()
  }
  return async (header, token) => {
    if (!keys) await load()
    try {
      return await (keys as LocalKeySet)(header, token)
    } catch (err) {
      if (!isNoMatchingKey(err)) throw unusable(issuer, err)
      // A rotated key is written to the file before tokens signed with it arrive: re-read, but
      // not on every forged kid.
      if (Date.now() < loadedAt + options.cooldownMs) throw keyUnknown(issuer, header, err)
      await load()
      try {
        return await (keys as LocalKeySet)(header, token)
      } catch (retry) {
        throw isNoMatchingKey(retry) ? keyUnknown(issuer, header, retry) : unusable(issuer, retry)
      }
    }
  }
}

function inlineKeys(issuer: string, jwks: JSONWebKeySet): JWTVerifyGetKey {
  if (jwks.keys?.some((key) => key.d !== undefined || key.kty === 'oct')) {
    throw new McpPolicyError(
      'ERR_IDENTITY_CONFIG_INVALID',
      `issuer ${issuer}: the inline JWKS must hold public keys only`,
    )
  }
  let keys: LocalKeySet
  try {
    keys = createLocalJWKSet(jwks)
  } catch (err) {
    throw new McpPolicyError(
      'ERR_IDENTITY_CONFIG_INVALID',
      `issuer ${issuer}: the inline JWKS is malformed: ${describe(err)}`,
    )
  }
  return async (header, token) => {
    try {
      return await keys(header, token)
    } catch (err) {
      throw isNoMatchingKey(err) ? keyUnknown(issuer, header, err) : unusable(issuer, err)
    }
  }
}

function isNoMatchingKey(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code
  // Several candidates means the token names no kid and the set has more than one key of its
  // type: no single key is the token's key.
  return code === 'ERR_JWKS_NO_MATCHING_KEY' || code === 'ERR_JWKS_MULTIPLE_MATCHING_KEYS'
}

function keyUnknown(issuer: string, header: CompactJWSHeaderParameters, cause: unknown): McpPolicyError {
  const kid = typeof header.kid === 'string' ? `kid ${quote(header.kid)}` : 'no kid'
  return new McpPolicyError(
    'ERR_IDENTITY_KEY_UNKNOWN',
    `issuer ${issuer}: no single key in the JWKS matches the token (${kid}, alg ${quote(String(header.alg))})`,
    { cause },
  )
}

function unusable(issuer: string, cause: unknown): McpPolicyError {
  return new McpPolicyError(
    'ERR_IDENTITY_JWKS_UNAVAILABLE',
    `issuer ${issuer}: the JWKS is unusable: ${describe(cause)}`,
    { cause },
  )
}

function describe(err: unknown): string {
  if (typeof err === 'string') return err
  const error = err as { message?: unknown; cause?: { code?: unknown } } | undefined
  const code = typeof error?.cause?.code === 'string' ? ` (${error.cause.code})` : ''
  return `${typeof error?.message === 'string' ? error.message : String(err)}${code}`
}
