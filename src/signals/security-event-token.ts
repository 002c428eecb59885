import { base64url, type JWTVerifyGetKey, jwtVerify } from 'jose'
import { McpPolicyError, type McpPolicyErrorCode } from '../errors.js'
import { quoteUntrusted as quote } from '../identity/quote-untrusted.js'
import { parseMessageBody } from '../normalize/parse-message.js'

/** A Security Event Token whose signature, issuer, audience, age and shape were checked. */
export interface VerifiedSecurityEvent {
  /** The transmitter (`iss`). */
  issuer: string
  jti: string
  /** Epoch seconds. */
  iat: number
  /** The one event's type URI (the member name in `events`). */
  type: string
  /** The event's payload (an object; empty for events that carry nothing). */
  event: Record<string, unknown>
  /**
   * Whom the event is about: the SET's `sub_id` (SSF 1.0), else the event's `subject` member
   * (CAEP and RISC drafts before SSF 1.0 put it there). Unchecked: the event mapping reads it.
   */
  subject: unknown
  /**
   * When the event happened, epoch seconds: the event's `event_timestamp` (CAEP), else the SET's
   * `toe`, else its `iat`; never later than now.
   */
  occurredAt: number
  /** The transaction id (`txn`), when the transmitter sets one. */
  txn?: string
}

/** What a SET is checked against. */
export interface SecurityEventTokenChecks {
  /** The `iss` the SET must carry: the transmitter the stream belongs to. */
  issuer: string
  /** What `aud` must name (one of them). */
  audience: string[]
  /** The transmitter's keys. */
  keys: JWTVerifyGetKey
  /** Accepted JWS algorithms (never `none`, never HS*). */
  algorithms: string[]
  /** Largest SET, bytes. */
  maxBytes: number
  /** Oldest `iat` accepted, seconds before now (beyond the skew). */
  maxAgeSeconds: number
  skewSeconds: number
  /** Epoch milliseconds. Default `Date.now()`. */
  now?: number
}

// Nesting of a SET's header or claims: a complex subject inside an event inside `events` is five.
const MAX_DEPTH = 32
const MAX_JTI_LENGTH = 256
const compactJws = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/**
 * Verifies a Security Event Token (RFC 8417) as the Shared Signals Framework 1.0 profiles it:
 * a compact JWS typed `secevent+jwt`, signed with an allowed algorithm by a key of the
 * transmitter's JWKS, `iss` the transmitter, `aud` this receiver, with a `jti`, an `iat` neither in
 * the future nor older than `maxAgeSeconds`, and `events` holding exactly one event. The header and
 * the claims are bounded in size and depth and may not repeat a key before jose reads them.
 *
 * Replay (a `jti` seen before) is not checked here: that needs the shared store.
 *
 * @throws McpPolicyError `ERR_SSF_SET_INVALID`, `ERR_SSF_SIGNATURE_INVALID`,
 *   `ERR_SSF_ISSUER_MISMATCH`, `ERR_SSF_AUDIENCE_MISMATCH`, `ERR_SSF_TRANSMITTER_UNAVAILABLE`
 *   (the keys cannot be fetched).
 * @example
 * ```ts
 * const set = await verifySecurityEventToken(body, {
 *   issuer: 'https://idp.example.com', audience: ['https://pdp.example.com/ssf'], keys,
 *   algorithms: ['ES256'], maxBytes: 65536, maxAgeSeconds: 86400, skewSeconds: 60,
 * })
 * console.log(set.type, set.subject)
 * ```
 */
