import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compareRegoValues, regoText } from '../../../src/engine/builtins/rego-text.js'
import {
  parseJsonExact,
  parseRegoValue,
  RegoNumber,
  RegoSet,
  type RegoValue,
  serializeRegoValue,
} from '../../../src/engine/builtins/rego-value.js'

const number = fc
  .oneof(
    fc.bigInt({ min: -(2n ** 130n), max: 2n ** 130n }).map(String),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map(String),
    fc.constantFrom('100.0', '.5', '1e2', '-0', '2e308', '1E-7'),
  )
  .map((t) => new RegoNumber(t))
const value: fc.Arbitrary<RegoValue> = fc.letrec<{ v: RegoValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.string(),
    number,
    fc.array(tie('v'), { maxLength: 3 }),
    fc.array(tie('v'), { maxLength: 3 }).map((xs) => new RegoSet(xs)),
    fc.dictionary(fc.string(), tie('v'), { maxKeys: 3 }),
  ),
})).v

describe('Rego value text codec', () => {
  it('reads back what it writes, numbers digit for digit', () => {
    fc.assert(
      fc.property(value, (v) => {
        const text = serializeRegoValue(v)
        expect(serializeRegoValue(parseRegoValue(text))).toBe(text)
      }),
    )
  })

  it('orders values as OPA does: a total order consistent with the printed form', () => {
    fc.assert(
      fc.property(value, value, (a, b) => {
        const ab = Math.sign(compareRegoValues(a, b))
        expect(Math.sign(compareRegoValues(b, a))).toBe(-ab || 0)
        if (ab === 0) expect(regoText(a)).toBe(regoText(b))
      }),
    )
  })

  it('keeps what JSON cannot carry', () => {
    expect(parseRegoValue('{1, 2}')).toEqual(new RegoSet([new RegoNumber('1'), new RegoNumber('2')]))
    expect(serializeRegoValue(new Set([1n << 64n]))).toBe('{18446744073709551616}')
    expect(serializeRegoValue(new RegoSet([]))).toBe('set()')
    expect(serializeRegoValue(new Map([[new RegoNumber('1'), 'a']]))).toBe('{1:"a"}')
    expect(regoText(parseRegoValue('{"b": [1, {2, 1}], "a": set()}'))).toBe('{"a": set(), "b": [1, {1, 2}]}')
  })

  it('reads untrusted JSON strictly and never through a prototype', () => {
    const o = parseJsonExact('{"__proto__": {"x": 1}, "a": 123456789123456789123}') as Record<
      string,
      RegoValue
    >
    expect(Object.getPrototypeOf(o)).toBeNull()
    expect(Object.keys(o)).toEqual(['__proto__', 'a'])
    expect((o.a as RegoNumber).text).toBe('123456789123456789123')
    for (const bad of ['{1, 2}', 'set()', '[1,]', '{"a": 1,}', '.5', '01', '{1: 2}', '"\u0001"']) {
      expect(() => parseJsonExact(bad), bad).toThrow(SyntaxError)
    }
  })
})
