import { copyFile, mkdtemp, readdir, readFile, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { describe, expect, it } from 'vitest'
import { logFileVerdicts } from '../../src/audit/log-file-verdicts.js'
import { type ReplayDifference, renderReplayHtml, replayLog, verifyLog } from '../../src/index.js'
import { findChromium, runChromium } from '../helpers/chromium.js'
import { measureLayout } from '../helpers/chromium-layout.js'
import { decodePng, shareOfColour } from '../helpers/png.js'
import { recordEvidence } from '../helpers/replay-evidence.js'
import { mcpPolicy } from '../helpers/run-cli.js'

describe('replay HTML report as evidence: both policies, the verified log files, obligation diffs', async () => {
  const e = await recordEvidence()
  const paths = [e.signedLog, e.tamperedLog, e.unsignedLog]
  const report = await replayLog(paths, { against: e.candidate.path, bundleStore: e.store })
  const find = (predicate: (d: ReplayDifference) => boolean) => {
    const found = report.differences.filter(predicate)
    expect(found.length).toBeGreaterThan(0)
    return found
  }

  it('obligation changes are their own kind, with a +/− diff per obligation and whether it widens access', () => {
    expect(report.changes['allow→deny']).toBeGreaterThan(0)
    expect(report.changes['deny→allow']).toBeGreaterThan(0)
    expect(report.changes.obligations).toBeGreaterThan(0)
    expect(report.changes.reasons).toBe(0)
    // tools/list: a tool gained and one lost; the allow stays.
    for (const d of find((d) => d.method === 'tools/list' && d.change === 'obligations'))
      expect(d).toMatchObject({
        widens: true,
        obligations: [
          { key: 'visible_tools', added: ['delete_repo'], removed: ['list_repos'], effect: 'widens' },
        ],
      })
    // create_issue for alice: the approval dropped (widens), the token masked as well (narrows).
    const isDecision = (d: ReplayDifference) => 'obligations' in (d.recorded as object)
    for (const d of find((d) => d.tool === 'create_issue' && d.subject === 'alice' && isDecision(d)))
      expect(d.obligations).toEqual(
        expect.arrayContaining([
          {
            key: 'require_approval',
            added: [],
            removed: [{ reason: 'a write needs a second person' }],
            effect: 'widens',
          },
        ]),
      )
    // Masking more on a request the policy denies anyway: a change that narrows, not a widening.
    for (const d of find(
      (d) => d.change === 'obligations' && d.subject === 'bob' && d.tool === 'create_issue',
    ))
      expect(d).toMatchObject({
        widens: false,
        masked: true,
        obligations: [
          { key: 'redact', added: ['/mcp/tool/arguments/token'], removed: [], effect: 'narrows' },
        ],
      })
    // A tool result no longer redacted: named by the request it answers.
    const unredacted = find((d) => d.obligations?.some((o) => o.key === 'redactions') ?? false)
    for (const d of unredacted)
      expect(d).toMatchObject({
        change: 'obligations',
        widens: true,
        server: 'github',
        tool: 'create_issue',
        obligations: [
          {
            key: 'redactions',
            added: [],
            removed: [{ path: '/result/content/0/text', replacement: '[REDACTED]' }],
            effect: 'widens',
          },
        ],
      })
    expect(report.widened).toBe(report.differences.filter((d) => d.widens).length)
    expect(report.widened).toBeGreaterThan(report.changes['deny→allow'])
  })

  it('groups by the deny’s reason (never an "(allowed)" row) and by obligation entry', () => {
    const reasons = report.groups.filter((g) => g.by === 'reason').map((g) => g.key)
    expect(reasons).toEqual(expect.arrayContaining(['not_granted', 'edited']))
    expect(reasons.every((k) => /^[a-z_,]+$/.test(k))).toBe(true)
    expect(report.groups.map((g) => g.key)).not.toContain('(allowed)')
    const obligations = Object.fromEntries(
      report.groups.filter((g) => g.by === 'obligation').map((g) => [g.key, g.count]),
    )
    const lists = report.differences.filter(
      (d) => d.change === 'obligations' && d.method === 'tools/list',
    ).length
    expect(obligations).toMatchObject({
      'visible_tools +delete_repo': lists,
      'visible_tools −list_repos': lists,
      'redact +/mcp/tool/arguments/token': expect.any(Number),
      'require_approval −{"reason":"a write needs a second person"}': expect.any(Number),
      'redactions −{"path":"/result/content/0/text","replacement":"[REDACTED]"}': expect.any(Number),
    })
  })

  it('names both policies by name, revision, digest and build time (the manifest’s, written by the build)', async () => {
    expect(e.recorded.buildTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(report.bundles.recorded).toEqual([
      {
        name: 'default',
        digest: e.recorded.digest,
        revision: 'policy-v1',
        buildTime: e.recorded.buildTime,
        source: e.recorded.storedAt,
        events: report.events,
      },
    ])
    expect(report.bundles.candidate).toEqual({
      name: 'default',
      digest: e.candidate.digest,
      revision: 'policy-v2-candidate',
      buildTime: e.candidate.buildTime,
      source: e.candidate.path,
    })
    const logNames = await Promise.all(
      paths.map(async (p) => (await readdir(p)).filter((n) => n.endsWith('.jsonl'))),
    )
    expect(report.files.map((f) => basename(f.path))).toEqual(logNames.flat())
    expect(report.files.reduce((n, f) => n + f.events, 0)).toBe(report.events)
    // Reproduce mode reads the recorded bundle from the store; without the store the log's own
    // digest and revision still name it, and the build time is not invented.
    const reproduced = await replayLog([e.signedLog], { bundleStore: e.store })
    expect(reproduced.bundles.recorded[0]).toMatchObject({
      buildTime: e.recorded.buildTime,
      source: e.recorded.storedAt,
    })
    const storeless = await replayLog([e.signedLog], { bundleStore: join(e.dir, 'no-store') })
    expect(storeless.bundles.recorded).toEqual([
      { name: 'default', digest: e.recorded.digest, revision: 'policy-v1', events: storeless.events },
    ])
    const html = renderReplayHtml(storeless)
    expect(html).toContain('<span class="note">not recorded</span>')
    expect(html).toContain('<span class="note">not in the bundle store</span>')
  })

  it('puts the verification result file by file: verified, tampered with its line, unverified without a signed checkpoint or a key, unchecked by name', async () => {
    const { createPublicKey } = await import('node:crypto')
    const key = createPublicKey(await readFile(e.publicKey, 'utf8'))
    const files = report.files.map((f) => f.path)
    const withKey = logFileVerdicts(files, await verifyLog(paths, { key }), { keyGiven: true })
    expect(withKey.map((v) => v.status)).toEqual(['verified', 'tampered', 'unverified'])
    expect(withKey[0]!.detail).toMatch(
      /^intact: verified with the checkpoint key \(chain .+ signed through seq \d+\)$/,
    )
    expect(withKey[1]!.detail).toBe(
      `TAMPERED: hash_mismatch at line ${e.tamperedLine} (seq ${e.tamperedLine}): event content does not match its hash (edited)`,
    )
    expect(withKey[1]!.path).toBe(e.tamperedFile)
    expect(withKey[2]!.detail).toMatch(/^NOT VERIFIED: no finding, but chain .+ has no signed checkpoint/)
    const withoutKey = logFileVerdicts(files, await verifyLog(paths), { keyGiven: false })
    expect(withoutKey.map((v) => v.status)).toEqual(['unverified', 'tampered', 'unverified'])
    expect(withoutKey[0]!.detail).toMatch(/^NOT VERIFIED \(no checkpoint key\): no finding, but/)
    // A file that is not named as the log names its files is replayed but cannot be verified.
    const renamed = join(await mkdtemp(join(tmpdir(), 'mcp-policy-renamed-')), 'copy.jsonl')
    await copyFile(files[0]!, renamed)
    const error = await verifyLog([renamed]).catch((err: unknown) => err)
    expect(logFileVerdicts([renamed], error, { keyGiven: false })).toEqual([
      expect.objectContaining({
        status: 'unchecked',
        detail: expect.stringMatching(/^NOT VERIFIED: not a decision-log file name/),
      }),
    ])
  })

  // A fresh machine may lack Chromium: the tests run where it is installed, and in CI (where
  // .ci/run installs it) a missing Chromium fails instead of skipping.
  const chromium = findChromium()
  describe.runIf(chromium !== undefined || process.env.CI)('in headless Chromium', async () => {
    const browser = () => {
      if (!chromium) throw new Error('CI is set but no chromium on PATH (.ci/run installs it)')
      return chromium
    }
    const out = join(e.dir, 'evidence.html')
    const cli = await mcpPolicy([
      'replay',
      ...paths,
      '--against',
      e.candidate.path,
      '--bundle-store',
      e.store,
      '--fail-on',
      'none',
      '--format',
      'html',
      '--out',
      out,
      '--key',
      e.publicKey,
    ])
    const html = await readFile(out, 'utf8').catch(() => '')

    it('mcp-policy replay --format html --key: the rendered DOM names both policies, each log file’s verification and the +/− rows', async () => {
      expect(cli.code, cli.stderr).toBe(0)
      const dom = await runChromium(browser(), pathToFileURL(out).href, ['--dump-dom'])
      // Both policies, by revision, digest and build time.
      const row = (role: string) => new RegExp(`<tr class="policy-${role}">(.*?)</tr>`).exec(dom)?.[1] ?? ''
      expect(row('recorded')).toContain('policy-v1')
      expect(row('recorded')).toContain(e.recorded.digest)
      expect(row('recorded')).toContain(e.recorded.buildTime)
      expect(row('recorded')).toContain(`<td class="n">${report.events}</td>`)
      expect(row('candidate')).toContain('policy-v2-candidate')
      expect(row('candidate')).toContain(e.candidate.digest)
      expect(row('candidate')).toContain(e.candidate.buildTime)
      // Each log file with its verification result; the tampered one names the edited line.
      const logRows = [...dom.matchAll(/<tr class="log-(\w+)">(.*?)<\/tr>/g)]
      expect(logRows.map((m) => m[1])).toEqual(['verified', 'tampered', 'unverified'])
      expect(logRows[0]![2]).toContain('intact (verified)')
      expect(logRows[1]![2]).toContain(`TAMPERED: hash_mismatch at line ${e.tamperedLine}`)
      expect(logRows[1]![2]).toContain(basename(e.tamperedFile))
      expect(logRows[2]![2]).toContain('NOT VERIFIED')
      expect(dom).toContain('<p id="log-verdict" class="bad">The log is NOT intact: 1 of 3 files TAMPERED')
      // The obligation diffs: + and − lines under each difference, with the effect.
      expect(dom).toMatch(
        /<div class="pm"><code>visible_tools<\/code> <span class="effect effect-widens">widens access<\/span><ul><li class="add"><span class="sign">\+<\/span> <span class="token">delete_repo<\/span><\/li><li class="del"><span class="sign">−<\/span> <span class="token">list_repos<\/span><\/li><\/ul><\/div>/,
      )
      expect(dom).toContain(
        '<li class="del"><span class="sign">−</span> <span class="token">{"reason":"a write needs a second person"}</span></li>',
      )
      expect(dom).toContain(
        '<code>redact</code> <span class="effect effect-narrows">narrows access</span><ul><li class="add">',
      )
      expect(dom.match(/<tr class="obligation-diff">/g)?.length).toBe(
        report.differences.filter((d) => d.obligations).length,
      )
      expect(dom).toContain('<table id="group-obligation">')
      expect(dom).not.toContain('(allowed)')
      expect(dom).not.toMatch(/word-break:\s*break-(all|word)/)
    })

    it('no word in a table cell is broken, at a laptop and at a narrow window; the old stylesheet’s break-word did break them', async () => {
      for (const width of [1280, 760]) {
        const layout = await measureLayout(browser(), html, { width })
        expect(layout.width).toBe(width)
        expect(layout.words).toBeGreaterThan(500)
        expect(layout.broken, `at ${width}px`).toEqual([])
      }
      // The check can fail: the cells as they were styled before (word-break: break-word, and
      // nothing kept on one line) split words at the narrow width.
      const before = await measureLayout(browser(), html, {
        width: 760,
        extraStyle:
          'th,td{word-break:break-word!important}.nw,th,.n,.badge,.status,.effect{white-space:normal!important}',
      })
      expect(before.broken.length).toBeGreaterThan(0)
    })

    it('a screenshot shows the verification results and the +/− rows painted where the layout puts them', async () => {
      const png = join(e.dir, 'evidence.png')
      const selectors = {
        '.status-verified': '#2e7d32',
        '.status-tampered': '#b71c1c',
        '.status-unverified': '#f9a825',
        '#group-obligation tr.add td': '#d7f5dd',
        '#group-obligation tr.del td': '#fddcdc',
        '#differences li.add': '#d7f5dd',
        '#differences li.del': '#fddcdc',
      }
      const height = 4000
      const layout = await measureLayout(browser(), html, {
        width: 1280,
        height,
        selectors: [
          ...Object.keys(selectors),
          '.policy-candidate code.digest',
          '.policy-recorded code.digest',
        ],
        screenshot: png,
      })
      expect((await stat(png)).size).toBeGreaterThan(0)
      const image = decodePng(await readFile(png))
      expect(image).toMatchObject({ width: 1280, height })
      for (const [selector, colour] of Object.entries(selectors)) {
        const box = layout.boxes[selector]
        expect(box, selector).toBeDefined()
        expect(box!.y + box!.height, `${selector} lies within the screenshot`).toBeLessThan(height)
        const { share, pixels } = shareOfColour(image, box!, colour)
        expect(pixels, selector).toBeGreaterThan(100)
        expect(share, `${selector} painted ${colour}`).toBeGreaterThan(0.4)
      }
      // The green of a + line is not the red of a − line: the check tells them apart.
      expect(shareOfColour(image, layout.boxes['#differences li.add']!, '#fddcdc').share).toBeLessThan(0.05)
      // Both digests are drawn as text (dark pixels on the white table).
      for (const selector of ['.policy-candidate code.digest', '.policy-recorded code.digest']) {
        const box = layout.boxes[selector]!
        expect(box.width * box.height).toBeGreaterThan(1000)
        expect(shareOfColour(image, box, '#1b1b1b', 90).share, selector).toBeGreaterThan(0.05)
        expect(shareOfColour(image, box, '#ffffff', 0).share, selector).toBeGreaterThan(0.3)
      }
    })
  })
})
