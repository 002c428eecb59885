import type { Dirent } from 'node:fs'
import { readdir, readFile } from 'node:fs/promises'
import { join, relative, sep } from 'node:path'
import { McpPolicyError } from '../errors.js'
import { packageRoot } from '../package-root.js'

/**
 * The policy files of `mcp-policy init --template reference` (the default): this package's own
 * reference policy, read from the installed package (`rego/`, `bundles/default/`; see
 * `files` in its package.json) rather than kept as a copy, so a new repository starts from exactly
 * the policy, tests, schemas, data model (`data.mcp_data`: servers, grants, argument rules,
 * masking, DLP) and decision cases this version of mcp-policy ships and tests. Relative path →
 * content: every `*.rego` under `rego/` (policies and their `*_test.rego`), the JSON schemas in
 * `rego/schemas/`, and `bundles/default/.manifest`, `data.json` and `cases/*.cases.yaml`. Nothing
 * else in those directories is copied.
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_CLI_USAGE` when the package's reference policy cannot be read (a
 *   broken installation).
 * @example
 * ```ts
 * const files = await referenceTemplate()
 * console.log(Object.keys(files)) // ['bundles/default/.manifest', …, 'rego/mcp/decision.rego', …]
 * ```
 */
export async function referenceTemplate(root: string = packageRoot()): Promise<Record<string, string>> {
  const wanted = (path: string): boolean =>
    (path.startsWith('rego/') && path.endsWith('.rego')) ||
    /^rego\/schemas\/[^/]+\.json$/.test(path) ||
    path === 'bundles/default/.manifest' ||
    path === 'bundles/default/data.json' ||
    /^bundles\/default\/cases\/[^/]+\.cases\.ya?ml$/.test(path)
  const files: Record<string, string> = {}
  for (const top of ['rego', join('bundles', 'default')]) {
    let entries: Dirent[]
    try {
      entries = await readdir(join(root, top), { recursive: true, withFileTypes: true })
    } catch (err) {
      throw new McpPolicyError(
        'ERR_CLI_USAGE',
        `cannot read the reference policy in ${join(root, top)} (is mcp-policy installed whole?): ${(err as Error).message}`,
        { cause: err },
      )
    }
    const paths = entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name))
    for (const absolute of paths.sort()) {
      const path = relative(root, absolute).split(sep).join('/')
      if (wanted(path)) files[path] = await readFile(absolute, 'utf8')
    }
  }
  for (const required of ['rego/mcp/decision.rego', 'bundles/default/.manifest', 'bundles/default/data.json'])
    if (files[required] === undefined)
      throw new McpPolicyError('ERR_CLI_USAGE', `the reference policy in ${root} has no ${required}`)
  return files
}
