import type { RevocationKind } from '../identity/revocation-list.js'
import type { VerifiedSecurityEvent } from './security-event-token.js'

/** The event types the receiver acts on, and those it knows need nothing of it. */
export const ssfEventTypes = {
  sessionRevoked: 'https://schemas.openid.net/secevent/caep/event-type/session-revoked',
  credentialChange: 'https://schemas.openid.net/secevent/caep/event-type/credential-change',
  tokenClaimsChange: 'https://schemas.openid.net/secevent/caep/event-type/token-claims-change',
  accountDisabled: 'https://schemas.openid.net/secevent/risc/event-type/account-disabled',
  accountPurged: 'https://schemas.openid.net/secevent/risc/event-type/account-purged',
  credentialCompromise: 'https://schemas.openid.net/secevent/risc/event-type/credential-compromise',
  verification: 'https://schemas.openid.net/secevent/ssf/event-type/verification',
  streamUpdated: 'https://schemas.openid.net/secevent/ssf/event-type/stream-updated',
} as const

/** One revocation an event asks for, before the revocation list stamps it. */
export interface RevocationRequest {
  kind: RevocationKind
  /** The token issuer (`iss` of the tokens it cuts). */
  issuer: string
  value: string
  /** Only tokens issued (`iat`) before this epoch second; omitted for sessions and single tokens. */
  issuedBefore?: number
}

/** Why a verified event changes nothing. */
export type IgnoredEventReason =
  /** An event type this receiver does not know: logged, acknowledged, nothing done. */
  | 'event_type_unknown'
  /** Stream management (verification, stream-updated): nothing to revoke. */
  | 'stream_management'
  /** Known, and without consequence for access (a credential created). */
  | 'no_access_consequence'
  /** The subject names a token issuer this transmitter does not speak for, or none is configured. */
  | 'subject_issuer_unknown'
  /** No subject, or one in a format that names no user, session, token or e-mail address. */
  | 'subject_unsupported'

/** What one verified event means for access: revocations, or the reason there are none. */
export type SsfEventPlan =
  | { action: 'revoke'; event: string; revocations: RevocationRequest[] }
  | { action: 'ignore'; event: string; reason: IgnoredEventReason; message: string }

type Target = Omit<RevocationRequest, 'issuedBefore'>
type Resolved =
  | { user: Target[]; session: Target[]; token: Target[] }
  | { ignore: IgnoredEventReason; message: string }

// Bounds on what an event may name, so one SET cannot make a store write per element of a huge list.
const MAX_VALUE_LENGTH = 512

/**
 * What a verified SET asks of the PDP, by event type and subject (RFC 9493 subject identifiers,
 * SSF complex subjects):
 *
 * - CAEP `session-revoked`: the session when the subject names one (`session` member, an opaque
 *   id: the IdP's `sid`), else every token of the user issued before the event.
 * - CAEP `credential-change`: as session-revoked unless `change_type` is `create` (a new passkey
 *   takes nothing away); CAEP `token-claims-change`: the token (`jwt_id` subject), the session,
 *   or the user's tokens issued before it: tokens carrying the old claims must not be decided on.
 * - RISC `account-disabled`, `account-purged`, `credential-compromise`: every token of the user
 *   issued before the event (and the session, when one is named).
 * - SSF `verification`, `stream-updated`: nothing. Any other type: ignored, and the caller logs it.
 *
 * Subjects: `iss_sub` → that issuer's `sub` (only an issuer in `tokenIssuers`); `email` → tokens
 * whose e-mail claim is that address (lower-cased), for every issuer in `tokenIssuers`; `opaque` →
 * the `sub` at every issuer in `tokenIssuers` (an IdP's opaque user id is its `sub`); `jwt_id` →
 * that token; `complex` → its `session` and `user` members (others, such as `device`, are not
 * mapped). A user revocation cuts tokens issued up to the second of the event (`issuedBefore` =
 * event time + 1), so a sign-in after it works; a session or token revocation cuts them all.
 *
 * @example
 * ```ts
 * const plan = ssfEventPlan(set, ['https://idp.example.com'])
 * if (plan.action === 'revoke') for (const r of plan.revocations) await revocations.revoke({ ...r, event: plan.event })
 * ```
 */
export function ssfEventPlan(set: VerifiedSecurityEvent, tokenIssuers: readonly string[]): SsfEventPlan {
  const event = eventName(set.type)
  const ignore = (reason: IgnoredEventReason, message: string): SsfEventPlan => ({
    action: 'ignore',
    event,
    reason,
    message,
  })
  switch (set.type) {
    case ssfEventTypes.verification:
    case ssfEventTypes.streamUpdated:
      return ignore('stream_management', 'a stream management event: nothing to revoke')
    case ssfEventTypes.credentialChange:
      if (set.event.change_type === 'create')
        return ignore('no_access_consequence', 'a credential was created: nothing to revoke')
      break
    case ssfEventTypes.sessionRevoked:
    case ssfEventTypes.tokenClaimsChange:
    case ssfEventTypes.accountDisabled:
    case ssfEventTypes.accountPurged:
    case ssfEventTypes.credentialCompromise:
      break
    default:
      return ignore(
        'event_type_unknown',
        `event type ${JSON.stringify(set.type.slice(0, 200))} is not one this receiver acts on`,
      )
  }
  const resolved = resolveSubject(set.subject, tokenIssuers)
  if ('ignore' in resolved) return ignore(resolved.ignore, resolved.message)
  const accountWide =
    set.type === ssfEventTypes.accountDisabled ||
    set.type === ssfEventTypes.accountPurged ||
    set.type === ssfEventTypes.credentialCompromise
  const userCut = set.occurredAt + 1
  const user = resolved.user.map((t): RevocationRequest => ({ ...t, issuedBefore: userCut }))
  // A named session is what the event is about, unless the whole account is: then the user too.
  const revocations: RevocationRequest[] = [
    ...resolved.token,
    ...resolved.session,
    ...(resolved.session.length === 0 && resolved.token.length === 0 ? user : accountWide ? user : []),
  ]
  if (revocations.length === 0)
    return ignore('subject_unsupported', 'the subject names no user, session or token')
  return { action: 'revoke', event, revocations }
}

