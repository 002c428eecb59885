import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import type { Bundle } from '../bundle/bundle.js'
import { bundleStorePath } from '../bundle/bundle-store.js'
import { loadBundle } from '../bundle/load-bundle.js'
import type { BundleVerification } from '../bundle/verify-bundle-signature.js'
import { DEFAULT_BUNDLE_STORE } from '../defaults.js'
import { PolicyEngine } from '../engine/policy-engine.js'
import { toMcpPolicyError } from '../errors.js'
import { type DecisionEvent, REJECTED_PATH, REVOCATION_PATH } from './decision-event.js'
import { eventHash } from './event-hash.js'
import { diffObligations, type ObligationChange } from './obligation-diff.js'
import { readLines } from './read-lines.js'

/** Options for {@link replayLog}. */
export interface ReplayOptions {
  /** Where bundles are kept by digest (`mcp-policy build` stores there). Default `.bundle-store`. */
  bundleStore?: string
  /** What-if: re-evaluate against this candidate bundle instead of each event's recorded bundle. */
  against?: string
  /**
   * Keep at most this many differences in the report; `differing`, `changes` and `groups` still
   * count every one, so a what-if over a huge log stays within bounded memory. Default: all.
   */
  maxDifferences?: number
  /** Verify bundle signatures when loading. */
  verification?: BundleVerification
  /**
   * Called every 1,000 events and once at the end (for a progress bar), with how far through the
   * log files' bytes the replay has read.
   */
  onProgress?: (eventsDone: number, bytes: ReplayProgressBytes) => void
}

/** How much of the log a replay has read, in bytes of the files. */
export interface ReplayProgressBytes {
  done: number
  total: number
}

/** One decision whose replay differs from the record. */
export interface ReplayDifference {
  decision_id: string
  seq: number
  file: string
  line: number
  server?: string
  tool?: string
  method?: string
  subject?: string
  /**
   * `allow→deny`, `deny→allow`, `obligations` (same allow, other obligations: a visible tool
   * gained or lost, a log mask, redaction or approval added or dropped — whatever else changed
   * too), `reasons` (same allow and obligations, other reasons or status), or `error` (the replay
   * failed closed).
   */
  change: 'allow→deny' | 'deny→allow' | 'obligations' | 'reasons' | 'error'
  /**
   * The obligations that differ, as a +/− diff of their entries (absent when none does). Set
   * whatever the kind of change: an `allow→deny` usually loses its `visible_tools` too.
   */
  obligations?: ObligationChange[]
  /**
   * The replay grants more than the record: `deny→allow`, or an `obligations` change that widens
   * access (see {@link ObligationChange.effect}). What `replay --fail-on deny-to-allow` fails on.
   */
  widens: boolean
  recorded: unknown
  replayed: unknown
  /** The input had members erased before logging, so the policy saw more than the record holds. */
  masked: boolean
}

/** A bundle a replay names: as the log (or the candidate archive) names it, with its build time when known. */
export interface ReplayBundle {
  /** The manifest's `metadata.name` (`default` when unset). */
  name: string
  /** `sha256:<hex>` of the archive: the key of the bundle store. */
  digest: string
  revision: string
  /**
   * When it was built: the manifest's `metadata.build_time` (`mcp-policy build` writes it), read
   * from the archive when it was found. Absent when the archive is not at hand or does not say.
   */
  buildTime?: string
  /** Where the archive was read (the candidate's path, or its copy in the bundle store); absent when not found. */
  source?: string
  /** Recorded bundles: how many events name it. */
  events?: number
}

