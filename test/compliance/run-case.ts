import { execFile } from 'node:child_process'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { buildBundle } from '../../src/bundle/build-bundle.js'
import { loadBundle } from '../../src/bundle/load-bundle.js'
import { parseRegoValue, RegoNumber, RegoSet, type RegoValue } from '../../src/engine/builtins/rego-value.js'
import { PolicyEngine } from '../../src/engine/policy-engine.js'
import { McpPolicyError } from '../../src/errors.js'
import type { ComplianceCase } from './opa-cases.js'
import { canonical, canonicalResultSet } from './result-set.js'

const execFileAsync = promisify(execFile)

/** What one evaluator did with a case. */
export type Outcome =
  | { kind: 'result'; rs: unknown[] }
  | { kind: 'error'; stage: 'build' | 'eval'; message: string; missing?: string[] }

/** How a case ended for our engine. */
export type Verdict = 'pass' | 'missing' | 'wrong' | 'error' | 'excepted' | 'control'

/** The record of one case. */
export interface CaseReport {
  readonly note: string
  readonly topic: string
  readonly verdict: Verdict
  /** For `excepted`: the list and its reason. For failures: what differed. */
  readonly detail?: string
  /** Builtins the build refused (verdict `missing`). */
  readonly missing?: readonly string[]
  /** Whether our engine met the expectation (also reported for excepted and control cases). */
  readonly ourPass: boolean
  readonly controlPass: boolean
}

/** What the runner needs besides the case. */
export interface RunContext {
  readonly opa: string
  /** A scratch directory owned by this run. */
  readonly workDir: string
  /** Reasons for excepted cases: OPA's WebAssembly list first, then ours. */
  readonly exceptionReason: (note: string) => string | undefined
  /**
   * 1 (default): the production build, `opa build -O 1`. 0: the build `mcp-policy test` uses
   * (`testEntrypoints`, `-O 0`), to tell OPA optimizer faults from engine faults.
   */
  readonly optimization?: 0 | 1
}

/**
 * Runs one compliance case through the engine exactly as a policy reaches production: the query
 * becomes the body of the `mcp/decision` rule of a generated module, the case's modules and data
 * are built by `buildBundle` (the engine's capabilities, `opa build -t wasm -O 1`), and the bundle
 * is evaluated by {@link PolicyEngine}. OPA's Go evaluator (`opa eval`) runs the same modules,
 * data, input and query as a control.
 *
 * Each result row is `json.marshal` of the query's bindings, so numbers leave the module as the
 * text it holds and are compared exactly, not through JavaScript doubles.
 */
