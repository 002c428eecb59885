/**
 * Rego values as host builtins see them when they ask for exact values (`HostBuiltin.values:
 * 'rego'`), and the text codec between them and OPA's WebAssembly module (`opa_value_dump` /
 * `opa_value_parse`, the same route OPA's own Go SDK takes). Unlike JSON, the text keeps what a
 * JavaScript value would lose: numbers digit for digit (a number's text, not a double, decides
 * exactness and whether `sprintf` sees an integer or a float), sets as sets, and object keys that
 * are not strings.
 */

/** A Rego number, kept as the text OPA wrote (`123456789123456789123`, `100.0`, `1e2`). */
export class RegoNumber {
  readonly text: string
  constructor(text: string) {
    this.text = text
  }

  /** Whether the text is an integer literal (no fraction, no exponent), as OPA's `isFloatNumber` decides. */
  get isIntegerText(): boolean {
    return !/[.eE]/.test(this.text)
  }

  /** The exact integer value (`1.0` and `1e3` included), or undefined for a fraction. */
  toBigInt(): bigint | undefined {
    const d = decimal(this.text)
    if (d === undefined) return undefined
    if (d.exp >= 0) return d.digits * 10n ** BigInt(d.exp)
    const div = 10n ** BigInt(-d.exp)
    return d.digits % div === 0n ? d.digits / div : undefined
  }

  /** The nearest double (`Infinity` beyond its range). */
  toNumber(): number {
    return Number(this.text)
  }

  toString(): string {
    return this.text
  }
}

/** A Rego set: its members in the order OPA dumped them (Rego's sort order). */
export class RegoSet {
  readonly items: readonly RegoValue[]
  constructor(items: readonly RegoValue[]) {
    this.items = items
  }
}

/** An object with at least one key that is not a string. */
export type RegoMap = Map<RegoValue, RegoValue>

/** A Rego value decoded by {@link parseRegoValue}. */
export type RegoValue =
  | null
  | boolean
  | string
  | RegoNumber
  | RegoValue[]
  | RegoSet
  | RegoMap
  | { [key: string]: RegoValue }

/** Sign, digits and base-10 exponent of a JSON number's text. */
function decimal(text: string): { digits: bigint; exp: number } | undefined {
  const m = /^(-?)(\d*)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$/.exec(text)
  if (!m) return undefined
  const frac = m[3] ?? ''
  if (m[2] === '' && frac === '') return undefined
  const digits = BigInt(`${m[1]}${m[2] || '0'}${frac}`)
  return { digits, exp: Number(m[4] ?? 0) - frac.length }
}

/**
 * Parses Rego value text (a superset of JSON: sets `{1, 2}` and `set()`, objects with any keys)
 * into {@link RegoValue}s. Numbers become {@link RegoNumber}s holding their text.
 *
 * @throws SyntaxError on text that is not a Rego value.
 * @example
 * ```ts
 * parseRegoValue('{1, 2}') // RegoSet { items: [RegoNumber('1'), RegoNumber('2')] }
 * ```
 */
export function parseRegoValue(text: string): RegoValue {
  const p = new Parser(text)
  const v = p.value()
  p.space()
  if (p.i !== text.length) p.fail('trailing text')
  return v
}

/**
 * Parses JSON text strictly (no sets, no trailing commas, JSON's number grammar) into
 * {@link RegoValue}s with exact numbers; duplicate keys keep the last value, as Go's decoder does.
 *
 * @throws SyntaxError on text that is not JSON.
 */
export function parseJsonExact(text: string): RegoValue {
  const p = new Parser(text, true)
  const v = p.value()
  p.space()
  if (p.i !== text.length) p.fail('trailing text')
  return v
}

class Parser {
  i = 0
  constructor(
    readonly s: string,
    readonly json = false,
  ) {}

  fail(what: string): never {
    throw new SyntaxError(`Rego value: ${what} at offset ${this.i}`)
  }

  space(): void {
    while (this.i < this.s.length) {
      const c = this.s.charCodeAt(this.i)
      if (c !== 32 && c !== 9 && c !== 10 && c !== 13) break
      this.i++
    }
  }

  value(): RegoValue {
    this.space()
    const c = this.s[this.i]
    switch (c) {
      case '"':
        return this.string()
      case '[': {
        this.i++
        const items = this.list(']')
        return items
      }
      case '{':
        return this.braces()
      case 't':
        return this.word('true', true)
      case 'f':
        return this.word('false', false)
      case 'n':
        return this.word('null', null)
      case 's':
        if (this.json) this.fail('unexpected s')
        this.word('set()', null)
        return new RegoSet([])
      default:
        return this.number()
    }
  }

  word<T>(w: string, v: T): T {
    if (!this.s.startsWith(w, this.i)) this.fail(`unexpected ${JSON.stringify(this.s[this.i] ?? 'end')}`)
    this.i += w.length
    return v
  }

