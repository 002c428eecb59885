import { readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { isDeepStrictEqual } from 'node:util'
import { bundleStorePath } from '../bundle/bundle-store.js'
import type { BundleVerification } from '../bundle/verify-bundle-signature.js'
import { PolicyEngine } from '../engine/policy-engine.js'
import { toMcpPolicyError } from '../errors.js'
import { type DecisionEvent, REJECTED_PATH } from './decision-event.js'
import { eventHash } from './event-hash.js'
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
  /** `allow→deny`, `deny→allow`, `reasons` (same allow, other reasons or status), or `error`. */
  change: 'allow→deny' | 'deny→allow' | 'reasons' | 'error'
  recorded: unknown
  replayed: unknown
  /** The input had members erased before logging, so the policy saw more than the record holds. */
  masked: boolean
}

/** The outcome of {@link replayLog}. */
export interface ReplayReport {
  mode: 'reproduce' | 'what-if'
  events: number
  same: number
  /** Decisions that differ (all of them, even when `differences` was capped by `maxDifferences`). */
  differing: number
  /** `differing` by kind of change. */
  changes: Record<ReplayDifference['change'], number>
  /** The differences, in log order (the first `maxDifferences`). */
  differences: ReplayDifference[]
  /** Events whose bundle is not in the store (reproduce mode): they cannot be replayed. */
  missingBundles: Record<string, number>
  /** Events refused before any policy ran ({@link REJECTED_PATH}): nothing to re-evaluate. */
  rejected: number
  /**
   * Tool-result judgements whose scanned content was withheld from the log (a secret the policy
   * redacted, or a blocked result): the record proves what was decided, but the policy's input is
   * no longer whole, so they are counted here instead of being re-evaluated.
   */
  withheld: number
  /** Flips grouped for a what-if review. */
  groups: {
    by: 'server' | 'tool' | 'subject' | 'reason'
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
  const store = options.bundleStore ?? '.bundle-store'
  const engines = new Map<string, PolicyEngine | undefined>()
  const candidate = options.against
    ? await PolicyEngine.fromBundleFile(options.against, { verification: options.verification })
    : undefined
  const report: ReplayReport = {
    mode: candidate ? 'what-if' : 'reproduce',
    events: 0,
    same: 0,
    differing: 0,
    changes: { 'allow→deny': 0, 'deny→allow': 0, reasons: 0, error: 0 },
    differences: [],
    missingBundles: {},
    rejected: 0,
    withheld: 0,
    groups: [],
  }
  const maxDifferences = options.maxDifferences ?? Number.POSITIVE_INFINITY
  const groups = new Map<string, ReplayReport['groups'][number]>()

  const engineFor = async (event: DecisionEvent): Promise<PolicyEngine | undefined> => {
    if (candidate) return candidate
    const digest = Object.values(event.bundles ?? {})[0]?.digest
    if (!digest) return undefined
    if (!engines.has(digest)) {
      try {
        engines.set(
          digest,
          await PolicyEngine.fromBundleFile(bundleStorePath(store, digest), {
            verification: options.verification,
          }),
        )
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
    for await (const { text, end } of readLines(file)) {
      line++
      let event: DecisionEvent
      try {
        event = JSON.parse(text) as DecisionEvent
      } catch {
        continue // torn or malformed lines are verify-log's to report
      }
      report.events++
      if (options.onProgress && report.events % 1000 === 0) {
        bytes.done = Math.min(before + end, bytes.total)
        options.onProgress(report.events, bytes)
      }
      if (event.path === REJECTED_PATH) {
        report.rejected++
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
      countInGroups(groups, difference)
      if (report.differences.length < maxDifferences) report.differences.push(difference)
    }
    bytes.done = before + (sizes[index] ?? 0)
  }
  options.onProgress?.(report.events, { done: bytes.total, total: bytes.total })
  report.groups = [...groups.values()].sort((a, b) => b.count - a.count)
  return report
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
  const input = (event.input ?? {}) as {
    server?: { id?: string }
    mcp?: { method?: string; tool?: { name?: string } }
    subject?: { id?: string }
  }
  const recordedAllow = (event.result as { allow?: unknown })?.allow
  const replayedAllow = (replayed as { allow?: unknown })?.allow
  const errorReplay = ((replayed as { reasons?: { code?: string }[] })?.reasons ?? []).some((r) =>
    r.code?.startsWith('ERR_'),
  )
  let change: ReplayDifference['change'] = 'reasons'
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
    recorded: event.result,
    replayed,
    masked: (event.erased ?? []).length > 0,
  }
}

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
  const reasons = ((d.replayed as { reasons?: { code?: string }[] })?.reasons ?? [])
    .map((r) => r.code)
    .join(',')
  bump('reason', reasons || '(allowed)', d.change)
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
