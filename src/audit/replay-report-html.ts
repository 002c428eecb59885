import type { LogFileStatus, LogFileVerdict } from './log-file-verdicts.js'
import type { ObligationChange } from './obligation-diff.js'
import type { ReplayBundle, ReplayDifference, ReplayReport } from './replay-log.js'
import { logFileChain } from './verify-log.js'

/** Options for {@link renderReplayHtml}. */
export interface ReplayHtmlOptions {
  /** Heading and `<title>`. Default `mcp-policy replay report`. */
  title?: string
  /** When the report was made (shown in the summary). Default: now. */
  generatedAt?: Date
  /** The log files or directories replayed, and the candidate bundle if any (shown in the summary). */
  sources?: readonly string[]
  against?: string
  /** Most differences listed row by row (the grouped tables and the chart count all). Default 1,000. */
  maxRows?: number
  /**
   * The log files with their verification result ({@link logFileVerdicts}). Without it the files
   * are listed as not verified by this report.
   */
  logFiles?: readonly LogFileVerdict[]
}

const CHANGES: readonly ReplayDifference['change'][] = [
  'allow→deny',
  'deny→allow',
  'obligations',
  'reasons',
  'error',
]
const COLORS: Record<ReplayDifference['change'], string> = {
  'allow→deny': '#c62828',
  'deny→allow': '#ef6c00',
  obligations: '#00796b',
  reasons: '#1565c0',
  error: '#6a1b9a',
}
const GROUP_TITLES: Record<ReplayReport['groups'][number]['by'], string> = {
  server: 'By server',
  tool: 'By tool (server/tool, or the method)',
  subject: 'By subject',
  reason: 'By reason code (the deny’s: replayed, or recorded for deny → allow)',
  obligation: 'By obligation change (+ gained, − lost; decisions whose allow stayed)',
}
const STATUS_LABELS: Record<LogFileStatus, string> = {
  verified: 'intact (verified)',
  unverified: 'NOT VERIFIED',
  tampered: 'TAMPERED',
  unchecked: 'NOT VERIFIED',
}
const MAX_GROUP_ROWS = 200
const MAX_JSON_CHARS = 8000
/** Entries listed per obligation in a difference's +/− diff before `N more`. */
const MAX_DIFF_ENTRIES = 50
const MINUS = '\u2212'

/**
 * Renders a replay report as one self-contained HTML file for an auditor: a verdict, the policies
 * compared (each bundle's name, revision, digest and build time), the log files replayed with
 * their verification result, a summary, an inline SVG chart of the differences by change kind and
 * by tool, the differences grouped by server, tool, subject, reason and obligation change, and a
 * table of the differences with the recorded and replayed decisions and a +/− diff of their
 * obligations. No scripts, no external assets, and a Content-Security-Policy that forbids both;
 * every string taken from the log (which is untrusted input) is HTML-escaped. Table cells wrap
 * only between words; long tokens (digests, paths, ids) wrap anywhere, and a table too wide for
 * the page scrolls sideways.
 *
 * @example
 * ```ts
 * const report = await replayLog(['logs/'], { against: 'candidate.tar.gz' })
 * await writeFile('what-if.html', renderReplayHtml(report, { sources: ['logs/'] }))
 * ```
 */
