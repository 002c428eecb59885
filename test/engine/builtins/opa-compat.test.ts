import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hostBuiltins } from '../../../src/engine/builtins/host/index.js'
import {
  parseRegoValue,
  RegoNumber,
  RegoSet,
  serializeRegoValue,
} from '../../../src/engine/builtins/rego-value.js'
import { opaBinary } from '../../helpers/opa-binary.js'
import { type OpaCase, opaCases, opaVerdictCases } from './opa-cases.js'

/**
 * Every case runs in one `opa eval`: a Rego module maps `case_<i>` to the builtin's answers
 * collected in an array, so OPA's undefined (a builtin error in non-strict mode) shows as `[]`.
 * Our implementation's `undefined` maps to `[]` the same way.
 *
 * Our side crosses the same boundary as in the engine: arguments as text, read back in the
 * builtin's own mode (`json` or exact `rego` values), the answer written as Rego value text. Both
 * answers are read with exact numbers and compared exactly.
 */
const byName = new Map(hostBuiltins.map((b) => [b.name, b]))
const allCases: readonly OpaCase[] = [...opaCases, ...opaVerdictCases]

function regoModule(cases: readonly OpaCase[]): string {
  const lines = cases.map((c, i) => {
    const args = c.args.map((_, j) => `input.case_${i}[${j}]`).join(', ')
    return `  "case_${i}": [x | x := ${c.name}(${args})],`
  })
  return `package t\n\nresults := {\n${lines.join('\n')}\n}\n`
}

/** JSON with integers written exactly (JSON.stringify prints 1700000000123456768 as ...800). */
function exactJson(v: unknown): string {
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) > 2 ** 53) {
    return BigInt(v).toString()
  }
  if (Array.isArray(v)) return `[${v.map(exactJson).join(',')}]`
  if (v !== null && typeof v === 'object') {
    return `{${Object.entries(v)
      .map(([k, x]) => `${JSON.stringify(k)}:${exactJson(x)}`)
      .join(',')}}`
  }
  return JSON.stringify(v)
}

function ours(c: OpaCase): unknown[] {
  const builtin = byName.get(c.name)
  if (builtin === undefined) throw new Error(`no host builtin ${c.name}`)
  const args = c.args.map((a) =>
    builtin.values === 'rego' ? parseRegoValue(exactJson(a)) : JSON.parse(exactJson(a)),
  )
  const result = builtin.impl(...args)
  return result === undefined ? [] : [plain(parseRegoValue(serializeRegoValue(result)))]
}

/** Exact values as plain ones for comparison: integers as bigint, other numbers as doubles, sets as arrays. */
function plain(v: unknown): unknown {
  if (v instanceof RegoNumber) return v.toBigInt() ?? v.toNumber()
  if (v instanceof RegoSet) return v.items.map(plain)
  if (Array.isArray(v)) return v.map(plain)
  if (v !== null && typeof v === 'object') {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]))
  }
  return v
}

/**
 * gojsonschema and Ajv report the same errors in a different order (gojsonschema checks a
 * value's own keywords and its children in its own sequence), so error lists compare as sets.
 */
function normalise(name: string, answers: unknown[]): unknown[] {
  if (name !== 'json.match_schema') return answers
  return answers.map((a) => {
    const [valid, errors] = a as [boolean, unknown[]]
    const key = (e: unknown): string => {
      const { error, type } = e as { error: string; type: string }
      return `${error}\u0000${type}`
    }
    return [valid, [...errors].sort((x, y) => (key(x) < key(y) ? -1 : key(x) > key(y) ? 1 : 0))]
  })
}

function close(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((x, i) => close(x, b[i]))
  if (a !== null && b !== null && typeof a === 'object' && typeof b === 'object') {
    const ka = Object.keys(a).sort()
    const kb = Object.keys(b).sort()
    return (
      close(ka, kb) &&
      ka.every((k) => close((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]))
    )
  }
  return a === b
}

describe('host builtins agree with opa eval', () => {
  let dir: string
  let opa: Record<string, unknown[]>

  beforeAll(async () => {
    const opaPath = await opaBinary()
    dir = mkdtempSync(join(tmpdir(), 'host-builtins-'))
    const policy = join(dir, 't.rego')
    const input = join(dir, 'input.json')
    writeFileSync(policy, regoModule(allCases))
    writeFileSync(input, exactJson(Object.fromEntries(allCases.map((c, i) => [`case_${i}`, c.args]))))
    const out = execFileSync(
      opaPath,
      ['eval', '--format', 'json', '-d', policy, '-i', input, 'data.t.results'],
      {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
        // The local zone is UTC on both sides, as on a server with no TZ set.
        env: { ...process.env, TZ: 'UTC' },
      },
    )
    opa = plain(
      (parseRegoValue(out) as { result: { expressions: { value: unknown }[] }[] }).result[0]!.expressions[0]!
        .value,
    ) as Record<string, unknown[]>
  })

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it('has at least 120 compared cases', () => {
    expect(allCases.length).toBeGreaterThanOrEqual(120)
  })

  it.each(opaCases.map((c, i) => [i, c.name, JSON.stringify(c.args), c] as const))(
    'case %i: %s(%s)',
    (i, _name, _args, c) => {
      const expected = normalise(c.name, opa[`case_${i}`]!)
      const actual = normalise(c.name, ours(c))
      if (!close(actual, expected)) expect(actual).toEqual(expected)
    },
  )

  it.each(opaVerdictCases.map((c, i) => [opaCases.length + i, c.name, JSON.stringify(c.args), c] as const))(
    'verdict %i: %s(%s)',
    (i, _name, _args, c) => {
      const expected = opa[`case_${i}`] as [unknown[]]
      const actual = ours(c) as [unknown[]]
      expect(actual.length).toBe(expected.length)
      expect(actual[0]?.[0]).toBe(expected[0]?.[0])
    },
  )
})
