import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { formatTestReport, type PolicyTestResult } from '../../src/index.js'
import { summarize } from '../../src/policy-test/policy-test-result.js'

const outcome = fc.constantFrom('pass', 'fail', 'error', 'skip' as const)
const result = fc.record({
  kind: fc.constantFrom('rego', 'case' as const),
  name: fc.string({ unit: 'binary' }),
  suite: fc.string({ unit: 'binary' }),
  file: fc.string({ unit: 'binary' }),
  line: fc.nat(),
  outcome,
  message: fc.option(fc.string({ unit: 'binary' }), { nil: undefined }),
  durationMs: fc.double({ min: 0, max: 1e6, noNaN: true }),
}) as fc.Arbitrary<PolicyTestResult>

// The Char production of XML 1.0 (a lone surrogate is its own code point when iterating a string).
function xmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    code >= 0x10000
  )
}

function decodeEntities(text: string): string {
  return text
    .replace(/&quot;/g, '"')
    .replace(/&gt;/g, '>')
    .replace(/&lt;/g, '<')
    .replace(/&amp;/g, '&')
}

describe('JUnit XML report', () => {
  it('is well-formed XML 1.0 text for any names and messages (property)', () => {
    fc.assert(
      fc.property(fc.array(result, { maxLength: 20 }), (results) => {
        const xml = formatTestReport(summarize(results, 1), 'junit')
        // No character XML 1.0 forbids, no markup but ours: every '<' opens a known element.
        expect([...xml].filter((char) => !xmlChar(char.codePointAt(0)!))).toEqual([])
        for (const tag of xml.matchAll(/<\/?([A-Za-z?]+)/g))
          expect(['?xml', 'testsuites', 'testsuite', 'testcase', 'failure', 'error', 'skipped']).toContain(
            tag[1],
          )
        // Attribute values never hold a raw quote, so attributes cannot be broken out of.
        for (const attribute of xml.matchAll(/ [a-z]+="([^"]*)"/g)) expect(attribute[1]).not.toMatch(/[<]/)
        const counts = summarize(results, 1).counts
        expect(xml).toContain(`failures="${counts.fail}" errors="${counts.error}" skipped="${counts.skip}"`)
      }),
    )
  })

  it('keeps a failure message readable (escaped, then unescaped, it is the same text)', () => {
    const message = 'expected ["a&b"], got <none>\nsecond line'
    const xml = formatTestReport(
      summarize(
        [{ kind: 'case', name: 'f: c', suite: 'f', file: 'f', outcome: 'fail', message, durationMs: 1 }],
        1,
      ),
      'junit',
    )
    const body = /<failure message="[^"]*">([^<]*)<\/failure>/.exec(xml)?.[1]
    expect(decodeEntities(body ?? '')).toBe(message)
  })
})
