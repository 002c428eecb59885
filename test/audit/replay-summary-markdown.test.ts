import { describe, expect, it } from 'vitest'
import { diffObligations } from '../../src/audit/obligation-diff.js'
import { type ReplayDifference, type ReplayReport, renderReplaySummaryMarkdown } from '../../src/index.js'

// Values a caller chooses (tool names, arguments) or a token carries (subject): each tries to break
// out of its table cell or to be rendered as something other than text on a pull-request page.
const HOSTILE = {
  pipe: 'a|b',
  escapedPipe: 'a\\|b',
  trailingBackslash: 'end\\',
  newline: 'x\n| forged | row |',
  html: `<script>alert('pwned')</script><img src=x onerror=alert(1)>`,
  mention: '@security-team',
  issue: '#1',
  link: '[click](https://evil.example/)',
  url: 'https://evil.example/login',
  backticks: '``evil` code',
  emphasis: '**bold** _it_',
  bidi: 'user\u202Egpj.exe',
  nul: 'a\u0000b',
  empty: '',
  spaces: ' padded ',
  long: 'x'.repeat(500),
}
const hostile = Object.values(HOSTILE)

function difference(
  i: number,
  change: ReplayDifference['change'],
  over: Partial<ReplayDifference>,
): ReplayDifference {
  return {
    decision_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    seq: i,
    file: 'logs/decisions-a-000001.jsonl',
    line: i,
    server: 'github',
    tool: 'create_issue',
    method: 'tools/call',
    subject: 'bob',
    change,
    recorded: {
      allow: false,
      status: 403,
      reasons: [{ code: 'not_granted', message: 'Not granted: argument password=hunter2' }],
      obligations: {},
    },
    replayed: { allow: true, status: 200, reasons: [], obligations: {} },
    masked: false,
    widens: change === 'deny→allow',
    ...over,
  }
}

/** A same-allow difference of obligations, diffed as replayLog diffs them. */
function obligationsChanged(i: number, recorded: unknown, replayed: unknown): ReplayDifference {
  const obligations = diffObligations(recorded, replayed)
  return difference(i, 'obligations', {
    recorded,
    replayed,
    obligations,
    widens: obligations.some((o) => o.effect === 'widens'),
  })
}

function report(differences: ReplayDifference[], over: Partial<ReplayReport> = {}): ReplayReport {
  const changes = { 'allow→deny': 0, 'deny→allow': 0, obligations: 0, reasons: 0, error: 0 }
  for (const d of differences) changes[d.change]++
  const merged: ReplayReport = {
    mode: 'what-if',
    bundles: { recorded: [] },
    files: [],
    widened: differences.filter((d) => d.widens).length,
    events: 0,
    same: 100,
    differing: differences.length,
    changes,
    differences,
    missingBundles: {},
    rejected: 0,
    revocations: 0,
    withheld: 0,
    groups: [],
    ...over,
  }
  const missing = Object.values(merged.missingBundles).reduce((n, c) => n + c, 0)
  // As replayLog counts: every event is compared, refused, withheld or without its bundle.
  merged.events = merged.same + merged.differing + merged.rejected + merged.withheld + missing
  return merged
}

