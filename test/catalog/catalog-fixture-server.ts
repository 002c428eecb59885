import { readFileSync, realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { Server } from '@modelcontextprotocol/sdk/server/index.js'
import { StdioServerTransport } from '@modelcontextprotocol/sdk/server/stdio.js'
import {
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
} from '@modelcontextprotocol/sdk/types.js'

/**
 * What the fixture server lists, verbatim: definitions are sent as written here (the low-level SDK
 * `Server` does not re-shape results), so a test can hand the importer names and fields no
 * `McpServer` would produce.
 */
export interface FixtureCatalog {
  tools?: Record<string, unknown>[]
  prompts?: Record<string, unknown>[]
  resources?: Record<string, unknown>[]
  resourceTemplates?: Record<string, unknown>[]
  /** Entries per page (default: all on one page). */
  pageSize?: number
  /** Answer every tools/list page with this same cursor, forever (a broken or hostile server). */
  endlessCursor?: string
}

/** An SDK `Server` that lists `catalog` (pages of `pageSize`, cursors `"<offset>"`). */
export function fixtureServer(catalog: FixtureCatalog): Server {
  const capabilities: Record<string, object> = {}
  if (catalog.tools) capabilities.tools = {}
  if (catalog.prompts) capabilities.prompts = {}
  if (catalog.resources || catalog.resourceTemplates) capabilities.resources = {}
  const server = new Server({ name: 'catalog-fixture', version: '1.0.0' }, { capabilities })
  const page = (items: Record<string, unknown>[], cursor: string | undefined) => {
    const size = catalog.pageSize ?? items.length
    const start = cursor === undefined ? 0 : Number(cursor)
    const end = start + size
    return { items: items.slice(start, end), next: end < items.length ? String(end) : undefined }
  }
  if (catalog.tools) {
    const tools = catalog.tools
    server.setRequestHandler(ListToolsRequestSchema, (request) => {
      if (catalog.endlessCursor) return { tools: [], nextCursor: catalog.endlessCursor }
      const { items, next } = page(tools, request.params?.cursor)
      return { tools: items, ...(next ? { nextCursor: next } : {}) } as never
    })
  }
  if (catalog.prompts) {
    const prompts = catalog.prompts
    server.setRequestHandler(ListPromptsRequestSchema, (request) => {
      const { items, next } = page(prompts, request.params?.cursor)
      return { prompts: items, ...(next ? { nextCursor: next } : {}) } as never
    })
  }
  if (catalog.resources || catalog.resourceTemplates) {
    const resources = catalog.resources ?? []
    const templates = catalog.resourceTemplates ?? []
    server.setRequestHandler(ListResourcesRequestSchema, (request) => {
      const { items, next } = page(resources, request.params?.cursor)
      return { resources: items, ...(next ? { nextCursor: next } : {}) } as never
    })
    server.setRequestHandler(ListResourceTemplatesRequestSchema, (request) => {
      const { items, next } = page(templates, request.params?.cursor)
      return { resourceTemplates: items, ...(next ? { nextCursor: next } : {}) } as never
    })
  }
  return server
}

// Run as a program (`node dist/test/catalog/catalog-fixture-server.js CATALOG.json`): serve the
// catalog in that file over stdio. Imported by a test, it only exports fixtureServer.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  const catalog = JSON.parse(readFileSync(process.argv[2]!, 'utf8')) as FixtureCatalog
  await fixtureServer(catalog).connect(new StdioServerTransport())
}
