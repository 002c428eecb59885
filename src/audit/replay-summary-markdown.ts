import type { ObligationChange } from './obligation-diff.js'
import type { ReplayDifference, ReplayReport } from './replay-log.js'

/** Options for {@link renderReplaySummaryMarkdown}. */
export interface ReplaySummaryOptions {
  /** Heading. Default `mcp-policy what-if` (or `mcp-policy replay` for a reproduce run). */
  title?: string
  /** Most differences listed row by row; the counts cover all of them. Default 20. */
  maxRows?: number
  /** The log files or directories replayed, and the candidate bundle (named in the summary). */
  sources?: readonly string[]
  against?: string
  /**
   * The CI gate's verdict (`mcp-policy replay --fail-on`): the setting, the verdict and why.
   * Without it the summary gives no verdict, only what changed.
   */
  gate?: { failOn: string; verdict: 'failed' | 'passed' | 'not gated'; because: string }
}

const CHANGE_LABELS: Record<string, string> = {
  'allow→deny': 'allow → deny',
  'deny→allow': 'deny → allow',
  obligations: 'same allow, other obligations (permissions)',
  reasons: 'same allow and obligations, other reasons or status',
  error: 'error: the replay failed closed',
}

const GATE_VERDICTS: Record<string, string> = {
  failed: 'Gate failed',
  passed: 'Gate passed',
  'not gated': 'Not gated',
}

/** Longest value (in code points) shown from the log; longer ones are cut with `…`. */
const MAX_VALUE_CHARS = 80
/** Reason codes (and obligations, and entries of one obligation) listed per decision before `+N more`. */
const MAX_REASONS = 4
const MINUS = '\u2212'
const EFFECTS: Record<ObligationChange['effect'], string> = {
  widens: 'widens',
  narrows: 'narrows',
  changes: 'changed',
}

/**
 * Renders a replay report as Markdown fit for a pull-request comment or a CI job summary: the
 * gate's verdict, counts by kind of change, and a bounded table of the first differences (decision
 * id, method, tool, subject, and the decision before → after as allow/deny, status and reason
 * codes, with a +/− diff of the obligations that changed — header names only, not their values).
 * It carries no argument values and no reason messages — a message may quote an argument —
 * only what the log holds after masking, and it stays small however many decisions changed.
 *
 * Every value taken from the log is untrusted (a client picks its tool names and arguments, a
 * token its subject): each is shown as an inline code span, so no Markdown, HTML, link, `@mention`
 * or issue reference in it is rendered, with `|` escaped for the table, control, format and
 * line-separator characters written as `\u{…}`, and its length bounded.
 *
 * @example
 * ```ts
 * const report = await replayLog(['samples/decisions'], { against: 'bundles/default.tar.gz' })
 * await writeFile('what-if.md', renderReplaySummaryMarkdown(report, { maxRows: 10 }))
 * ```
 */