/** The Markdown with every inline code span removed: what GitHub would parse as Markdown and HTML. */
function outsideCodeSpans(markdown: string): string {
  return markdown.replace(/(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g, '')
}

/**
 * A table row's cells as GitHub (cmark-gfm) splits them, before any inline parsing, so code spans
 * included: a backslash and the character after it are one unit, and every other `|` ends a cell.
 */
function cells(row: string): string[] {
  const found: string[] = []
  let cell = ''
  for (let i = 0; i < row.length; i++) {
    if (row[i] === '\\') {
      cell += row.slice(i, i + 2)
      i++
    } else if (row[i] === '|') {
      found.push(cell)
      cell = ''
    } else cell += row[i]
  }
  found.push(cell)
  // The pipes that open and close the row leave an empty first and last piece.
  expect([found[0], found.at(-1)]).toEqual(['', ''])
  return found.slice(1, -1)
}

describe('renderReplaySummaryMarkdown', () => {
  it('gives the verdict, counts by kind of change and a table of the first differences', () => {
    const diffs = [
      difference(1, 'deny→allow', {}),
      difference(2, 'allow→deny', {
        subject: 'alice',
        recorded: { allow: true, status: 200, reasons: [], obligations: {} },
        replayed: {
          allow: false,
          status: 403,
          reasons: [
            { code: 'tool_unreviewed', message: 'm' },
            { code: 'not_granted', message: 'm' },
          ],
          obligations: {},
        },
        masked: true,
      }),
      obligationsChanged(
        3,
        {
          allow: true,
          status: 200,
          reasons: [],
          obligations: { require_approval: { reason: 'r' }, visible_tools: ['a', 'b'] },
        },
        { allow: true, status: 200, reasons: [], obligations: { visible_tools: ['b', 'c', 'd'] } },
      ),
      obligationsChanged(
        4,
        { allow: true, redactions: [{ path: '/content/0/text' }], reasons: [] },
        { allow: true, redactions: [], reasons: [] },
      ),
      difference(6, 'reasons', {
        recorded: { allow: false, status: 403, reasons: [{ code: 'a', message: 'm' }], obligations: {} },
        replayed: { allow: false, status: 403, reasons: [{ code: 'a', message: 'other' }], obligations: {} },
      }),
      difference(5, 'error', {
        replayed: {
          allow: false,
          status: 500,
          reasons: [{ code: 'ERR_ENGINE_TRAP', message: 'trap' }],
          obligations: {},
        },
      }),
    ]
    const md = renderReplaySummaryMarkdown(report(diffs, { withheld: 3, rejected: 2 }), {
      against: 'bundles/default.tar.gz',
      sources: ['samples/decisions'],
      gate: { failOn: 'change', verdict: 'failed', because: '5 decisions of 105 would change' },
    })
    expect(md).toMatch(/^## mcp-policy what-if: 6 of 106 decisions would change\n/)
    expect(md).toContain('**Gate failed** (`--fail-on change`): 5 decisions of 105 would change')
    expect(md).toContain(
      'Candidate bundle `bundles/default.tar.gz` against the log `samples/decisions`: 111 events.',
    )
    expect(md).toContain('| allow → deny | 1 |')
    expect(md).toContain('| deny → allow | 1 |')
    expect(md).toContain('| same allow, other obligations (permissions) | 2 |')
    expect(md).toContain('| same allow and obligations, other reasons or status | 1 |')
    // The flip to allow and both obligation changes grant more than the record.
    expect(md).toContain('3 of them grant more than the record')
    expect(md).toContain('| error: the replay failed closed | 1 |')
    expect(md).toContain('| unchanged | 100 |')
    expect(md).toContain(
      'Not compared: 3 tool-result judgements whose content the log withheld (recorded, not re-evaluated); 2 requests refused before any policy ran.',
    )
    expect(md).toContain(
      '| 1 | deny → allow | `00000000-0000-4000-8000-000000000001` | `tools/call` | `github/create_issue` | `bob` | deny 403 `not_granted` → allow 200 |',
    )
    expect(md).toContain(
      '| 2 | allow → deny | `00000000-0000-4000-8000-000000000002` *masked* | `tools/call` | `github/create_issue` | `alice` | allow 200 → deny 403 `tool_unreviewed`, `not_granted` |',
    )
    // Same allow: the obligations that moved, entry by entry, and whether that widens access.
    expect(md).toContain(
      '| 3 | same allow, other obligations (permissions) **widens** | `00000000-0000-4000-8000-000000000003` | `tools/call` | `github/create_issue` | `bob` | allow 200; `require_approval` −`{"reason":"r"}` (widens); `visible_tools` +`c` +`d` −`a` (widens) |',
    )
    expect(md).toContain('| allow 1 redaction → allow; `redactions` −`/content/0/text` (widens) |')
    // Same allow and obligations: the member that moved is named.
    expect(md).toContain('| deny 403 `a`; changed: `reasons` |')
    expect(md).toContain('deny 403 `not_granted` → deny 500 `ERR_ENGINE_TRAP` |')
    expect(md).toContain('*masked*: the log erased some of this request’s arguments')
    // Reason messages may quote arguments: never in the summary.
    expect(md).not.toContain('hunter2')
  })

  it('bounds the table and says how many are not listed', () => {
    const diffs = Array.from({ length: 40 }, (_, i) => difference(i + 1, 'deny→allow', {}))
    const md = renderReplaySummaryMarkdown(report(diffs, { differing: 2_500 }), { maxRows: 10 })
    expect(md).toContain('### First 10 of 2,500 differences')
    expect(md.split('\n').filter((l) => l.startsWith('| ') && l.includes('`00000000-'))).toHaveLength(10)
    expect(md).toContain('2,490 more not listed here')
    expect(md.length).toBeLessThan(6_000)
  })

  it('keeps every hostile value from the log as text in its own cell', () => {
    const diffs = hostile.flatMap((value, i) => [
      difference(2 * i + 1, 'deny→allow', { tool: value, server: value }),
      difference(2 * i + 2, 'allow→deny', {
        subject: value,
        method: value,
        recorded: { allow: true, status: 200, reasons: [], obligations: {} },
        replayed: { allow: false, status: 403, reasons: [{ code: value, message: value }], obligations: {} },
      }),
    ])
    const md = renderReplaySummaryMarkdown(report(diffs), { maxRows: 100 })
    const lines = md.split('\n')
    const header = lines.findIndex((l) => l.startsWith('| seq |'))
    const rows = lines.slice(header + 2, header + 2 + diffs.length)
    // One line per difference, seven cells each: no value ended a cell or started a row.
    expect(rows).toHaveLength(diffs.length)
    for (const row of rows) {
      expect(row).toMatch(/^\| \d+ \|/)
      expect(cells(row)).toHaveLength(7)
    }
    expect(lines[header + 2 + diffs.length]).toBe('')
    // Outside code spans nothing from the log is left to be parsed: no tag, mention, issue
    // reference, link, URL or emphasis (GitHub renders none of these inside code).
    const parsed = outsideCodeSpans(md)
    for (const pattern of [/</, /@security/, /#1\b/, /\]\(/, /https?:/, /\*\*bold/, /_it_/, /evil/])
      expect(parsed).not.toMatch(pattern)
    // Characters that would reorder or break the text are shown as escapes; long values are cut.
    expect(md.includes('\u0000')).toBe(false)
    expect(md.includes('\u202E')).toBe(false)
    expect(md).toContain('`user\\u{202e}gpj.exe`')
    expect(md).toContain('`x\\u{a}\\| forged \\| row \\|`')
    expect(md).toContain(`\`${'x'.repeat(80)}…\``)
    expect(md).not.toContain('x'.repeat(81))
    expect(md).toContain('``` ``evil` code ```')
    expect(md).toContain('`  padded  `')
    // Backslashes show doubled, so none can pair with the one escaping a pipe.
    expect(md).toContain('`a\\\\\\|b`')
    expect(md).toContain('`end\\\\`')
    expect(md).toContain('*(empty)*')
  })

  it('a log line of the wrong types (it is only as typed as whoever wrote it) still makes a safe row', () => {
    const odd = difference(1, 'deny→allow', {
      seq: '<b>1</b>' as unknown as number,
      decision_id: { id: '<i>' } as unknown as string,
      subject: 42 as unknown as string,
      method: ['tools/call'] as unknown as string,
      recorded: 'denied<br>',
      replayed: { allow: 'yes', reasons: [{ code: 7 }, '<u>'] },
    })
    const md = renderReplaySummaryMarkdown(report([odd]))
    const row = md.split('\n').find((l) => l.includes('deny → allow |') && l.startsWith('| `'))!
    expect(row).toBe(
      '| `<b>1</b>` | deny → allow | `{"id":"<i>"}` | `["tools/call"]` | `github/create_issue` | `42` | `denied<br>` → allow `yes` `7`, `<u>` |',
    )
  })

  it('a reproduce run reads as one, with bundles missing from the store', () => {
    const md = renderReplaySummaryMarkdown(
      report([], { mode: 'reproduce', same: 8, missingBundles: { 'sha256:abc': 2 } }),
    )
    expect(md).toMatch(/^## mcp-policy replay: 8 of 10 decisions reproduced\n/)
    expect(md).toContain('| unchanged (reproduced) | 8 |')
    expect(md).toContain('Not compared: 2 decisions whose bundle is not in the bundle store.')
    expect(md).not.toContain('Gate')
    expect(md).not.toContain('### ')
  })
})
