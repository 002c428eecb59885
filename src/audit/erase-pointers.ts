/**
 * Returns a copy of `value` with the members at the given JSON pointers (RFC 6901) removed, and the
 * pointers that named something. Pointers apply in order, each to the result of the ones before
 * (as separate removals would). The original is not modified; untouched branches are shared.
 *
 * Each container on a removed member's path is copied at most once, however many pointers pass
 * through it: copying it again per pointer made the cost pointers × size, and a request can choose
 * both (64 masked names in an object of 80,000 keys took seconds).
 *
 * @internal
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
  // The copies made here, which later pointers may change in place; the caller's values never are.
  const owned = new WeakSet<object>()
  for (const pointer of pointers) {
    const tokens = parsePointer(pointer)
    if (!tokens || tokens.length === 0 || !exists(result, tokens)) continue
    result = removeAt(result as object, tokens, owned)
    erased.push(pointer)
  }
  return { value: result, erased }
}

function parsePointer(pointer: string): string[] | undefined {
  if (!pointer.startsWith('/')) return undefined
  return pointer
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
}

const ARRAY_INDEX = /^(0|[1-9]\d*)$/

/** The index a token names in `array`, or -1. */
function indexIn(array: unknown[], token: string): number {
  const index = ARRAY_INDEX.test(token) ? Number(token) : -1
  return index < array.length ? index : -1
}

function exists(node: unknown, tokens: string[]): boolean {
  let current = node
  for (const token of tokens) {
    if (current === null || typeof current !== 'object') return false
    if (Array.isArray(current)) {
      const index = indexIn(current, token)
      if (index < 0) return false
      current = current[index]
    } else {
      if (!Object.hasOwn(current, token)) return false
      current = (current as Record<string, unknown>)[token]
    }
  }
  return true
}

/** Removes the member `tokens` names (it exists), copying each container on the way once. */
function removeAt(node: object, tokens: string[], owned: WeakSet<object>): object {
  const copy = own(node, owned)
  const [head, ...rest] = tokens as [string, ...string[]]
  if (Array.isArray(copy)) {
    const index = indexIn(copy, head)
    if (rest.length === 0) copy.splice(index, 1)
    else copy[index] = removeAt(copy[index] as object, rest, owned)
    return copy
  }
  const record = copy as Record<string, unknown>
  if (rest.length === 0) delete record[head]
  else defineData(record, head, removeAt(record[head] as object, rest, owned))
  return record
}

/** `node` itself when this call already copied it, else a shallow copy of it (now owned). */
function own(node: object, owned: WeakSet<object>): object {
  if (owned.has(node)) return node
  // Spread defines own data properties, so a `__proto__` key stays an ordinary member.
  const copy = Array.isArray(node) ? node.slice() : { ...node }
  owned.add(copy)
  return copy
}

// defineProperty keeps a `__proto__` key an ordinary member of the copy.
function defineData(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}
