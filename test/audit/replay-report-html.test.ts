import { execFile } from 'node:child_process'
import { mkdtemp, readFile, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { DecisionLog, PolicyEngine, type ReplayReport, renderReplayHtml, replayLog } from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'
import { buildPolicy } from '../helpers/build-policy.js'
import { findChromium, runChromium } from '../helpers/chromium.js'
import { countPixels, decodePng } from '../helpers/png.js'

// Tools are allowed by data; the candidate moves grants and renames the deny reason, so a what-if
// has all three kinds of flips.
const policy = `package mcp

allowed if input.mcp.tool.name in data.allowed

decision := {"allow": true, "status": 200, "reasons": [], "obligations": {}} if allowed

decision := {"allow": false, "status": 403, "reasons": [{"code": data.deny_code, "message": "no grant"}], "obligations": {}} if not allowed
`
// Tool and subject names come from callers, so the log is untrusted: these must stay text.
const hostileTool = `<script>document.title='pwned'</script>`
const hostileSubject = `"><img src=x onerror="document.title='pwned'">`
const tools = ['get_issue', 'delete_repo', 'create_issue', 'list_repos', hostileTool]
const subjects = ['alice', 'bob', hostileSubject]
const RENDERED_TAGS = [
  'html',
  'head',
  'meta',
  'title',
  'style',
  'body',
  'h1',
  'h2',
  'h3',
  'h4',
  'p',
  'section',
  'dl',
  'dt',
  'dd',
  'ul',
  'li',
  'code',
  'span',
  'figure',
  'svg',
  'text',
  'rect',
  'table',
  'thead',
  'tbody',
  'tr',
  'th',
  'td',
  'details',
  'summary',
  'div',
  'pre',
]

describe('replay HTML report', async () => {
  const recorded = await buildPolicy({
    rego: { 'policy.rego': policy },
    data: { allowed: ['get_issue', 'delete_repo', hostileTool], deny_code: 'not_granted' },
    revision: 'v1',
  })
  const candidate = await buildPolicy({
    rego: { 'policy.rego': policy },
    data: { allowed: ['get_issue', 'create_issue'], deny_code: 'tool_not_granted' },
    revision: 'v2',
  })
  const engine = await PolicyEngine.fromBundleFile(recorded.path)
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-html-'))
  const log = await DecisionLog.open({ dir })
  for (let i = 0; i < 80; i++) {
    const input = {
      mcp: { method: 'tools/call', tool: { name: tools[i % tools.length], arguments: {} } },
      subject: { id: subjects[i % subjects.length] },
      server: { id: i % 2 ? 'github' : 'jira' },
    }
    const outcome = engine.decide(input)
    await log.append({
      path: 'mcp/decision',
      input,
      result: outcome.decision,
      bundles: {
        [outcome.bundle!.name]: { revision: outcome.bundle!.revision, digest: outcome.bundle!.digest },
      },
      nd_builtin_cache: outcome.ndBuiltinCache,
    })
  }
  await log.close()
  const whatIf = await replayLog([dir], { against: candidate.path })

  it('summarises, charts and groups the flips of a real what-if replay', () => {
    const html = renderReplayHtml(whatIf, { sources: [dir], against: candidate.path })
    expect(whatIf.differences.length).toBeGreaterThan(0)
    expect(new Set(whatIf.differences.map((d) => d.change))).toEqual(
      new Set(['allow→deny', 'deny→allow', 'reasons']),
    )
    expect(html).toContain(
      `<p id="verdict" class="warn">${whatIf.differences.length} of ${whatIf.events} decisions would change`,
    )
    expect(html).toContain(`<dd id="summary-events">${whatIf.events}</dd>`)
    expect(html).toContain(`<dd id="summary-same">${whatIf.same}</dd>`)
    expect(html).toMatch(new RegExp(`<dd id="summary-differences">${whatIf.differences.length} \\(`))
    expect(html).toContain('<svg id="chart-by-change"')
    expect(html).toContain('<svg id="chart-by-tool"')
    for (const by of ['server', 'tool', 'subject', 'reason'])
      expect(html).toContain(`<table id="group-${by}">`)
    // Each flip is one row of the differences table, and one bar segment per change kind.
    expect(html.match(/<tr class="change-/g)?.length).toBe(whatIf.differences.length)
    const deleteRepo = whatIf.differences.filter((d) => d.server === 'github' && d.tool === 'delete_repo')
    expect(deleteRepo.length).toBeGreaterThan(0)
    expect(html).toContain(
      `<tr><td><span class="nw">github/delete_repo</span></td><td class="n">${deleteRepo.length}</td>`,
    )
    // Reasons are grouped by the deny's code; a flip to allow counts under the reason it lost.
    const byReason = whatIf.groups.filter((g) => g.by === 'reason')
    expect(new Set(byReason.map((g) => g.key))).toEqual(new Set(['tool_not_granted', 'not_granted']))
    expect(byReason.find((g) => g.change === 'deny→allow')?.key).toBe('not_granted')
    expect(html).not.toContain('(allowed)')
  })

  it('escapes every string from the log: no element, attribute or external asset comes from it', () => {
    const html = renderReplayHtml(whatIf)
    expect(whatIf.differences.some((d) => d.tool === hostileTool)).toBe(true)
    expect(whatIf.differences.some((d) => d.subject === hostileSubject)).toBe(true)
    // Every tag in the page is one the renderer writes; none carries an event handler or a URL.
    const tags = html.match(/<[a-zA-Z][^>]*>/g) ?? []
    const names = new Set(tags.map((t) => /^<([a-zA-Z0-9]+)/.exec(t)![1]!.toLowerCase()))
    expect([...names].filter((n) => !RENDERED_TAGS.includes(n))).toEqual([])
    expect(tags.filter((t) => /\son\w+=|\s(src|href)=/i.test(t))).toEqual([])
    expect(html).not.toMatch(/@import|url\(|https?:/i)
    expect(html).toContain('&lt;script&gt;document.title=&#39;pwned&#39;&lt;/script&gt;')
    expect(html).toContain('&quot;&gt;&lt;img src=x onerror=&quot;')
  })

  it('reproduce mode with nothing to report: a verdict and the summary, no empty chart', async () => {
    const report = await replayLog([dir], { bundleStore: join(recorded.dir, 'store') })
    expect(report.same).toBe(80)
    const html = renderReplayHtml(report)
    expect(html).toContain('<p id="verdict" class="ok">All 80 decisions reproduced.</p>')
    expect(html).not.toContain('<svg')
    const missing: ReplayReport = { ...report, same: 0, missingBundles: { 'sha256:abc<b>': 80 } }
    const missingHtml = renderReplayHtml(missing)
    expect(missingHtml).toContain('<p id="verdict" class="bad">80 of 80 decisions did not reproduce.</p>')
    expect(missingHtml).toContain('<code class="token">sha256:abc&lt;b&gt;</code>: 80')
  })

  // A fresh machine may lack Chromium: the test runs where it is installed, and in CI (where
  // .ci/run installs it) a missing Chromium fails instead of skipping.
  const chromium = findChromium()
  describe.runIf(chromium !== undefined || process.env.CI)('in headless Chromium', () => {
    const browser = () => {
      if (!chromium) throw new Error('CI is set but no chromium on PATH (.ci/run installs it)')
      return chromium
    }

    it('mcp-policy replay --format html --out: the DOM shows the summary, and the hostile strings stay text', async () => {
      const out = join(dir, 'report.html')
      const cli = join(packageRoot(), 'dist', 'cli', 'main.js')
      const code = await new Promise<number>((resolve) =>
        execFile(
          process.execPath,
          [
            cli,
            'replay',
            dir,
            '--against',
            candidate.path,
            '--fail-on',
            'none',
            '--format',
            'html',
            '--out',
            out,
          ],
          (err) => resolve(err ? ((err as { code?: number }).code ?? 2) : 0),
        ),
      )
      expect(code).toBe(0)
      const dom = await runChromium(browser(), pathToFileURL(out).href, ['--dump-dom'])
      expect(dom).toContain('<title>mcp-policy replay report</title>')
      expect(dom).toContain(`<dd id="summary-events">${whatIf.events}</dd>`)
      expect(dom).toContain(`<dd id="summary-differences">${whatIf.differences.length} (`)
      expect(dom).toContain("&lt;script&gt;document.title='pwned'&lt;/script&gt;")
      expect(dom).not.toMatch(/<script|<img/)
      expect(dom).not.toContain('pwned</title>')
    })

    it('escaping alone keeps the page inert (the same report without its Content-Security-Policy)', async () => {
      const html = renderReplayHtml(whatIf).replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '')
      expect(html).not.toContain('Content-Security-Policy')
      const file = join(dir, 'no-csp.html')
      await writeFile(file, html)
      const dom = await runChromium(browser(), pathToFileURL(file).href, ['--dump-dom'])
      expect(dom).toContain('<title>mcp-policy replay report</title>')
      expect(dom).not.toMatch(/<script|<img/)
    })

    it('renders a screenshot in which the chart bars are drawn', async () => {
      const file = join(dir, 'shot.html')
      await writeFile(file, renderReplayHtml(whatIf))
      const png = join(dir, 'shot.png')
      await runChromium(browser(), pathToFileURL(file).href, [
        `--screenshot=${png}`,
        '--window-size=1280,1400',
      ])
      expect((await stat(png)).size).toBeGreaterThan(0)
      const image = decodePng(await readFile(png))
      expect(image).toMatchObject({ width: 1280, height: 1400 })
      // allow→deny bars are red, deny→allow orange: both kinds occurred, so both colours are painted.
      expect(countPixels(image, '#c62828')).toBeGreaterThan(100)
      expect(countPixels(image, '#ef6c00')).toBeGreaterThan(100)
    })
  })
})