/** The outcome of {@link replayLog}. */
export interface ReplayReport {
  mode: 'reproduce' | 'what-if'
  /**
   * The policies compared: each bundle the log's events name (first seen first), and the
   * candidate of a what-if.
   */
  bundles: { recorded: ReplayBundle[]; candidate?: ReplayBundle }
  /** The log files replayed, in order, with the events read from each. */
  files: { path: string; events: number }[]
  events: number
  same: number
  /** Decisions that differ (all of them, even when `differences` was capped by `maxDifferences`). */
  differing: number
  /** `differing` by kind of change. */
  changes: Record<ReplayDifference['change'], number>
  /** Differences that grant more than the record ({@link ReplayDifference.widens}), all counted. */
  widened: number
  /** The differences, in log order (the first `maxDifferences`). */
  differences: ReplayDifference[]
  /** Events whose bundle is not in the store (reproduce mode): they cannot be replayed. */
  missingBundles: Record<string, number>
  /** Events refused before any policy ran ({@link REJECTED_PATH}): nothing to re-evaluate. */
  rejected: number
  /**
   * Revocation signals received ({@link REVOCATION_PATH}: SSF events, back-channel logouts): no
   * policy decided them, so nothing to re-evaluate. The decisions they cut recorded the revocation
   * in their own input, so those reproduce without them.
   */
  revocations: number
  /**
   * Tool-result judgements whose scanned content was withheld from the log (a secret the policy
   * redacted, or a blocked result): the record proves what was decided, but the policy's input is
   * no longer whole, so they are counted here instead of being re-evaluated.
   */
  withheld: number
  /** Flips grouped for a what-if review. */
  groups: {
    /**
     * `reason`: the deny's reason codes (the replayed ones, or the recorded ones for a decision
     * now allowed); `obligation`: `<obligation> +<entry>` or `<obligation> −<entry>`.
     */
    by: 'server' | 'tool' | 'subject' | 'reason' | 'obligation'
    key: string
    change: ReplayDifference['change']
    count: number
  }[]
}

/**
 * Re-evaluates every recorded decision, answering non-deterministic builtins from the event's
 * `nd_builtin_cache`. Against the recorded bundle (found by digest in the bundle store) every
 * decision must reproduce; against a candidate bundle (what-if) the report lists what would flip.
 * Streams the log: memory stays flat however long it is.
 *
 * @example
 * ```ts
 * const report = await replayLog(['logs/'], { bundleStore: '.bundle-store' })
 * console.log(`${report.same}/${report.events} reproduced`)
 * ```
 */
