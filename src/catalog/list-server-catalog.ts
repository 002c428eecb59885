import type { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { z } from 'zod'
import { McpPolicyError } from '../errors.js'
import { type CatalogKind, catalogDigest } from './catalog-digest.js'
import { type CatalogSource, type ConnectOptions, connectMcpClient } from './connect-mcp-client.js'
import { printable } from './printable.js'

/** The behaviour hints of a tool's annotations (MCP `ToolAnnotations`), as the server gave them. */
export interface ToolHints {
  readOnlyHint?: boolean
  destructiveHint?: boolean
  idempotentHint?: boolean
  openWorldHint?: boolean
}

/**
 * The hints recorded per tool, in the order they are written to data.
 *
 * @internal
 */
export const TOOL_HINTS = ['readOnlyHint', 'destructiveHint', 'idempotentHint', 'openWorldHint'] as const

/** One tool, prompt, resource or resource template as the catalog records it. */
export interface CatalogEntry {
  /** Its key in data: the tool or prompt name, the resource URI or URI template. */
  name: string
  /** {@link catalogDigest} of its definition. */
  digest: string
  /** Tools only, when the server gave any of the hints. */
  annotations?: ToolHints
  /**
   * Tools only: the `inputSchema` exactly as the server sent it, when it sent one. Recorded as
   * `input_schema`, it is what a call's arguments are validated against before policy.
   */
  inputSchema?: unknown
}

/** An entry the catalog does not record, and why (it stays unknown to the policy, so denied). */
export interface SkippedEntry {
  kind: CatalogKind
  /** The start of its name, for the report. */
  name: string
  reason: string
}

/** What a server lists: every entry of every kind, in the server's order. */
export interface ServerCatalog {
  transport: 'stdio' | 'streamable-http' | 'sse'
  /** `serverInfo` from initialize, for the report (not recorded: a version bump alone is no change). */
  server?: { name: string; version: string }
  entries: Record<CatalogKind, CatalogEntry[]>
  skipped: SkippedEntry[]
}

/** Bounds on what one import reads from a server. */
export interface CatalogLimits {
  /** Pages per list (default 100): a server whose `nextCursor` never ends must not hold the import. */
  maxPages: number
  /** Entries per kind (default 10,000). */
  maxEntries: number
  /**
   * Longest name (UTF-16 code units, default 1024) recorded as a key in data. MCP asks tool names to
   * be at most 128 characters; a longer one is skipped and reported, and stays denied as unknown.
   */
  maxNameLength: number
}

/**
 * The default {@link CatalogLimits}.
 *
 * @internal
 */
export const DEFAULT_CATALOG_LIMITS: Readonly<CatalogLimits> = {
  maxPages: 100,
  maxEntries: 10_000,
  maxNameLength: 1024,
}

/**
 * Options of {@link listServerCatalog}.
 *
 * @internal
 */
export interface ListCatalogOptions extends ConnectOptions {
  limits?: Partial<CatalogLimits>
}

interface ListMethod {
  kind: CatalogKind
  method: 'tools/list' | 'prompts/list' | 'resources/list' | 'resources/templates/list'
  /** The result's array member. */
  member: string
  /** The definition's key field. */
  key: string
  capability: 'tools' | 'prompts' | 'resources'
}

const LIST_METHODS: readonly ListMethod[] = [
  { kind: 'tools', method: 'tools/list', member: 'tools', key: 'name', capability: 'tools' },
  { kind: 'prompts', method: 'prompts/list', member: 'prompts', key: 'name', capability: 'prompts' },
  { kind: 'resources', method: 'resources/list', member: 'resources', key: 'uri', capability: 'resources' },
  {
    kind: 'resource_templates',
    method: 'resources/templates/list',
    member: 'resourceTemplates',
    key: 'uriTemplate',
    capability: 'resources',
  },
]

// The SDK's own result schemas drop fields they do not know (and compile every outputSchema with
// ajv in listTools): a loose schema keeps each definition exactly as the server sent it, so the
// digest covers what the server said, and an odd schema cannot fail the listing.
const pageSchema = z.looseObject({ nextCursor: z.string().optional() })

/**
 * Connects to an MCP server with the official SDK client and lists its tools, prompts, resources
 * and resource templates (each kind only when the server declares the capability), following
 * `nextCursor` up to the page bound.
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_CATALOG_CONNECT_FAILED` when the server cannot be started or
 *   initialized; `ERR_CATALOG_LIST_INVALID` when a list request fails or times out, an answer is
 *   malformed, a name occurs twice, a cursor repeats, or a bound is exceeded. A partial catalog is
 *   never returned: recorded as complete it would report every missing tool as gone.
 * @example
 * ```ts
 * const catalog = await listServerCatalog({ kind: 'stdio', command: 'node', args: ['server.js', '/srv'] })
 * for (const tool of catalog.entries.tools) console.log(tool.name, tool.digest)
 * ```
 */
export async function listServerCatalog(
  source: CatalogSource,
  options: ListCatalogOptions = {},
): Promise<ServerCatalog> {
  const limits = { ...DEFAULT_CATALOG_LIMITS, ...options.limits }
  const timeout = options.timeoutMs ?? 30_000
  const connection = await connectMcpClient(source, { timeoutMs: timeout })
  try {
    const { client } = connection
    const capabilities = client.getServerCapabilities() ?? {}
    const version = client.getServerVersion()
    const catalog: ServerCatalog = {
      transport: connection.transport,
      ...(version ? { server: { name: String(version.name), version: String(version.version) } } : {}),
      entries: { tools: [], prompts: [], resources: [], resource_templates: [] },
      skipped: [],
    }
    for (const list of LIST_METHODS) {
      if (!capabilities[list.capability]) continue
      for (const definition of await listAll(client, list, limits, timeout)) {
        const name = definition[list.key] as string
        if (name.length > limits.maxNameLength) {
          catalog.skipped.push({
            kind: list.kind,
            name: `${name.slice(0, 40)}…`,
            reason: `name of ${name.length} characters, longer than ${limits.maxNameLength}`,
          })
          continue
        }
        catalog.entries[list.kind].push(entry(list, name, definition))
      }
    }
    return catalog
  } finally {
    await connection.close()
  }
}

function entry(list: ListMethod, name: string, definition: Record<string, unknown>): CatalogEntry {
  let digest: string
  try {
    digest = catalogDigest(list.kind, definition)
  } catch (err) {
    throw invalid(
      `${list.method}: the definition of ${quoted(name)} cannot be digested: ${(err as Error).message}`,
    )
  }
  if (list.kind !== 'tools') return { name, digest }
  const annotations = definition.annotations
  const hints: ToolHints = {}
  if (annotations && typeof annotations === 'object' && !Array.isArray(annotations))
    for (const hint of TOOL_HINTS) {
      const value = (annotations as Record<string, unknown>)[hint]
      if (Object.hasOwn(annotations, hint) && typeof value === 'boolean') hints[hint] = value
    }
  const found: CatalogEntry =
    Object.keys(hints).length > 0 ? { name, digest, annotations: hints } : { name, digest }
  if (Object.hasOwn(definition, 'inputSchema') && definition.inputSchema !== undefined)
    found.inputSchema = definition.inputSchema
  return found
}

/** Every definition of one list, pages followed; each has a string key field, none twice. */
async function listAll(
  client: Client,
  list: ListMethod,
  limits: CatalogLimits,
  timeout: number,
): Promise<Record<string, unknown>[]> {
  const definitions: Record<string, unknown>[] = []
  const names = new Set<string>()
  const cursors = new Set<string>()
  let cursor: string | undefined
  for (let page = 1; ; page++) {
    let result: z.infer<typeof pageSchema>
    try {
      result = await client.request(
        { method: list.method, params: cursor === undefined ? {} : { cursor } },
        pageSchema,
        { timeout },
      )
    } catch (err) {
      throw invalid(
        `${list.method} failed${page > 1 ? ` on page ${page}` : ''}: ${(err as Error).message}`,
        err,
      )
    }
    const items = result[list.member]
    if (!Array.isArray(items)) throw invalid(`${list.method}: the result has no '${list.member}' array`)
    for (const item of items) {
      const key = item && typeof item === 'object' && !Array.isArray(item) ? item[list.key] : undefined
      if (typeof key !== 'string')
        throw invalid(`${list.method}: an entry without a string '${list.key}': ${preview(item)}`)
      if (names.has(key)) throw invalid(`${list.method}: ${quoted(key)} is listed twice`)
      names.add(key)
      definitions.push(item as Record<string, unknown>)
    }
    if (definitions.length > limits.maxEntries)
      throw invalid(`${list.method}: more than ${limits.maxEntries} entries`)
    // An empty cursor ends the list like an absent one: some servers send "" on the last page.
    if (result.nextCursor === undefined || result.nextCursor === '') return definitions
    if (page >= limits.maxPages) throw invalid(`${list.method}: more than ${limits.maxPages} pages`)
    if (cursors.has(result.nextCursor)) throw invalid(`${list.method}: the server repeated a cursor`)
    cursors.add(result.nextCursor)
    cursor = result.nextCursor
  }
}

function invalid(message: string, cause?: unknown): McpPolicyError {
  return new McpPolicyError('ERR_CATALOG_LIST_INVALID', printable(message), cause ? { cause } : undefined)
}

function quoted(name: string): string {
  return JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name)
}

function preview(value: unknown): string {
  const text = JSON.stringify(value) ?? String(value)
  return text.length > 120 ? `${text.slice(0, 120)}…` : text
}
