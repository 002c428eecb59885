import { readdir, stat } from 'node:fs/promises'
import { join, relative, resolve, sep } from 'node:path'
import { McpPolicyError } from '../errors.js'
import { runOpa } from '../toolchain/opa.js'

/** OPA's test prefixes (`opa test`, v1 tester): a test, and a test reported as skipped. */
const TEST_PREFIX = 'test_'
const SKIP_PREFIX = 'todo_test_'

/**
 * A test rule found by OPA's parser, named the way `opa test` names it.
 *
 * @internal
 */
export interface RegoTest {
  /** Package path without `data`, e.g. `["mcp", "access_test"]`. */
  packagePath: string[]
  /** The rule's name up to its `test_` segment, e.g. `test_x` (or `test_group` for `test_group.a`). */
  rule: string
  /** `data.mcp.access_test.test_x`, as `opa test` names it. */
  name: string
  /** The WebAssembly entrypoint that evaluates the rule, e.g. `mcp/access_test/test_x`. */
  entrypoint: string
  file: string
  line: number
  /** `todo_test_*` rules are reported as skipped and not evaluated. */
  todo: boolean
  /** How many rules share the name across all modules (OPA runs each; one WASM entrypoint cannot). */
  definitions: number
  /**
   * Why this test cannot run in the WebAssembly harness, when it cannot: a ref-head or partial
   * (sub-test) rule, which `opa test` expands in ways one entrypoint cannot reproduce.
   */
  unsupported?: string
}

interface ParsedTerm {
  type: string
  value: unknown
}

interface ParsedModule {
  package: { path: ParsedTerm[] }
  rules?: {
    head: { name?: string; ref?: ParsedTerm[]; args?: unknown[]; key?: unknown }
    location?: { row?: number }
  }[]
}

/**
 * Lists the `.rego` files under the given files or directories (sorted, deduplicated).
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_POLICY_TEST_INVALID` when a path does not exist.
 */
export async function findRegoFiles(paths: readonly string[]): Promise<string[]> {
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
      if (absolute.endsWith('.rego')) found.add(absolute)
      continue
    }
    for (const entry of await readdir(absolute, { recursive: true })) {
      if (entry.endsWith('.rego')) found.add(join(absolute, entry))
    }
  }
  return [...found].sort()
}

/**
 * Finds the tests of a policy directory with OPA's own parser (`opa parse --format json`), the way
 * `opa test` v1 does: in every module, any rule (not function) whose head's ground prefix has a
 * segment starting with `test_` (or `todo_test_`, skipped). Definitions that share a name across
 * modules are counted, so the harness can refuse them instead of OR-ing them into one entrypoint.
 *
 * @internal
 *
 * @param selected Only tests from these files are returned (all of `regoDir` when omitted).
 * @throws McpPolicyError `ERR_TOOLCHAIN_OPA_FAILED` when a file does not parse;
 *   `ERR_POLICY_TEST_INVALID` when a selected file is not under `regoDir` (it would not be compiled).
 * @example
 * ```ts
 * const tests = await discoverRegoTests(await resolveOpa(), 'rego')
 * ```
 */
export async function discoverRegoTests(
  opa: string,
  regoDir: string,
  selected?: readonly string[],
): Promise<RegoTest[]> {
  const root = resolve(regoDir)
  for (const file of selected ?? []) {
    if (!resolve(file).startsWith(root + sep))
      throw new McpPolicyError(
        'ERR_POLICY_TEST_INVALID',
        `${file} is not under the policy directory ${regoDir}: tests are compiled together with the policy there`,
      )
  }
  const wanted = selected ? new Set(selected.map((f) => resolve(f))) : undefined
  // Every definition of every test name, in all modules: a duplicate in an unselected file still
  // makes a selected test ambiguous.
  const byName = new Map<string, RegoTest[]>()
  for (const file of await findRegoFiles([root])) {
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
    for (const rule of module.rules ?? []) {
      if (rule.head.args) continue
      const found = testSegment(rule.head)
      if (!found) continue
      const name = ['data', ...packagePath, ...found.prefix].join('.')
      const plain = found.prefix.length === 1 && found.whole && rule.head.key === undefined
      const test: RegoTest = {
        packagePath,
        rule: found.prefix.join('.'),
        name,
        entrypoint: [...packagePath, ...found.prefix].join('/'),
        file,
        line: rule.location?.row ?? 0,
        todo: found.segment.startsWith(SKIP_PREFIX),
        definitions: 1,
      }
      if (!plain)
        test.unsupported =
          'ref-head and partial (sub-test) test rules are not supported by the WebAssembly harness; write it as `test_name if { … }`'
      byName.set(name, [...(byName.get(name) ?? []), test])
    }
  }
  const tests: RegoTest[] = []
  for (const definitions of byName.values()) {
    const first = definitions.find((t) => !wanted || wanted.has(t.file))
    if (!first) continue
    tests.push({
      ...first,
      file: relative(process.cwd(), first.file) || first.file,
      definitions: definitions.length,
    })
  }
  return tests
}

/**
 * OPA's `ruleName`: walk the head's ground prefix to the first segment starting with `test_` or
 * `todo_test_`. `whole` says whether the ref ends there (a plain `test_x` rule).
 */
function testSegment(head: {
  name?: string
  ref?: ParsedTerm[]
}): { segment: string; prefix: string[]; whole: boolean } | undefined {
  const ref = head.ref ?? (head.name ? [{ type: 'var', value: head.name }] : [])
  const prefix: string[] = []
  for (let i = 0; i < ref.length; i++) {
    const term = ref[i]!
    // The ground prefix: the rule name, then string keys; a variable key ends it.
    if (i > 0 && term.type !== 'string') break
    const segment = String(term.value)
    prefix.push(segment)
    if (segment.startsWith(TEST_PREFIX) || segment.startsWith(SKIP_PREFIX))
      return { segment, prefix, whole: i === ref.length - 1 }
  }
  return undefined
}
