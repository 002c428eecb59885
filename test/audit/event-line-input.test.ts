import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalEventLine } from '../../src/audit/event-hash.js'
import { inputValueRange } from '../../src/audit/event-line-input.js'

// JSON full of the keys and characters a forward scan could trip on.
const tricky = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom('\\', '"', '\\"', '\\\\"', '","input":1,"', '{', ']', ''),
    fc.jsonValue({ maxDepth: 2 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.oneof(fc.constantFrom('input', 'inputs', '"', '\\'), fc.string()), tie('value'), {
      maxKeys: 5,
    }),
  ),
})).value

const event = fc.record(
  {
    bundles: tricky,
    decision_id: fc.string(),
    erased: fc.array(fc.string(), { maxLength: 3 }),
    input: tricky,
    path: fc.constantFrom('mcp/decision', 'mcp/response'),
    result: tricky,
    seq: fc.nat(),
  },
  { requiredKeys: ['decision_id', 'input', 'seq'] },
)

describe('inputValueRange: the top-level input of an event line, found without parsing it', () => {
  it('splits every line into the input text and the rest, both parsing to what the whole line holds', () => {
    fc.assert(
      fc.property(event, fc.boolean(), (e, canonical) => {
        const line = canonical ? canonicalEventLine(e).line : JSON.stringify(e)
        const range = inputValueRange(line)
        expect(range).toBeDefined()
        const whole = JSON.parse(line)
        expect(JSON.parse(line.slice(range!.start, range!.end))).toEqual(whole.input)
        const rest = JSON.parse(`${line.slice(0, range!.start)}null${line.slice(range!.end)}`)
        expect(rest).toEqual({ ...whole, input: null })
      }),
      { numRuns: 2000 },
    )
  })

  it('takes the last of duplicate input keys, as JSON.parse does', () => {
    const line = '{"input":{"a":1},"x":"\\"input\\":","input":[2]}'
    const range = inputValueRange(line)!
    expect(line.slice(range.start, range.end)).toBe('[2]')
    expect(JSON.parse(line).input).toEqual([2])
  })

  it.each([
    ['no input member', '{"seq":1,"result":{"input":1}}'],
    ['input only nested', '{"result":{"input":{"a":1}}}'],
    ['input only inside a string', '{"result":"\\"input\\":1"}'],
    ['not an object', '[{"input":1}]'],
    ['an unterminated string', '{"input":"abc}'],
    ['unbalanced nesting', '{"input":{"a":[1}'],
    ['text after the object', '{"input":1}{"input":2}'],
    ['an empty value', '{"input":}'],
  ])('gives up on %s', (_name, line) => {
    expect(inputValueRange(line)).toBeUndefined()
  })
})
