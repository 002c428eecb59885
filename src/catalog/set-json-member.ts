import { formatJson } from './format-json.js'

/**
 * Sets `value` at `path` (object keys from the root) in the JSON text `text` and returns the new
 * text, changing only the bytes of that one member: the rest of a hand-maintained file keeps its
 * layout, comments in review stay on the lines they were made on, and `git diff` shows the
 * member that changed, not a reformatted file. The member's parent object must exist; a missing
 * member is added after the parent's last one. Returns undefined when the text cannot be edited in
 * place (it is not JSON, a key on the path is missing or not an object, or a key on the path occurs
 * twice — JSON.parse keeps the last one, so an edit of either could change nothing): the caller
 * then writes the whole document.
 *
 * @example
 * ```ts
 * setJsonMember('{ "a": { "b": 1 } }', ['a', 'c'], 2) // '{ "a": { "b": 1,\n "c": 2 } }' (layout aside)
 * ```
 */
export function setJsonMember(text: string, path: readonly string[], value: unknown): string | undefined {
  if (path.length === 0) return undefined
  let scanner: JsonScanner
  let root: ObjectSpan
  try {
    scanner = new JsonScanner(text)
    const parsed = scanner.document()
    if (parsed.kind !== 'object') return undefined
    root = parsed
  } catch {
    return undefined
  }
  let parent = root
  for (const key of path.slice(0, -1)) {
    const member = onlyMember(parent, key)
    if (member?.value.kind !== 'object') return undefined
    parent = member.value
  }
  const key = path[path.length - 1]!
  const matches = parent.members.filter((m) => m.key === key)
  if (matches.length > 1) return undefined
  const existing = matches[0]
  if (existing) {
    const indent = lineIndent(text, existing.keyStart)
    const column = existing.value.start - lineStart(text, existing.value.start)
    const formatted = formatJson(value, { indent, column })
    return text.slice(0, existing.value.start) + formatted + text.slice(existing.value.end)
  }
  const last = parent.members[parent.members.length - 1]
  if (last) {
    const indent = lineIndent(text, last.keyStart)
    const head = `${' '.repeat(indent)}${JSON.stringify(key)}: `
    const formatted = formatJson(value, { indent, column: head.length })
    return `${text.slice(0, last.value.end)},\n${head}${formatted}${text.slice(last.value.end)}`
  }
  // An empty parent `{}`: open it on its own lines.
  const indent = lineIndent(text, parent.start)
  const head = `${' '.repeat(indent + 2)}${JSON.stringify(key)}: `
  const formatted = formatJson(value, { indent: indent + 2, column: head.length })
  return `${text.slice(0, parent.start)}{\n${head}${formatted}\n${' '.repeat(indent)}}${text.slice(parent.end)}`
}

function onlyMember(object: ObjectSpan, key: string): Member | undefined {
  const matches = object.members.filter((m) => m.key === key)
  return matches.length === 1 ? matches[0] : undefined
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1
}

/** The spaces that open the line `offset` is on (0 when anything but spaces precedes it). */
function lineIndent(text: string, offset: number): number {
  const start = lineStart(text, offset)
  const match = /^ */.exec(text.slice(start, offset))
  return match ? match[0].length : 0
}

type Span = ObjectSpan | { kind: 'other'; start: number; end: number }

interface ObjectSpan {
  kind: 'object'
  start: number
  end: number
  members: Member[]
}

interface Member {
  key: string
  keyStart: number
  value: Span
}

/**
 * A strict JSON scanner (RFC 8259) that records where each object member's key and value are.
 * Values that are not objects are only skipped over: their offsets are all an edit needs.
 */
class JsonScanner {
  #at = 0
  readonly #text: string

  constructor(text: string) {
    this.#text = text
  }

  document(): Span {
    // A UTF-8 byte order mark is not JSON, but editors write one and JSON.parse of the file's text
    // (after readFile 'utf8') sees it as U+FEFF: skip it like whitespace so such files stay editable.
    if (this.#text.charCodeAt(0) === 0xfeff) this.#at = 1
    const span = this.value(0)
    this.space()
    if (this.#at !== this.#text.length) throw new SyntaxError('trailing text')
    return span
  }

  private value(depth: number): Span {
    if (depth > 1000) throw new SyntaxError('too deep')
    this.space()
    const start = this.#at
    const c = this.#text[this.#at]
    if (c === '{') return this.object(depth)
    if (c === '[') {
      this.#at++
      this.space()
      if (this.#text[this.#at] === ']') this.#at++
      else
        for (;;) {
          this.value(depth + 1)
          this.space()
          const next = this.#text[this.#at++]
          if (next === ']') break
          if (next !== ',') throw new SyntaxError('expected , or ]')
        }
    } else if (c === '"') this.string()
    else {
      const match = /^(?:true|false|null|-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?)/.exec(
        this.#text.slice(this.#at, this.#at + 400),
      )
      if (!match) throw new SyntaxError('unexpected token')
      this.#at += match[0].length
    }
    return { kind: 'other', start, end: this.#at }
  }

  private object(depth: number): ObjectSpan {
    const start = this.#at++
    const members: Member[] = []
    this.space()
    if (this.#text[this.#at] === '}') {
      this.#at++
      return { kind: 'object', start, end: this.#at, members }
    }
    for (;;) {
      this.space()
      const keyStart = this.#at
      if (this.#text[this.#at] !== '"') throw new SyntaxError('expected a key')
      const key = this.string()
      this.space()
      if (this.#text[this.#at++] !== ':') throw new SyntaxError('expected :')
      const value = this.value(depth + 1)
      members.push({ key, keyStart, value })
      this.space()
      const next = this.#text[this.#at++]
      if (next === '}') break
      if (next !== ',') throw new SyntaxError('expected , or }')
    }
    return { kind: 'object', start, end: this.#at, members }
  }

  /** Reads a string token and returns its decoded value (JSON.parse decodes the escapes). */
  private string(): string {
    const start = this.#at++
    for (;;) {
      const c = this.#text.charCodeAt(this.#at)
      if (Number.isNaN(c)) throw new SyntaxError('unterminated string')
      if (c === 0x22) break
      if (c === 0x5c) this.#at += 2
      else this.#at++
    }
    this.#at++
    return JSON.parse(this.#text.slice(start, this.#at)) as string
  }

  private space(): void {
    while (/[ \t\n\r]/.test(this.#text[this.#at] ?? '')) this.#at++
  }
}
