import { describe, expect, it } from 'vitest'
import { formatCatalogDiff } from '../../src/catalog/catalog-diff.js'
import { mergeServerCatalog } from '../../src/catalog/merge-server-catalog.js'
import type { ServerCatalog } from '../../src/index.js'

function catalog(tools: ServerCatalog['entries']['tools']): ServerCatalog {
  return {
    transport: 'stdio',
    entries: { tools, prompts: [], resources: [], resource_templates: [] },
    skipped: [],
  }
}

const digest = (n: number) => `sha256:${String(n).repeat(64).slice(0, 64)}`

describe('mergeServerCatalog', () => {
  it('server-chosen names such as __proto__ become plain members and pollute no prototype', () => {
    const existing = JSON.parse('{"tools": {"__proto__": {"write": true, "digest": "sha256:old"}}}')
    const { server, changes } = mergeServerCatalog(
      existing,
      catalog([
        { name: '__proto__', digest: digest(1) },
        { name: 'constructor', digest: digest(2) },
        { name: 'hasOwnProperty', digest: digest(3) },
      ]),
    )
    const tools = server.tools as Record<string, Record<string, unknown>>
    expect(Object.getPrototypeOf(tools)).toBe(Object.prototype)
    expect(Object.keys(tools)).toEqual(['__proto__', 'constructor', 'hasOwnProperty'])
    expect(Object.getOwnPropertyDescriptor(tools, '__proto__')?.value).toEqual({
      write: true,
      digest: digest(1),
    })
    expect(tools.constructor).toEqual({ review: 'pending', digest: digest(2) })
    expect(({} as Record<string, unknown>).review).toBeUndefined()
    expect(changes.map((c) => [c.name, c.type])).toEqual([
      ['__proto__', 'changed'],
      ['constructor', 'added'],
      ['hasOwnProperty', 'added'],
    ])
    const roundTrip = JSON.parse(JSON.stringify(server)).tools
    expect(Object.getOwnPropertyDescriptor(roundTrip, '__proto__')?.value).toEqual({
      write: true,
      digest: digest(1),
    })
  })

  it('replaces only the catalog fields, keeps key order, and drops annotations the server stopped giving', () => {
    const existing = {
      classification: 'internal',
      tools: {
        b: {
          arguments: { x: { maximum: 3 } },
          annotations: { readOnlyHint: true },
          digest: 'sha256:old',
          write: true,
        },
        a: { review: 'pending', digest: digest(1) },
      },
    }
    const { server, changes } = mergeServerCatalog(
      existing,
      catalog([
        { name: 'a', digest: digest(1) },
        { name: 'b', digest: digest(2) },
      ]),
    )
    expect(server).toEqual({
      classification: 'internal',
      tools: {
        b: { arguments: { x: { maximum: 3 } }, digest: digest(2), write: true },
        a: { review: 'pending', digest: digest(1) },
      },
    })
    expect(Object.keys((server.tools as Record<string, object>).b!)).toEqual(['arguments', 'digest', 'write'])
    expect(changes).toEqual([
      {
        kind: 'tools',
        name: 'b',
        type: 'changed',
        oldDigest: 'sha256:old',
        newDigest: digest(2),
        hints: [{ hint: 'readOnlyHint', old: true }],
      },
    ])
    expect(formatCatalogDiff('s', changes)).toBe(
      `s: 0 added, 1 changed, 0 removed, 0 gone\n  ~ tool b  sha256:old → ${digest(2).slice(0, 19)}\n      annotations.readOnlyHint: true → (unset)\n`,
    )
  })

  it("records each tool's inputSchema as input_schema, replaces it, and drops it when the server stops sending one", () => {
    const schema = { type: 'object', properties: { limit: { type: 'integer' } } }
    const added = mergeServerCatalog(
      undefined,
      catalog([{ name: 'q', digest: digest(1), inputSchema: schema }]),
    )
    expect((added.server.tools as Record<string, unknown>).q).toEqual({
      review: 'pending',
      digest: digest(1),
      input_schema: schema,
    })
    const wider = { type: 'object', properties: { limit: { type: 'number' } } }
    const existing = {
      tools: { q: { arguments: { limit: { maximum: 9 } }, digest: digest(1), input_schema: schema } },
    }
    const replaced = mergeServerCatalog(
      existing,
      catalog([{ name: 'q', digest: digest(2), inputSchema: wider }]),
    )
    expect((replaced.server.tools as Record<string, unknown>).q).toEqual({
      arguments: { limit: { maximum: 9 } },
      digest: digest(2),
      input_schema: wider,
    })
    const dropped = mergeServerCatalog(existing, catalog([{ name: 'q', digest: digest(3) }]))
    expect((dropped.server.tools as Record<string, unknown>).q).not.toHaveProperty('input_schema')
  })

  it('adds no empty prompts/resources maps to a server that has none', () => {
    const { server } = mergeServerCatalog(undefined, catalog([]))
    expect(server).toEqual({ tools: {} })
  })
})
