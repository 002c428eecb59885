import { compareRegoValues, compareStrings } from '../rego-text.js'
import { RegoNumber, RegoSet, type RegoValue } from '../rego-value.js'

const hex = '0123456789abcdef'

/** Go's `encoding/json` string encoding: HTML-safe (`<`, `>`, `&`), U+2028/9 and controls escaped. */
export function goJsonString(s: string): string {
  let out = '"'
  for (const ch of s) {
    const c = ch.codePointAt(0)!
    switch (ch) {
      case '"':
        out += '\\"'
        continue
      case '\\':
        out += '\\\\'
        continue
      case '\b':
        out += '\\b'
        continue
      case '\f':
        out += '\\f'
        continue
      case '\n':
        out += '\\n'
        continue
      case '\r':
        out += '\\r'
        continue
      case '\t':
        out += '\\t'
        continue
    }
    if (c < 0x20 || ch === '<' || ch === '>' || ch === '&') out += `\\u00${hex[c >> 4]}${hex[c & 15]}`
    else if (c === 0x2028 || c === 0x2029) out += `\\u${c.toString(16)}`
    else if (c >= 0xd800 && c <= 0xdfff) out += '\\ufffd'
    else out += ch
  }
  return `${out}"`
}

/**
 * `json.Marshal` (or, with `indent`, `json.MarshalIndent(v, prefix, indent)`) of what OPA's
 * `ast.JSON` makes of a Rego value: numbers as written, sets as arrays in Rego's order, object
 * keys sorted. Object keys that are not strings are written as their JSON text.
 */
export function goJsonMarshal(v: RegoValue, indent?: { prefix: string; indent: string }): string {
  const write = (x: RegoValue, depth: number): string => {
    if (x === null) return 'null'
    if (typeof x === 'boolean') return String(x)
    if (typeof x === 'string') return goJsonString(x)
    if (x instanceof RegoNumber) return x.text
    const nl = (d: number) => (indent ? `\n${indent.prefix}${indent.indent.repeat(d)}` : '')
    const colon = indent ? ': ' : ':'
    if (Array.isArray(x) || x instanceof RegoSet) {
      const items = x instanceof RegoSet ? [...x.items].sort(compareRegoValues) : x
      if (items.length === 0) return '[]'
      return `[${items.map((i) => nl(depth + 1) + write(i, depth + 1)).join(',')}${nl(depth)}]`
    }
    const entries: [string, RegoValue][] =
      x instanceof Map
        ? [...x].map(([k, y]) => [typeof k === 'string' ? k : write(k, 0), y])
        : Object.entries(x as { [k: string]: RegoValue })
    if (entries.length === 0) return '{}'
    // encoding/json sorts keys by UTF-8 bytes (code points), not UTF-16 units.
    entries.sort((a, b) => compareStrings(a[0], b[0]))
    return `{${entries
      .map(([k, y]) => `${nl(depth + 1)}${goJsonString(k)}${colon}${write(y, depth + 1)}`)
      .join(',')}${nl(depth)}}`
  }
  return write(v, 0)
}
