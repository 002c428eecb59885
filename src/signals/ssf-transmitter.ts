import { createHash, timingSafeEqual } from 'node:crypto'
import type { JWTVerifyGetKey } from 'jose'
import { McpPolicyError } from '../errors.js'
import { defaultAlgorithms, supportedAlgorithms } from '../identity/identity-config.js'
import { issuerKeys } from '../identity/issuer-keys.js'
import type { SsfTransmitterConfig } from './ssf-config.js'
import { requestTransmitter, transmitterUrl } from './transmitter-request.js'

/** The members of a transmitter's metadata (SSF 1.0 §6.1) the receiver uses. */
export interface TransmitterMetadata {
  issuer: string
  jwks_uri?: string
  configuration_endpoint?: string
  delivery_methods_supported?: string[]
}

/** Timing of a {@link SsfTransmitter}'s requests. */
export interface SsfTransmitterOptions {
  /** Timeout of one metadata, JWKS or stream request. Default 5000. */
  timeoutMs?: number
  /** Least time between two fetches after a failure (metadata) or an unknown `kid` (JWKS). Default 30000. */
  cooldownMs?: number
}

const POLL_DELIVERY = 'urn:ietf:rfc:8936'
const MAX_METADATA_BYTES = 64 * 1024

/**
 * One configured transmitter: its metadata (read from `/.well-known/ssf-configuration` on first
 * need, checked to name the configured issuer), its keys (the metadata's `jwks_uri` or the
 * configured one, fetched and cached by jose with the identity layer's stale-key fallback), the
 * poll endpoint of its stream, and the push credentials it must present.
 *
 * Nothing is fetched at construction: a transmitter that is down when the PDP starts delays only
 * its own events (answered `ERR_SSF_TRANSMITTER_UNAVAILABLE`, so it delivers them again).
 *
 * @throws McpPolicyError `ERR_PDP_CONFIG_INVALID` for an insecure or malformed URL or an unsupported algorithm.
 * @example
 * ```ts
 * const transmitter = new SsfTransmitter({ issuer, audience: 'https://pdp.example.com/ssf', push: { authorizationHeaders: [secret] } })
 * await jwtVerify(set, transmitter.keys, { issuer: transmitter.issuer, audience: transmitter.audience })
 * ```
 */
export class SsfTransmitter {
  readonly issuer: string
  readonly audience: string[]
  readonly tokenIssuers: string[]
  readonly algorithms: string[]
  readonly config: SsfTransmitterConfig
  /** Its keys, for jose: resolved through the metadata's `jwks_uri` unless `jwksUri` is configured. */
  readonly keys: JWTVerifyGetKey
  readonly #metadataUrl: URL
  readonly #timeoutMs: number
  readonly #cooldownMs: number
  readonly #pushDigests: Buffer[]
  #metadata: TransmitterMetadata | undefined
  #fetching: Promise<TransmitterMetadata> | undefined
  #failure: { at: number; error: McpPolicyError } | undefined
  #jwks: JWTVerifyGetKey | undefined

  constructor(config: SsfTransmitterConfig, options: SsfTransmitterOptions = {}) {
    this.config = config
    this.issuer = config.issuer
    this.audience = typeof config.audience === 'string' ? [config.audience] : [...config.audience]
    this.tokenIssuers = [...(config.tokenIssuers ?? [config.issuer])]
    this.algorithms = [...(config.algorithms ?? defaultAlgorithms)]
    for (const alg of this.algorithms)
      if (!supportedAlgorithms.includes(alg))
        throw configInvalid(
          `ssf: transmitter ${config.issuer}: algorithm ${alg} is not supported (asymmetric only: ${supportedAlgorithms.join(', ')})`,
        )
    this.#timeoutMs = options.timeoutMs ?? 5_000
    this.#cooldownMs = options.cooldownMs ?? 30_000
    this.#metadataUrl = config.configurationUrl
      ? transmitterUrl(
          config.configurationUrl,
          `ssf: transmitter ${config.issuer}: configurationUrl`,
          'ERR_PDP_CONFIG_INVALID',
        )
      : defaultMetadataUrl(config.issuer)
    if (config.jwksUri !== undefined) this.#jwks = this.#keysAt(config.jwksUri, 'ERR_PDP_CONFIG_INVALID')
    if (config.poll?.endpoint !== undefined)
      transmitterUrl(
        config.poll.endpoint,
        `ssf: transmitter ${config.issuer}: poll.endpoint`,
        'ERR_PDP_CONFIG_INVALID',
      )
    this.#pushDigests = (config.push?.authorizationHeaders ?? []).map(digest)
    this.keys = async (header, token) => {
      if (!this.#jwks) {
        const metadata = await this.metadata()
        if (typeof metadata.jwks_uri !== 'string')
          throw new McpPolicyError(
            'ERR_SSF_TRANSMITTER_UNAVAILABLE',
            `transmitter ${this.issuer}: its metadata names no jwks_uri`,
          )
        this.#jwks ??= this.#keysAt(metadata.jwks_uri, 'ERR_SSF_TRANSMITTER_UNAVAILABLE')
      }
      return this.#jwks(header, token)
    }
  }

  /** Where the metadata is read from. */
  get metadataUrl(): URL {
    return this.#metadataUrl
  }

