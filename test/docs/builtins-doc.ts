import { builtinTable } from '../../src/engine/builtins/builtin-table.js'
import { hostBuiltins } from '../../src/engine/builtins/host/index.js'
import { leftOutBuiltins } from '../compliance/left-out.js'

/**
 * The generated blocks of `docs/builtins.md`: the builtin list (from the engine's builtin table)
 * and the compliance table (from a run of `node dist/test/compliance/main.js --markdown`).
 * `npm run docs:builtins` writes them; `test/docs/builtins-table.test.ts` checks the first.
 */

export const BUILTINS_START = '<!-- builtins:start -->'
export const BUILTINS_END = '<!-- builtins:end -->'
export const COMPLIANCE_START = '<!-- compliance:start -->'
export const COMPLIANCE_END = '<!-- compliance:end -->'

const code = (names: readonly string[]): string => names.map((n) => `\`${n}\``).join(', ')

const TOP = '(top level)'

/** Names grouped by their namespace (the part before the last dot; none: "(top level)"). */
function byNamespace(names: readonly string[]): string[] {
  const groups = new Map<string, string[]>()
  for (const name of [...names].sort()) {
    const dot = name.indexOf('.')
    const ns = dot < 0 ? TOP : name.slice(0, dot)
    groups.set(ns, [...(groups.get(ns) ?? []), name])
  }
  // Top-level names first, then namespaces alphabetically.
  const order = (ns: string) => (ns === TOP ? '' : ns)
  return [...groups]
    .sort(([a], [b]) => (order(a) < order(b) ? -1 : 1))
    .map(([ns, list]) => `- ${ns}: ${code(list)}`)
}

/** The builtin list, generated from the builtin table. */
export function builtinsBlock(): string {
  const of = (p: string) => [...builtinTable].filter(([, provider]) => provider === p).map(([n]) => n)
  const wasm = of('wasm')
  const compileTime = of('compile-time')
  const host = of('host')
  const nd = hostBuiltins.filter((b) => b.nondeterministic).map((b) => b.name)
  const lines = [
    BUILTINS_START,
    '<!-- Generated from src/engine/builtins/builtin-table.ts by `npm run docs:builtins`; do not edit. -->',
    '',
    `The engine supports ${builtinTable.size} builtins.`,
    '',
    `**Native** — implemented by OPA's WebAssembly module itself (${wasm.length}):`,
    '',
    ...byNamespace(wasm),
    '',
    `**Compile time** — rewritten into constants by the compiler (${compileTime.length}): ${code([...compileTime].sort())}.`,
    '',
    `**Host** — implemented in TypeScript under \`src/engine/builtins/host/\` (${host.length}; non-deterministic, recorded for replay: ${code([...nd].sort())}):`,
    '',
    ...byNamespace(host),
    '',
    `**Left out on purpose** (${leftOutBuiltins.size}; a policy calling one fails its build):`,
    '',
    ...[...leftOutBuiltins].sort(([a], [b]) => (a < b ? -1 : 1)).map(([n, why]) => `- \`${n}\`: ${why}.`),
    BUILTINS_END,
  ]
  return lines.join('\n')
}

/**
 * The compliance block from the output of `node dist/test/compliance/main.js --markdown`: the
 * per-topic table and the totals line, dated.
 */
export function complianceBlock(runOutput: string, date: string, opaVersion: string): string {
  const lines = runOutput.split('\n')
  const table = lines.filter((l) => l.startsWith('| '))
  const totals = lines.find((l) => l.startsWith('cases '))
  const excluded = lines.filter((l) => l.startsWith('excluded, '))
  const unexplained = lines.find((l) => l.startsWith('missing builtins, unexplained'))
  if (table.length < 3 || totals === undefined)
    throw new Error('no Markdown table and totals line in the run output')
  return [
    COMPLIANCE_START,
    '<!-- Generated from `node dist/test/compliance/main.js --markdown` by `npm run docs:builtins -- --compliance <output>`; do not edit. -->',
    '',
    `Run of ${date}, OPA ${opaVersion}: ${totals}.`,
    ...(unexplained ? ['', `${unexplained}.`] : []),
    ...(excluded.length > 0 ? ['', ...excluded.map((l) => `- ${l}`)] : []),
    '',
    ...table,
    COMPLIANCE_END,
  ].join('\n')
}

/** `doc` with the block between `start` and `end` (markers included) replaced by `block`. */
export function replaceBlock(doc: string, start: string, end: string, block: string): string {
  const i = doc.indexOf(start)
  const j = doc.indexOf(end)
  if (i < 0 || j < i) throw new Error(`markers ${start} … ${end} not found`)
  return doc.slice(0, i) + block + doc.slice(j + end.length)
}

/** The block between `start` and `end` (markers included), or undefined. */
export function extractBlock(doc: string, start: string, end: string): string | undefined {
  const i = doc.indexOf(start)
  const j = doc.indexOf(end)
  return i < 0 || j < i ? undefined : doc.slice(i, j + end.length)
}
