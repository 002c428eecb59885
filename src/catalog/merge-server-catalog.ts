import { canonicalJson } from '../canonical-json.js'
import { McpPolicyError } from '../errors.js'
import type { CatalogKind } from './catalog-digest.js'
import { type CatalogEntry, type ServerCatalog, TOOL_HINTS, type ToolHints } from './list-server-catalog.js'
import { printable } from './printable.js'

/**
 * The kinds, in the order they are merged and reported.
 *
 * @internal
 */
export const CATALOG_KINDS: readonly CatalogKind[] = ['tools', 'prompts', 'resources', 'resource_templates']

/**
 * The mark a tool gets when an import first sees it: `"review": "pending"`. The reference policy
 * denies a marked tool (`tool_unreviewed`) and leaves it out of `visible_tools`, whatever grant
 * matches its name, until a person has written its argument rules and deleted the mark.
 *
 * @internal
 */
export const REVIEW_MARK = { field: 'review', pending: 'pending' } as const

/** A changed annotation hint of a tool (undefined: the hint was not given). */
export interface HintChange {
  hint: keyof ToolHints
  old?: boolean
  new?: boolean
}

/**
 * One difference between the data and the server: `added` (new, recorded; tools are marked for
 * review), `changed` (digest or annotations differ), `gone` (in data, no longer listed; kept),
 * `removed` (gone and pruned).
 */
export interface CatalogChange {
  kind: CatalogKind
  name: string
  type: 'added' | 'changed' | 'gone' | 'removed'
  oldDigest?: string
  newDigest?: string
  /** Tools: the hints that differ (added: every hint given). */
  hints?: HintChange[]
}

/** The merged server entry and what changed. */
export interface CatalogMerge {
  /** The server's new `mcp_data.servers[id]` value. */
  server: Record<string, unknown>
  changes: CatalogChange[]
}

/**
 * Merges a server's catalog into its entry in bundle data: for every listed tool, prompt,
 * resource and template the catalog fields `digest`, and for tools `annotations` and
 * `input_schema` (the `inputSchema` the server declared, which a call's arguments are validated
 * against before policy), are set; every other field
 * of an entry (`write`, `step_up`, `high_risk`, `arguments`, `sensitive_arguments`, `review`, …)
 * and of the server (`classification`, `write_window`, …) is policy a person wrote and is kept.
 * Existing entries keep their order and new ones follow in the server's order. An entry the server
 * no longer lists stays (reported `gone`) unless `prune` is set. New tools get the
 * {@link REVIEW_MARK}; an existing tool keeps whatever review state a person left it in. A kind
 * the server has none of is only written when data already had it (tools always are).
 *
 * Keys come from the server and may be anything (`__proto__`, `constructor`): entries are built
 * with `Object.fromEntries` and looked up with `Object.hasOwn`, never by assignment or `in`.
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_CATALOG_DATA_INVALID` when the existing entry, a kind's map or one of
 *   its entries is not a JSON object.
 * @example
 * ```ts
 * const { server, changes } = mergeServerCatalog(data.mcp_data.servers.filesystem, catalog)
 * ```
 */
export function mergeServerCatalog(
  existing: unknown,
  catalog: ServerCatalog,
  options: { prune?: boolean } = {},
): CatalogMerge {
  const server = new Map(Object.entries(existing === undefined ? {} : asObject(existing, 'the server entry')))
  const changes: CatalogChange[] = []
  for (const kind of CATALOG_KINDS) {
    const before = server.has(kind) ? asObject(server.get(kind), kind) : undefined
    const listed = catalog.entries[kind]
    if (before === undefined && listed.length === 0 && kind !== 'tools') continue
    server.set(kind, mergeKind(kind, before ?? {}, listed, options.prune === true, changes))
  }
  return { server: Object.fromEntries(server), changes }
}

function mergeKind(
  kind: CatalogKind,
  before: Record<string, unknown>,
  listed: readonly CatalogEntry[],
  prune: boolean,
  changes: CatalogChange[],
): Record<string, unknown> {
  const byName = new Map(listed.map((entry) => [entry.name, entry]))
  const merged = new Map<string, unknown>()
  for (const [name, value] of Object.entries(before)) {
    const recorded = asObject(value, `${kind} entry ${printable(JSON.stringify(name), false)}`)
    const oldDigest = typeof recorded.digest === 'string' ? recorded.digest : undefined
    const now = byName.get(name)
    if (!now) {
      changes.push({ kind, name, type: prune ? 'removed' : 'gone', ...(oldDigest ? { oldDigest } : {}) })
      if (!prune) merged.set(name, recorded)
      continue
    }
    const updated = withCatalogFields(kind, recorded, now)
    const hints = hintChanges(recorded.annotations, now.annotations)
    if (
      oldDigest !== now.digest ||
      canonicalJson(recorded.annotations ?? null) !== canonicalJson(now.annotations ?? null)
    )
      changes.push({
        kind,
        name,
        type: 'changed',
        ...(oldDigest ? { oldDigest } : {}),
        newDigest: now.digest,
        ...(hints.length > 0 ? { hints } : {}),
      })
    merged.set(name, updated)
  }
  for (const entry of listed) {
    if (Object.hasOwn(before, entry.name)) continue
    const fields: [string, unknown][] = []
    if (kind === 'tools') fields.push([REVIEW_MARK.field, REVIEW_MARK.pending])
    fields.push(['digest', entry.digest])
    if (entry.annotations) fields.push(['annotations', entry.annotations])
    if (entry.inputSchema !== undefined) fields.push(['input_schema', entry.inputSchema])
    merged.set(entry.name, Object.fromEntries(fields))
    const hints = hintChanges(undefined, entry.annotations)
    changes.push({
      kind,
      name: entry.name,
      type: 'added',
      newDigest: entry.digest,
      ...(hints.length ? { hints } : {}),
    })
  }
  return Object.fromEntries(merged)
}

/** The entry with its catalog fields replaced in place (appended when new), other fields as they were. */
function withCatalogFields(
  kind: CatalogKind,
  recorded: Record<string, unknown>,
  now: CatalogEntry,
): Record<string, unknown> {
  const fields = new Map(Object.entries(recorded))
  fields.set('digest', now.digest)
  if (now.annotations) fields.set('annotations', now.annotations)
  else fields.delete('annotations')
  // Only a tool carries a schema; a prompt's or resource's entry keeps whatever a person wrote.
  if (now.inputSchema !== undefined) fields.set('input_schema', now.inputSchema)
  else if (kind === 'tools') fields.delete('input_schema')
  return Object.fromEntries(fields)
}

function hintChanges(before: unknown, after: ToolHints | undefined): HintChange[] {
  const old = before && typeof before === 'object' ? (before as Record<string, unknown>) : {}
  const changes: HintChange[] = []
  for (const hint of TOOL_HINTS) {
    const was =
      Object.hasOwn(old, hint) && typeof old[hint] === 'boolean' ? (old[hint] as boolean) : undefined
    const is = after?.[hint]
    if (was !== is)
      changes.push({
        hint,
        ...(was === undefined ? {} : { old: was }),
        ...(is === undefined ? {} : { new: is }),
      })
  }
  return changes
}

function asObject(value: unknown, what: string): Record<string, unknown> {
  if (value && typeof value === 'object' && !Array.isArray(value)) return value as Record<string, unknown>
  throw new McpPolicyError(
    'ERR_CATALOG_DATA_INVALID',
    `${what} must be a JSON object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`,
  )
}
