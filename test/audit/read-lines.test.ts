import { mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { readLines } from '../../src/audit/read-lines.js'

const MiB = 1024 * 1024

describe('readLines streams a log file line by line', () => {
  it('returns exactly the lines split on newlines, across 1 MiB reads, multi-byte characters and a last line without newline', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-lines-'))
    // Line lengths around and beyond the 1 MiB read, so lines start, end and span reads anywhere.
    const length = fc.oneof(
      fc.nat(40),
      fc.integer({ min: MiB - 3, max: MiB + 3 }),
      fc.integer({ min: 1, max: 3 * MiB }),
    )
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(length, fc.constantFrom('x', 'é', '€', '😀')), { minLength: 1, maxLength: 5 }),
        fc.boolean(),
        async (shapes, finalNewline) => {
          const lines = shapes.map(([n, ch]) => ch.repeat(Math.max(0, Math.floor(n / Buffer.byteLength(ch)))))
          const text = lines.join('\n') + (finalNewline ? '\n' : '')
          const file = join(dir, 'log.jsonl')
          await writeFile(file, text)
          const read = []
          for await (const line of readLines(file)) read.push(line)
          // What splitting the whole text gives: no line after a final newline.
          const expected = text.split('\n')
          if (expected.at(-1) === '') expected.pop()
          expect(read.map((l) => l.text)).toEqual(expected)
          expect(read.at(-1)?.end ?? 0).toBe(Buffer.byteLength(text))
          expect(read.map((l) => l.terminated)).toEqual(
            expected.map((_, i) => i < expected.length - 1 || text.endsWith('\n')),
          )
        },
      ),
      { numRuns: 25 },
    )
  }, 60_000)
})