export function renderReplaySummaryMarkdown(
  report: ReplayReport,
  options: ReplaySummaryOptions = {},
): string {
  const whatIf = report.mode === 'what-if'
  const title = options.title ?? (whatIf ? 'mcp-policy what-if' : 'mcp-policy replay')
  const maxRows = Math.max(0, Math.floor(options.maxRows ?? 20))
  const missing = Object.values(report.missingBundles).reduce((n, c) => n + c, 0)
  const evaluated = report.events - report.rejected - report.revocations - report.withheld - missing
  const lines: string[] = []
  const headline = whatIf
    ? `${fmt(report.differing)} of ${fmt(evaluated)} decisions would change`
    : `${fmt(report.same)} of ${fmt(evaluated + missing)} decisions reproduced`
  lines.push(`## ${text(title)}: ${headline}`, '')
  if (options.gate)
    lines.push(
      `**${GATE_VERDICTS[options.gate.verdict] ?? text(options.gate.verdict)}** (${code(`--fail-on ${options.gate.failOn}`)}): ${text(options.gate.because)}`,
      '',
    )
  const where: string[] = []
  if (options.against) where.push(`Candidate bundle ${code(options.against)}`)
  if (options.sources && options.sources.length > 0)
    where.push(
      `${options.against ? 'against the' : 'The'} log ${options.sources
        .slice(0, 5)
        .map((s) => code(s))
        .join(', ')}${options.sources.length > 5 ? ` and ${options.sources.length - 5} more` : ''}`,
    )
  if (where.length > 0) lines.push(`${where.join(' ')}: ${fmt(report.events)} events.`, '')

  lines.push('| change | decisions |', '| --- | ---: |')
  for (const [change, count] of Object.entries(report.changes))
    lines.push(`| ${label(change)} | ${fmt(count)} |`)
  lines.push(`| unchanged${whatIf ? '' : ' (reproduced)'} | ${fmt(report.same)} |`, '')
  if (report.widened > 0)
    lines.push(
      `${fmt(report.widened)} of them grant more than the record: a denied decision allowed, or obligations that widen access (a visible tool gained; a log mask, redaction or approval dropped).`,
      '',
    )

  const apart: string[] = []
  if (report.withheld > 0)
    apart.push(
      `${fmt(report.withheld)} tool-result judgements whose content the log withheld (recorded, not re-evaluated)`,
    )
  if (report.rejected > 0) apart.push(`${fmt(report.rejected)} requests refused before any policy ran`)
  if (report.revocations > 0)
    apart.push(`${fmt(report.revocations)} revocation signals received (recorded; no policy decided them)`)
  if (missing > 0) apart.push(`${fmt(missing)} decisions whose bundle is not in the bundle store`)
  if (apart.length > 0) lines.push(`Not compared: ${apart.join('; ')}.`, '')

  const rows = report.differences.slice(0, maxRows)
  if (rows.length > 0) {
    lines.push(
      `### ${rows.length === report.differing ? 'Differences' : `First ${fmt(rows.length)} of ${fmt(report.differing)} differences`}`,
      '',
      '| seq | change | decision | method | tool | subject | before → after |',
      '| ---: | --- | --- | --- | --- | --- | --- |',
    )
    for (const d of rows) lines.push(row(d))
    lines.push('')
    if (rows.some((d) => d.masked))
      lines.push(
        '*masked*: the log erased some of this request’s arguments, so the replay saw less than the policy did.',
        '',
      )
  }
  const unlisted = report.differing - rows.length
  if (unlisted > 0)
    lines.push(
      `${fmt(unlisted)} more not listed here: \`mcp-policy replay --format html\` or \`--format json\` lists every one.`,
      '',
    )
  return `${lines.join('\n').trimEnd()}\n`
}

function row(d: ReplayDifference): string {
  const tool = d.tool !== undefined ? `${d.server ?? '?'}/${d.tool}` : d.server
  // A log line is only as typed as whoever wrote it: a number may be anything once parsed.
  const seq = typeof d.seq === 'number' ? fmt(d.seq) : code(d.seq)
  const widens = d.widens && d.change === 'obligations' ? ' **widens**' : ''
  return `| ${seq} | ${label(d.change)}${widens} | ${code(d.decision_id)}${d.masked ? ' *masked*' : ''} | ${cell(d.method)} | ${cell(tool)} | ${cell(d.subject)} | ${outcome(d)} |`
}

/** A decision or judgement as `allow 200` / `deny 403 code, code`, and what else moved. */
function outcome(d: ReplayDifference): string {
  const { recorded, replayed } = d
  const before = brief(recorded)
  const after = brief(replayed)
  if (d.change === 'obligations' && d.obligations?.length)
    return `${before === after ? before : `${before} → ${after}`}; ${obligationDiff(d.obligations)}`
  if (before !== after) return `${before} → ${after}`
  // Same allow, status and reasons: name what did change.
  const moved = changedMembers(recorded, replayed)
  return `${before}; changed: ${moved.length > 0 ? moved.map((m) => code(m)).join(', ') : 'the decision'}`
}

function brief(value: unknown): string {
  if (!value || typeof value !== 'object' || Array.isArray(value)) return code(value)
  const v = value as {
    allow?: unknown
    status?: unknown
    reasons?: unknown
    error?: unknown
    redactions?: unknown
  }
  if (typeof v.error === 'string') return `error ${code(v.error)}`
  const parts = [v.allow === true ? 'allow' : v.allow === false ? 'deny' : `allow ${code(v.allow)}`]
  if (typeof v.status === 'number') parts.push(String(v.status))
  if (Array.isArray(v.redactions) && v.redactions.length > 0)
    parts.push(`${fmt(v.redactions.length)} redaction${v.redactions.length === 1 ? '' : 's'}`)
  const codes = Array.isArray(v.reasons)
    ? v.reasons.map((r) => (r && typeof r === 'object' ? (r as { code?: unknown }).code : r))
    : []
  if (codes.length > 0)
    parts.push(
      codes
        .slice(0, MAX_REASONS)
        .map((c) => code(c))
        .join(', ') + (codes.length > MAX_REASONS ? ` +${fmt(codes.length - MAX_REASONS)} more` : ''),
    )
  return parts.join(' ')
}