export function renderReplayHtml(report: ReplayReport, options: ReplayHtmlOptions = {}): string {
  const title = options.title ?? 'mcp-policy replay report'
  const maxRows = options.maxRows ?? 1000
  const byChange = report.changes
  const missing = Object.values(report.missingBundles).reduce((n, c) => n + c, 0)
  const ok = report.differing === 0 && missing === 0
  // A what-if that changes decisions is not a failure, but it is what the reviewer must read.
  const tone = ok ? 'ok' : report.mode === 'reproduce' ? 'bad' : 'warn'
  const verdict =
    report.mode === 'reproduce'
      ? ok
        ? `All ${fmt(report.events)} decisions reproduced.`
        : `${fmt(report.differing + missing)} of ${fmt(report.events)} decisions did not reproduce.`
      : `${fmt(report.differing)} of ${fmt(report.events)} decisions would change under the candidate bundle.`
  const files = options.logFiles ?? unverifiedFiles(report)
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${esc(title)}</title>
<style>${STYLE}</style>
</head>
<body>
<h1>${esc(title)}</h1>
<p id="verdict" class="${tone}">${esc(verdict)}</p>
${logVerdict(files, options.logFiles !== undefined)}
<section id="summary">
<h2>Summary</h2>
<dl>
<dt>Mode</dt><dd id="summary-mode">${esc(report.mode === 'reproduce' ? 'reproduce (recorded bundles)' : 'what-if (candidate bundle)')}</dd>
<dt>Events</dt><dd id="summary-events">${fmt(report.events)}</dd>
<dt>${report.mode === 'reproduce' ? 'Reproduced' : 'Unchanged'}</dt><dd id="summary-same">${fmt(report.same)}</dd>
<dt>Refused before evaluation</dt><dd id="summary-rejected">${fmt(report.rejected)}</dd>
<dt>Secrets withheld from the log</dt><dd id="summary-withheld">${fmt(report.withheld)}</dd>
${report.revocations > 0 ? `<dt>Revocation signals (not decisions)</dt><dd id="summary-revocations">${fmt(report.revocations)}</dd>\n` : ''}<dt>Differences</dt><dd id="summary-differences">${fmt(report.differing)}${
    report.differing > 0
      ? ` (${CHANGES.filter((c) => byChange[c] > 0)
          .map((c) => `${esc(c)}: ${fmt(byChange[c])}`)
          .join(', ')})`
      : ''
  }</dd>
<dt>Grant more than the record</dt><dd id="summary-widened">${fmt(report.widened)} (deny → allow, or obligations that widen access)</dd>
<dt>Missing bundles</dt><dd id="summary-missing">${fmt(missing)} decisions${
    missing > 0
      ? `<ul>${Object.entries(report.missingBundles)
          .map(([digest, count]) => `<li><code class="token">${esc(digest)}</code>: ${fmt(count)}</li>`)
          .join('')}</ul>`
      : ''
  }</dd>
${options.against ? `<dt>Candidate bundle</dt><dd><code class="token">${esc(options.against)}</code></dd>\n` : ''}${
  options.sources?.length
    ? `<dt>Log</dt><dd>${options.sources.map((s) => `<code class="token">${esc(s)}</code>`).join(' ')}</dd>\n`
    : ''
}<dt>Generated</dt><dd>${esc((options.generatedAt ?? new Date()).toISOString())}</dd>
</dl>
</section>
${renderPolicies(report)}${renderLogFiles(report, files)}${report.differing > 0 ? renderCharts(report, byChange) + renderGroups(report) + renderRows(report.differences, report.differing, maxRows) : ''}
</body>
</html>
`
}

/** The policies compared: the bundles the log names, and the candidate. */
function renderPolicies(report: ReplayReport): string {
  const rows = [
    ...report.bundles.recorded.map((b) => policyRow('recorded', b)),
    ...(report.bundles.candidate ? [policyRow('candidate', report.bundles.candidate)] : []),
  ]
  return `<section id="policies">
<h2>Policies</h2>
<div class="scroll"><table id="policy-table">
<thead><tr><th>policy</th><th>bundle</th><th>revision</th><th>digest</th><th>built</th><th class="n">decisions</th><th>archive read</th></tr></thead>
<tbody>
${rows.join('\n') || '<tr><td colspan="7">The log names no bundle.</td></tr>'}
</tbody>
</table></div>
</section>
`
}

function policyRow(role: 'recorded' | 'candidate', b: ReplayBundle): string {
  return `<tr class="policy-${role}"><td class="nw">${role === 'recorded' ? 'recorded (in the log)' : 'candidate (--against)'}</td><td class="nw">${esc(b.name)}</td><td class="tok-s"><code class="token">${esc(b.revision || '(none)')}</code></td><td class="tok"><code class="token digest">${esc(b.digest)}</code></td><td class="nw">${b.buildTime ? esc(b.buildTime) : '<span class="note">not recorded</span>'}</td><td class="n">${b.events === undefined ? '' : fmt(b.events)}</td><td class="tok">${b.source ? `<code class="token">${esc(b.source)}</code>` : '<span class="note">not in the bundle store</span>'}</td></tr>`
}

/** The log files replayed, each with its verification result. */
function renderLogFiles(report: ReplayReport, files: readonly LogFileVerdict[]): string {
  const events = new Map(report.files.map((f) => [f.path, f.events]))
  const rows = files.map(
    (f) =>
      `<tr class="log-${f.status}"><td class="tok"><code class="token">${esc(f.path)}</code></td><td class="tok-s"><code class="token">${esc(f.chain ?? '')}</code></td><td class="n">${events.has(f.path) ? fmt(events.get(f.path)!) : ''}</td><td><span class="status status-${f.status}">${esc(STATUS_LABELS[f.status])}</span></td><td class="detail">${withTokens(f.detail)}</td></tr>`,
  )
  return `<section id="log-files">
<h2>Log files</h2>
<div class="scroll"><table id="log-file-table">
<thead><tr><th>file</th><th>chain</th><th class="n">events</th><th>verification</th><th>detail</th></tr></thead>
<tbody>
${rows.join('\n') || '<tr><td colspan="5">No log file was read.</td></tr>'}
</tbody>
</table></div>
</section>
`
}

/** One line on the log as a whole, under the verdict. */
function logVerdict(files: readonly LogFileVerdict[], verified: boolean): string {
  if (files.length === 0) return ''
  const tampered = files.filter((f) => f.status === 'tampered').length
  const unverified = files.length - tampered - files.filter((f) => f.status === 'verified').length
  const [tone, text] =
    tampered > 0
      ? [
          'bad',
          `The log is NOT intact: ${fmt(tampered)} of ${fmt(files.length)} files TAMPERED (see Log files).`,
        ]
      : unverified > 0
        ? [
            'warn',
            verified
              ? `The log is NOT VERIFIED: ${fmt(unverified)} of ${fmt(files.length)} files could not be verified (see Log files).`
              : 'The log was not verified by this report (mcp-policy verify-log checks it).',
          ]
        : ['ok', `The log is intact: all ${fmt(files.length)} files verified with the checkpoint key.`]
  return `<p id="log-verdict" class="${tone}">${esc(text)}</p>`
}

/**
 * Free text with the long runs in it (chain ids, paths) marked as tokens, which may wrap anywhere;
 * words wrap only between them. No English word in these messages comes near the length.
 */
function withTokens(text: string): string {
  return text
    .split(/(\S{25,})/)
    .map((part, i) => (i % 2 ? `<span class="token">${esc(part)}</span>` : esc(part)))
    .join('')
}

function unverifiedFiles(report: ReplayReport): LogFileVerdict[] {
  return report.files.map((f) => ({
    path: f.path,
    ...(logFileChain(f.path) !== undefined ? { chain: logFileChain(f.path) } : {}),
    status: 'unchecked',
    detail: 'NOT VERIFIED: verification was not run for this report',
    findings: [],
  }))
}

function renderCharts(report: ReplayReport, byChange: Record<ReplayDifference['change'], number>): string {
  const kinds = CHANGES.map((change) => ({ label: change, segments: [{ change, count: byChange[change] }] }))
  const tools = new Map<string, Record<ReplayDifference['change'], number>>()
  for (const group of report.groups) {
    if (group.by !== 'tool') continue
    const counts = tools.get(group.key) ?? zeroCounts()
    counts[group.change] += group.count
    tools.set(group.key, counts)
  }
  const topTools = [...tools.entries()]
    .map(([label, counts]) => ({
      label,
      segments: CHANGES.map((change) => ({ change, count: counts[change] })),
    }))
    .sort((a, b) => total(b.segments) - total(a.segments))
    .slice(0, 10)
  return `<section id="chart">
<h2>Differences</h2>
<p class="legend">${CHANGES.map((c) => `<span class="swatch" style="background:${COLORS[c]}"></span>${esc(c)}`).join(' ')}</p>
${barChart('by-change', 'Differences by change kind', kinds)}
${barChart('by-tool', `Top ${topTools.length} tools by differences`, topTools)}
</section>
`
}

/** A horizontal bar chart, one bar per row, stacked by change kind, scaled to the longest bar. */
function barChart(
  id: string,
  caption: string,
  rows: { label: string; segments: { change: ReplayDifference['change']; count: number }[] }[],
): string {
  const labelWidth = 280
  const barWidth = 440
  const rowHeight = 26
  const height = rows.length * rowHeight + 30
  const max = Math.max(1, ...rows.map((r) => total(r.segments)))
  const bars = rows
    .map((row, i) => {
      const y = 24 + i * rowHeight
      let x = labelWidth
      const rects = row.segments
        .filter((s) => s.count > 0)
        .map((s) => {
          const w = Math.max(2, (s.count / max) * barWidth)
          const rect = `<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowHeight - 8}" fill="${COLORS[s.change]}"><title>${esc(`${row.label} ${s.change}: ${s.count}`)}</title></rect>`
          x += w
          return rect
        })
        .join('')
      return `<text x="${labelWidth - 8}" y="${y + 13}" text-anchor="end">${esc(clip(row.label, 36))}</text>${rects}<text x="${(x + 6).toFixed(1)}" y="${y + 13}">${fmt(total(row.segments))}</text>`
    })
    .join('\n')
  return `<figure>
<svg id="chart-${id}" role="img" aria-label="${esc(caption)}" width="${labelWidth + barWidth + 80}" height="${height}" viewBox="0 0 ${labelWidth + barWidth + 80} ${height}">
<text x="0" y="14" class="caption">${esc(caption)}</text>
${bars}
</svg>
</figure>`
}

