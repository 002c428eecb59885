import { createRequire } from 'node:module'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalEventLine } from '../../src/audit/event-hash.js'
import { canonicalJson } from '../../src/canonical-json.js'

// The RFC 8785 authors' implementation is the reference the fast path must match byte for byte.
const canonicalize = createRequire(import.meta.url)('canonicalize') as (input: unknown) => string | undefined

// Keys that JavaScript orders specially (array indices), that sort differently by code unit than by
// code point (astral characters vs U+E000–U+FFFF), and that need escaping.
const key = fc.oneof(
  fc.string(),
  fc.nat({ max: 5000 }).map(String),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'a',
    'b',
    'é',
    '\u{1F600}',
    '\uFB33',
    '\u0000',
    '"',
    '\\',
    '10',
    '9',
    '-1',
    '01',
    '1.5',
  ),
  fc.string({ unit: 'binary' }),
)
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.jsonValue({ maxDepth: 1 }),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    fc.array(tie('value'), { maxLength: 5 }),
    fc.dictionary(key, tie('value'), { maxKeys: 6 }),
  ),
})).value

describe('canonicalJson (fast RFC 8785) agrees with the canonicalize package', () => {
  it('on arbitrary JSON values, including index-like, astral and escaped keys and every double', () => {
    fc.assert(
      fc.property(json, (value) => {
        expect(canonicalJson(value)).toBe(canonicalize(value))
      }),
      { numRuns: 3000 },
    )
  })

  it('on the RFC 8785 examples: number spelling, key order by UTF-16 code unit, string escapes', () => {
    const value = {
      numbers: [Number('333333333.33333329'), 1e30, 4.5, 2e-3, 0.000000000000000000000000001, -0],
      '\u20ac': 'Euro Sign',
      '\r': 'Carriage Return',
      '\ufb33': 'Hebrew Letter Dalet With Dagesh',
      '1': 'One',
      '\u{1F600}': 'Emoji: Grinning Face',
      '\u0080': 'Control',
      '\u00f6': 'Latin Small Letter O With Diaeresis',
      string: '\u20ac$\u000F\u000aA\'\u0042\u0022\u005c\\"/',
      literals: [null, true, false],
    }
    expect(canonicalJson(value)).toBe(canonicalize(value))
    expect(canonicalJson(value)).toContain('"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27,0]')
    // RFC 8785 §3.2.3's order: by UTF-16 code unit, so the astral emoji sorts before U+FB33.
    const text = canonicalJson(value)
    const order = ['"\\r":', '"1":', '"\u0080":', '"\u00f6":', '"\u20ac":', '"\u{1F600}":', '"\ufb33":']
    const positions = order.map((k) => text.indexOf(k))
    expect(positions.every((p) => p >= 0)).toBe(true)
    expect(positions).toEqual([...positions].sort((a, b) => a - b))
  })

  it('keeps a __proto__ member (as JSON.parse makes it) as a member', () => {
    const value = JSON.parse('{"b":1,"__proto__":{"polluted":true},"a":[{"__proto__":null}]}')
    expect(canonicalJson(value)).toBe('{"__proto__":{"polluted":true},"a":[{"__proto__":null}],"b":1}')
    expect(canonicalJson(value)).toBe(canonicalize(value))
  })

  it('drops undefined members, writes null for undefined array items, and calls toJSON like JSON.stringify', () => {
    const when = new Date('2026-01-02T03:04:05.000Z')
    expect(canonicalJson({ b: undefined, a: [undefined, when], 2: { y: 1, x: 2 } })).toBe(
      '{"2":{"x":2,"y":1},"a":[null,"2026-01-02T03:04:05.000Z"]}',
    )
  })

  it.each([
    ['NaN', { a: Number.NaN }],
    ['Infinity', [Number.POSITIVE_INFINITY]],
    ['a BigInt', { a: 1n }],
  ])('refuses %s (JCS cannot express it)', (_name, value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError)
  })

  it('refuses a cycle instead of overflowing the stack', () => {
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => canonicalJson(cyclic)).toThrow(TypeError)
  })
})

describe('canonicalEventLine with the input already canonical', () => {
  it('writes the same line as canonicalizing the whole event, whatever keys sit around input', () => {
    fc.assert(
      fc.property(fc.dictionary(key, json, { maxKeys: 8 }), json, (rest, input) => {
        const event = { ...rest, input }
        expect(canonicalEventLine(event, canonicalJson(input))).toEqual(canonicalEventLine(event))
      }),
      { numRuns: 2000 },
    )
  })
})
