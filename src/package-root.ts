import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The directory of mcp-policy's own package.json, found by walking up from this file, so it is
 * right from `src/` (tests run the TypeScript), from `dist/src/` (the built CLI) and in an
 * installed package (`<prefix>/lib/node_modules/mcp-policy/dist/src/`). Only read from: the
 * reference policy and schemas (`rego/`, `bundles/default/`) ship in the package (`files` in
 * package.json); nothing is written below it except `.tools/bin` in a git checkout (see
 * `opaToolsDir`).
 */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    const manifest = join(dir, 'package.json')
    if (existsSync(manifest)) {
      const { name } = JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }
      if (name === 'mcp-policy') return dir
    }
    const parent = dirname(dir)
    if (parent === dir) throw new Error('mcp-policy package.json not found above the module')
    dir = parent
  }
}