export async function replayLog(
  paths: readonly string[],
  options: ReplayOptions = {},
): Promise<ReplayReport> {
  const store = options.bundleStore ?? DEFAULT_BUNDLE_STORE
  const engines = new Map<string, PolicyEngine | undefined>()
  // The bundles read, by digest, as the report names them (build time and where the archive was).
  const manifests = new Map<string, ReplayBundle | undefined>()
  const candidate = options.against ? await loadEngine(options.against, options.verification) : undefined
  const report: ReplayReport = {
    mode: candidate ? 'what-if' : 'reproduce',
    bundles: { recorded: [] },
    files: [],
    events: 0,
    same: 0,
    differing: 0,
    changes: { 'allow→deny': 0, 'deny→allow': 0, obligations: 0, reasons: 0, error: 0 },
    widened: 0,
    differences: [],
    missingBundles: {},
    rejected: 0,
    revocations: 0,
    withheld: 0,
    groups: [],
  }
  if (candidate && options.against) {
    report.bundles.candidate = describeBundle(candidate.bundle, options.against)
    manifests.set(candidate.bundle.digest, report.bundles.candidate)
  }
  const maxDifferences = options.maxDifferences ?? Number.POSITIVE_INFINITY
  const groups = new Map<string, ReplayReport['groups'][number]>()
  const recorded = new Map<string, ReplayBundle>()

  const engineFor = async (event: DecisionEvent): Promise<PolicyEngine | undefined> => {
    if (candidate) return candidate.engine
    const digest = Object.values(event.bundles ?? {})[0]?.digest
    if (!digest) return undefined
    if (!engines.has(digest)) {
      try {
        const path = bundleStorePath(store, digest)
        const loaded = await loadEngine(path, options.verification)
        engines.set(digest, loaded.engine)
        manifests.set(digest, describeBundle(loaded.bundle, path))
      } catch {
        engines.set(digest, undefined)
      }
    }
    return engines.get(digest)
  }

  const files = await logFiles(paths)
  // Sizes are taken up front: a log still being written is replayed as far as it reaches.
  const sizes = options.onProgress ? await Promise.all(files.map(async (f) => (await stat(f)).size)) : []
  const bytes: ReplayProgressBytes = { done: 0, total: sizes.reduce((n, s) => n + s, 0) }
  for (const [index, file] of files.entries()) {
    let line = 0
    const before = bytes.done
    const counted = { path: file, events: 0 }
    report.files.push(counted)
    for await (const { text, end } of readLines(file)) {
      line++
      let event: DecisionEvent
      try {
        event = JSON.parse(text) as DecisionEvent
      } catch {
        continue // torn or malformed lines are verify-log's to report
      }
      report.events++
      counted.events++
      if (options.onProgress && report.events % 1000 === 0) {
        bytes.done = Math.min(before + end, bytes.total)
        options.onProgress(report.events, bytes)
      }
      countBundles(recorded, event)
      if (event.path === REJECTED_PATH) {
        report.rejected++
        continue
      }
      if (event.path === REVOCATION_PATH) {
        report.revocations++
        continue
      }
      if (
        event.path === 'mcp/response' &&
        (event.erased ?? []).some((p) => p === '/result' || p.startsWith('/result/'))
      ) {
        report.withheld++
        continue
      }
      const engine = await engineFor(event)
      if (!engine) {
        const digest = Object.values(event.bundles ?? {})[0]?.digest ?? '(none)'
        report.missingBundles[digest] = (report.missingBundles[digest] ?? 0) + 1
        continue
      }
      const replayed = keepErasedMask(event, evaluate(engine, event, candidate !== undefined))
      if (sameJson(replayed, event.result)) {
        report.same++
        continue
      }
      const difference = describeDifference(event, file, line, replayed)
      report.differing++
      report.changes[difference.change]++
      if (difference.widens) report.widened++
      countInGroups(groups, difference)
      if (report.differences.length < maxDifferences) report.differences.push(difference)
    }
    bytes.done = before + (sizes[index] ?? 0)
  }
  options.onProgress?.(report.events, { done: bytes.total, total: bytes.total })
  report.groups = [...groups.values()].sort((a, b) => b.count - a.count)
  report.bundles.recorded = await withBuildTimes([...recorded.values()], manifests, store)
  return report
}

/** At most this many distinct recorded bundles are named (a log names a handful; a forged one, any number). */
const MAX_RECORDED_BUNDLES = 1000

function countBundles(recorded: Map<string, ReplayBundle>, event: DecisionEvent): void {
  const bundles = event.bundles
  if (!bundles || typeof bundles !== 'object') return
  for (const [name, ref] of Object.entries(bundles)) {
    const digest = String(ref?.digest ?? '(none)')
    const revision = String(ref?.revision ?? '')
    const id = `${name}\0${digest}\0${revision}`
    const entry = recorded.get(id)
    if (entry) entry.events = (entry.events ?? 0) + 1
    else if (recorded.size < MAX_RECORDED_BUNDLES) recorded.set(id, { name, digest, revision, events: 1 })
  }
}

/** The recorded bundles with the build time and place of their archive, where the store has it. */
async function withBuildTimes(
  bundles: ReplayBundle[],
  manifests: Map<string, ReplayBundle | undefined>,
  store: string,
): Promise<ReplayBundle[]> {
  for (const entry of bundles) {
    if (!manifests.has(entry.digest)) {
      // A what-if never loads the recorded bundles to evaluate: read their manifests from the store.
      try {
        const path = bundleStorePath(store, entry.digest)
        manifests.set(entry.digest, describeBundle(await loadBundle(path), path))
      } catch {
        manifests.set(entry.digest, undefined)
      }
    }
    // The name and revision stay as the log records them; the archive adds when and where.
    const found = manifests.get(entry.digest)
    if (found?.buildTime !== undefined) entry.buildTime = found.buildTime
    if (found?.source !== undefined) entry.source = found.source
  }
  return bundles
}

