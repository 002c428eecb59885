import { createReadStream } from 'node:fs'

/** One line of a log file. */
export interface LogLine {
  text: string
  /** Byte offset in the file just past this line (and its newline). */
  end: number
  /** False for a last line without its newline (a torn write, or one still being written). */
  terminated: boolean
}

/** The lines found in one read of a log file, as bytes without their newlines. */
export interface LineBatch {
  lines: Buffer[]
  /** False when the last line of the batch is the end of the file without a newline. */
  terminated: boolean
}

/**
 * Streams the lines of a log file in constant memory as bytes, a batch per 1 MiB read: split on
 * `\n` bytes with a native search, each line a view into the read buffer (no copy, no decoding).
 * A line cut by a read boundary is joined with the next read. For readers that hash or scan bytes
 * (verify-log) and would only pay to decode text they never look at.
 */
export async function* readLineBatches(path: string): AsyncGenerator<LineBatch> {
  // The pieces of a line no newline has ended yet: joined once, when it ends, so a line longer
  // than a read costs its length, not its length times the number of reads.
  let pending: Buffer[] = []
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 }) as AsyncIterable<Buffer>) {
    let end = chunk.indexOf(0x0a)
    if (end < 0) {
      pending.push(chunk)
      continue
    }
    const first = chunk.subarray(0, end)
    const lines: Buffer[] = [pending.length > 0 ? Buffer.concat([...pending, first]) : first]
    pending = []
    let start = end + 1
    for (end = chunk.indexOf(0x0a, start); end >= 0; end = chunk.indexOf(0x0a, start)) {
      lines.push(chunk.subarray(start, end))
      start = end + 1
    }
    if (start < chunk.length) pending.push(chunk.subarray(start))
    yield { lines, terminated: true }
  }
  if (pending.length > 0) yield { lines: [Buffer.concat(pending)], terminated: false }
}

/**
 * Streams the lines of a log file in constant memory, decoded one whole line at a time (so a
 * multi-byte character is never cut at a read boundary).
 *
 * @example
 * ```ts
 * for await (const { text, terminated } of readLines('decisions-a-000001.jsonl')) console.log(text)
 * ```
 */
export async function* readLines(path: string): AsyncGenerator<LogLine> {
  let offset = 0
  for await (const { lines, terminated } of readLineBatches(path)) {
    for (let i = 0; i < lines.length; i++) {
      const last = i === lines.length - 1
      const line = lines[i]!
      offset += line.length + (last && !terminated ? 0 : 1)
      yield { text: line.toString('utf8'), end: offset, terminated: !last || terminated }
    }
  }
}
