import { beforeAll, describe, expect, it } from 'vitest'
import { opaBinary } from '../../helpers/opa-binary.js'
import { type Call, opaAnswers, ourAnswer } from './opa-answers.js'

/**
 * `regex.globs_match` (a port of yashtewari/glob-intersection) against a real `opa eval`, and
 * bounded on globs that make the library's recursion exponential.
 */
let opa: string
beforeAll(async () => {
  opa = await opaBinary()
})

const pairs: [unknown, unknown][] = [
  ['a.a.[0-9]+z', '.b.b2359825792*594823z'],
  ['[a-z]+', '[0-9]*'],
  ['pqrs]', '[a-b]+'],
  ['b.*', 'bar'],
  ['[a-z]+\\[[0-9]+\\]', 'foo\\[1\\]'],
  ['[a-z]+\\[[0-9]+\\]', 'foo["bar"]'],
  ['a*', ''],
  ['', ''],
  ['', 'a+'],
  ['.*', 'anything'],
  ['a+b+c+', 'aaabbbccc'],
  ['a+b+c+', 'aaabbbcccd'],
  ['[abc]+x', '[cde]*x'],
  ['[abc]+x', '[de]+x'],
  ['a*b*a*', 'b+a+b+'],
  ['a*b*a*b*', 'b+a+b+a+'],
  ['x.+y', 'x[0-9]*y'],
  ['\\*', '*'],
  ['\\', 'a'],
  ['[z-a]', 'a'],
  ['[a-]', 'a'],
  ['[-a]', 'a'],
  ['[', 'a'],
  ['+a', 'a'],
  ['a**', 'a'],
  ['a*+', 'a'],
  ['ü+.', 'üü€'],
  ['[ä-ö]+', 'ö'],
  [1, 'a'],
  ['a', null],
]

describe('regex.globs_match agrees with opa eval', () => {
  it('on matching, non-matching and invalid globs', () => {
    const calls: Call[] = pairs.map((args) => ({ name: 'regex.globs_match', args }))
    const expected = opaAnswers(opa, calls)
    const actual = calls.map(ourAnswer)
    expect(actual.map((a, i) => [pairs[i], a])).toEqual(expected.map((e, i) => [pairs[i], e]))
  })

  it('answers pathological globs in bounded time, as OPA does on the small ones', () => {
    // Alternating stars whose last characters differ: the library backtracks exponentially.
    const star = (n: number, last: string) => `${'a*b*'.repeat(n)}${last}`
    const small: Call[] = [
      { name: 'regex.globs_match', args: [star(6, 'c'), star(6, 'd')] },
      { name: 'regex.globs_match', args: [`${'.*'.repeat(8)}x`, `${'a*'.repeat(8)}y`] },
    ]
    expect(small.map(ourAnswer)).toEqual(opaAnswers(opa, small))
    for (const args of [
      [star(300, 'c'), star(300, 'd')],
      [`${'.*'.repeat(2_000)}x`, `${'a*'.repeat(2_000)}y`],
      [`${'[a-z]+'.repeat(500)}!`, `${'.+'.repeat(500)}?`],
      ['x'.repeat(100_000), 'x'.repeat(100_000)],
    ]) {
      const start = performance.now()
      const answer = ourAnswer({ name: 'regex.globs_match', args })
      const ms = performance.now() - start
      expect(answer.length).toBe(1)
      expect(ms, `${String(args[0]).slice(0, 20)}… took ${ms.toFixed(0)} ms`).toBeLessThan(5_000)
    }
  }, 60_000)
})
