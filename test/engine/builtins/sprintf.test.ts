import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { sprintfBuiltins } from '../../../src/engine/builtins/host/sprintf.js'
import { compareRegoValues } from '../../../src/engine/builtins/rego-text.js'
import {
  parseRegoValue,
  RegoNumber,
  RegoSet,
  type RegoValue,
} from '../../../src/engine/builtins/rego-value.js'
import { opaBinary } from '../../helpers/opa-binary.js'

/**
 * `sprintf` against OPA's own (Go's `fmt`) on generated formats and Rego values. Values are Rego
 * literals in the module, so a number's text (`1.0`, `1e2`, `123456789123456789123`) reaches both
 * sides as written, as the WebAssembly module hands literals to the host.
 */
const sprintf = sprintfBuiltins[0]!.impl

const number = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }).map(String),
  fc.constantFrom(
    '0',
    '-0',
    '9223372036854775807',
    '-9223372036854775808',
    '9223372036854775808',
    '123456789123456789123',
    '1208925819614629174706175',
    '-1208925819614629174706175',
    '100.0',
    '0.0',
    '1e2',
    '1E-7',
    '2e308',
    '0.1',
    '0.125',
    '2.5',
    '-3.75',
    '1234567.891',
    '6.02214076e23',
    '5e-324',
    '1.7976931348623157e308',
    '65',
    '128512',
    '1114112',
    '-1',
  ),
  fc.double({ noNaN: true, noDefaultInfinity: true }).map((d) => {
    const s = String(d)
    return /[.eE]/.test(s) ? s : `${s}.0`
  }),
)
const string = fc.oneof(
  fc.string({ maxLength: 8 }),
  fc.constantFrom('', 'héllo', '😀 x', 'a"b\\c', 'tab\there', 'nul\u0000', '<&>', '`raw`'),
)
const scalar = fc.oneof(
  number,
  string.map((s) => JSON.stringify(s)),
  fc.constantFrom('true', 'false', 'null'),
)
const value = fc.oneof(
  { weight: 4, arbitrary: scalar },
  fc.array(scalar, { maxLength: 3 }).map((xs) => `[${xs.join(', ')}]`),
  fc.array(scalar, { minLength: 1, maxLength: 3 }).map((xs) => `{${xs.join(', ')}}`),
  fc
    .array(fc.tuple(string, scalar), { maxLength: 2 })
    .map((es) => `{${es.map(([k, v]) => `${JSON.stringify(k)}: ${v}`).join(', ')}}`),
  fc.constant('set()'),
)
const directive = fc
  .tuple(
    fc.subarray(['+', '-', '#', ' ', '0']),
    fc.option(fc.oneof(fc.nat(12).map(String), fc.constant('*'))),
    fc.option(
      fc.oneof(
        fc.nat(8).map((n) => `.${n}`),
        fc.constant('.'),
        fc.constant('.*'),
      ),
    ),
    fc.option(fc.integer({ min: 0, max: 4 }).map((n) => `[${n}]`)),
    fc.constantFrom(...'vvvdddsssqxXoObcUeEfFgGtTp%z!'.split('')),
  )
  .map(
    ([flags, width, prec, index, verb]) =>
      `%${flags.join('')}${index ?? ''}${width ?? ''}${prec ?? ''}${verb}`,
  )
const format = fc
  .array(fc.oneof(directive, fc.stringMatching(/^[a-z :|-]{0,4}$/)), { minLength: 1, maxLength: 4 })
  .map((parts) => parts.join(''))

const cases = fc.sample(fc.tuple(format, fc.array(value, { maxLength: 4 })), { numRuns: 400, seed: 18 })
const fixed: [string, string[]][] = [
  ['%s', ['123456789123456789123']],
  ['%s', ['1208925819614629174706175']],
  ['%f, %3.1f, %.3f', ['0.0', '100.0', '.0']],
  ['%f', ['1e2']],
  ['%v', ['2e308']],
  ['%v', ['["there", 5, 3.14]']],
  ['%d %v %x %o %b', ['-9223372036854775808', '9223372036854775808', '255', '8', '5']],
  ['%.2f|%.0f|%.1f|%e|%g|%G', ['0.125', '2.5', '0.05', '12345.678', '1e-5', '1e100']],
  ['%5d|%-5t|%05s|%+x|%#v|%#v', ['"x"', '3.5', '"ab"', '"hi"', '"q\\""', '2.0']],
  ['%[2]*[1]d|%[1]*d|%.[2]d|%[0]d|%[5]d|%!|%', ['12', '5']],
]
const all: [string, string[]][] = [...fixed, ...cases]

/** A literal as the module holds it: a set's duplicate members (`{1, 1.0}`) are one member. */
function asModuleHolds(v: RegoValue): RegoValue {
  if (v instanceof RegoSet) {
    const items = [...v.items].map(asModuleHolds).sort(compareRegoValues)
    return new RegoSet(items.filter((x, i) => i === 0 || compareRegoValues(items[i - 1]!, x) !== 0))
  }
  if (Array.isArray(v)) return v.map(asModuleHolds)
  if (v !== null && typeof v === 'object' && !(v instanceof RegoNumber) && !(v instanceof Map)) {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, asModuleHolds(x)]))
  }
  return v
}

describe('sprintf agrees with OPA (Go fmt) on exact Rego values', () => {
  let dir: string
  let opa: Record<string, string[]>

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sprintf-'))
    const lines = all.map(
      ([f, args], i) => `  "case_${i}": [x | x := sprintf(${JSON.stringify(f)}, [${args.join(', ')}])],`,
    )
    writeFileSync(join(dir, 't.rego'), `package t\n\nresults := {\n${lines.join('\n')}\n}\n`)
    const out = execFileSync(
      await opaBinary(),
      ['eval', '-f', 'json', '-d', join(dir, 't.rego'), 'data.t.results'],
      {
        encoding: 'utf8',
        maxBuffer: 64 * 1024 * 1024,
      },
    )
    opa = JSON.parse(out).result[0].expressions[0].value
  })

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true })
  })

  it.each(all.map(([f, args], i) => [i, f, args.join(', '), args] as const))(
    'case %i: sprintf(%j, [%s])',
    (i, f, _shown, args) => {
      const ours = sprintf(
        f,
        args.map((a) => asModuleHolds(parseRegoValue(a))),
      )
      expect(ours === undefined ? [] : [ours]).toEqual(opa[`case_${i}`])
    },
  )
})
