import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { hostBuiltinsByName } from '../../../src/engine/builtins/builtin-table.js'
import {
  parseRegoValue,
  RegoNumber,
  RegoSet,
  serializeRegoValue,
} from '../../../src/engine/builtins/rego-value.js'

/** One builtin call: the builtin's name and its arguments (JSON values). */
export interface Call {
  readonly name: string
  readonly args: readonly unknown[]
}

/** Exact values as plain ones for comparison: integers as bigint, sets as arrays. */
export function plain(v: unknown): unknown {
  if (v instanceof RegoNumber) return v.toBigInt() ?? v.toNumber()
  if (v instanceof RegoSet) return v.items.map(plain)
  if (Array.isArray(v)) return v.map(plain)
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  }
  return v
}

/**
 * Every call's answers from one real `opa eval` (`[]` where OPA is undefined, i.e. a builtin
 * error in non-strict mode), arguments passed as input so ill-typed calls reach the builtin.
 */
export function opaAnswers(opa: string, calls: readonly Call[]): unknown[][] {
  const dir = mkdtempSync(join(tmpdir(), 'opa-answers-'))
  try {
    const lines = calls.map((c, i) => {
      const args = c.args.map((_, j) => `input.case_${i}[${j}]`).join(', ')
      return `  "case_${i}": [x | x := ${c.name}(${args})],`
    })
    writeFileSync(join(dir, 't.rego'), `package t\n\nresults := {\n${lines.join('\n')}\n}\n`)
    writeFileSync(
      join(dir, 'input.json'),
      JSON.stringify(Object.fromEntries(calls.map((c, i) => [`case_${i}`, c.args]))),
    )
    const out = execFileSync(
      opa,
      [
        'eval',
        '--format',
        'json',
        '-d',
        join(dir, 't.rego'),
        '-i',
        join(dir, 'input.json'),
        'data.t.results',
      ],
      { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 },
    )
    const results = plain(
      (parseRegoValue(out) as { result: { expressions: { value: unknown }[] }[] }).result[0]!.expressions[0]!
        .value,
    ) as Record<string, unknown[]>
    return calls.map((_, i) => results[`case_${i}`]!)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The engine's answer to a call, across the same boundary as in the engine (arguments read in the
 * builtin's mode, the answer written as Rego value text and read back exactly). A `clock` builtin
 * is given the wall clock, as `opa eval` uses it.
 */
export function ourAnswer(call: Call): unknown[] {
  const builtin = hostBuiltinsByName.get(call.name)
  if (builtin === undefined) throw new Error(`no host builtin ${call.name}`)
  const args: unknown[] = call.args.map((a) =>
    builtin.values === 'rego' ? parseRegoValue(JSON.stringify(a)) : JSON.parse(JSON.stringify(a)),
  )
  if (builtin.clock) args.push(() => Date.now() * 1e6)
  const result = builtin.impl(...args)
  return result === undefined ? [] : [plain(parseRegoValue(serializeRegoValue(result)))]
}
