import type { ReplayDifference, ReplayReport } from './replay-log.js'

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
}

const CHANGES: readonly ReplayDifference['change'][] = ['allow→deny', 'deny→allow', 'reasons', 'error']
const COLORS: Record<ReplayDifference['change'], string> = {
  'allow→deny': '#c62828',
  'deny→allow': '#ef6c00',
  reasons: '#1565c0',
  error: '#6a1b9a',
}
const GROUP_TITLES: Record<ReplayReport['groups'][number]['by'], string> = {
  server: 'By server',
  tool: 'By tool (server/tool, or the method)',
  subject: 'By subject',
  reason: 'By replayed reason',
}
const MAX_GROUP_ROWS = 200
const MAX_JSON_CHARS = 8000

/**
 * Renders a replay report as one self-contained HTML file for an auditor: a summary, an inline SVG
 * chart of the differences by change kind and by tool, the differences grouped by server, tool,
 * subject and reason, and a table of the differences with the recorded and replayed decisions.
 * No scripts, no external assets, and a Content-Security-Policy that forbids both; every string
 * taken from the log (which is untrusted input) is HTML-escaped.
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
<section id="summary">
<h2>Summary</h2>
<dl>
<dt>Mode</dt><dd id="summary-mode">${esc(report.mode === 'reproduce' ? 'reproduce (recorded bundles)' : 'what-if (candidate bundle)')}</dd>
<dt>Events</dt><dd id="summary-events">${fmt(report.events)}</dd>
<dt>${report.mode === 'reproduce' ? 'Reproduced' : 'Unchanged'}</dt><dd id="summary-same">${fmt(report.same)}</dd>
<dt>Refused before evaluation</dt><dd id="summary-rejected">${fmt(report.rejected)}</dd>
<dt>Secrets withheld from the log</dt><dd id="summary-withheld">${fmt(report.withheld)}</dd>
<dt>Differences</dt><dd id="summary-differences">${fmt(report.differing)}${
    report.differing > 0
      ? ` (${CHANGES.filter((c) => byChange[c] > 0)
          .map((c) => `${esc(c)}: ${fmt(byChange[c])}`)
          .join(', ')})`
      : ''
  }</dd>
<dt>Missing bundles</dt><dd id="summary-missing">${fmt(missing)} decisions${
    missing > 0
      ? `<ul>${Object.entries(report.missingBundles)
          .map(([digest, count]) => `<li><code>${esc(digest)}</code>: ${fmt(count)}</li>`)
          .join('')}</ul>`
      : ''
  }</dd>
${options.against ? `<dt>Candidate bundle</dt><dd><code>${esc(options.against)}</code></dd>\n` : ''}${
  options.sources?.length
    ? `<dt>Log</dt><dd>${options.sources.map((s) => `<code>${esc(s)}</code>`).join(' ')}</dd>\n`
    : ''
}<dt>Generated</dt><dd>${esc((options.generatedAt ?? new Date()).toISOString())}</dd>
</dl>
</section>
${report.differing > 0 ? renderCharts(report, byChange) + renderGroups(report) + renderRows(report.differences, report.differing, maxRows) : ''}
</body>
</html>
`
}

function renderCharts(report: ReplayReport, byChange: Record<ReplayDifference['change'], number>): string {
  const kinds = CHANGES.map((change) => ({ label: change, segments: [{ change, count: byChange[change] }] }))
  const tools = new Map<string, Record<ReplayDifference['change'], number>>()
  for (const group of report.groups) {
    if (group.by !== 'tool') continue
    const counts = tools.get(group.key) ?? { 'allow→deny': 0, 'deny→allow': 0, reasons: 0, error: 0 }
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
  const sections = (['server', 'tool', 'subject', 'reason'] as const).map((by) => {
    const rows = new Map<string, Record<ReplayDifference['change'], number>>()
    for (const group of report.groups) {
      if (group.by !== by) continue
      const counts = rows.get(group.key) ?? { 'allow→deny': 0, 'deny→allow': 0, reasons: 0, error: 0 }
      counts[group.change] += group.count
      rows.set(group.key, counts)
    }
    const sorted = [...rows.entries()].sort(
      (a, b) => sum(b[1]) - sum(a[1]) || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0),
    )
    const body = sorted
      .slice(0, MAX_GROUP_ROWS)
      .map(
        ([key, counts]) =>
          `<tr><td>${esc(key)}</td>${CHANGES.map((c) => `<td class="n">${counts[c] ? fmt(counts[c]) : ''}</td>`).join('')}<td class="n">${fmt(sum(counts))}</td></tr>`,
      )
      .join('\n')
    const more =
      sorted.length > MAX_GROUP_ROWS
        ? `<p class="note">${fmt(sorted.length - MAX_GROUP_ROWS)} more rows not shown (use --format json).</p>`
        : ''
    return `<h3>${esc(GROUP_TITLES[by])}</h3>
<table id="group-${by}">
<thead><tr><th>${esc(by)}</th>${CHANGES.map((c) => `<th class="n">${esc(c)}</th>`).join('')}<th class="n">total</th></tr></thead>
<tbody>
${body}
</tbody>
</table>
${more}`
  })
  return `<section id="groups">
<h2>Grouped</h2>
${sections.join('\n')}
</section>
`
}

function renderRows(differences: readonly ReplayDifference[], differing: number, maxRows: number): string {
  const rows = differences
    .slice(0, maxRows)
    .map(
      (d) => `<tr class="change-${CHANGES.indexOf(d.change)}">
<td class="n">${fmt(d.seq)}</td>
<td><span class="badge" style="background:${COLORS[d.change] ?? '#555'}">${esc(d.change)}</span>${d.masked ? ' <span class="note" title="members of the input were erased before logging">masked</span>' : ''}</td>
<td>${esc(d.server ?? '')}</td>
<td>${esc(d.tool ?? d.method ?? '')}</td>
<td>${esc(d.subject ?? '')}</td>
<td>${esc(outcome(d.recorded))}</td>
<td>${esc(outcome(d.replayed))}</td>
<td><details><summary>${esc(`${basename(d.file)}:${d.line}`)}</summary><div class="diff"><div><h4>recorded</h4><pre>${esc(json(d.recorded))}</pre></div><div><h4>replayed</h4><pre>${esc(json(d.replayed))}</pre></div></div><p class="note">decision ${esc(d.decision_id)} in ${esc(d.file)}</p></details></td>
</tr>`,
    )
    .join('\n')
  const more =
    differing > Math.min(maxRows, differences.length)
      ? `<p class="note">${fmt(differing - Math.min(maxRows, differences.length))} more differences not listed (use --format json).</p>`
      : ''
  return `<section id="differences">
<h2>Differences, one by one</h2>
<table>
<thead><tr><th class="n">seq</th><th>change</th><th>server</th><th>tool / method</th><th>subject</th><th>recorded</th><th>replayed</th><th>where, and the decisions</th></tr></thead>
<tbody>
${rows}
</tbody>
</table>
${more}
</section>
`
}

/** `allow` / `deny 403 (tool_not_granted, …)` — what a reviewer scans for. */
function outcome(decision: unknown): string {
  const d = (decision ?? {}) as { allow?: unknown; status?: unknown; reasons?: unknown; error?: unknown }
  if (typeof d.error === 'string') return `error ${d.error}`
  const reasons = Array.isArray(d.reasons)
    ? d.reasons.map((r) => String((r as { code?: unknown })?.code ?? '?')).join(', ')
    : ''
  const verdict = d.allow === true ? 'allow' : d.allow === false ? 'deny' : 'no decision'
  return `${verdict}${typeof d.status === 'number' ? ` ${d.status}` : ''}${reasons ? ` (${reasons})` : ''}`
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

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Liberation Sans",sans-serif;color:#1b1b1b;margin:2rem auto;max-width:1200px;padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 .5rem}h2{font-size:1.2rem;border-bottom:1px solid #ddd;padding-bottom:.2rem;margin-top:2rem}h3{font-size:1rem;margin:1.2rem 0 .4rem}h4{margin:.2rem 0;font-size:.85rem}
#verdict{font-weight:600;padding:.6rem .8rem;border-radius:4px}#verdict.ok{background:#e8f5e9;color:#1b5e20}#verdict.bad{background:#ffebee;color:#b71c1c}#verdict.warn{background:#fff8e1;color:#8a4b00}
dl{display:grid;grid-template-columns:max-content 1fr;gap:.25rem 1.2rem}dt{font-weight:600}dd{margin:0}dd ul{margin:.2rem 0;padding-left:1.2rem}
table{border-collapse:collapse;width:100%;font-size:13px}th,td{border-bottom:1px solid #e3e3e3;padding:.3rem .5rem;text-align:left;vertical-align:top;word-break:break-word}th{background:#f5f5f5}.n{text-align:right;font-variant-numeric:tabular-nums}
.badge{color:#fff;border-radius:3px;padding:0 .4rem;white-space:nowrap}.note{color:#666;font-size:12px}
.legend{font-size:12px}.swatch{display:inline-block;width:.8rem;height:.8rem;margin:0 .3rem 0 .8rem;vertical-align:middle}
svg{font-size:12px;max-width:100%;height:auto}svg text{fill:#1b1b1b}svg .caption{font-weight:600}figure{margin:1rem 0}
details summary{cursor:pointer;white-space:nowrap}.diff{display:grid;grid-template-columns:1fr 1fr;gap:.5rem}pre{background:#f7f7f7;padding:.4rem;overflow:auto;max-height:24rem;font-size:12px;margin:0}
code{font-size:12px}
@media print{details{display:none}}
`
