import { McpPolicyError } from '../errors.js'
import type { StateChange, StateEntry, StateStore } from '../state/state-store.js'

/**
 * What a revocation names: every token of a subject (`sub`), of a session (`sid`), one token
 * (`jti`), or every token whose e-mail claim (the issuer's `claims.email`, lower-cased) is an
 * address: what a Shared Signals event with an `email` subject names.
 */
export type RevocationKind = 'subject' | 'session' | 'token' | 'email'

/** One accepted revocation, as stored and as the verifier matches tokens against it. */
export interface Revocation {
  kind: RevocationKind
  /** The issuer whose tokens it concerns (its `iss`). */
  issuer: string
  /** The `sub`, `sid`, `jti` or e-mail address (lower-cased). */
  value: string
  /**
   * Epoch seconds: only tokens issued (`iat`) before it are revoked, so a fresh sign-in works; a
   * token without `iat` counts as issued before. Omitted: every token carrying the value.
   */
  issuedBefore?: number
  /** What caused it, for logs and audits: e.g. `caep:session-revoked`, `oidc:backchannel-logout`. */
  event: string
  /** Epoch milliseconds when it was accepted. */
  at: number
}

/** The facts of a verified token a revocation can match. */
export interface RevocableToken {
  sub?: string
  sid?: string
  jti?: string
  /** The token's e-mail address, lower-cased. */
  email?: string
  iat?: number
}

/** Options of a {@link RevocationList}. */
export interface RevocationListOptions {
  /**
   * The longest token lifetime of an issuer, in seconds (its `maxTokenLifetime`), or undefined
   * for an issuer that is not configured: a revocation is kept until every token it can match has
   * expired, and no longer.
   */
  maxTokenLifetime: (issuer: string) => number | undefined
  /** Clock skew tolerated on `exp`: kept that much longer. Default 60. */
  skewSeconds?: number
  /** Namespace in the store. Default `revocation`. */
  namespace?: string
}

const kinds: ReadonlySet<string> = new Set(['subject', 'session', 'token', 'email'])
const SWEEP_INTERVAL_MS = 60_000

type Held = Revocation & { expiresAt: number }

/**
 * The revocations every verifier checks, shared through a {@link StateStore}: each is an entry
 * with a TTL (until every token it can match has expired), and each process keeps a view of all
 * of them, loaded at start and kept current from the store's change feed. A check is a few map
 * lookups in that view, with no round trip, so it runs on every call, cached verifications
 * included.
 *
 * `available` is false until the first load, and whenever the store is unavailable; after an
 * outage the view is loaded again (changes published meanwhile were missed) before it is trusted.
 *
 * @example
 * ```ts
 * const revocations = new RevocationList(store, { maxTokenLifetime: () => 7200 })
 * await revocations.start()
 * await revocations.revoke({ kind: 'session', issuer, value: sid, event: 'oidc:backchannel-logout' })
 * revocations.match(issuer, { sub: 'alice', sid, iat }) // the revocation
 * ```
 */
export class RevocationList {
  readonly #store: StateStore
  readonly #namespace: string
  readonly #maxTokenLifetime: (issuer: string) => number | undefined
  readonly #skew: number
  // issuer → kind → value → revocation: a check builds no strings.
  readonly #view = new Map<string, Record<RevocationKind, Map<string, Held>>>()
  #size = 0
  // True until a load completes after the store last became (un)available: the view may miss
  // changes published while this process was not listening.
  #stale = true
  #loading: Promise<void> | undefined
  #reloadAfter = false
  #retry: NodeJS.Timeout | undefined
  #buffered: StateChange[] | undefined
  #stops: (() => void)[] = []
  #sweeper: NodeJS.Timeout | undefined

  constructor(store: StateStore, options: RevocationListOptions) {
    this.#store = store
    this.#namespace = options.namespace ?? 'revocation'
    this.#maxTokenLifetime = options.maxTokenLifetime
    this.#skew = options.skewSeconds ?? 60
  }

  /** True when the view is loaded and the store's feed delivers: a check can be trusted. */
  get available(): boolean {
    return !this.#stale && this.#loading === undefined && this.#store.available
  }

  /** Revocations held (expired ones not yet swept included). */
  get size(): number {
    return this.#size
  }

  /** The store the revocations live in. */
  get store(): StateStore {
    return this.#store
  }

