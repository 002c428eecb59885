/**
 * Duplicate member names in JSON text. `JSON.parse` keeps the last of two equal keys; other
 * parsers keep the first or refuse, so a message with `"name"` twice can be decided as one tool and
 * run as another. The normalizer refuses such messages (`ERR_NORMALIZE_DUPLICATE_KEY`).
 *
 * Keys are compared as JSON.parse decodes them, so `"name"` and `"n\u0061me"` are the same key.
 * Both functions here read text that `JSON.parse` has already accepted: they rely on its grammar
 * and do not validate it again.
 */

const QUOTE = 0x22
const BACKSLASH = 0x5c
const COLON = 0x3a
const COMMA = 0x2c
const OPEN_OBJECT = 0x7b
const CLOSE_OBJECT = 0x7d
const OPEN_ARRAY = 0x5b
const CLOSE_ARRAY = 0x5d

/**
 * Whether valid JSON text names more members than its parsed value has keys (`parsedKeys`, summed
 * over the value's objects): then some object holds a key twice, since `JSON.parse` keeps one
 * property per distinct key. Usually decided by {@link separatorBound} alone, in about a tenth of
 * the time `JSON.parse` took; only text with a duplicate or a string that starts with a colon is
 * counted exactly ({@link countMemberNames}, about half the time `JSON.parse` took).
 */
export function namesMoreMembersThan(text: string, parsedKeys: number): boolean {
  if (separatorBound(text) === parsedKeys) return false
  return countMemberNames(text) !== parsedKeys
}

/**
 * An upper bound on the member names in valid JSON text: the colons whose previous character
 * other than whitespace is an unescaped quote. Every name separator is one (a member is
 * `"name" ws : value`, and a name's closing quote is unescaped); a colon inside a string counts
 * only when it directly follows the string's opening quote (`":"`), so a URL, a time or JSON text
 * in a string (`"{\"a\":1}"`) does not. One native `indexOf` per colon; each look back stops at
 * the previous colon at the latest, so the whole is linear.
 */
export function separatorBound(text: string): number {
  let bound = 0
  let at = text.indexOf(':')
  while (at !== -1) {
    let before = at - 1
    let c = text.charCodeAt(before)
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(--before)
    if (c === QUOTE) {
      // After an odd run of backslashes the quote is escaped: the colon is inside a string.
      let run = 0
      while (text.charCodeAt(before - 1 - run) === BACKSLASH) run++
      if ((run & 1) === 0) bound++
    }
    at = text.indexOf(':', at + 1)
  }
  return bound
}

/**
 * Counts the member names in valid JSON text: every string followed by `:`. The parsed value has
 * exactly this many own keys (summed over its objects) unless an object repeats a key, so
 * comparing the two counts detects a duplicate without building a key set per object. Jumps from
 * quote to quote with `indexOf` (a native scan), so it never looks at most characters one by one.
 *
 * @returns The number of member names, or -1 when the text has an unterminated string (not valid JSON).
 */
export function countMemberNames(text: string): number {
  let names = 0
  let at = text.indexOf('"')
  while (at !== -1) {
    const end = closingQuote(text, at)
    if (end === -1) return -1
    let next = end + 1
    let c = text.charCodeAt(next)
    while (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) c = text.charCodeAt(++next)
    if (c === COLON) names++
    at = text.indexOf('"', next)
  }
  return names
}

/** Where a duplicate key is: the decoded key, the JSON Pointer (RFC 6901) of the object holding it twice, and the text offset of its second occurrence. */
export interface DuplicateKey {
  key: string
  pointer: string
  /** Index in the text of the opening quote of the key's second occurrence. */
  at: number
}

/**
 * Finds the first object in valid JSON text that holds a key twice (keys compared after JSON
 * unescaping). One pass, no recursion; a key set per open object.
 *
 * @returns The first duplicate in text order, or undefined when every object's keys are distinct.
 * @example
 * ```ts
 * findDuplicateKey('{"params":{"name":"a","n\\u0061me":"b"}}') // { key: 'name', pointer: '/params', at: 22 }
 * ```
 */
export function findDuplicateKey(text: string): DuplicateKey | undefined {
  // Per open container: its key set (null for an array) and the member or index being read.
  const keySets: (Set<string> | null)[] = []
  const segments: (string | number)[] = []
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === QUOTE) {
      const end = closingQuote(text, i)
      if (end === -1) return undefined
      let next = end + 1
      let n = text.charCodeAt(next)
      while (n === 0x20 || n === 0x0a || n === 0x0d || n === 0x09) n = text.charCodeAt(++next)
      if (n === COLON) {
        const top = keySets.length - 1
        const raw = text.slice(i + 1, end)
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw
        const keys = keySets[top]
        if (keys) {
          if (keys.has(key)) return { key, pointer: pointerOf(segments, top), at: i }
          keys.add(key)
          segments[top] = key
        }
        i = next
      } else i = end
    } else if (c === OPEN_OBJECT) {
      keySets.push(new Set())
      segments.push('')
    } else if (c === OPEN_ARRAY) {
      keySets.push(null)
      segments.push(0)
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      keySets.pop()
      segments.pop()
    } else if (c === COMMA) {
      const top = keySets.length - 1
      if (top >= 0 && keySets[top] === null) segments[top] = (segments[top] as number) + 1
    }
  }
  return undefined
}

/** The index of the quote closing the string opened at `open`, or -1. A quote after an odd run of backslashes is escaped. */
function closingQuote(text: string, open: number): number {
  let end = text.indexOf('"', open + 1)
  while (end !== -1 && text.charCodeAt(end - 1) === BACKSLASH) {
    let run = 1
    while (text.charCodeAt(end - 1 - run) === BACKSLASH) run++
    if ((run & 1) === 0) break
    end = text.indexOf('"', end + 1)
  }
  return end
}

function pointerOf(segments: (string | number)[], count: number): string {
  let pointer = ''
  for (let i = 0; i < count; i++)
    pointer += `/${String(segments[i]).replaceAll('~', '~0').replaceAll('/', '~1')}`
  return pointer
}
