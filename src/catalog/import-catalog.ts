import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { canonicalJson } from '../canonical-json.js'
import { McpPolicyError } from '../errors.js'
import type { CatalogSource } from './connect-mcp-client.js'
import { formatJson } from './format-json.js'
import { type ListCatalogOptions, listServerCatalog, type ServerCatalog } from './list-server-catalog.js'
import { type CatalogChange, mergeServerCatalog } from './merge-server-catalog.js'
import { printable } from './printable.js'
import { setJsonMember } from './set-json-member.js'

/** Options of {@link importCatalog}. */
export interface ImportCatalogOptions extends ListCatalogOptions {
  /** The key of the server in `mcp_data.servers` (the `server.id` of input documents). */
  serverId: string
  source: CatalogSource
  /** The bundle data file, e.g. `bundles/default/data.json` (created when missing). */
  dataFile: string
  /** Read and compare only: the file is never written. */
  check?: boolean
  /** Remove entries the server no longer lists (otherwise they are kept and reported `gone`). */
  prune?: boolean
}

/** What an import found and did. */
export interface CatalogImport {
  serverId: string
  dataFile: string
  catalog: ServerCatalog
  changes: CatalogChange[]
  /** Whether the data differs from what the file holds (with `check`: would differ). */
  changed: boolean
  /** Whether the file was written (never with `check`, never when nothing changed). */
  written: boolean
}

/**
 * `mcp-policy catalog import`: lists a live MCP server's catalog with the SDK client and merges it
 * into `mcp_data.servers[serverId]` of a bundle data file (see {@link mergeServerCatalog}: catalog
 * fields replaced, policy fields kept, new tools marked for review). Whether anything changed is
 * decided on the data (RFC 8785 canonical JSON), not on the text, so a file a formatter touched
 * after an import is still up to date. When it changed, only the server's member is rewritten
 * (the rest of the file keeps its bytes) and the file is replaced atomically (temporary file and
 * rename in the same directory). The data file is read before the server is started, so a broken
 * file fails fast.
 *
 * @throws McpPolicyError `ERR_CATALOG_DATA_INVALID` (the file is not JSON or not of the data's
 *   shape), `ERR_CATALOG_CONNECT_FAILED`, `ERR_CATALOG_LIST_INVALID` (see
 *   {@link listServerCatalog}), `ERR_CLI_USAGE` (the file cannot be read or written).
 * @example
 * ```ts
 * const result = await importCatalog({
 *   serverId: 'filesystem',
 *   source: { kind: 'stdio', command: 'npx', args: ['@modelcontextprotocol/server-filesystem', '/srv'] },
 *   dataFile: 'bundles/default/data.json',
 *   check: true,
 * })
 * process.exitCode = result.changed ? 1 : 0
 * ```
 */
export async function importCatalog(options: ImportCatalogOptions): Promise<CatalogImport> {
  const { serverId, dataFile } = options
  if (serverId.length === 0) throw new McpPolicyError('ERR_CLI_USAGE', 'the server id must not be empty')
  const text = await readText(dataFile)
  const document = text === undefined ? {} : parseData(text, dataFile)
  const existing = ownPath(document, ['mcp_data', 'servers', serverId])

  const catalog = await listServerCatalog(options.source, options)
  const { server, changes } = mergeServerCatalog(existing, catalog, { prune: options.prune })

  const updated = withServer(document, serverId, server)
  const changed = text === undefined || canonicalJson(document) !== canonicalJson(updated)
  const result: CatalogImport = { serverId, dataFile, catalog, changes, changed, written: false }
  if (!changed || options.check) return result
  await writeAtomically(dataFile, render(text, serverId, server, updated))
  result.written = true
  return result
}

/**
 * The new file text: the server's member edited in place when the file allows it, the whole
 * document otherwise. The edit is checked by parsing it back: it must hold exactly the updated data.
 */
function render(text: string | undefined, serverId: string, server: unknown, updated: unknown): string {
  const expected = canonicalJson(updated)
  if (text !== undefined) {
    const edited = setJsonMember(text, ['mcp_data', 'servers', serverId], server)
    if (edited !== undefined && sameData(edited, expected)) return edited
  }
  return `${formatJson(updated, { indent: 0, column: 0 })}\n`
}

function sameData(text: string, expected: string): boolean {
  try {
    return canonicalJson(JSON.parse(stripBom(text))) === expected
  } catch {
    return false
  }
}

async function readText(file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new McpPolicyError('ERR_CLI_USAGE', `cannot read ${file}: ${(err as Error).message}`, {
      cause: err,
    })
  }
}

function parseData(text: string, file: string): Record<string, unknown> {
  let document: unknown
  try {
    document = JSON.parse(stripBom(text))
  } catch (err) {
    throw new McpPolicyError('ERR_CATALOG_DATA_INVALID', `${file} is not JSON: ${(err as Error).message}`, {
      cause: err,
    })
  }
  if (!isObject(document))
    throw new McpPolicyError('ERR_CATALOG_DATA_INVALID', `${file} must hold a JSON object`)
  for (const [path, value] of [
    ['mcp_data', ownPath(document, ['mcp_data'])],
    ['mcp_data.servers', ownPath(document, ['mcp_data', 'servers'])],
  ] as const)
    if (value !== undefined && !isObject(value))
      throw new McpPolicyError('ERR_CATALOG_DATA_INVALID', `${file}: ${path} must be a JSON object`)
  return document
}

/** The value at `path`, following own members only (a server id `__proto__` is a key like any other). */
function ownPath(value: unknown, path: readonly string[]): unknown {
  let at = value
  for (const key of path) {
    if (!isObject(at) || !Object.hasOwn(at, key)) return undefined
    at = at[key]
  }
  return at
}

/** A copy of the document with `mcp_data.servers[serverId]` set, every other member as it was. */
function withServer(
  document: Record<string, unknown>,
  serverId: string,
  server: unknown,
): Record<string, unknown> {
  const set = (object: unknown, key: string, value: unknown) =>
    Object.fromEntries(new Map([...Object.entries(isObject(object) ? object : {}), [key, value]]))
  const policy = ownPath(document, ['mcp_data'])
  const servers = ownPath(document, ['mcp_data', 'servers'])
  return set(document, 'mcp_data', set(policy, 'servers', set(servers, serverId, server)))
}

async function writeAtomically(file: string, text: string): Promise<void> {
  const temporary = join(dirname(file), `.${basename(file)}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    await mkdir(dirname(file), { recursive: true })
    await writeFile(temporary, text, { flag: 'wx' })
    await rename(temporary, file)
  } catch (err) {
    await rm(temporary, { force: true }).catch(() => {})
    throw new McpPolicyError('ERR_CLI_USAGE', `cannot write ${printable(file)}: ${(err as Error).message}`, {
      cause: err,
    })
  }
}

function stripBom(text: string): string {
  return text.charCodeAt(0) === 0xfeff ? text.slice(1) : text
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}
