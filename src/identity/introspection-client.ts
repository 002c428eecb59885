import { createPrivateKey, type KeyObject, randomUUID } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { SignJWT } from 'jose'
import { request } from 'undici'
import { McpPolicyError } from '../errors.js'
import { describe, readBounded } from './bounded-response.js'
import type { IntrospectionConfig } from './identity-config.js'

/** What an introspection endpoint said about a token. */
export interface IntrospectionResponse {
  active: boolean
  /** Every member of the answer (RFC 7662 §2.2) when active; empty when not. */
  claims: Record<string, unknown>
}

/** Largest introspection answer read: a token's claims, not a document. */
const MAX_RESPONSE_BYTES = 64 * 1024

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * An RFC 7662 client for one issuer's introspection endpoint: POSTs the token
 * (`token_type_hint=access_token`) authenticated as the PDP's OAuth client, with
 * `client_secret_basic` or `private_key_jwt` (RFC 7523: a fresh assertion per request, `aud` the
 * issuer identifier, 60 s lifetime, random `jti`). Bounded in time and size.
 *
 * @throws McpPolicyError `ERR_IDENTITY_CONFIG_INVALID` from the constructor: an endpoint that is
 *   not https (http only on loopback), not exactly one of clientSecret / privateKeyJwt, an
 *   unreadable or unsupported key.
 * @example
 * ```ts
 * const client = new IntrospectionClient('https://idp.example.com', {
 *   endpoint: 'https://idp.example.com/introspect', clientId: 'mcp-pdp', clientSecret: secret,
 * })
 * const { active, claims } = await client.introspect(token)
 * ```
 */
export class IntrospectionClient {
  readonly #issuer: string
  readonly #endpoint: URL
  readonly #clientId: string
  readonly #timeoutMs: number
  readonly #basic: string | undefined
  readonly #assertionKey: { key: KeyObject; alg: string; kid: string | undefined } | undefined

