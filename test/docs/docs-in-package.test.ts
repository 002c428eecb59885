import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { join, posix } from 'node:path'
import { promisify } from 'node:util'
import { beforeAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../src/package-root.js'
import { linkTargets } from '../helpers/markdown.js'

const run = promisify(execFile)
const root = packageRoot()

// The README is the package's page on the registry and in node_modules: its links into docs/, and
// the docs' links to schemas and LICENSE, must reach files the package holds, not only the checkout.
describe('the documentation inside the npm package', () => {
  let files: Set<string>
  beforeAll(async () => {
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      maxBuffer: 16 * 1024 * 1024,
    })
    files = new Set((JSON.parse(stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path))
  }, 60_000)

  it('holds the README and every page of docs/', () => {
    expect(files.has('README.md')).toBe(true)
    expect(files.has('docs/README.md')).toBe(true)
    expect(files.has('docs/error-codes.md')).toBe(true)
  })

  it('every relative link of a packaged page reaches a packaged file or folder', () => {
    const pages = [...files].filter((p) => p.endsWith('.md'))
    const missing: string[] = []
    for (const page of pages)
      for (const target of linkTargets(readFileSync(join(root, page), 'utf8'))) {
        const path = target.split('#')[0]!
        if (path === '' || /^[a-z][a-z0-9+.-]*:/i.test(path)) continue
        const resolved = posix.normalize(posix.join(posix.dirname(page), decodeURIComponent(path)))
        const folder = `${resolved.replace(/\/$/, '')}/`
        if (!files.has(resolved) && ![...files].some((f) => f.startsWith(folder)))
          missing.push(`${page}: ${target}`)
      }
    expect(missing).toEqual([])
  })
})
