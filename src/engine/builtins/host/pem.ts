/**
 * Go's `encoding/pem.Decode` and `base64.StdEncoding.DecodeString`, as OPA's crypto builtins use
 * them. Both run in linear time on any input (PEM's search for an END line is cached so a text of
 * many BEGIN lines without an END stays linear, where a naive loop is quadratic).
 */

/** A PEM block: its type and decoded bytes. */
export interface PemBlock {
  readonly type: string
  readonly bytes: Buffer
}

const STRICT_BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/

/** `base64.StdEncoding.DecodeString` (padding required; CR and LF ignored), or undefined on error. */
export function goBase64Decode(s: string): Buffer | undefined {
  const t = s.replace(/[\r\n]/g, '')
  if (!STRICT_BASE64.test(t)) return undefined
  return Buffer.from(t, 'base64')
}

/** A character that cannot occur in a PEM body. */
const BASE64_BAD = /[^A-Za-z0-9+/=\r\n \t]/g

const PEM_START = '\n-----BEGIN '
const PEM_END = '\n-----END '
const PEM_EOL = '-----'

/** Go's `getLine`: the line up to LF, right-trimmed of CR, spaces and tabs, and the rest. */
function getLine(s: string, from: number): [string, number] {
  const nl = s.indexOf('\n', from)
  const end = nl < 0 ? s.length : nl
  const next = nl < 0 ? s.length : nl + 1
  return [s.slice(from, end).replace(/[ \t\r]+$/, ''), next]
}

/**
 * Decodes every PEM block in `text` in order, as repeated `pem.Decode` calls do. `text` is read
 * as Latin-1 (one character per byte), as Go reads bytes.
 */
export function pemDecodeAll(text: string): { blocks: PemBlock[]; rest: string } {
  const blocks: PemBlock[] = []
  let pos = 0
  // The last search for PEM_END: from where, and what it found (-1: none from there on).
  let endFrom = -1
  let endAt = -1
  const findEnd = (from: number): number => {
    if (endFrom >= 0 && from >= endFrom && (endAt < 0 || endAt >= from)) return endAt
    endFrom = from
    endAt = text.indexOf(PEM_END, from)
    return endAt
  }
  let badEnd = -1
  let badAt = -1
  outer: for (;;) {
    // One pem.Decode from `pos`; `rest` walks past each BEGIN that does not make a block.
    let rest = pos
    for (;;) {
      if (text.startsWith(PEM_START.slice(1), rest)) rest += PEM_START.length - 1
      else {
        const at = text.indexOf(PEM_START, rest)
        if (at < 0) break outer
        rest = at + PEM_START.length
      }
      const [typeLine, afterType] = getLine(text, rest)
      rest = afterType
      if (!typeLine.endsWith(PEM_EOL)) continue
      const type = typeLine.slice(0, -PEM_EOL.length)
      // Headers ("Key: value" lines) are skipped; a block with headers needs a newline before END.
      let headers = false
      for (;;) {
        if (rest >= text.length) break outer
        const [line, next] = getLine(text, rest)
        if (!line.includes(':')) break
        headers = true
        rest = next
      }
      let endIndex: number
      let trailer: number
      if (!headers && text.startsWith(PEM_END.slice(1), rest)) {
        endIndex = rest
        trailer = rest + PEM_END.length - 1
      } else {
        endIndex = findEnd(rest)
        if (endIndex < 0) continue
        trailer = endIndex + PEM_END.length
      }
      const endTrailer = text.slice(trailer, trailer + type.length + PEM_EOL.length)
      if (endTrailer.length < type.length + PEM_EOL.length) continue
      if (!endTrailer.startsWith(type) || !endTrailer.endsWith(PEM_EOL)) continue
      const [restOfLine] = getLine(text, trailer + endTrailer.length)
      if (restOfLine.length !== 0) continue
      // A body holding a character base64 never has cannot decode; the position found holds for
      // every later attempt that starts before it and ends at the same END line (many BEGIN
      // lines before one END would otherwise decode ever shorter bodies: quadratic).
      if (badEnd !== endIndex || badAt < rest) {
        badEnd = endIndex
        BASE64_BAD.lastIndex = rest
        const m = BASE64_BAD.exec(text)
        badAt = m === null || m.index >= endIndex ? endIndex : m.index
      }
      if (badAt < endIndex) continue
      const bytes = goBase64Decode(text.slice(rest, endIndex).replace(/[ \t]/g, ''))
      if (bytes === undefined) continue
      blocks.push({ type, bytes })
      pos = getLine(text, endIndex + PEM_END.length - 1)[1]
      continue outer
    }
  }
  return { blocks, rest: text.slice(pos) }
}