  /**
   * True when `authorization` (a request's `Authorization` header) is one of this transmitter's
   * push credentials. Compared in constant time over SHA-256 digests, against every credential
   * without an early exit.
   */
  acceptsPush(authorization: string): boolean {
    const presented = digest(authorization)
    let match = false
    for (const known of this.#pushDigests) match = timingSafeEqual(known, presented) || match
    return match
  }

  /**
   * The transmitter's metadata, fetched once. After a failure, later calls within the cooldown
   * fail at once with the same error rather than fetching again.
   *
   * @throws McpPolicyError `ERR_SSF_TRANSMITTER_UNAVAILABLE`.
   */
  async metadata(): Promise<TransmitterMetadata> {
    if (this.#metadata) return this.#metadata
    if (this.#failure && Date.now() < this.#failure.at + this.#cooldownMs) throw this.#failure.error
    this.#fetching ??= this.#fetchMetadata().finally(() => {
      this.#fetching = undefined
    })
    return this.#fetching
  }

  /**
   * The RFC 8936 poll endpoint: `poll.endpoint`, or the `delivery.endpoint_url` of stream
   * `poll.streamId` at the metadata's `configuration_endpoint` (read with the poll credential).
   *
   * @throws McpPolicyError `ERR_SSF_TRANSMITTER_UNAVAILABLE`.
   */
  async pollEndpoint(signal?: AbortSignal): Promise<URL> {
    const poll = this.config.poll
    if (!poll)
      throw new McpPolicyError('ERR_SSF_TRANSMITTER_UNAVAILABLE', `transmitter ${this.issuer} is not polled`)
    if (poll.endpoint !== undefined)
      return transmitterUrl(
        poll.endpoint,
        `transmitter ${this.issuer}: poll.endpoint`,
        'ERR_SSF_TRANSMITTER_UNAVAILABLE',
      )
    const metadata = await this.metadata()
    const endpoint = transmitterUrl(
      metadata.configuration_endpoint,
      `transmitter ${this.issuer}: the metadata's configuration_endpoint`,
      'ERR_SSF_TRANSMITTER_UNAVAILABLE',
    )
    endpoint.searchParams.set('stream_id', poll.streamId ?? '')
    const stream = await requestTransmitter(endpoint, `transmitter ${this.issuer}: stream ${poll.streamId}`, {
      method: 'GET',
      authorization: poll.authorizationHeader,
      timeoutMs: this.#timeoutMs,
      maxBytes: MAX_METADATA_BYTES,
      signal,
    })
    const delivery = stream.delivery as { method?: unknown; endpoint_url?: unknown } | undefined
    if (delivery?.method !== POLL_DELIVERY)
      throw new McpPolicyError(
        'ERR_SSF_TRANSMITTER_UNAVAILABLE',
        `transmitter ${this.issuer}: stream ${poll.streamId} is not configured for poll delivery (${POLL_DELIVERY})`,
      )
    return transmitterUrl(
      delivery.endpoint_url,
      `transmitter ${this.issuer}: stream ${poll.streamId}'s delivery.endpoint_url`,
      'ERR_SSF_TRANSMITTER_UNAVAILABLE',
    )
  }

  async #fetchMetadata(): Promise<TransmitterMetadata> {
    try {
      const answer = await requestTransmitter(this.#metadataUrl, `transmitter ${this.issuer}: metadata`, {
        method: 'GET',
        timeoutMs: this.#timeoutMs,
        maxBytes: MAX_METADATA_BYTES,
      })
      // As OIDC discovery: metadata naming another issuer is someone else's, whatever URL served it.
      if (answer.issuer !== this.issuer)
        throw new McpPolicyError(
          'ERR_SSF_TRANSMITTER_UNAVAILABLE',
          `transmitter ${this.issuer}: its metadata names issuer ${JSON.stringify(String(answer.issuer).slice(0, 200))}`,
        )
      this.#metadata = answer as unknown as TransmitterMetadata
      this.#failure = undefined
      return this.#metadata
    } catch (err) {
      const error =
        err instanceof McpPolicyError
          ? err
          : new McpPolicyError('ERR_SSF_TRANSMITTER_UNAVAILABLE', String(err), { cause: err })
      this.#failure = { at: Date.now(), error }
      throw error
    }
  }

  #keysAt(uri: string, code: 'ERR_PDP_CONFIG_INVALID' | 'ERR_SSF_TRANSMITTER_UNAVAILABLE'): JWTVerifyGetKey {
    transmitterUrl(uri, `transmitter ${this.issuer}: jwks_uri`, code)
    return issuerKeys(
      { issuer: this.issuer, jwksUri: uri },
      { timeoutMs: this.#timeoutMs, cooldownMs: this.#cooldownMs },
    )
  }
}

/**
 * SSF 1.0 §6.2: `/.well-known/ssf-configuration` inserted between the issuer's host and its path.
 *
 * @throws McpPolicyError `ERR_PDP_CONFIG_INVALID` for an issuer that is no secure URL.
 */
function defaultMetadataUrl(issuer: string): URL {
  const url = transmitterUrl(issuer, `ssf: transmitter issuer ${issuer}`, 'ERR_PDP_CONFIG_INVALID')
  const path = url.pathname === '/' ? '' : url.pathname.replace(/\/$/, '')
  return new URL(`${url.origin}/.well-known/ssf-configuration${path}`)
}

function configInvalid(message: string): McpPolicyError {
  return new McpPolicyError('ERR_PDP_CONFIG_INVALID', message)
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest()
}