export async function runCase(c: ComplianceCase, ctx: RunContext, index: number): Promise<CaseReport> {
  const dir = join(ctx.workDir, `case-${index}`)
  await mkdir(join(dir, 'rego'), { recursive: true })
  await mkdir(join(dir, 'bundle'), { recursive: true })
  try {
    for (const [i, m] of c.modules.entries()) await writeFile(join(dir, 'rego', `module-${i}.rego`), m)
    await writeFile(join(dir, 'bundle', 'data.json'), c.dataJson ?? '{}')
    await writeFile(join(dir, 'bundle', '.manifest'), '{}')
    const inputJson = c.inputTerm !== undefined ? regoTermToJson(c.inputTerm) : c.inputJson
    if (inputJson !== undefined) await writeFile(join(dir, 'input.json'), inputJson)

    const control = await runControl(c, ctx, dir, inputJson !== undefined)
    const vars = bindingNames(c, control)
    await writeFile(join(dir, 'rego', 'compliance-query.rego'), queryModule(c.query, vars))
    const ours = await runOurs(ctx, dir, inputJson)
    return judge(c, ours, control, ctx.exceptionReason(c.note))
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * The module that turns a query into the `mcp/decision` entrypoint: a set of rows, each the JSON
 * text of `[bindings, paths of every set in them]`. JSON has no sets (the module writes them as
 * arrays in its own order); the paths, found with `walk`, let the comparison treat them as sets.
 */
export function queryModule(query: string, vars: readonly string[]): string {
  const row = `{${vars.map((v) => `${JSON.stringify(v)}: ${v}`).join(', ')}}`
  const body = query
    .split('\n')
    .map((l) => `\t${l}`)
    .join('\n')
  const sets = `[compliance_p__ | walk(${row}, [compliance_p__, compliance_v__]); is_set(compliance_v__)]`
  // mcp/response only because every production build has that entrypoint.
  return `package mcp\n\ndecision contains json.marshal([${row}, ${sets}]) if {\n${body}\n}\n\nresponse := true\n`
}

function bindingNames(c: ComplianceCase, control: Outcome): string[] {
  const names = new Set<string>()
  for (const row of c.wantResult ?? []) for (const k of Object.keys(row)) names.add(k)
  if (c.wantResult === undefined && control.kind === 'result') {
    for (const row of control.rs) for (const k of Object.keys(row as object)) names.add(k)
  }
  return [...names].filter((n) => !n.startsWith('__'))
}

async function runControl(
  c: ComplianceCase,
  ctx: RunContext,
  dir: string,
  hasInput: boolean,
): Promise<Outcome> {
  const args = ['eval', '-f', 'json', '-d', join(dir, 'rego'), '-d', join(dir, 'bundle', 'data.json')]
  if (hasInput) args.push('-i', join(dir, 'input.json'))
  args.push('--', c.query)
  let stdout: string
  try {
    stdout = (
      await execFileAsync(ctx.opa, args, {
        maxBuffer: 64 * 1024 * 1024,
        timeout: 120_000,
        // A bare environment: cases may print opa.runtime(), which carries every variable.
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', TZ: 'UTC' },
      })
    ).stdout
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string }
    return { kind: 'error', stage: 'eval', message: (e.stdout || e.stderr || e.message).slice(0, 2000) }
  }
  const out = parseRegoValue(stdout) as { result?: { bindings?: Record<string, unknown> }[] }
  return { kind: 'result', rs: (out.result ?? []).map((r) => r.bindings ?? {}) }
}

async function runOurs(ctx: RunContext, dir: string, inputJson: string | undefined): Promise<Outcome> {
  let path: string
  try {
    path = (
      await buildBundle({
        bundleDir: join(dir, 'bundle'),
        regoDir: join(dir, 'rego'),
        out: join(dir, 'bundle.tar.gz'),
        bundleStore: join(dir, 'store'),
        revision: 'compliance',
        opa: ctx.opa,
        ...(ctx.optimization === 0 ? { testEntrypoints: ['mcp/decision'] } : {}),
      })
    ).path
  } catch (err) {
    const e = err as McpPolicyError
    if (e instanceof McpPolicyError && e.code === 'ERR_BUILD_UNSUPPORTED_BUILTIN') {
      const names = /does not implement: ([^\n]+)/.exec(e.message)?.[1]?.split(', ') ?? []
      return { kind: 'error', stage: 'build', message: e.message.split('\n')[0]!, missing: names }
    }
    return { kind: 'error', stage: 'build', message: String(e.message).slice(0, 2000) }
  }
  try {
    const engine = new PolicyEngine()
    await engine.load(await loadBundle(path))
    const { result } =
      inputJson === undefined
        ? engine.evaluate('mcp/decision', undefined)
        : engine.evaluateJson('mcp/decision', inputJson)
    const rows = (result ?? []) as string[]
    return {
      kind: 'result',
      rs: rows.map((r) => {
        const [bindings, setPaths] = parseRegoValue(r) as [RegoValue, RegoValue[][]]
        return markSets(bindings, setPaths)
      }),
    }
  } catch (err) {
    return { kind: 'error', stage: 'eval', message: String((err as Error).message ?? err).slice(0, 2000) }
  }
}

/**
 * What the WebAssembly target must do with a case, as OPA's own WebAssembly harness
 * (`internal/wasm/sdk/test/e2e/external_test.go`) asserts it: the wanted result set; for an
 * error that only strict builtin errors raise, an empty result set (the module is never strict);
 * for any other error, an error (conflicts: `var assignment conflict` / `object insert conflict`).
 */
type Want =
  | { kind: 'result'; rs: readonly unknown[] }
  | { kind: 'defined'; defined: boolean }
  | { kind: 'error' }

function wantOf(c: ComplianceCase): Want {
  if (c.wantDefined !== undefined) return { kind: 'defined', defined: c.wantDefined }
  if (c.wantResult !== undefined) return { kind: 'result', rs: c.wantResult }
  if (c.wantErrorCode !== undefined || c.wantError !== undefined) {
    return c.strictError ? { kind: 'result', rs: [] } : { kind: 'error' }
  }
  return { kind: 'result', rs: [] }
}

function meets(c: ComplianceCase, want: Want, got: Outcome): { ok: boolean; why: string } {
  if (want.kind === 'error') {
    return got.kind === 'error'
      ? { ok: true, why: '' }
      : {
          ok: false,
          why: `wanted an error, got ${JSON.stringify(canonicalResultSet(got.rs, c.sortBindings))}`,
        }
  }
  if (got.kind === 'error') return { ok: false, why: `${got.stage} error: ${got.message}` }
  if (want.kind === 'defined') {
    const ok = got.rs.length > 0 === want.defined
    return { ok, why: ok ? '' : `wanted ${want.defined ? 'defined' : 'undefined'}` }
  }
  const w = canonicalResultSet(want.rs, c.sortBindings)
  const g = canonicalResultSet(got.rs, c.sortBindings)
  const ok = w.length === g.length && w.every((x, i) => x === g[i])
  return { ok, why: ok ? '' : `want ${w.join(' ')}\n      got  ${g.join(' ')}` }
}

function judge(c: ComplianceCase, ours: Outcome, control: Outcome, excepted: string | undefined): CaseReport {
  const want = wantOf(c)
  const o = meets(c, want, ours)
  const k = meets(c, want, control)
  const base = { note: c.note, topic: c.topic, ourPass: o.ok, controlPass: k.ok }
  if (o.ok) return { ...base, verdict: 'pass' }
  if (ours.kind === 'error' && ours.missing && ours.missing.length > 0) {
    return { ...base, verdict: 'missing', missing: ours.missing, detail: ours.message }
  }
  if (excepted !== undefined) return { ...base, verdict: 'excepted', detail: excepted }
  if (!k.ok) return { ...base, verdict: 'control', detail: `OPA's Go evaluator fails it too: ${k.why}` }
  return {
    ...base,
    verdict: ours.kind === 'error' && want.kind !== 'error' ? 'error' : 'wrong',
    detail: o.why,
  }
}

/** A Rego term (`input_term`) as JSON text: sets become arrays, as OPA's harness marshals them. */
function regoTermToJson(term: string): string {
  const toJson = (v: unknown): unknown => {
    if (v instanceof RegoSet) return v.items.map(toJson)
    if (Array.isArray(v)) return v.map(toJson)
    if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(k), toJson(x)]))
    if (v !== null && typeof v === 'object' && !(v instanceof RegoNumber)) {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, toJson(x)]))
    }
    return v
  }
  const json = (v: unknown): string => {
    if (v instanceof RegoNumber) return v.text
    if (Array.isArray(v)) return `[${v.map(json).join(',')}]`
    if (v !== null && typeof v === 'object') {
      return `{${Object.entries(v)
        .map(([k, x]) => `${JSON.stringify(k)}:${json(x)}`)
        .join(',')}}`
    }
    return JSON.stringify(v)
  }
  return json(toJson(parseRegoValue(term)))
}