/** `` `visible_tools` +`delete_repo` −`get_issue` (widens) ``, bounded per obligation and per decision. */
function obligationDiff(changes: readonly ObligationChange[]): string {
  const shown = changes.slice(0, MAX_REASONS).map((c) => {
    const entries = [
      ...c.added.map((e) => `+${code(entryLabel(c.key, e))}`),
      ...c.removed.map((e) => `${MINUS}${code(entryLabel(c.key, e))}`),
    ]
    const more = entries.length > MAX_REASONS ? ` +${fmt(entries.length - MAX_REASONS)} more` : ''
    return `${code(c.key)} ${entries.slice(0, MAX_REASONS).join(' ')}${more} (${EFFECTS[c.effect]})`
  })
  const more = changes.length > MAX_REASONS ? `; +${fmt(changes.length - MAX_REASONS)} more` : ''
  return `${shown.join('; ')}${more}`
}

/** What a summary shows of one obligation entry: a header's name (not its value), a redaction's path. */
function entryLabel(key: string, entry: unknown): unknown {
  if (entry && typeof entry === 'object' && !Array.isArray(entry)) {
    if (key === 'headers') return Object.keys(entry).join(', ')
    const path = (entry as { path?: unknown }).path
    if (key === 'redactions' && typeof path === 'string') return path
  }
  return entry
}

/** Top-level members (and obligations, one by one) that differ between two decisions. */
function changedMembers(a: unknown, b: unknown): string[] {
  const left = (a && typeof a === 'object' ? a : {}) as Record<string, unknown>
  const right = (b && typeof b === 'object' ? b : {}) as Record<string, unknown>
  const moved: string[] = []
  for (const key of [...new Set([...Object.keys(left), ...Object.keys(right)])].sort()) {
    if (key === 'obligations') {
      const l = (left[key] && typeof left[key] === 'object' ? left[key] : {}) as Record<string, unknown>
      const r = (right[key] && typeof right[key] === 'object' ? right[key] : {}) as Record<string, unknown>
      for (const name of [...new Set([...Object.keys(l), ...Object.keys(r)])].sort())
        if (json(l[name]) !== json(r[name])) moved.push(`obligations.${name}`)
    } else if (json(left[key]) !== json(right[key])) moved.push(key)
  }
  return moved.slice(0, MAX_REASONS)
}

function json(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value)
  } catch {
    return String(value)
  }
}

function label(change: string): string {
  return CHANGE_LABELS[change] ?? code(change)
}

function cell(value: unknown): string {
  return value === undefined ? '–' : code(value)
}

/**
 * An untrusted value as a Markdown inline code span that renders as exactly that text: nothing in
 * it is parsed as Markdown, HTML, a link, a mention or an issue reference (GitHub leaves code
 * alone), `|` cannot end a table cell, and no control or bidirectional character can break a line
 * or reorder what the reader sees. Backslashes show doubled, as in JSON.
 */
function code(value: unknown): string {
  const whole = typeof value === 'string' ? value : json(value)
  const points = [...whole]
  const cut = points.length > MAX_VALUE_CHARS ? `${points.slice(0, MAX_VALUE_CHARS).join('')}…` : whole
  // Backslashes doubled first, so an escape written here is never confused with one in the value,
  // and a value's own backslash cannot pair with the one escaping a pipe (GFM reads `\\` as one
  // escaped character, then `|` would end the cell).
  const visible = cut
    .replace(/\\/g, '\\\\')
    .replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`)
    .replace(/\|/g, '\\|')
  if (visible === '') return '*(empty)*'
  const fence = '`'.repeat(Math.max(0, ...(visible.match(/`+/g) ?? []).map((run) => run.length)) + 1)
  // A backtick at either end would join the fence, and a space at both ends would be stripped
  // (CommonMark strips one of each unless the span is only spaces): pad with one space each side.
  const pad =
    visible.startsWith('`') ||
    visible.endsWith('`') ||
    (visible.startsWith(' ') && visible.endsWith(' ') && visible.trim() !== '')
      ? ' '
      : ''
  return `${fence}${pad}${visible}${pad}${fence}`
}

/** Text of our own choosing (a title, a verdict) with Markdown and HTML characters escaped. */
function text(value: string): string {
  return value.replace(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/gu, ' ').replace(/[\\`*_[\]<>&|~#]/g, (c) => `\\${c}`)
}

function fmt(n: number): string {
  return n.toLocaleString('en-US')
}