function renderGroups(report: ReplayReport): string {
  const kinds = ['server', 'tool', 'subject', 'reason', 'obligation'] as const
  const sections = kinds.map((by) => {
    const rows = new Map<string, Record<ReplayDifference['change'], number>>()
    for (const group of report.groups) {
      if (group.by !== by) continue
      const counts = rows.get(group.key) ?? zeroCounts()
      counts[group.change] += group.count
      rows.set(group.key, counts)
    }
    // Only obligation changes have a table of their own when there are none of them.
    if (by === 'obligation' && rows.size === 0) return ''
    const sorted = [...rows.entries()].sort(
      (a, b) => sum(b[1]) - sum(a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
    )
    const body = sorted
      .slice(0, MAX_GROUP_ROWS)
      .map(
        ([key, counts]) =>
          `<tr${by === 'obligation' ? ` class="${obligationSign(key) === '+' ? 'add' : 'del'}"` : ''}><td>${by === 'obligation' ? obligationKey(key) : `<span class="nw">${esc(key)}</span>`}</td>${CHANGES.map((c) => `<td class="n">${counts[c] ? fmt(counts[c]) : ''}</td>`).join('')}<td class="n">${fmt(sum(counts))}</td></tr>`,
      )
      .join('\n')
    const more =
      sorted.length > MAX_GROUP_ROWS
        ? `<p class="note">${fmt(sorted.length - MAX_GROUP_ROWS)} more rows not shown (use --format json).</p>`
        : ''
    return `<h3>${esc(GROUP_TITLES[by])}</h3>
<div class="scroll"><table id="group-${by}">
<thead><tr><th>${esc(by)}</th>${CHANGES.map((c) => `<th class="n">${esc(c)}</th>`).join('')}<th class="n">total</th></tr></thead>
<tbody>
${body}
</tbody>
</table></div>
${more}`
  })
  return `<section id="groups">
<h2>Grouped</h2>
${sections.join('\n')}
</section>
`
}

/** `visible_tools +delete_repo` (as replay-log groups it): the sign after the obligation's name. */
function obligationSign(key: string): string {
  return key.charAt(key.indexOf(' ') + 1)
}

function obligationKey(key: string): string {
  const space = key.indexOf(' ')
  const sign = obligationSign(key)
  return `<code class="nw">${esc(key.slice(0, space))}</code> <span class="sign">${sign === '+' ? '+' : MINUS}</span>&nbsp;<span class="token">${esc(key.slice(space + 2))}</span>`
}

function renderRows(differences: readonly ReplayDifference[], differing: number, maxRows: number): string {
  const rows = differences
    .slice(0, maxRows)
    .map(
      (d) => `<tr class="change-${CHANGES.indexOf(d.change)}">
<td class="n">${esc(fmt(d.seq))}</td>
<td class="nw"><span class="badge" style="background:${COLORS[d.change] ?? '#555'}">${esc(d.change)}</span>${d.widens ? ' <span class="widens">widens</span>' : ''}${d.masked ? ' <span class="note" title="members of the input were erased before logging">masked</span>' : ''}</td>
<td class="nw">${esc(d.server ?? '')}</td>
<td class="nw">${esc(d.tool ?? d.method ?? '')}</td>
<td class="nw">${esc(d.subject ?? '')}</td>
<td>${outcome(d.recorded)}</td>
<td>${outcome(d.replayed)}</td>
<td class="where"><details><summary><span class="token">${esc(`${basename(d.file)}:${d.line}`)}</span></summary><div class="diff"><div><h4>recorded</h4><pre>${esc(json(d.recorded))}</pre></div><div><h4>replayed</h4><pre>${esc(json(d.replayed))}</pre></div></div><p class="note">decision <span class="token">${esc(d.decision_id)}</span> in <span class="token">${esc(d.file)}</span></p></details></td>
</tr>${d.obligations?.length ? `\n<tr class="obligation-diff"><td></td><td colspan="7">${obligationDiff(d.obligations)}</td></tr>` : ''}`,
    )
    .join('\n')
  const more =
    differing > Math.min(maxRows, differences.length)
      ? `<p class="note">${fmt(differing - Math.min(maxRows, differences.length))} more differences not listed (use --format json).</p>`
      : ''
  return `<section id="differences">
<h2>Differences, one by one</h2>
<div class="scroll"><table>
<thead><tr><th class="n">seq</th><th>change</th><th>server</th><th>tool / method</th><th>subject</th><th>recorded</th><th>replayed</th><th>where, and the decisions</th></tr></thead>
<tbody>
${rows}
</tbody>
</table></div>
${more}
</section>
`
}

/** A difference's obligations as a +/− diff: one line per entry gained or lost, by obligation. */
function obligationDiff(changes: readonly ObligationChange[]): string {
  const blocks = changes.map((c) => {
    const lines = [
      ...c.added.map((entry) => ({ sign: '+', cls: 'add', entry })),
      ...c.removed.map((entry) => ({ sign: MINUS, cls: 'del', entry })),
    ]
    const shown = lines
      .slice(0, MAX_DIFF_ENTRIES)
      .map(
        (l) =>
          `<li class="${l.cls}"><span class="sign">${l.sign}</span> <span class="token">${esc(entryText(l.entry))}</span></li>`,
      )
      .join('')
    const more =
      lines.length > MAX_DIFF_ENTRIES
        ? `<li class="note">${fmt(lines.length - MAX_DIFF_ENTRIES)} more (use --format json)</li>`
        : ''
    return `<div class="pm"><code>${esc(c.key)}</code> <span class="effect effect-${c.effect}">${esc(EFFECTS[c.effect])}</span><ul>${shown}${more}</ul></div>`
  })
  return blocks.join('')
}

const EFFECTS: Record<ObligationChange['effect'], string> = {
  widens: 'widens access',
  narrows: 'narrows access',
  changes: 'changed',
}

function entryText(entry: unknown): string {
  if (typeof entry === 'string') return entry
  const text = JSON.stringify(entry) ?? String(entry)
  return text.length > MAX_JSON_CHARS ? `${text.slice(0, MAX_JSON_CHARS)}…` : text
}

function zeroCounts(): Record<ReplayDifference['change'], number> {
  return { 'allow→deny': 0, 'deny→allow': 0, obligations: 0, reasons: 0, error: 0 }
}

/** `allow 200` / `deny 403 (tool_not_granted, …)`, as HTML: each reason code kept on one line. */
function outcome(decision: unknown): string {
  const d = (decision ?? {}) as { allow?: unknown; status?: unknown; reasons?: unknown; error?: unknown }
  if (typeof d.error === 'string') return `error <span class="nw">${esc(d.error)}</span>`
  const reasons = Array.isArray(d.reasons)
    ? d.reasons.map((r) => `<span class="nw">${esc(String((r as { code?: unknown })?.code ?? '?'))}</span>`)
    : []
  const verdict = d.allow === true ? 'allow' : d.allow === false ? 'deny' : 'no decision'
  return `<span class="nw">${verdict}${typeof d.status === 'number' ? ` ${d.status}` : ''}</span>${reasons.length > 0 ? ` (${reasons.join(', ')})` : ''}`
}

function total(segments: readonly { count: number }[]): number {
  return segments.reduce((n, s) => n + s.count, 0)
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((n, c) => n + c, 0)
}

function json(value: unknown): string {
  const text = JSON.stringify(value, null, 2) ?? 'undefined'
  return text.length > MAX_JSON_CHARS ? `${text.slice(0, MAX_JSON_CHARS)}\n…` : text
}

function clip(text: string, max: number): string {
  return text.length > max ? `${text.slice(0, max - 1)}…` : text
}

function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1)
}

