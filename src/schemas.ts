import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { packageRoot } from './package-root.js'

/** The JSON Schemas published under `rego/schemas/`: the contracts policies and callers code against. */
export type SchemaName = 'decision' | 'response' | 'input'

/**
 * Reads one of the published JSON Schemas from `rego/schemas/<name>.json`.
 *
 * @example
 * ```ts
 * const schema = readSchema('decision')
 * ```
 */
export function readSchema(name: SchemaName): Record<string, unknown> {
  return JSON.parse(readFileSync(join(packageRoot(), 'rego', 'schemas', `${name}.json`), 'utf8'))
}