/**
 * Turns the arrays at `paths` (from `walk`: object keys, array indexes, and set members standing
 * for themselves) back into sets. Shortest paths first, so that on the way down a set is already
 * a set (its path elements are members) and an array is an array (its path elements are indexes).
 */
function markSets(value: RegoValue, paths: readonly RegoValue[][]): RegoValue {
  const sorted = [...paths].sort((a, b) => a.length - b.length)
  let root = value
  for (const path of sorted) root = markAt(root, path, 0)
  return root
}

/** A member's identity as the module printed it: sets marked so far still count as their arrays. */
function rawKey(v: RegoValue): string {
  const strip = (x: RegoValue): RegoValue => {
    if (x instanceof RegoSet) return x.items.map(strip)
    if (Array.isArray(x)) return x.map(strip)
    if (x !== null && typeof x === 'object' && !(x instanceof RegoNumber) && !(x instanceof Map)) {
      return Object.fromEntries(Object.entries(x).map(([k, y]) => [k, strip(y)]))
    }
    return x
  }
  return canonical(strip(v))
}

function markAt(node: RegoValue, path: readonly RegoValue[], i: number): RegoValue {
  if (i === path.length) return Array.isArray(node) ? new RegoSet(node) : node
  const key = path[i]!
  if (node instanceof RegoSet) {
    const k = rawKey(key)
    return new RegoSet(node.items.map((m) => (rawKey(m) === k ? markAt(m, path, i + 1) : m)))
  }
  if (Array.isArray(node)) {
    const index = key instanceof RegoNumber ? Number(key.text) : -1
    return node.map((m, j) => (j === index ? markAt(m, path, i + 1) : m))
  }
  if (node !== null && typeof node === 'object' && !(node instanceof RegoNumber) && !(node instanceof Map)) {
    const k = typeof key === 'string' ? key : canonical(key)
    const o = node as { [k: string]: RegoValue }
    if (Object.hasOwn(o, k)) return { ...o, [k]: markAt(o[k]!, path, i + 1) }
  }
  return node
}
