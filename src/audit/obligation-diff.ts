import { canonicalJson } from '../canonical-json.js'

/**
 * How a change to one obligation moves access: `widens` grants more than the record (a visible
 * tool gained; a log mask, tool-result redaction or approval dropped; any other obligation
 * dropped), `narrows` grants less, `changes` neither (identity headers, an approval's reason).
 */
export type ObligationEffect = 'widens' | 'narrows' | 'changes'

/** One obligation of a decision (or redaction list of a tool-result judgement) that a replay changed. */
export interface ObligationChange {
  /**
   * The obligation: a member of a decision's `obligations` (`visible_tools`, `redact`,
   * `require_approval`, `headers`, or a policy's own), or of a tool-result judgement (`redactions`,
   * `log_redact`).
   */
  key: string
  /** Entries the replayed decision has and the recorded one lacks (a whole value for a non-list). */
  added: unknown[]
  /** Entries the recorded decision has and the replayed one lacks. */
  removed: unknown[]
  effect: ObligationEffect
}

/** Lists of grants: an entry gained widens access. */
const GRANT_LISTS = new Set(['visible_tools'])
/** Lists of restrictions (what the log or the model must not see): an entry lost widens access. */
const RESTRICTION_LISTS = new Set(['redact', 'log_redact', 'redactions'])
/** Obligations whose change moves no access either way (identity headers forwarded upstream). */
const NEUTRAL = new Set(['headers'])

/**
 * The obligations that differ between a recorded decision and its replay, each as a +/− diff of
 * its entries with the way it moves access. A decision's obligations are compared one by one; a
 * tool-result judgement (which has no `obligations`) by its `redactions` and `log_redact`. An
 * empty list means the obligations are the same. Entries are compared as canonical JSON, so key
 * order never counts as a change.
 *
 * @internal
 *
 * @example
 * ```ts
 * diffObligations(
 *   { allow: true, obligations: { visible_tools: ['get_issue'] } },
 *   { allow: true, obligations: { visible_tools: ['get_issue', 'delete_repo'] } },
 * ) // [{ key: 'visible_tools', added: ['delete_repo'], removed: [], effect: 'widens' }]
 * ```
 */
export function diffObligations(recorded: unknown, replayed: unknown): ObligationChange[] {
  const before = members(recorded)
  const after = members(replayed)
  const changes: ObligationChange[] = []
  for (const key of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort()) {
    const change = diffOne(key, before[key], after[key])
    if (change) changes.push(change)
  }
  return changes
}

/** The members that carry obligations: a decision's `obligations`, else a judgement's redaction lists. */
function members(decision: unknown): Record<string, unknown> {
  if (!isObject(decision)) return {}
  if ('obligations' in decision) return isObject(decision.obligations) ? decision.obligations : {}
  const found: Record<string, unknown> = {}
  for (const key of ['redactions', 'log_redact']) if (decision[key] !== undefined) found[key] = decision[key]
  return found
}

function diffOne(key: string, before: unknown, after: unknown): ObligationChange | undefined {
  if (before === undefined && after === undefined) return undefined
  if (NEUTRAL.has(key) && isObject(before ?? {}) && isObject(after ?? {})) {
    // A header map: each `name: value` pair is an entry.
    const { added, removed } = diffEntries(pairs(before), pairs(after))
    return added.length + removed.length > 0 ? { key, added, removed, effect: 'changes' } : undefined
  }
  if ((before === undefined || Array.isArray(before)) && (after === undefined || Array.isArray(after))) {
    const { added, removed } = diffEntries((before as unknown[]) ?? [], (after as unknown[]) ?? [])
    if (added.length + removed.length === 0) return undefined
    let effect: ObligationEffect = 'changes'
    if (GRANT_LISTS.has(key)) effect = added.length > 0 ? 'widens' : 'narrows'
    else if (RESTRICTION_LISTS.has(key)) effect = removed.length > 0 ? 'widens' : 'narrows'
    else if (after === undefined) effect = 'widens'
    else if (before === undefined) effect = 'narrows'
    return { key, added, removed, effect }
  }
  if (same(before, after)) return undefined
  // One value (require_approval, or an obligation of a policy's own): present is a constraint.
  const added = after === undefined ? [] : [after]
  const removed = before === undefined ? [] : [before]
  const effect: ObligationEffect = NEUTRAL.has(key)
    ? 'changes'
    : after === undefined
      ? 'widens'
      : before === undefined
        ? 'narrows'
        : 'changes'
  return { key, added, removed, effect }
}

/** Entries of `after` missing from `before` and the other way round, each once, in list order. */
function diffEntries(before: readonly unknown[], after: readonly unknown[]) {
  const had = new Set(before.map(text))
  const has = new Set(after.map(text))
  return {
    added: unique(after).filter((entry) => !had.has(text(entry))),
    removed: unique(before).filter((entry) => !has.has(text(entry))),
  }
}

function unique(list: readonly unknown[]): unknown[] {
  const seen = new Set<string>()
  return list.filter((entry) => {
    const key = text(entry)
    if (seen.has(key)) return false
    seen.add(key)
    return true
  })
}

function pairs(map: unknown): unknown[] {
  return Object.entries((map ?? {}) as Record<string, unknown>).map(([name, value]) => ({ [name]: value }))
}

function same(a: unknown, b: unknown): boolean {
  return text(a) === text(b)
}

function text(value: unknown): string {
  try {
    return canonicalJson(value)
  } catch {
    // Not canonicalizable (never so for a decision parsed from JSON): compare what can be shown.
    return String(value)
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}
