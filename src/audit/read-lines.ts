import { createReadStream } from 'node:fs'

/** One line of a log file. */
export interface LogLine {
  text: string
  /** Byte offset in the file just past this line (and its newline). */
  end: number
  /** False for a last line without its newline (a torn write, or one still being written). */
  terminated: boolean
}

/**
 * Streams the lines of a log file in constant memory, split on `\n` bytes and decoded one whole
 * line at a time (so a multi-byte character is never cut at a chunk boundary). Large reads and a
 * byte search instead of readline's regular expression: verify and replay spend their time on the
 * events, not on finding line ends.
 *
 * @example
 * ```ts
 * for await (const { text, terminated } of readLines('decisions-a-000001.jsonl')) console.log(text)
 * ```
 */
export async function* readLines(path: string): AsyncGenerator<LogLine> {
  let rest: Buffer | undefined
  let offset = 0
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    const data = rest ? Buffer.concat([rest, chunk]) : chunk
    let start = 0
    for (let end = data.indexOf(0x0a, start); end >= 0; end = data.indexOf(0x0a, start)) {
      offset += end + 1 - start
      yield { text: data.toString('utf8', start, end), end: offset, terminated: true }
      start = end + 1
    }
    rest = start < data.length ? data.subarray(start) : undefined
  }
  if (rest) yield { text: rest.toString('utf8'), end: offset + rest.length, terminated: false }
}
