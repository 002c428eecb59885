import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'
import {
  DEFAULT_BUNDLE_DIR,
  DEFAULT_BUNDLE_FILE,
  DEFAULT_BUNDLE_STORE,
  DEFAULT_CHECKPOINT_KEY_DIR,
  DEFAULT_DEV_KEY_DIR,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_LOG_DIR,
  DEFAULT_PDP_PORT,
  DEFAULT_SERVER,
  DEFAULT_SERVERS,
  defaultGatewayConfig,
  defaultPdpConfig,
  defaultServerResource,
} from '../src/index.js'
import { packageRoot } from '../src/package-root.js'

// Defaults live in src/defaults.ts alone. When a command kept its own copy, `serve` and `normalize`
// disagreed on the default servers and a token minted from serve's hint failed in normalize.

const root = packageRoot()

function sources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) return sources(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** The string and number literals of a TypeScript file (comments and TSDoc are not code). */
function literals(text: string): string[] {
  const scanner = ts.createScanner(ts.ScriptTarget.Latest, true, ts.LanguageVariant.Standard, text)
  const found: string[] = []
  for (let token = scanner.scan(); token !== ts.SyntaxKind.EndOfFileToken; token = scanner.scan()) {
    if (
      token === ts.SyntaxKind.StringLiteral ||
      token === ts.SyntaxKind.NumericLiteral ||
      token === ts.SyntaxKind.NoSubstitutionTemplateLiteral ||
      token === ts.SyntaxKind.TemplateHead
    )
      found.push(scanner.getTokenValue())
  }
  return found
}

describe('one source for defaults (src/defaults.ts)', () => {
  it('no other file of src/ or cli/ spells a default path, port or server URL itself', () => {
    const spelled = new Set<string>([
      DEFAULT_BUNDLE_DIR,
      DEFAULT_BUNDLE_FILE,
      DEFAULT_BUNDLE_STORE,
      DEFAULT_CHECKPOINT_KEY_DIR,
      DEFAULT_DEV_KEY_DIR,
      DEFAULT_LOG_DIR,
      String(DEFAULT_GATEWAY_PORT),
      String(DEFAULT_PDP_PORT),
    ])
    const copies: string[] = []
    for (const file of [...sources(join(root, 'src')), ...sources(join(root, 'cli'))]) {
      if (file === join(root, 'src/defaults.ts')) continue
      for (const value of literals(readFileSync(file, 'utf8')))
        if (spelled.has(value) || value.startsWith('https://localhost/mcp'))
          copies.push(`${relative(root, file)}: ${JSON.stringify(value)}`)
    }
    expect(copies, 'import these from src/defaults.ts instead').toEqual([])
  })

  it('serve, normalize and test know the same servers, at the audience serve hints', () => {
    const { normalize } = defaultPdpConfig()
    expect(Object.keys(normalize.servers ?? {})).toEqual([...DEFAULT_SERVERS])
    expect(DEFAULT_SERVERS).toContain(DEFAULT_SERVER)
    for (const id of DEFAULT_SERVERS) {
      expect(normalize.servers?.[id]?.resource).toBe(defaultServerResource(id))
      expect(normalize.routes).toContainEqual({
        pathPrefix: `/mcp/${id}`,
        server: id,
        resource: defaultServerResource(id),
      })
    }
    const gateway = defaultGatewayConfig()
    expect(gateway.port).toBe(DEFAULT_GATEWAY_PORT)
    expect(gateway.bundle).toEqual(defaultPdpConfig().bundle)
    expect(gateway.log).toEqual(defaultPdpConfig().log)
    expect(gateway.devKeyDir).toBe(DEFAULT_DEV_KEY_DIR)
  })
})
