import {
  BACKSLASH,
  CLOSE_BRACE,
  CLOSE_BRACKET,
  COLON,
  COMMA,
  OPEN_BRACE,
  OPEN_BRACKET,
  QUOTE,
} from './json-chars.js'

/** Where a member's value lies in a line of JSON text: `text.slice(start, end)`. */
export interface ValueRange {
  start: number
  end: number
}

/**
 * Finds the value of the top-level `input` member of an event line by a forward scan that follows
 * strings and nesting. Replay hands that text to the engine as it is (the engine parses JSON
 * itself) instead of serializing the parsed input back to text.
 *
 * Undefined when the line is not one balanced object with a top-level `input`; the caller then
 * parses the whole line. Of duplicate `input` keys the last wins, as with `JSON.parse`; a key
 * spelled with escapes (`"\u0069nput"`) is not seen, so the caller must check that the rest of the
 * line has no other `input`. The scan checks nesting and strings, not the JSON grammar inside the
 * value: the caller parses it too.
 */
export function inputValueRange(text: string): ValueRange | undefined {
  if (text.charCodeAt(0) !== OPEN_BRACE) return undefined
  let depth = 0
  let expectKey = false
  let found: ValueRange | undefined
  // Set after a top-level `"input":` until the value's end is seen.
  let valueStart = -1
  const length = text.length
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const j = closingQuote(text, i + 1)
      if (j < 0) return undefined
      if (depth === 1 && expectKey) {
        expectKey = false
        if (j - i === 6 && text.startsWith('input', i + 1) && text.charCodeAt(j + 1) === COLON) {
          valueStart = j + 2
          i = j + 1
          continue
        }
      }
      i = j
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++
      if (depth === 1) expectKey = true
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 1 && valueStart >= 0) {
        found = { start: valueStart, end: i }
        valueStart = -1
      }
      depth--
      if (depth < 0 || (depth === 0 && i !== length - 1)) return undefined
    } else if (c === COMMA && depth === 1) {
      if (valueStart >= 0) {
        found = { start: valueStart, end: i }
        valueStart = -1
      }
      expectKey = true
    }
  }
  if (depth !== 0 || !found || found.end <= found.start) return undefined
  return found
}

/** The index of the unescaped quote closing a string whose text starts at `from`, or -1. */
function closingQuote(text: string, from: number): number {
  // The native search skips the string's text; a quote after an odd run of backslashes is text.
  for (let q = text.indexOf('"', from); q >= 0; q = text.indexOf('"', q + 1)) {
    let backslashes = 0
    while (text.charCodeAt(q - 1 - backslashes) === BACKSLASH) backslashes++
    if (backslashes % 2 === 0) return q
  }
  return -1
}
