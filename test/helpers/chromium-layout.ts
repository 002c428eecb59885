import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { runChromium } from './chromium.js'

/** A box on the page, in CSS pixels from the top left of the document. */
export interface Box {
  x: number
  y: number
  width: number
  height: number
}

/** What {@link measureLayout} found on the laid-out page. */
export interface PageLayout {
  /** Words (runs of non-space characters) in table cells that the layout split over lines. */
  broken: string[]
  /** Words checked (so a check that found nothing to check cannot pass). */
  words: number
  /** The viewport's width and the document's height. */
  width: number
  height: number
  /** The boxes of the first element matching each selector asked for (absent: none matched). */
  boxes: Record<string, Box | undefined>
}

// Runs in the page after layout. Every text node inside a table cell is split into words, and
// each word's line boxes are measured: a word whose boxes sit on more than one line was broken.
// Tokens that are meant to wrap anywhere (digests, paths: .token), preformatted JSON and text that
// is not rendered (a closed <details>) are left out.
const MEASURE = (selectors: readonly string[]) => `
(() => {
  const broken = []
  let words = 0
  for (const cell of document.querySelectorAll('td, th')) {
    const walker = document.createTreeWalker(cell, NodeFilter.SHOW_TEXT)
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      if (node.parentElement.closest('.token, pre, svg')) continue
      const re = /\\S+/g
      let m
      while ((m = re.exec(node.data))) {
        const range = document.createRange()
        range.setStart(node, m.index)
        range.setEnd(node, m.index + m[0].length)
        const rects = [...range.getClientRects()].filter((r) => r.width > 0 && r.height > 0)
        if (rects.length === 0) continue
        words++
        const tops = rects.map((r) => r.top)
        if (Math.max(...tops) - Math.min(...tops) > 4) broken.push(m[0])
      }
    }
  }
  const boxes = {}
  for (const selector of ${JSON.stringify(selectors)}) {
    const element = document.querySelector(selector)
    if (!element) continue
    const r = element.getBoundingClientRect()
    boxes[selector] = { x: r.left + scrollX, y: r.top + scrollY, width: r.width, height: r.height }
  }
  const out = document.createElement('pre')
  out.id = 'layout-check'
  out.hidden = true
  out.textContent = JSON.stringify({
    broken,
    words,
    width: document.documentElement.clientWidth,
    height: document.documentElement.scrollHeight,
    boxes,
  })
  document.body.append(out)
})()
`

/**
 * Lays out an HTML page in headless Chromium at a window width and measures it with a script:
 * which words in table cells are broken over lines, and where the elements matching `selectors`
 * are. The page's Content-Security-Policy (which forbids scripts) is dropped from this test-only
 * copy; `extraStyle` is appended to its styles. `screenshot` also writes a PNG of the same page
 * (the measuring script adds only a hidden element, so the layout is the one measured).
 */
export async function measureLayout(
  chromium: string,
  html: string,
  options: {
    width: number
    height?: number
    selectors?: readonly string[]
    extraStyle?: string
    screenshot?: string
  },
): Promise<PageLayout> {
  const page = html
    .replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, '')
    .replace('</head>', `${options.extraStyle ? `<style>${options.extraStyle}</style>` : ''}</head>`)
    .replace('</body>', `<script>${MEASURE(options.selectors ?? [])}</script></body>`)
  if (page.includes('Content-Security-Policy'))
    throw new Error('the page kept its CSP: the script would not run')
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-layout-'))
  try {
    const file = join(dir, 'page.html')
    await writeFile(file, page)
    const size = `--window-size=${options.width},${options.height ?? 1000}`
    const dom = await runChromium(chromium, pathToFileURL(file).href, ['--dump-dom', size])
    const found = /<pre id="layout-check" hidden="">([^<]*)<\/pre>/.exec(dom)
    if (!found) throw new Error('the measuring script did not run')
    const layout = JSON.parse(
      found[1]!
        .replace(/&quot;/g, '"')
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&nbsp;/g, '\u00a0')
        .replace(/&amp;/g, '&'),
    ) as PageLayout
    if (options.screenshot)
      await runChromium(chromium, pathToFileURL(file).href, [`--screenshot=${options.screenshot}`, size])
    return layout
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}