  /**
   * Watches the store and loads the view. Never rejects for an unavailable store: the list stays
   * unavailable and loads when the store comes back.
   */
  async start(): Promise<void> {
    this.#stops.push(
      this.#store.watch(this.#namespace, (change) => {
        if (this.#buffered) this.#buffered.push(change)
        else this.#apply(change)
      }),
      this.#store.onAvailability((available) => {
        this.#stale = true
        if (available) void this.#load()
      }),
    )
    this.#sweeper = setInterval(() => this.#sweep(Date.now()), SWEEP_INTERVAL_MS)
    this.#sweeper.unref()
    if (this.#store.available) await this.#load()
  }

  /** Stops watching the store (the store itself stays open). */
  close(): void {
    for (const stop of this.#stops.splice(0)) stop()
    clearInterval(this.#sweeper)
    clearTimeout(this.#retry)
  }

  /**
   * Records a revocation in the store, for every worker and replica, and in this view at once.
   * Kept until every token it can match has expired: `issuedBefore` (or now) plus the issuer's
   * `maxTokenLifetime` plus the clock skew. A `subject` or `email` revocation without
   * `issuedBefore` cuts the tokens issued up to this second (`issuedBefore` = now + 1 s, in whole
   * seconds like `iat`). An `email` value is lower-cased (addresses are matched case-blind).
   *
   * @throws McpPolicyError `ERR_IDENTITY_ISSUER_UNKNOWN` for an issuer that is not configured,
   *   `ERR_STATE_ENTRY_INVALID` for an empty or oversized value, `ERR_STATE_UNAVAILABLE` when the
   *   store cannot be written (the caller must not acknowledge the event then).
   */
  async revoke(input: Omit<Revocation, 'at'> & { at?: number }): Promise<Revocation> {
    if (!kinds.has(input.kind))
      throw new McpPolicyError(
        'ERR_STATE_ENTRY_INVALID',
        `revocation: kind ${JSON.stringify(input.kind)} is unknown`,
      )
    if (typeof input.value !== 'string' || input.value === '')
      throw new McpPolicyError('ERR_STATE_ENTRY_INVALID', 'revocation: value must be a non-empty string')
    const lifetime = this.#maxTokenLifetime(input.issuer)
    if (lifetime === undefined)
      throw new McpPolicyError(
        'ERR_IDENTITY_ISSUER_UNKNOWN',
        `revocation: issuer ${JSON.stringify(input.issuer).slice(0, 80)} is not configured`,
      )
    const at = input.at ?? Date.now()
    const userWide = input.kind === 'subject' || input.kind === 'email'
    const issuedBefore = input.issuedBefore ?? (userWide ? Math.floor(at / 1000) + 1 : undefined)
    const revocation: Revocation = {
      kind: input.kind,
      issuer: input.issuer,
      value: input.kind === 'email' ? input.value.toLowerCase() : input.value,
      ...(issuedBefore !== undefined && { issuedBefore }),
      event: input.event,
      at,
    }
    const nowMs = Date.now()
    const latestIssue = Math.min(issuedBefore ?? Number.POSITIVE_INFINITY, nowMs / 1000)
    let expiresAt = nowMs + Math.max(1_000, Math.ceil((latestIssue + lifetime + this.#skew) * 1000 - nowMs))
    // One entry per value: a second revocation of it must not narrow what the first one cut.
    const had = this.#view.get(revocation.issuer)?.[revocation.kind].get(revocation.value)
    let stored = revocation
    if (had && had.expiresAt > nowMs) {
      if (!reachesFurther(revocation, had)) stored = withoutExpiry(had)
      expiresAt = Math.max(expiresAt, had.expiresAt)
    }
    await this.#store.set(this.#namespace, storeKey(stored), stored, expiresAt - nowMs)
    this.#hold(stored, expiresAt)
    return stored
  }

  /**
   * The revocation that cuts a token of `issuer` with these facts, or undefined. The token
   * revocation (`jti`) is checked first, then the session, the subject, the e-mail address.
   */
  match(issuer: string, token: RevocableToken, nowMs: number = Date.now()): Revocation | undefined {
    if (this.#size === 0) return undefined
    const byKind = this.#view.get(issuer)
    if (byKind === undefined) return undefined
    return (
      this.#matchOne(byKind.token, token.jti, token.iat, nowMs) ??
      this.#matchOne(byKind.session, token.sid, token.iat, nowMs) ??
      this.#matchOne(byKind.subject, token.sub, token.iat, nowMs) ??
      this.#matchOne(byKind.email, token.email, token.iat, nowMs)
    )
  }

  #matchOne(held: Map<string, Held>, value: string | undefined, iat: number | undefined, nowMs: number) {
    if (value === undefined || held.size === 0) return undefined
    const revocation = held.get(value)
    if (revocation === undefined) return undefined
    if (revocation.expiresAt <= nowMs) return undefined
    if (revocation.issuedBefore !== undefined && iat !== undefined && iat >= revocation.issuedBefore)
      return undefined
    return revocation
  }

  async #load(): Promise<void> {
    if (this.#loading) {
      // The store came back while a scan was running: that scan may predate what was missed.
      this.#reloadAfter = true
      return this.#loading
    }
    this.#buffered = []
    this.#reloadAfter = false
    this.#loading = (async () => {
      let entries: StateEntry[] | undefined
      try {
        entries = await this.#store.scan(this.#namespace)
      } catch {
        // Handled below: retried while the store says it is available.
      }
      const buffered = this.#buffered ?? []
      this.#buffered = undefined
      if (entries) {
        this.#view.clear()
        this.#size = 0
        for (const entry of entries) {
          const revocation = parseRevocation(entry.value)
          if (revocation) this.#hold(revocation, entry.expiresAt)
        }
        if (!this.#reloadAfter) this.#stale = false
      }
      // Changes that arrived during the scan are newer than (or equal to) what it read.
      for (const change of buffered) this.#apply(change)
      return entries !== undefined
    })().then(
      (loaded) => {
        this.#loading = undefined
        if (this.#reloadAfter || (!loaded && this.#store.available)) {
          clearTimeout(this.#retry)
          this.#retry = setTimeout(() => void this.#load(), this.#reloadAfter ? 0 : 1_000)
          this.#retry.unref()
        }
      },
      () => {
        this.#loading = undefined
      },
    )
    return this.#loading
  }

  #apply(change: StateChange): void {
    if (change.op === 'set') {
      const revocation = parseRevocation(change.value)
      if (revocation) this.#hold(revocation, change.expiresAt)
      return
    }
    let parsed: unknown
    try {
      parsed = JSON.parse(change.key)
    } catch {
      return
    }
    if (!Array.isArray(parsed) || parsed.length !== 3) return
    const [kind, issuer, value] = parsed as [RevocationKind, string, string]
    const held = this.#view.get(issuer)?.[kind]
    if (held?.delete(value)) this.#size--
  }

  #hold(revocation: Revocation, expiresAt: number): void {
    let byKind = this.#view.get(revocation.issuer)
    if (byKind === undefined) {
      byKind = { subject: new Map(), session: new Map(), token: new Map(), email: new Map() }
      this.#view.set(revocation.issuer, byKind)
    }
    const held = byKind[revocation.kind]
    const had = held.get(revocation.value)
    if (!had) this.#size++
    // Two revocations of one value: the one reaching furthest (a later issuedBefore, or none,
    // cuts more) for as long as either lasts.
    const kept = had && !reachesFurther(revocation, had) ? withoutExpiry(had) : revocation
    held.set(revocation.value, { ...kept, expiresAt: Math.max(expiresAt, had?.expiresAt ?? 0) })
  }

  #sweep(nowMs: number): void {
    for (const byKind of this.#view.values())
      for (const held of Object.values(byKind))
        for (const [value, revocation] of held)
          if (revocation.expiresAt <= nowMs) {
            held.delete(value)
            this.#size--
          }
  }
}

function reachesFurther(next: Revocation, had: Revocation): boolean {
  if (had.issuedBefore === undefined) return false
  return next.issuedBefore === undefined || next.issuedBefore > had.issuedBefore
}

function withoutExpiry(held: Held): Revocation {
  const { expiresAt: _, ...revocation } = held
  return revocation
}

function storeKey(revocation: Revocation): string {
  return JSON.stringify([revocation.kind, revocation.issuer, revocation.value])
}

// Entries come from a store other processes write: checked, never trusted to be well-formed.
function parseRevocation(value: unknown): Revocation | undefined {
  if (value === null || typeof value !== 'object') return undefined
  const r = value as Record<string, unknown>
  if (typeof r.kind !== 'string' || !kinds.has(r.kind)) return undefined
  if (typeof r.issuer !== 'string' || typeof r.value !== 'string' || r.value === '') return undefined
  if (r.issuedBefore !== undefined && typeof r.issuedBefore !== 'number') return undefined
  if (typeof r.event !== 'string' || typeof r.at !== 'number') return undefined
  return {
    kind: r.kind as RevocationKind,
    issuer: r.issuer,
    value: r.value,
    ...(r.issuedBefore !== undefined && { issuedBefore: r.issuedBefore as number }),
    event: r.event,
    at: r.at,
  }
}
