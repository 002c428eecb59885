import type { CatalogKind } from './catalog-digest.js'
import type { ServerCatalog } from './list-server-catalog.js'
import { CATALOG_KINDS, type CatalogChange, type HintChange } from './merge-server-catalog.js'
import { printable } from './printable.js'

const KIND_LABELS: Record<CatalogKind, string> = {
  tools: 'tool',
  prompts: 'prompt',
  resources: 'resource',
  resource_templates: 'resource template',
}

const SIGNS: Record<CatalogChange['type'], string> = { added: '+', changed: '~', removed: '-', gone: '!' }

/**
 * The changes of one import as text for a person reviewing them (a terminal, a CI log): what the
 * server listed (when `catalog` is given), a summary line, then one line per change — `+` added,
 * `~` changed (old → new digest, then each annotation hint that moved), `-` removed by `--prune`,
 * `!` gone from the server but kept — and a `?` line per entry the server listed that was not
 * recorded. Names come from the server, so every name is made {@link printable}, quoted when it is
 * not a plain identifier, and cut at 120 characters.
 *
 * @internal
 *
 * @example
 * ```ts
 * formatCatalogDiff('filesystem', result.changes, result.catalog)
 * // filesystem: listed 14 tools, 0 prompts, 0 resources, 0 resource templates from secure-filesystem-server 0.2.0 over stdio
 * // filesystem: 1 added, 0 changed, 0 removed, 0 gone
 * //   + tool read_text_file  sha256:5d41402abc4b  readOnlyHint=true openWorldHint=false  review: pending
 * ```
 */
export function formatCatalogDiff(
  serverId: string,
  changes: readonly CatalogChange[],
  catalog?: Pick<ServerCatalog, 'entries' | 'skipped' | 'server' | 'transport'>,
): string {
  const count = (type: CatalogChange['type']) => changes.filter((c) => c.type === type).length
  const lines: string[] = []
  if (catalog) {
    const listed = CATALOG_KINDS.map((kind) => {
      const n = catalog.entries[kind].length
      return `${n} ${KIND_LABELS[kind]}${n === 1 ? '' : 's'}`
    }).join(', ')
    const from = catalog.server
      ? ` from ${printable(`${catalog.server.name} ${catalog.server.version}`, false)}`
      : ''
    lines.push(`${displayName(serverId)}: listed ${listed}${from} over ${catalog.transport}`)
  }
  lines.push(
    `${displayName(serverId)}: ${count('added')} added, ${count('changed')} changed, ${count('removed')} removed, ${count('gone')} gone`,
  )
  for (const change of changes) {
    const head = `  ${SIGNS[change.type]} ${KIND_LABELS[change.kind]} ${displayName(change.name)}`
    switch (change.type) {
      case 'added': {
        const hints = (change.hints ?? []).map((h) => `${h.hint}=${h.new}`).join(' ')
        const review = change.kind === 'tools' ? '  review: pending' : ''
        lines.push(`${head}  ${short(change.newDigest)}${hints ? `  ${hints}` : ''}${review}`)
        break
      }
      case 'changed':
        lines.push(`${head}  ${short(change.oldDigest)} → ${short(change.newDigest)}`)
        for (const hint of change.hints ?? []) lines.push(`      ${hintLine(hint)}`)
        break
      case 'removed':
        lines.push(`${head}  ${short(change.oldDigest)}  no longer listed, removed (--prune)`)
        break
      case 'gone':
        lines.push(`${head}  no longer listed by the server, kept in data (--prune removes it)`)
        break
    }
  }
  for (const skip of catalog?.skipped ?? [])
    lines.push(
      `  ? ${KIND_LABELS[skip.kind]} ${displayName(skip.name)}  not recorded: ${printable(skip.reason, false)}`,
    )
  return `${lines.join('\n')}\n`
}

function hintLine(change: HintChange): string {
  const show = (value: boolean | undefined) => (value === undefined ? '(unset)' : String(value))
  return `annotations.${change.hint}: ${show(change.old)} → ${show(change.new)}`
}

/** `sha256:` and the first 12 hex digits: enough to tell digests apart in a review. */
function short(digest: string | undefined): string {
  return digest ? digest.slice(0, 'sha256:'.length + 12) : '(no digest)'
}

function displayName(name: string): string {
  const cut = name.length > 120 ? `${name.slice(0, 120)}…` : name
  return /^[\w.:/@-]+$/.test(cut) ? cut : printable(JSON.stringify(cut), false)
}