function describeBundle(bundle: Bundle, source: string): ReplayBundle {
  const buildTime = bundle.manifest.metadata?.build_time
  return {
    name: bundle.name,
    digest: bundle.digest,
    revision: bundle.revision,
    ...(typeof buildTime === 'string' ? { buildTime } : {}),
    source,
  }
}

async function loadEngine(
  path: string,
  verification: BundleVerification | undefined,
): Promise<{ engine: PolicyEngine; bundle: Bundle }> {
  const bundle = await loadBundle(path, { verification })
  const engine = new PolicyEngine()
  await engine.load(bundle)
  return { engine, bundle }
}

function evaluate(engine: PolicyEngine, event: DecisionEvent, whatIf: boolean): unknown {
  // What-if may reach builtins the recorded policy never called: compute those fresh.
  const options = {
    replay: event.nd_builtin_cache ?? {},
    onReplayMiss: whatIf ? ('compute' as const) : ('fail' as const),
  }
  if (event.path === 'mcp/decision') return engine.decide(event.input, options).decision
  if (event.path === 'mcp/response') return engine.judgeResponse(event.input, options).judgement
  try {
    return engine.evaluate(event.path, event.input, options).result
  } catch (err) {
    const error = toMcpPolicyError(err, 'ERR_ENGINE_TRAP')
    return { error: error.code, message: error.message }
  }
}

/**
 * A decision's `redact` obligation names the arguments the log erased, so a replay of the erased
 * input cannot name them again: the pointers that were both asked for and erased count as asked
 * for once more. Everything else is compared as replayed, so a candidate that masks a new argument
 * still shows up; one that stops masking an argument the log erased cannot be seen (the event is
 * `masked`).
 */
function keepErasedMask(event: DecisionEvent, replayed: unknown): unknown {
  if (event.path !== 'mcp/decision' || (event.erased ?? []).length === 0) return replayed
  const recorded = (event.result as { obligations?: { redact?: unknown } } | undefined)?.obligations?.redact
  const decision = replayed as { obligations?: Record<string, unknown> } | undefined
  const obligations = decision?.obligations
  if (!Array.isArray(recorded) || !obligations || typeof obligations !== 'object') return replayed
  const erased = new Set(event.erased)
  const kept = recorded.filter((p): p is string => typeof p === 'string' && erased.has(p))
  const asked = obligations.redact
  if (kept.length === 0 || (asked !== undefined && !Array.isArray(asked))) return replayed
  const redact = [...new Set([...((asked as unknown[] | undefined) ?? []), ...kept])]
  // Rego's sort orders strings by their UTF-8 bytes; keep the order of anything else returned.
  if (redact.every((p) => typeof p === 'string'))
    (redact as string[]).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
  return { ...decision, obligations: { ...obligations, redact } }
}

function describeDifference(
  event: DecisionEvent,
  file: string,
  line: number,
  replayed: unknown,
): ReplayDifference {
  // A tool-result judgement names its request: the server, tool and subject are that request's.
  const judged = event.path === 'mcp/response'
  const input = ((judged ? (event.input as { request?: unknown } | undefined)?.request : event.input) ??
    {}) as {
    server?: { id?: string }
    mcp?: { method?: string; tool?: { name?: string } }
    subject?: { id?: string }
  }
  const recordedAllow = (event.result as { allow?: unknown })?.allow
  const replayedAllow = (replayed as { allow?: unknown })?.allow
  const errorReplay = ((replayed as { reasons?: { code?: string }[] })?.reasons ?? []).some((r) =>
    r.code?.startsWith('ERR_'),
  )
  const obligations = diffObligations(event.result, replayed)
  // A permission change outranks a reason change: a candidate that rewords a reason and drops an
  // approval in the same decision must be read as dropping the approval.
  let change: ReplayDifference['change'] = obligations.length > 0 ? 'obligations' : 'reasons'
  if (errorReplay) change = 'error'
  else if (recordedAllow === true && replayedAllow === false) change = 'allow→deny'
  else if (recordedAllow === false && replayedAllow === true) change = 'deny→allow'
  return {
    decision_id: event.decision_id,
    seq: event.seq,
    file,
    line,
    server: input.server?.id,
    tool: input.mcp?.tool?.name,
    method: input.mcp?.method,
    subject: input.subject?.id,
    change,
    ...(obligations.length > 0 ? { obligations } : {}),
    widens:
      change === 'deny→allow' || (change === 'obligations' && obligations.some((o) => o.effect === 'widens')),
    recorded: event.result,
    replayed,
    masked: (event.erased ?? []).length > 0,
  }
}