  constructor(issuer: string, config: IntrospectionConfig) {
    this.#issuer = issuer
    const invalid = (message: string) =>
      new McpPolicyError(
        'ERR_IDENTITY_CONFIG_INVALID',
        `identity: issuer ${issuer}: introspection ${message}`,
      )
    let endpoint: URL
    try {
      endpoint = new URL(config.endpoint)
    } catch {
      throw invalid('endpoint is not a URL')
    }
    // A token sent in clear text is a token given away; loopback is the one exception.
    if (
      endpoint.protocol !== 'https:' &&
      !(endpoint.protocol === 'http:' && loopbackHosts.has(endpoint.hostname))
    )
      throw invalid('endpoint must be https (http only on a loopback host)')
    if (endpoint.username || endpoint.password) throw invalid('endpoint must not carry credentials')
    this.#endpoint = endpoint
    if (typeof config.clientId !== 'string' || config.clientId === '') throw invalid('needs a clientId')
    this.#clientId = config.clientId
    this.#timeoutMs = config.timeoutMs ?? 2_000
    if (!Number.isFinite(this.#timeoutMs) || this.#timeoutMs <= 0) throw invalid('timeoutMs must be positive')
    if ((config.clientSecret === undefined) === (config.privateKeyJwt === undefined))
      throw invalid('needs exactly one of clientSecret and privateKeyJwt')
    if (config.clientSecret !== undefined) {
      // RFC 6749 §2.3.1: both parts form-encoded before they are joined and base64-encoded.
      this.#basic = `Basic ${Buffer.from(`${formEncode(config.clientId)}:${formEncode(config.clientSecret)}`).toString('base64')}`
    } else {
      const { keyFile, alg, kid } = config.privateKeyJwt!
      let key: KeyObject
      try {
        const text = readFileSync(keyFile, 'utf8')
        key = text.trimStart().startsWith('{')
          ? createPrivateKey({ key: JSON.parse(text), format: 'jwk' })
          : createPrivateKey(text)
      } catch (err) {
        throw invalid(
          `privateKeyJwt.keyFile ${keyFile} is not a readable private key: ${(err as Error).message}`,
        )
      }
      const derived = alg ?? defaultAlgorithm(key)
      if (derived === undefined)
        throw invalid('privateKeyJwt key type is not supported (RSA, EC P-256/384/521, Ed25519)')
      this.#assertionKey = { key, alg: derived, kid }
    }
  }

  /**
   * Asks whether `token` is active.
   *
   * @throws McpPolicyError `ERR_IDENTITY_INTROSPECTION_UNAVAILABLE` when the endpoint cannot be
   *   reached in time, answers anything but 200 with a JSON object holding a boolean `active`, or
   *   answers more than 64 KiB. The message never holds the token.
   */
  async introspect(token: string): Promise<IntrospectionResponse> {
    const form = new URLSearchParams({ token, token_type_hint: 'access_token' })
    const headers: Record<string, string> = {
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    }
    if (this.#basic) headers.authorization = this.#basic
    else {
      form.set('client_id', this.#clientId)
      form.set('client_assertion_type', 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer')
      form.set('client_assertion', await this.#assertion())
    }
    let status: number
    let text: string
    try {
      const response = await request(this.#endpoint, {
        method: 'POST',
        headers,
        body: form.toString(),
        headersTimeout: this.#timeoutMs,
        bodyTimeout: this.#timeoutMs,
        signal: AbortSignal.timeout(this.#timeoutMs),
      })
      status = response.statusCode
      text = await readBounded(response.body, MAX_RESPONSE_BYTES)
    } catch (err) {
      throw this.#unavailable(describe(err), err)
    }
    if (status !== 200) throw this.#unavailable(`answered HTTP ${status}`)
    let answer: unknown
    try {
      answer = JSON.parse(text)
    } catch {
      throw this.#unavailable('answered something that is not JSON')
    }
    if (answer === null || typeof answer !== 'object' || Array.isArray(answer))
      throw this.#unavailable('answered JSON that is not an object')
    const active = (answer as { active?: unknown }).active
    if (typeof active !== 'boolean') throw this.#unavailable('answered without a boolean "active"')
    return active ? { active, claims: answer as Record<string, unknown> } : { active, claims: {} }
  }

  async #assertion(): Promise<string> {
    const { key, alg, kid } = this.#assertionKey!
    const now = Math.floor(Date.now() / 1000)
    return (
      new SignJWT({})
        .setProtectedHeader({ alg, typ: 'JWT', ...(kid !== undefined && { kid }) })
        .setIssuer(this.#clientId)
        .setSubject(this.#clientId)
        // The issuer identifier: the audience every current AS accepts (RFC 7523bis).
        .setAudience(this.#issuer)
        .setIssuedAt(now)
        .setExpirationTime(now + 60)
        .setJti(randomUUID())
        .sign(key)
    )
  }

  #unavailable(reason: string, cause?: unknown): McpPolicyError {
    return new McpPolicyError(
      'ERR_IDENTITY_INTROSPECTION_UNAVAILABLE',
      `issuer ${this.#issuer}: introspection at ${this.#endpoint.origin}${this.#endpoint.pathname} ${reason}`,
      { cause },
    )
  }
}

function formEncode(value: string): string {
  return encodeURIComponent(value).replace(/%20/g, '+')
}

function defaultAlgorithm(key: KeyObject): string | undefined {
  switch (key.asymmetricKeyType) {
    case 'rsa':
      return 'RS256'
    case 'rsa-pss':
      return 'PS256'
    case 'ed25519':
      return 'EdDSA'
    case 'ec': {
      const curve = key.asymmetricKeyDetails?.namedCurve
      return curve === 'prime256v1'
        ? 'ES256'
        : curve === 'secp384r1'
          ? 'ES384'
          : curve === 'secp521r1'
            ? 'ES512'
            : undefined
    }
    default:
      return undefined
  }
}