/**
 * The short name an event is logged and counted under: `caep:session-revoked`,
 * `risc:account-disabled`, `ssf:verification`, or `unknown` for any other type (a metric label
 * must come from a closed set).
 */
export function eventName(type: string): string {
  const match = /^https:\/\/schemas\.openid\.net\/secevent\/(caep|risc|ssf)\/event-type\/([a-z-]+)$/.exec(
    type,
  )
  if (!match) return 'unknown'
  const known = (Object.values(ssfEventTypes) as string[]).includes(type)
  return known ? `${match[1]}:${match[2]}` : 'unknown'
}

function resolveSubject(subject: unknown, tokenIssuers: readonly string[]): Resolved {
  if (!isObject(subject)) return unsupported('the event has no subject (sub_id)')
  const empty = () => ({ user: [] as Target[], session: [] as Target[], token: [] as Target[] })
  if (subject.format === 'complex') {
    const out = empty()
    let issuers = tokenIssuers
    if (subject.user !== undefined) {
      const user = resolveSimple(subject.user, tokenIssuers)
      if ('ignore' in user) return user
      out.user.push(...user.user)
      out.token.push(...user.token)
      // The user's issuer says whose session the session id is.
      const named = new Set(user.user.map((t) => t.issuer))
      if (named.size > 0 && user.user.every((t) => t.kind === 'subject')) issuers = [...named]
    }
    if (subject.session !== undefined) {
      const id = opaqueId(subject.session)
      if (id === undefined) return unsupported('the complex subject\'s "session" is not an opaque session id')
      out.session.push(...issuers.map((issuer): Target => ({ kind: 'session', issuer, value: id })))
    }
    if (out.user.length + out.session.length + out.token.length === 0)
      return unsupported('the complex subject names neither a user nor a session')
    return out
  }
  return resolveSimple(subject, tokenIssuers)
}

function resolveSimple(subject: unknown, tokenIssuers: readonly string[]): Resolved {
  if (!isObject(subject)) return unsupported('the subject is not an object')
  const out = { user: [] as Target[], session: [] as Target[], token: [] as Target[] }
  switch (subject.format) {
    case 'iss_sub': {
      const { iss, sub } = subject
      if (!isValue(iss) || !isValue(sub))
        return unsupported('an iss_sub subject needs "iss" and "sub" strings')
      if (!tokenIssuers.includes(iss)) return unknownIssuer(iss)
      out.user.push({ kind: 'subject', issuer: iss, value: sub })
      return out
    }
    case 'email': {
      const { email } = subject
      if (!isValue(email) || !email.includes('@'))
        return unsupported('an email subject needs an "email" address')
      if (tokenIssuers.length === 0) return unknownIssuer(undefined)
      const address = email.toLowerCase()
      out.user.push(...tokenIssuers.map((issuer): Target => ({ kind: 'email', issuer, value: address })))
      return out
    }
    case 'opaque': {
      const { id } = subject
      if (!isValue(id)) return unsupported('an opaque subject needs an "id" string')
      if (tokenIssuers.length === 0) return unknownIssuer(undefined)
      out.user.push(...tokenIssuers.map((issuer): Target => ({ kind: 'subject', issuer, value: id })))
      return out
    }
    case 'jwt_id': {
      const { iss, jti } = subject
      if (!isValue(iss) || !isValue(jti)) return unsupported('a jwt_id subject needs "iss" and "jti" strings')
      if (!tokenIssuers.includes(iss)) return unknownIssuer(iss)
      out.token.push({ kind: 'token', issuer: iss, value: jti })
      return out
    }
    default:
      return unsupported(
        `subject format ${JSON.stringify(String(subject.format).slice(0, 64))} names no user, session or token this receiver can match`,
      )
  }
}

function opaqueId(session: unknown): string | undefined {
  if (!isObject(session) || session.format !== 'opaque' || !isValue(session.id)) return undefined
  return session.id
}

function unsupported(message: string): Resolved {
  return { ignore: 'subject_unsupported', message }
}

function unknownIssuer(iss: string | undefined): Resolved {
  return {
    ignore: 'subject_issuer_unknown',
    message:
      iss === undefined
        ? 'the transmitter speaks for no configured token issuer'
        : `issuer ${JSON.stringify(iss.slice(0, 200))} is not a token issuer of this transmitter (tokenIssuers)`,
  }
}

function isValue(value: unknown): value is string {
  return typeof value === 'string' && value !== '' && value.length <= MAX_VALUE_LENGTH
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