/** Entries of one obligation named in a group key; longer ones are cut (the rows show them whole). */
const MAX_ENTRY_CHARS = 120

function countInGroups(counts: Map<string, ReplayReport['groups'][number]>, d: ReplayDifference): void {
  const bump = (
    by: ReplayReport['groups'][number]['by'],
    key: string | undefined,
    change: ReplayDifference['change'],
  ) => {
    const id = `${by}\0${key ?? '(none)'}\0${change}`
    const entry = counts.get(id) ?? { by, key: key ?? '(none)', change, count: 0 }
    entry.count++
    counts.set(id, entry)
  }
  bump('server', d.server, d.change)
  bump('tool', d.tool ? `${d.server ?? '?'}/${d.tool}` : d.method, d.change)
  bump('subject', d.subject, d.change)
  // The reason a reviewer looks for is the deny's: the replayed one, or for a decision the
  // candidate would allow, the recorded one that no longer holds. An allow has none to group by.
  const reasons = reasonCodes(d.replayed) || (d.change === 'deny→allow' ? reasonCodes(d.recorded) : '')
  if (reasons) bump('reason', reasons, d.change)
  // An allow that became a deny loses its obligations with it: only a change of obligations
  // alone is grouped entry by entry.
  if (d.change !== 'obligations') return
  for (const o of d.obligations ?? []) {
    for (const entry of o.added) bump('obligation', `${o.key} +${entryText(entry)}`, d.change)
    for (const entry of o.removed) bump('obligation', `${o.key} \u2212${entryText(entry)}`, d.change)
  }
}

function reasonCodes(decision: unknown): string {
  const reasons = (decision as { reasons?: unknown } | undefined)?.reasons
  return Array.isArray(reasons)
    ? reasons.map((r) => String((r as { code?: unknown } | undefined)?.code ?? '?')).join(',')
    : ''
}

function entryText(entry: unknown): string {
  const text = typeof entry === 'string' ? entry : (JSON.stringify(entry) ?? String(entry))
  return text.length > MAX_ENTRY_CHARS ? `${text.slice(0, MAX_ENTRY_CHARS - 1)}…` : text
}

// Compare as canonical JSON: key order and number spelling never count as a difference. Deep
// equality (key order aside) settles nearly every replay at a fraction of the cost; only what it
// calls different (-0 against 0, an undefined member) is canonicalized to be sure.
function sameJson(a: unknown, b: unknown): boolean {
  if (isDeepStrictEqual(a, b)) return true
  try {
    return eventHash({ v: a }) === eventHash({ v: b })
  } catch {
    return false
  }
}

async function logFiles(paths: readonly string[]): Promise<string[]> {
  const files: string[] = []
  for (const path of paths) {
    let isDirectory: boolean
    try {
      isDirectory = (await stat(path)).isDirectory()
    } catch (err) {
      throw toMcpPolicyError(err, 'ERR_LOG_READ_FAILED', `cannot read ${path}`)
    }
    if (isDirectory)
      files.push(
        ...(await readdir(path))
          .filter((f) => f.endsWith('.jsonl'))
          .sort()
          .map((f) => join(path, f)),
      )
    else files.push(path)
  }
  return files
}
