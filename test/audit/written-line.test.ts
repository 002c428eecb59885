import { hash as digest } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalEventLine } from '../../src/audit/event-hash.js'
import { writtenLineFields } from '../../src/audit/written-line.js'

const hex64 = fc.stringMatching(/^[0-9a-f]{64}$/)
// JSON whose objects favour the keys the scan looks for, nested where it must not look, and
// strings full of quotes and backslashes (the edges a backwards string scan can get wrong).
const tricky = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom('\\', '"', '\\"', '\\\\"', '","seq":7,"', '"prev":"', '{', ']'),
    fc.jsonValue({ maxDepth: 2 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.oneof(fc.constantFrom('seq', 'prev', 'result', 'timestamp', 'hash', '"', '\\'), fc.string()),
      tie('value'),
      { maxKeys: 5 },
    ),
  ),
})).value

const event = fc.record({
  decision_id: fc.uuid(),
  timestamp: fc.constant('2026-12-02T05:00:00.000Z'),
  path: fc.constantFrom('mcp/decision', 'mcp/response'),
  input: tricky,
  result: tricky,
  bundles: fc.constant({ default: { revision: 'r1', digest: `sha256:${'a'.repeat(64)}` } }),
  labels: fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }),
  metrics: fc.constant({}),
  nd_builtin_cache: fc.constant({}),
  erased: fc.array(fc.string(), { maxLength: 3 }),
  seq: fc.integer({ min: 1, max: 999_999_999_999_999 }),
  prev: hex64,
})

/** A line in the log's form around any body: the body closed with `}`, hashed, suffix added. */
function lineAround(body: string): Buffer {
  const hash = digest('sha256', `${body}}`, 'hex')
  return Buffer.from(`${body},"hash":"${hash}"}`)
}

describe('writtenLineFields: the chain fields of a line as the log writes it, read from its bytes', () => {
  it('agrees with JSON.parse on every line the log writes, and leaves the line as it was', () => {
    fc.assert(
      fc.property(event, (e) => {
        const { line, hash } = canonicalEventLine(e)
        const bytes = Buffer.from(line)
        const fields = writtenLineFields(bytes)
        const parsed = JSON.parse(line)
        expect(fields).toEqual({ seq: parsed.seq, prev: parsed.prev, hash: parsed.hash })
        expect(fields?.hash).toBe(hash)
        expect(bytes.toString()).toBe(line)
      }),
      { numRuns: 2000 },
    )
  })

  it('any changed byte makes it give up (the caller then parses and finds the mismatch)', () => {
    fc.assert(
      fc.property(event, fc.nat(), fc.integer({ min: 1, max: 255 }), (e, at, delta) => {
        const bytes = Buffer.from(canonicalEventLine(e).line)
        const i = at % bytes.length
        bytes[i] = (bytes[i]! + delta) % 256
        expect(writtenLineFields(bytes)).toBeUndefined()
      }),
      { numRuns: 1000 },
    )
  })

  const prev = 'a'.repeat(64)
  it.each([
    ['no hash suffix', Buffer.from(`{"prev":"${prev}","seq":1}`)],
    ['seq with a leading zero', lineAround(`{"prev":"${prev}","seq":01`)],
    ['seq zero', lineAround(`{"prev":"${prev}","seq":0`)],
    ['negative seq', lineAround(`{"prev":"${prev}","seq":-1`)],
    ['fractional seq', lineAround(`{"prev":"${prev}","seq":1.5`)],
    ['seq as a string', lineAround(`{"prev":"${prev}","seq":"1"`)],
    ['seq beyond 15 digits', lineAround(`{"prev":"${prev}","seq":1000000000000000`)],
    ['prev in upper case', lineAround(`{"prev":"${'A'.repeat(64)}","seq":1`)],
    ['prev one digit short', lineAround(`{"prev":"${'a'.repeat(63)}","seq":1`)],
    ['no prev', lineAround('{"seq":1')],
    ['seq only inside a nested object', lineAround(`{"prev":"${prev}","result":{"seq":1}`)],
    ['prev only inside an array', lineAround(`{"result":[{"prev":"${prev}"}],"seq":1`)],
    ['seq inside a string', lineAround(`{"prev":"${prev}","result":"\\",\\"seq\\":1"`)],
    ['an unterminated string', lineAround(`{"prev":"${prev}","seq":1,"x":"\\"`)],
  ])('gives up on a line with a valid hash but %s', (_name, bytes) => {
    expect(writtenLineFields(bytes)).toBeUndefined()
  })

  it('reads a key given twice as JSON.parse does: the last one wins', () => {
    const bytes = lineAround(`{"prev":"${prev}","seq":1,"seq":2`)
    expect(writtenLineFields(bytes)).toMatchObject({ seq: 2, prev })
    expect(JSON.parse(bytes.toString()).seq).toBe(2)
  })
})
