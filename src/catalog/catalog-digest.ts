import { createHash } from 'node:crypto'
import { canonicalJson } from '../canonical-json.js'

/** The lists a server's catalog is read from, named as the keys they get in bundle data. */
export type CatalogKind = 'tools' | 'prompts' | 'resources' | 'resource_templates'

/**
 * The fields of each kind of definition a digest covers: what a model (or the person approving a
 * tool) reads and what shapes a call. For tools that is name, title, description, input and output
 * schema and annotations — a changed description is how a "rug pull" slips new instructions to the
 * model, a changed schema how a tool grows an argument the policy has no rule for. Fields outside
 * the list (`icons`, `_meta`, `execution`, a resource's `size`) are left out on purpose: they change
 * without changing what the tool does, and a CI gate that trips on them teaches people to ignore it.
 * The fields are taken from the server's answer as sent (not as an SDK schema re-shaped it), so a
 * digest does not move when the SDK is upgraded.
 *
 * @internal
 */
export const DIGEST_FIELDS: Readonly<Record<CatalogKind, readonly string[]>> = {
  tools: ['name', 'title', 'description', 'inputSchema', 'outputSchema', 'annotations'],
  prompts: ['name', 'title', 'description', 'arguments'],
  resources: ['uri', 'name', 'title', 'description', 'mimeType'],
  resource_templates: ['uriTemplate', 'name', 'title', 'description', 'mimeType'],
}

/**
 * `sha256:<hex>` of the RFC 8785 canonical JSON of a definition's {@link DIGEST_FIELDS} (absent
 * fields are left out, so a server that starts sending `"title"` changes the digest, and one that
 * reorders keys does not).
 *
 * @internal
 *
 * @throws TypeError when the definition cannot be canonicalized (it nests deeper than 1000 levels).
 * @example
 * ```ts
 * catalogDigest('tools', { name: 'echo', inputSchema: { type: 'object' } }) // 'sha256:…'
 * ```
 */
export function catalogDigest(kind: CatalogKind, definition: Record<string, unknown>): string {
  const fields: Record<string, unknown> = {}
  for (const field of DIGEST_FIELDS[kind])
    if (Object.hasOwn(definition, field) && definition[field] !== undefined) fields[field] = definition[field]
  return `sha256:${createHash('sha256').update(canonicalJson(fields)).digest('hex')}`
}
