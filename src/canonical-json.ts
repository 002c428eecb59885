/**
 * RFC 8785 (JCS) canonical JSON, built for the decision path (the PDP serializes each input once
 * with it, for the engine and the log) and the log's write path: the value is copied with every
 * object's keys in sorted order (UTF-16 code units, as JCS and `Array.prototype.sort` both order
 * them) and serialized by the engine's native `JSON.stringify`, whose number and string output is
 * exactly JCS's (ECMAScript `Number::toString`, JSON string escaping). That is about twice as fast
 * as the `canonicalize` package, which stays the reference: a property test checks both agree,
 * and verify-log's slow path re-canonicalizes with the package.
 *
 * Objects with array-index keys (`"0"`, `"12"`) are the one case a rebuilt object cannot order —
 * JavaScript enumerates such keys first, numerically — so those values are serialized key by key.
 *
 * @throws TypeError for a non-finite number (JCS has no NaN or Infinity), a BigInt or a cycle.
 * @example
 * ```ts
 * canonicalJson({ b: 1, a: [true, 'x'] }) // '{"a":[true,"x"],"b":1}'
 * ```
 */
export function canonicalJson(value: unknown): string {
  const sorted = { indexKeys: false }
  const copy = sortedCopy(value, sorted, 0)
  const text = sorted.indexKeys ? serialize(value, 0) : JSON.stringify(copy)
  if (text === undefined) throw new TypeError('value cannot be canonicalized')
  return text
}

/**
 * The canonical JSON of one value, bound to that value. The PDP makes one per input document: the
 * engine evaluates its text and the log writes it, so the input is serialized once. Being made
 * only by {@link CanonicalText.of}, it lets the log check that a text handed to it is the
 * canonicalization of exactly the input it records (the same object).
 *
 * @internal
 *
 * @example
 * ```ts
 * const canonical = CanonicalText.of(input)
 * engine.decideJson(canonical)
 * await log.append({ path: 'mcp/decision', input, canonicalInput: canonical, result, bundles })
 * ```
 */
export class CanonicalText {
  readonly #value: unknown
  /** `canonicalJson(value)` */
  readonly json: string

  private constructor(value: unknown, json: string) {
    this.#value = value
    this.json = json
  }

  /** @throws TypeError as {@link canonicalJson} does. */
  static of(value: unknown): CanonicalText {
    return new CanonicalText(value, canonicalJson(value))
  }

  /** Whether this is the text of exactly `value` (the same object, not an equal one). */
  isOf(value: unknown): boolean {
    return this.#value === value
  }
}

const MAX_DEPTH = 1000

function sortedCopy(value: unknown, flags: { indexKeys: boolean }, depth: number): unknown {
  if (value === null) return value
  switch (typeof value) {
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError('JCS has no NaN or Infinity')
      return value
    case 'object': {
      if (depth > MAX_DEPTH) throw new TypeError('value nests too deep (or is cyclic)')
      const object = value as Record<string, unknown> & { toJSON?: () => unknown }
      if (typeof object.toJSON === 'function') return sortedCopy(object.toJSON(), flags, depth + 1)
      if (Array.isArray(object)) {
        const array = new Array<unknown>(object.length)
        for (let i = 0; i < object.length; i++) array[i] = sortedCopy(object[i], flags, depth + 1)
        return array
      }
      const keys = Object.keys(object).sort()
      const copy: Record<string, unknown> = {}
      for (const key of keys) {
        const first = key.charCodeAt(0)
        if (first >= 48 && first <= 57) flags.indexKeys = true
        const member = sortedCopy(object[key], flags, depth + 1)
        // A `__proto__` key (JSON.parse makes it an own member; callers can send one) must stay a
        // member: plain assignment would set the copy's prototype and drop it from the log.
        if (key === '__proto__')
          Object.defineProperty(copy, key, {
            value: member,
            enumerable: true,
            writable: true,
            configurable: true,
          })
        else copy[key] = member
      }
      return copy
    }
    case 'bigint':
      throw new TypeError('JCS has no BigInt')
    default:
      return value
  }
}

/** The key-by-key path (what `canonicalize` does), for values with array-index keys. */
function serialize(value: unknown, depth: number): string | undefined {
  if (value === null || typeof value !== 'object') return JSON.stringify(value)
  if (depth > MAX_DEPTH) throw new TypeError('value nests too deep (or is cyclic)')
  const object = value as Record<string, unknown> & { toJSON?: () => unknown }
  if (typeof object.toJSON === 'function') return serialize(object.toJSON(), depth + 1)
  if (Array.isArray(object)) {
    let text = '['
    for (let i = 0; i < object.length; i++) {
      if (i > 0) text += ','
      text += serialize(object[i], depth + 1) ?? 'null'
    }
    return `${text}]`
  }
  let text = ''
  for (const key of Object.keys(object).sort()) {
    const member = serialize(object[key], depth + 1)
    if (member === undefined) continue
    text += `${text ? ',' : ''}${JSON.stringify(key)}:${member}`
  }
  return `{${text}}`
}
