import { hash as digest } from 'node:crypto'

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COMMA = 0x2c
const COLON = 0x3a
const OPEN_BRACE = 0x7b
const CLOSE_BRACE = 0x7d
const OPEN_BRACKET = 0x5b
const CLOSE_BRACKET = 0x5d

/** The chain fields of one event line. */
export interface ChainFields {
  seq: number
  prev: string
  hash: string
}

/** `,"hash":"` — the head of the suffix {@link canonicalEventLine} adds to the canonical text. */
const SUFFIX_HEAD = Buffer.from(',"hash":"', 'latin1')
/** `,"hash":"<64 hex>"}` */
const SUFFIX_LENGTH = SUFFIX_HEAD.length + 64 + 2

/**
 * The fast path of verify-log, for a line exactly as `DecisionLog` writes it: the RFC 8785
 * canonical text of the event without `hash`, with `,"hash":"<hex>"}` in place of its closing
 * brace. When the bytes before the suffix (closed again) hash to that hex, the top-level `seq` and
 * `prev` are read by a short scan back from the end, without building the event: verification
 * would otherwise spend twice as long in `JSON.parse` on an input document it never looks at.
 *
 * Undefined when the line is not in that form (no suffix, a hash that does not match, `seq` not a
 * plain positive integer, `prev` not 64 lowercase hex digits, either missing); the caller then
 * parses the line. On every line the log writes the scan reads what `JSON.parse` reads (a property
 * test holds it to that). It does not check the JSON grammar of the rest of the line, so a forger
 * who recomputes hashes can make it read something else: verify-log therefore uses it only for
 * lines a verified checkpoint pins (each hash names the line before, up to a signed one, so those
 * bytes are the writer's), and parses every line once anything is found.
 */
export function writtenLineFields(line: Buffer): ChainFields | undefined {
  const hash = writtenLineHash(line)
  return hash === undefined ? undefined : topLevelChainFields(line, line.length - SUFFIX_LENGTH + 1, hash)
}

/**
 * The hash a line carries when it is exactly the text the log wrote: the canonical event followed
 * by `,"hash":"<hex>"}`, where the bytes before the suffix (closed with `}`) hash to that hex.
 * Undefined otherwise. Reads the bytes as they are on disk, not a decoding of them.
 */
export function writtenLineHash(line: Buffer): string | undefined {
  const length = line.length
  if (length < SUFFIX_LENGTH + 2 || line[length - 1] !== CLOSE_BRACE || line[length - 2] !== QUOTE)
    return undefined
  const at = length - SUFFIX_LENGTH
  for (let i = 0; i < SUFFIX_HEAD.length; i++) if (line[at + i] !== SUFFIX_HEAD[i]) return undefined
  const hash = line.toString('latin1', at + SUFFIX_HEAD.length, length - 2)
  // The hashed text is the line up to the suffix, closed with `}`. The brace is written over the
  // suffix's comma for the call and put back (synchronously), so the hash reads the line where it
  // lies, without a copy.
  line[at] = CLOSE_BRACE
  try {
    return digest('sha256', line.subarray(0, at + 1), 'hex') === hash ? hash : undefined
  } finally {
    line[at] = COMMA
  }
}

/**
 * Reads the top-level `seq` and `prev` of the object in `line[0, end)`, scanning back from its
 * closing brace: in canonical key order they are near the end (`prev`, `result`, `seq`,
 * `timestamp`), so the scan stops long before the input document. A key is a string at the top
 * level followed by `:`; a quote is a string's edge unless an odd run of backslashes precedes it.
 * The last occurrence of a key wins, as with `JSON.parse`. Undefined when unsure.
 */
function topLevelChainFields(line: Buffer, end: number, hash: string): ChainFields | undefined {
  let depth = 1
  // Where the value of the member being scanned ends: the next top-level `,` or the closing `}`.
  let valueEnd = end - 1
  let seq = 0
  let prev: string | undefined
  for (let i = end - 2; i >= 0; i--) {
    const c = line[i]!
    if (c === QUOTE) {
      // Outside a string, an escaped quote is not JSON: the line is not what the log writes.
      if (escaped(line, i)) return undefined
      const open = openingQuote(line, i)
      if (open < 0) return undefined
      if (depth === 1 && line[i + 1] === COLON) {
        const keyLength = i - open - 1
        if (
          seq === 0 &&
          keyLength === 3 &&
          line[open + 1] === 0x73 &&
          line[open + 2] === 0x65 &&
          line[open + 3] === 0x71
        ) {
          seq = positiveInteger(line, i + 2, valueEnd)
          if (seq === 0) return undefined
        } else if (
          prev === undefined &&
          keyLength === 4 &&
          line[open + 1] === 0x70 &&
          line[open + 2] === 0x72 &&
          line[open + 3] === 0x65 &&
          line[open + 4] === 0x76
        ) {
          prev = hexDigest(line, i + 2, valueEnd)
          if (prev === undefined) return undefined
        }
        if (seq !== 0 && prev !== undefined) return { seq, prev, hash }
      }
      i = open
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      depth++
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth--
      if (depth === 0) return undefined
    } else if (c === COMMA && depth === 1) {
      valueEnd = i
    }
  }
  return undefined
}

/** The index of the quote opening the string whose closing quote is at `close`, or -1. */
function openingQuote(line: Buffer, close: number): number {
  for (let j = close - 1; j >= 0; j--) if (line[j] === QUOTE && !escaped(line, j)) return j
  return -1
}

/** Whether the character at `at` is escaped: an odd run of backslashes precedes it. */
function escaped(line: Buffer, at: number): boolean {
  let backslashes = 0
  while (at - 1 - backslashes >= 0 && line[at - 1 - backslashes] === BACKSLASH) backslashes++
  return backslashes % 2 === 1
}

/** `line[from, to)` as a JCS positive integer (digits, no leading zero, below 2^53), else 0. */
function positiveInteger(line: Buffer, from: number, to: number): number {
  const digits = to - from
  if (digits < 1 || digits > 15 || line[from] === 0x30) return 0
  let value = 0
  for (let j = from; j < to; j++) {
    const d = line[j]! - 0x30
    if (d < 0 || d > 9) return 0
    value = value * 10 + d
  }
  return value
}

/** `line[from, to)` as a quoted SHA-256 hex digest (64 lowercase hex digits), else undefined. */
function hexDigest(line: Buffer, from: number, to: number): string | undefined {
  if (to - from !== 66 || line[from] !== QUOTE || line[to - 1] !== QUOTE) return undefined
  for (let j = from + 1; j < to - 1; j++) {
    const h = line[j]!
    if (!((h >= 0x30 && h <= 0x39) || (h >= 0x61 && h <= 0x66))) return undefined
  }
  return line.toString('latin1', from + 1, to - 1)
}
