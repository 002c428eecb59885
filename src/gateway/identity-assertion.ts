import { randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { calculateJwkThumbprint, exportJWK, generateKeyPair, importPKCS8, type JWK, SignJWT } from 'jose'
import { McpPolicyError } from '../errors.js'
import type { Actor, Subject } from '../identity/subject.js'

/** Where the gateway publishes the keys its identity assertions are signed with. */
export const GATEWAY_JWKS_PATH = '/.well-known/jwks.json'

/** The header an upstream reads the assertion from. */
export const IDENTITY_ASSERTION_HEADER = 'mcp-policy-identity'

/** Settings of the identity assertions a gateway signs. */
export interface IdentityAssertionConfig {
  /** PKCS#8 PEM private key (Ed25519 or P-256). Omitted: a key made at start, published in the JWKS. */
  keyFile?: string
  /** Lifetime of one assertion. Default 60 s: it vouches for one request, not a session. */
  ttlSeconds?: number
}

/**
 * Signs, per admitted request, a short-lived JWT an upstream can verify instead of receiving the
 * client's token: who the verified subject is (`sub`, `client_id`), who acts for it (`act`, the
 * RFC 8693 chain), which decision let the request through (`decision_id`), for which server
 * (`aud` = the upstream URL), issued by the gateway (`iss` = its public URL) and valid for
 * `ttlSeconds`. Its public key is published at {@link GATEWAY_JWKS_PATH}.
 */
export class IdentityAsserter {
  readonly #issuer: string
  readonly #key: CryptoKey | Uint8Array
  readonly #alg: 'EdDSA' | 'ES256'
  readonly #kid: string
  readonly #jwk: JWK
  readonly #ttl: number

  private constructor(issuer: string, key: CryptoKey, alg: 'EdDSA' | 'ES256', jwk: JWK, ttl: number) {
    this.#issuer = issuer
    this.#key = key
    this.#alg = alg
    this.#kid = jwk.kid!
    this.#jwk = jwk
    this.#ttl = ttl
  }

  /**
   * @throws McpPolicyError `ERR_GATEWAY_CONFIG_INVALID` when the key file cannot be read as an Ed25519 or P-256 key.
   */
  static async create(issuer: string, config: IdentityAssertionConfig = {}): Promise<IdentityAsserter> {
    const ttl = config.ttlSeconds ?? 60
    if (config.keyFile) {
      const pem = await readFile(config.keyFile, 'utf8').catch((err: Error) => {
        throw new McpPolicyError(
          'ERR_GATEWAY_CONFIG_INVALID',
          `cannot read ${config.keyFile}: ${err.message}`,
        )
      })
      for (const alg of ['EdDSA', 'ES256'] as const) {
        const key = await importPKCS8(pem, alg, { extractable: true }).catch(() => undefined)
        if (!key) continue
        return new IdentityAsserter(issuer, key, alg, await publicJwk(key, alg), ttl)
      }
      throw new McpPolicyError(
        'ERR_GATEWAY_CONFIG_INVALID',
        `${config.keyFile} is not an Ed25519 or P-256 PKCS#8 key`,
      )
    }
    const { privateKey } = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true })
    return new IdentityAsserter(issuer, privateKey, 'EdDSA', await publicJwk(privateKey, 'EdDSA'), ttl)
  }

  /** The JWKS to publish: the public key only. */
  jwks(): { keys: JWK[] } {
    return { keys: [this.#jwk] }
  }

  /** An assertion for one admitted request. */
  async sign(facts: {
    subject: Subject
    decisionId: string
    audience: string
    server: string
  }): Promise<string> {
    const { subject } = facts
    const claims: Record<string, unknown> = { decision_id: facts.decisionId, mcp_server: facts.server }
    if (subject.client_id !== undefined) claims.client_id = subject.client_id
    if (subject.actor) claims.act = actClaim(subject.actor)
    return new SignJWT(claims)
      .setProtectedHeader({ alg: this.#alg, kid: this.#kid, typ: 'mcp-policy-identity+jwt' })
      .setIssuer(this.#issuer)
      .setSubject(subject.id ?? '')
      .setAudience(facts.audience)
      .setIssuedAt()
      .setExpirationTime(`${this.#ttl}s`)
      .setJti(randomUUID())
      .sign(this.#key)
  }
}

async function publicJwk(key: CryptoKey, alg: 'EdDSA' | 'ES256'): Promise<JWK> {
  const { d: _private, ...jwk } = await exportJWK(key)
  return { ...jwk, alg, use: 'sig', kid: await calculateJwkThumbprint(jwk) }
}

/** The RFC 8693 `act` claim of an actor chain. */
function actClaim(actor: Actor): Record<string, unknown> {
  const act: Record<string, unknown> = {}
  if (actor.id !== undefined) act.sub = actor.id
  if (actor.client_id !== undefined) act.client_id = actor.client_id
  if (actor.actor) act.act = actClaim(actor.actor)
  return act
}
