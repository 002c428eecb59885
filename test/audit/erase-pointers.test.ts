import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { erasePointers } from '../../src/audit/erase-pointers.js'

/**
 * The straightforward implementation (copy every container on the path, per pointer), kept as the
 * oracle: the production one copies each container once and must agree with it exactly.
 */
function reference(value: unknown, pointers: readonly string[]): { value: unknown; erased: string[] } {
  let result = value
  const erased: string[] = []
  for (const pointer of pointers) {
    if (!pointer.startsWith('/')) continue
    const tokens = pointer
      .slice(1)
      .split('/')
      .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'))
    const next = removeAt(result, tokens)
    if (next !== NOT_FOUND) {
      result = next
      erased.push(pointer)
    }
  }
  return { value: result, erased }
}
const NOT_FOUND = Symbol('not found')
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
  const copy: Record<string, unknown> = {}
  for (const key of Object.keys(record)) {
    if (key === head && rest.length === 0) continue
    const member = key === head ? removeAt(record[key], rest) : record[key]
    if (member === NOT_FOUND) return NOT_FOUND
    Object.defineProperty(copy, key, { value: member, enumerable: true, writable: true, configurable: true })
  }
  return copy
}

/** Every pointer to a member of `value`, escaped per RFC 6901. */
function pointersIn(value: unknown, prefix = ''): string[] {
  if (value === null || typeof value !== 'object') return []
  const keys = Array.isArray(value) ? value.map((_, i) => String(i)) : Object.keys(value)
  return keys.flatMap((key) => {
    const pointer = `${prefix}/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`
    return [pointer, ...pointersIn((value as Record<string, unknown>)[key], pointer)]
  })
}

// JSON text parsed, so a `__proto__` key is an own member as in a request body.
const key = fc.constantFrom('a', 'b', 'password', '__proto__', 'a/b', '~x', '0', '1', '')
const jsonValue = fc
  .letrec((tie) => ({
    node: fc.oneof(
      { depthSize: 'small', withCrossShrink: true },
      fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)),
      fc.array(tie('node'), { maxLength: 4 }),
      fc.array(fc.tuple(key, tie('node')), { maxLength: 4 }).map((entries) => {
        const members = entries.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`)
        return JSON.parse(`{${members.join(',')}}`) as unknown
      }),
    ),
  }))
  .node.map((v) => JSON.parse(JSON.stringify(v)) as unknown)

describe('erasePointers', () => {
  it('agrees with the copy-per-pointer reference, in order, and never changes its input', () => {
    fc.assert(
      fc.property(
        jsonValue,
        fc.array(fc.oneof(fc.nat(), fc.constantFrom('/nope', 'x', '', '/', '/a/~1b', '/__proto__/a')), {
          maxLength: 8,
        }),
        (value, picks) => {
          const existing = pointersIn(value)
          const pointers = picks.map((p) =>
            typeof p === 'number' ? (existing[p % Math.max(1, existing.length)] ?? '/x') : p,
          )
          const before = JSON.stringify(value)
          const actual = erasePointers(value, pointers)
          const expected = reference(value, pointers)
          expect(JSON.stringify(actual.value)).toBe(JSON.stringify(expected.value))
          expect(actual.erased).toEqual(expected.erased)
          expect(JSON.stringify(value)).toBe(before)
        },
      ),
      { numRuns: 3_000 },
    )
  })
})
