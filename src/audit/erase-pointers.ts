/**
 * Returns a copy of `value` with the members at the given JSON pointers (RFC 6901) removed, and the
 * pointers that named something. The original is not modified; untouched branches are shared.
 *
 * @example
 * ```ts
 * erasePointers({ a: { password: 'x', user: 'u' } }, ['/a/password']) // { value: { a: { user: 'u' } }, erased: ['/a/password'] }
 * ```
 */
export function erasePointers(
  value: unknown,
  pointers: readonly string[],
): { value: unknown; erased: string[] } {
  let result = value
  const erased: string[] = []
  for (const pointer of pointers) {
    const tokens = parsePointer(pointer)
    if (!tokens || tokens.length === 0) continue
    const next = removeAt(result, tokens)
    if (next !== NOT_FOUND) {
      result = next
      erased.push(pointer)
    }
  }
  return { value: result, erased }
}

const NOT_FOUND = Symbol('not found')

function parsePointer(pointer: string): string[] | undefined {
  if (!pointer.startsWith('/')) return undefined
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
}

function removeAt(node: unknown, tokens: string[]): unknown {
  if (node === null || typeof node !== 'object') return NOT_FOUND
  const [head, ...rest] = tokens as [string, ...string[]]
  if (Array.isArray(node)) {
    const index = /^(0|[1-9]\d*)$/.test(head) ? Number(head) : -1
    if (index < 0 || index >= node.length) return NOT_FOUND
    if (rest.length === 0) return node.filter((_, i) => i !== index)
    const child = removeAt(node[index], rest)
    if (child === NOT_FOUND) return NOT_FOUND
    const copy = node.slice()
    copy[index] = child
    return copy
  }
  const record = node as Record<string, unknown>
  if (!Object.hasOwn(record, head)) return NOT_FOUND
  if (rest.length === 0) {
    const copy: Record<string, unknown> = {}
    for (const key of Object.keys(record)) if (key !== head) defineData(copy, key, record[key])
    return copy
  }
  const child = removeAt(record[head], rest)
  if (child === NOT_FOUND) return NOT_FOUND
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(record)) defineData(copy, key, key === head ? child : record[key])
  return copy
}

// defineProperty keeps a `__proto__` key an ordinary member of the copy.
function defineData(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}
