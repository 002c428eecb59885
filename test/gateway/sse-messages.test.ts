import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { sseMessages } from '../../src/gateway/sse-messages.js'

/** A stream that delivers `text` as UTF-8 in the given chunk sizes (the rest in one last chunk). */
function streamOf(text: string, cuts: number[]): ReadableStream<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  const chunks: Uint8Array[] = []
  let at = 0
  for (const cut of cuts) {
    if (at >= bytes.length) break
    chunks.push(bytes.subarray(at, Math.min(bytes.length, at + cut)))
    at += cut
  }
  if (at < bytes.length) chunks.push(bytes.subarray(at))
  return new ReadableStream({
    pull(controller) {
      const next = chunks.shift()
      if (next) controller.enqueue(next)
      else controller.close()
    },
  })
}

async function collect(stream: ReadableStream<Uint8Array>, max = 1 << 20) {
  const out: Record<string, unknown>[] = []
  for await (const message of sseMessages(stream, max)) out.push(message)
  return out
}

const message = fc.record({
  jsonrpc: fc.constant('2.0'),
  id: fc.nat(),
  result: fc.record({ text: fc.string({ unit: 'binary', maxLength: 40 }) }),
})

describe('sseMessages', () => {
  it('yields every message whatever the line ends, comments, multi-line data and chunk boundaries', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(message, { maxLength: 6 }),
        fc.constantFrom('\n', '\r', '\r\n'),
        fc.boolean(),
        fc.array(fc.integer({ min: 1, max: 7 }), { maxLength: 200 }),
        async (messages, eol, splitData, cuts) => {
          let text = `: priming${eol}id: 0${eol}data:${eol}${eol}`
          for (const m of messages) {
            const json = JSON.stringify(m, null, splitData ? 1 : undefined)
            const lines = json.split('\n').map((line) => `data: ${line}`)
            text += `event: message${eol}id: ${m.id}${eol}${lines.join(eol)}${eol}${eol}: keep-alive${eol}`
          }
          expect(await collect(streamOf(text, cuts))).toEqual(messages)
        },
      ),
      { numRuns: 300 },
    )
  })

  it('splits a large event arriving in many small chunks in linear time', async () => {
    const big = { jsonrpc: '2.0', id: 1, result: { text: 'x'.repeat(4 << 20) } }
    const text = `data: ${JSON.stringify(big)}\n\n`
    const started = performance.now()
    const out = await collect(streamOf(text, Array(Math.ceil(text.length / 4096)).fill(4096)), 8 << 20)
    expect(out).toEqual([big])
    // Quadratic rescanning took seconds here (1,025 scans of up to 4 MiB); linear takes milliseconds.
    expect(performance.now() - started).toBeLessThan(2000)
  })

  it('refuses an event beyond the bound, and data that is not a JSON object', async () => {
    await expect(collect(streamOf(`data: ${'1'.repeat(2000)}\n\n`, []), 1000)).rejects.toThrow(/exceeds 1000/)
    await expect(collect(streamOf('data: [1]\n\n', []))).rejects.toThrow(/not a JSON-RPC message/)
  })
})
