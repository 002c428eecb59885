import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../src/package-root.js'
import { bareUrls, headingAnchors, linkTargets } from '../helpers/markdown.js'

const root = packageRoot()
const pages = [
  'README.md',
  ...readdirSync(join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
]
const read = (page: string) => readFileSync(join(root, page), 'utf8')

/** What is wrong with one link of `page`, or undefined when it resolves inside the repository. */
function brokenLink(page: string, target: string): string | undefined {
  if (/^[a-z][a-z0-9+.-]*:/i.test(target) || target.startsWith('//')) return 'points outside the repository'
  if (target.startsWith('/')) return 'is absolute (GitHub resolves it outside the repository)'
  const [path = '', anchor] = target.split('#', 2)
  const file = path === '' ? join(root, page) : resolve(root, dirname(page), decodeURIComponent(path))
  if (relative(root, file).startsWith('..')) return 'leaves the repository'
  let isFile: boolean
  try {
    isFile = statSync(file).isFile()
  } catch {
    return `names ${relative(root, file)}, which does not exist`
  }
  if (anchor === undefined) return undefined
  if (!isFile || !file.endsWith('.md')) return 'has an anchor into something that is not a Markdown file'
  return headingAnchors(readFileSync(file, 'utf8')).has(anchor)
    ? undefined
    : `names #${anchor}, which no heading of ${relative(root, file)} gives`
}

describe('the README and docs/ link only inside the repository', () => {
  it('finds the pages', () => {
    expect(pages).toContain('docs/README.md')
    expect(pages).toContain('docs/error-codes.md')
    expect(pages.length).toBeGreaterThan(10)
  })

  it.each(pages)('every link of %s is relative and reaches an existing file and heading', (page) => {
    const problems = linkTargets(read(page))
      .map((target) => [target, brokenLink(page, target)] as const)
      .filter(([, problem]) => problem !== undefined)
      .map(([target, problem]) => `${target}: ${problem}`)
    expect(problems).toEqual([])
  })

  it.each(pages)('%s has no bare address GitHub would turn into an outside link', (page) => {
    expect(bareUrls(read(page))).toEqual([])
  })

  it('docs/README.md indexes every page of docs/', () => {
    const indexed = new Set(linkTargets(read('docs/README.md')).map((t) => t.split('#')[0]))
    const unlisted = pages
      .filter((p) => p.startsWith('docs/') && p !== 'docs/README.md')
      .filter((p) => !indexed.has(p.slice('docs/'.length)))
    expect(unlisted).toEqual([])
  })

  it('the link checker itself catches what it should', () => {
    expect(brokenLink('README.md', 'https://example.com')).toMatch(/outside/)
    expect(brokenLink('README.md', 'mailto:a@example.com')).toMatch(/outside/)
    expect(brokenLink('README.md', '/docs/cli.md')).toMatch(/absolute/)
    expect(brokenLink('README.md', '../outside.md')).toMatch(/leaves/)
    expect(brokenLink('README.md', 'docs/no-such-page.md')).toMatch(/does not exist/)
    expect(brokenLink('README.md', 'docs/cli.md#no-such-heading')).toMatch(/no heading/)
    expect(brokenLink('README.md', 'docs/cli.md#exit-codes')).toBeUndefined()
    expect(brokenLink('docs/cli.md', '#exit-codes')).toBeUndefined()
    expect(linkTargets('see `[x](https://a.example)` and\n```\n[y](https://b.example)\n```\n')).toEqual([])
    expect(bareUrls('see https://a.example and `https://b.example`')).toEqual(['https://a.example'])
    expect([
      ...headingAnchors('# The PDP (`mcp-policy serve`)\n## Step-up: insufficient_scope\n## A\n## A\n'),
    ]).toEqual(['the-pdp-mcp-policy-serve', 'step-up-insufficient_scope', 'a', 'a-1'])
  })
})