  number(): RegoNumber {
    const m = this.json
      ? /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y
      : /-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/y
    m.lastIndex = this.i
    const r = m.exec(this.s)
    if (!r) this.fail('expected a value')
    this.i += r[0].length
    return new RegoNumber(r[0])
  }

  string(): string {
    const start = this.i
    this.i++
    let escaped = false
    for (; this.i < this.s.length; this.i++) {
      const c = this.s[this.i]
      if (c === '\\') {
        escaped = true
        this.i++
      } else if (c === '"') {
        this.i++
        const raw = this.s.slice(start, this.i)
        // biome-ignore lint/suspicious/noControlCharactersInRegex: JSON forbids raw control characters
        return escaped || (this.json && /[\x00-\x1f]/.test(raw))
          ? (JSON.parse(raw) as string)
          : raw.slice(1, -1)
      }
    }
    return this.fail('unterminated string')
  }

  list(close: string): RegoValue[] {
    const items: RegoValue[] = []
    this.space()
    if (this.s[this.i] === close) {
      this.i++
      return items
    }
    for (;;) {
      items.push(this.value())
      this.space()
      const c = this.s[this.i++]
      if (c === close) return items
      if (c !== ',') this.fail(`expected , or ${close}`)
      // Rego allows a trailing comma.
      this.space()
      if (!this.json && this.s[this.i] === close) {
        this.i++
        return items
      }
    }
  }

  braces(): RegoValue {
    this.i++
    this.space()
    if (this.s[this.i] === '}') {
      this.i++
      return {}
    }
    const first = this.value()
    this.space()
    if (this.json && (typeof first !== 'string' || this.s[this.i] !== ':'))
      this.fail('expected a string key and :')
    if (this.s[this.i] !== ':') {
      // A set: `{a}` or `{a, b, …}`.
      if (this.s[this.i] === '}') {
        this.i++
        return new RegoSet([first])
      }
      if (this.s[this.i] !== ',') this.fail('expected , : or }')
      this.i++
      this.space()
      if (this.s[this.i] === '}') {
        this.i++
        return new RegoSet([first])
      }
      return new RegoSet([first, ...this.list('}')])
    }
    const entries: [RegoValue, RegoValue][] = []
    let key = first
    for (;;) {
      this.i++ // ':'
      entries.push([key, this.value()])
      this.space()
      const c = this.s[this.i++]
      if (c === '}') break
      if (c !== ',') this.fail('expected , or }')
      this.space()
      if (!this.json && this.s[this.i] === '}') {
        this.i++
        break
      }
      key = this.value()
      this.space()
      if (this.s[this.i] !== ':' || (this.json && typeof key !== 'string')) this.fail('expected :')
    }
    if (entries.every(([k]) => typeof k === 'string')) {
      // No prototype: a key "__proto__" from untrusted text is just a key.
      const o: { [key: string]: RegoValue } = Object.create(null)
      for (const [k, v] of entries) o[k as string] = v
      return o
    }
    return new Map(entries)
  }
}

/**
 * Writes a host builtin's answer as Rego value text for `opa_value_parse`: JSON values as JSON,
 * `bigint` and {@link RegoNumber} digit for digit, {@link RegoSet} and `Set` as sets, `Map` as an
 * object with arbitrary keys.
 *
 * @throws TypeError for values Rego has no form for (functions, symbols, non-finite numbers).
 * @example
 * ```ts
 * serializeRegoValue(new Set([1n << 64n])) // '{18446744073709551616}'
 * ```
 */
export function serializeRegoValue(v: unknown): string {
  if (v === null) return 'null'
  switch (typeof v) {
    case 'string':
      return JSON.stringify(v)
    case 'boolean':
      return v ? 'true' : 'false'
    case 'number':
      if (!Number.isFinite(v)) throw new TypeError(`${v} is not a Rego number`)
      return Number.isInteger(v) && Math.abs(v) >= 1e21 ? BigInt(v).toString() : String(v)
    case 'bigint':
      return v.toString()
    case 'object':
      break
    default:
      throw new TypeError(`a ${typeof v} is not a Rego value`)
  }
  if (v instanceof RegoNumber) return v.text
  if (Array.isArray(v)) return `[${v.map(serializeRegoValue).join(',')}]`
  if (v instanceof RegoSet) return setText(v.items)
  if (v instanceof Set) return setText([...v])
  if (v instanceof Map) {
    return `{${[...v].map(([k, x]) => `${serializeRegoValue(k)}:${serializeRegoValue(x)}`).join(',')}}`
  }
  const parts: string[] = []
  for (const [k, x] of Object.entries(v as object)) {
    if (x === undefined) continue
    parts.push(`${JSON.stringify(k)}:${serializeRegoValue(x)}`)
  }
  return `{${parts.join(',')}}`
}

function setText(items: readonly unknown[]): string {
  return items.length === 0 ? 'set()' : `{${items.map(serializeRegoValue).join(',')}}`
}
