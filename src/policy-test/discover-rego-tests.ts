import { readdir, stat } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { McpPolicyError } from '../errors.js'
import { runOpa } from '../toolchain/opa.js'

/** A `test_*` (or `todo_*`) rule found by OPA's parser. */
export interface RegoTest {
  /** Package path without `data`, e.g. `["mcp", "access_test"]`. */
  packagePath: string[]
  rule: string
  /** `data.mcp.access_test.test_x`, as `opa test` names it. */
  name: string
  /** The WebAssembly entrypoint that evaluates the rule, e.g. `mcp/access_test/test_x`. */
  entrypoint: string
  file: string
  line: number
  /** `todo_*` rules are reported as skipped, never compiled. */
  todo: boolean
  /** How many definitions share the name (OPA runs each; one WASM entrypoint cannot). */
  definitions: number
}

interface ParsedTerm {
  type: string
  value: unknown
}

interface ParsedModule {
  package: { path: ParsedTerm[] }
  rules?: {
    head: { name?: string; ref?: ParsedTerm[]; args?: unknown[] }
    location?: { row?: number }
  }[]
}

/**
 * Lists the `*_test.rego` files under the given files or directories (sorted, deduplicated).
 *
 * @throws McpPolicyError `ERR_POLICY_TEST_INVALID` when a path does not exist.
 */
export async function findRegoTestFiles(paths: readonly string[]): Promise<string[]> {
  const found = new Set<string>()
  for (const path of paths) {
    const absolute = resolve(path)
    let isDirectory: boolean
    try {
      isDirectory = (await stat(absolute)).isDirectory()
    } catch (err) {
      throw new McpPolicyError('ERR_POLICY_TEST_INVALID', `test path ${path} does not exist`, { cause: err })
    }
    if (!isDirectory) {
      if (absolute.endsWith('_test.rego')) found.add(absolute)
      continue
    }
    for (const entry of await readdir(absolute, { recursive: true })) {
      if (entry.endsWith('_test.rego')) found.add(join(absolute, entry))
    }
  }
  return [...found].sort()
}

/**
 * Finds the test rules of `*_test.rego` files with OPA's own parser (`opa parse --format json`),
 * the way `opa test` does: rules (not functions) whose name starts with `test_`, or `todo_` for
 * skipped ones.
 *
 * @throws McpPolicyError `ERR_TOOLCHAIN_OPA_FAILED` when a file does not parse.
 * @example
 * ```ts
 * const tests = await discoverRegoTests(await resolveOpa(), await findRegoTestFiles(['rego']))
 * ```
 */
export async function discoverRegoTests(opa: string, files: readonly string[]): Promise<RegoTest[]> {
  const tests: RegoTest[] = []
  for (const file of files) {
    const { stdout } = await runOpa(opa, [
      'parse',
      '--format',
      'json',
      '--json-include',
      'locations,-comments',
      file,
    ])
    const module = JSON.parse(stdout) as ParsedModule
    const packagePath = module.package.path.slice(1).map((term) => String(term.value))
    const inFile: RegoTest[] = []
    for (const rule of module.rules ?? []) {
      if (rule.head.args) continue
      const name = ruleName(rule.head)
      if (!name || !(name.startsWith('test_') || name.startsWith('todo_'))) continue
      const existing = inFile.find((t) => t.rule === name)
      if (existing) {
        existing.definitions++
        continue
      }
      inFile.push({
        packagePath,
        rule: name,
        name: ['data', ...packagePath, name].join('.'),
        entrypoint: [...packagePath, name].join('/'),
        file: relative(process.cwd(), file) || file,
        line: rule.location?.row ?? 0,
        todo: name.startsWith('todo_'),
        definitions: 1,
      })
    }
    tests.push(...inFile)
  }
  return tests
}

// A test is a rule named by one word; `a.test_x if …` (a ref head) is not one, as in `opa test`.
function ruleName(head: { name?: string; ref?: ParsedTerm[] }): string | undefined {
  if (head.ref && head.ref.length > 1) return undefined
  return head.name
}