export async function verifySecurityEventToken(
  token: unknown,
  checks: SecurityEventTokenChecks,
): Promise<VerifiedSecurityEvent> {
  if (typeof token !== 'string' || token === '') invalid('the request body holds no SET')
  if (token.length > checks.maxBytes) invalid(`the SET exceeds ${checks.maxBytes} bytes`)
  const jwt = token.trim()
  if (jwt.split('.').length === 5) invalid('encrypted SETs (JWE) are not supported: sign them (JWS)')
  if (!compactJws.test(jwt)) invalid('the SET is not a compact JWS (three base64url segments)')
  const [headerPart, payloadPart, signature] = jwt.split('.') as [string, string, string]
  const header = decodeSegment(headerPart, 'header', checks.maxBytes)
  // The claims are bounded and checked for repeated keys here; jose parses them again itself.
  decodeSegment(payloadPart, 'claims', checks.maxBytes)
  const alg = header.alg
  if (typeof alg !== 'string' || alg === '') invalid('the SET header has no "alg"')
  if (alg.toLowerCase() === 'none' || signature === '')
    fail('ERR_SSF_SIGNATURE_INVALID', 'unsigned SETs (alg none) are refused')
  if (!checks.algorithms.includes(alg))
    fail('ERR_SSF_SIGNATURE_INVALID', `alg ${quote(alg)} is not allowed for transmitter ${checks.issuer}`)
  const typ = header.typ
  if (typeof typ !== 'string' || !/^(application\/)?secevent\+jwt$/i.test(typ))
    invalid(
      `the SET header "typ" must be secevent+jwt (got ${typeof typ === 'string' ? quote(typ) : 'none'})`,
    )
  const nowMs = checks.now ?? Date.now()
  let payload: Record<string, unknown>
  try {
    ;({ payload } = await jwtVerify(jwt, checks.keys, {
      issuer: checks.issuer,
      audience: checks.audience,
      algorithms: checks.algorithms,
      typ: 'secevent+jwt',
      clockTolerance: checks.skewSeconds,
      currentDate: new Date(nowMs),
      requiredClaims: ['iat', 'jti', 'events'],
    }))
  } catch (err) {
    throw fromJose(err, checks.issuer)
  }
  const nowSeconds = Math.floor(nowMs / 1000)
  const iat = payload.iat
  if (typeof iat !== 'number' || !Number.isFinite(iat)) invalid('"iat" must be a number')
  if (iat > nowSeconds + checks.skewSeconds) invalid('"iat" is in the future, beyond the clock skew')
  if (iat < nowSeconds - checks.maxAgeSeconds - checks.skewSeconds)
    invalid(`the SET was issued more than ${checks.maxAgeSeconds} s ago ("iat")`)
  const jti = payload.jti
  if (typeof jti !== 'string' || jti === '' || jti.length > MAX_JTI_LENGTH)
    invalid(`"jti" must be a string of 1 to ${MAX_JTI_LENGTH} characters`)
  const events = payload.events
  if (!isObject(events)) invalid('"events" must be an object')
  const types = Object.keys(events)
  // SSF 1.0: one event per SET, so one SET is one fact to apply, acknowledge or refuse.
  if (types.length !== 1) invalid(`"events" must hold exactly one event (it holds ${types.length})`)
  const type = types[0]!
  const event = events[type]
  if (!isObject(event)) invalid(`the event ${quote(type)} must be an object`)
  const subject = payload.sub_id ?? event.subject
  const stated = [event.event_timestamp, payload.toe].find(
    (value): value is number => typeof value === 'number' && Number.isFinite(value),
  )
  return {
    issuer: checks.issuer,
    jti,
    iat,
    type,
    event,
    subject,
    occurredAt: Math.min(Math.floor(stated ?? iat), nowSeconds),
    ...(typeof payload.txn === 'string' && { txn: payload.txn }),
  }
}

function decodeSegment(segment: string, what: string, maxBytes: number): Record<string, unknown> {
  let bytes: Uint8Array
  try {
    bytes = base64url.decode(segment)
  } catch {
    invalid(`the SET ${what} is not base64url`)
  }
  let value: unknown
  try {
    value = parseMessageBody(bytes, { maxBytes, maxDepth: MAX_DEPTH })
  } catch (err) {
    const code = (err as McpPolicyError).code
    invalid(
      code === 'ERR_NORMALIZE_TOO_DEEP'
        ? `the SET ${what} nests deeper than ${MAX_DEPTH}`
        : code === 'ERR_NORMALIZE_DUPLICATE_KEY'
          ? `the SET ${what} holds a key twice`
          : `the SET ${what} is not JSON`,
    )
  }
  if (!isObject(value)) invalid(`the SET ${what} is not a JSON object`)
  return value
}

/** jose's failures as the receiver's codes; jose's messages are fixed strings, its causes are never read. */
function fromJose(err: unknown, issuer: string): McpPolicyError {
  if (err instanceof McpPolicyError) {
    if (err.code === 'ERR_IDENTITY_JWKS_UNAVAILABLE')
      return new McpPolicyError('ERR_SSF_TRANSMITTER_UNAVAILABLE', err.message, { cause: err })
    if (err.code === 'ERR_IDENTITY_KEY_UNKNOWN')
      return new McpPolicyError('ERR_SSF_SIGNATURE_INVALID', err.message, { cause: err })
    return err
  }
  const { code, claim } = (err ?? {}) as { code?: unknown; claim?: unknown }
  const [reason, message]: [McpPolicyErrorCode, string] =
    code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim === 'iss'
      ? ['ERR_SSF_ISSUER_MISMATCH', `the SET's "iss" is not transmitter ${issuer}`]
      : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED' && claim === 'aud'
        ? ['ERR_SSF_AUDIENCE_MISMATCH', `the SET's "aud" does not name this receiver's audience`]
        : code === 'ERR_JWT_CLAIM_VALIDATION_FAILED'
          ? ['ERR_SSF_SET_INVALID', `the SET's "${String(claim)}" claim is missing or invalid`]
          : code === 'ERR_JWT_EXPIRED'
            ? ['ERR_SSF_SET_INVALID', 'the SET is expired ("exp")']
            : code === 'ERR_JWS_INVALID' || code === 'ERR_JWT_INVALID'
              ? ['ERR_SSF_SET_INVALID', 'the SET is not a valid signed JWT']
              : code === 'ERR_JWKS_TIMEOUT'
                ? ['ERR_SSF_TRANSMITTER_UNAVAILABLE', `transmitter ${issuer}: the JWKS fetch timed out`]
                : [
                    // Anything unexpected reads as a signature failure, never as a pass.
                    'ERR_SSF_SIGNATURE_INVALID',
                    `the SET's signature does not verify against transmitter ${issuer}'s keys`,
                  ]
  return new McpPolicyError(reason, message, { cause: err })
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

function invalid(message: string): never {
  throw new McpPolicyError('ERR_SSF_SET_INVALID', message)
}

function fail(code: McpPolicyErrorCode, message: string): never {
  throw new McpPolicyError(code, message)
}
