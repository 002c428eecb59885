import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { gatewayConfigSchema, pdpConfigSchema } from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'

const doc = readFileSync(join(packageRoot(), 'docs', 'configuration.md'), 'utf8')

interface SchemaNode {
  readonly properties?: Readonly<Record<string, SchemaNode>>
  readonly additionalProperties?: SchemaNode | boolean
  readonly oneOf?: readonly SchemaNode[]
}

/**
 * Every leaf member path a configuration schema accepts (`limits.maxBodyBytes`,
 * `servers.<id>.url`); a member that only groups others (`limits`) is covered by its children.
 */
function memberPaths(node: SchemaNode, prefix = ''): string[] {
  const paths: string[] = []
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const nested = memberPaths(child, `${prefix}${name}.`)
    paths.push(...(nested.length > 0 ? nested : [`${prefix}${name}`]))
  }
  for (const branch of node.oneOf ?? []) paths.push(...memberPaths(branch, prefix))
  // A map of named entries (servers.<id>) whose entries are objects with members of their own.
  if (typeof node.additionalProperties === 'object' && node.additionalProperties.properties)
    paths.push(...memberPaths(node.additionalProperties, `${prefix}<id>.`))
  return [...new Set(paths)]
}

/** True when the page names the member in code: `path`, `…​.leaf` or the bare `leaf`. */
function documented(path: string): boolean {
  const leaf = path.split('.').at(-1)!
  const spans = [...doc.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]!)
  return spans.some((span) => span === path || span === leaf || span.endsWith(`.${leaf}`))
}

describe('docs/configuration.md against the configuration schemas', () => {
  it.each([
    ['mcp-policy serve', pdpConfigSchema],
    ['mcp-policy gateway', gatewayConfigSchema],
  ])('names every member %s accepts', (_program, schema) => {
    const paths = memberPaths(schema as unknown as SchemaNode)
    expect(paths.length).toBeGreaterThan(10)
    expect(paths.filter((path) => !documented(path))).toEqual([])
  })

  it('the walk finds nested and per-server members', () => {
    const paths = memberPaths(gatewayConfigSchema as unknown as SchemaNode)
    expect(paths).toEqual(expect.arrayContaining(['limits.maxSessions', 'servers.<id>.url', 'log.ship.url']))
  })
})