function fmt(n: number): string {
  return n.toLocaleString('en-US')
}

/** HTML-escapes text for element content and quoted attribute values alike. */
function esc(text: string): string {
  return String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]!)
}

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
}

// Table cells wrap between words only: identifiers and reason codes (.nw) never break, tokens that
// can be long and mean nothing split (.token: digests, paths, ids) wrap anywhere, and a table wider
// than the page scrolls sideways in its .scroll box instead of squeezing words apart.
const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",sans-serif;color:#1b1b1b;margin:2rem auto;max-width:1200px;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .5rem}h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}h3{font-size:1rem;margin:1.2rem 0 .4rem}h4{margin:.2rem 0;font-size:.85rem}
#verdict,#log-verdict{font-weight:600;padding:.6rem .8rem;border-radius:4px;margin:.4rem 0}.ok{background:#e8f5e9;color:#1b5e20}.bad{background:#ffebee;color:#b71c1c}.warn{background:#fff8e1;color:#8a4b00}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1.2rem}dt{font-weight:600}dd{margin:0}dd ul{margin:.2rem 0;padding-left:1.2rem}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e3e3e3;padding:.3rem .5rem;text-align:left;vertical-align:top;overflow-wrap:normal;word-break:normal;hyphens:none}th{background:#f5f5f5;white-space:nowrap}.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.nw{white-space:nowrap}.token{overflow-wrap:anywhere}td.detail{min-width:18rem}td.tok{min-width:13rem}td.tok-s{min-width:7rem}
.badge{color:#fff;border-radius:3px;padding:0 .4rem;white-space:nowrap}.note{color:#666;font-size:12px}
.widens{color:#fff;background:#b71c1c;border-radius:3px;padding:0 .3rem;font-size:11px;white-space:nowrap}
.status{border-radius:3px;padding:0 .4rem;font-weight:600;white-space:nowrap}.status-verified{background:#2e7d32;color:#fff}.status-unverified,.status-unchecked{background:#f9a825;color:#1b1b1b}.status-tampered{background:#b71c1c;color:#fff}
tr.obligation-diff td{border-top:0;padding-top:0}.pm{display:inline-block;vertical-align:top;margin:0 1.5rem .3rem 0}.pm ul{list-style:none;margin:.15rem 0 0;padding:0;font:12px/1.5 ui-monospace,"DejaVu Sans Mono",monospace}
.pm li{padding:0 .5rem;border-radius:2px}li.add,tr.add td:first-child{background:#d7f5dd;color:#0b5d1e}li.del,tr.del td:first-child{background:#fddcdc;color:#8e1519}.sign{font-weight:700}
.effect{font-size:11px;border-radius:3px;padding:0 .3rem;white-space:nowrap}.effect-widens{background:#b71c1c;color:#fff}.effect-narrows{background:#455a64;color:#fff}.effect-changes{background:#e0e0e0}
.legend{font-size:12px}.swatch{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 .8rem;vertical-align:middle}
svg{font-size:12px;max-width:100%;height:auto}svg text{fill:#1b1b1b}svg .caption{font-weight:600}figure{margin:1rem 0}
details summary{cursor:pointer}td.where{min-width:12rem}.diff{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}pre{background:#f7f7f7;padding:.4rem;overflow:auto;max-height:24rem;font-size:12px;margin:0}
code{font-size:12px}
@media print{details{display:none}.scroll{overflow:visible}}
`
