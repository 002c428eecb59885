import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { canonicalJson } from '../../src/canonical-json.js'
import { formatJson } from '../../src/catalog/format-json.js'
import { setJsonMember } from '../../src/catalog/set-json-member.js'

const json = fc.jsonValue({ maxDepth: 4 })
const object = fc.dictionary(fc.string({ maxLength: 12 }), json, { maxKeys: 6 })

describe('formatJson', () => {
  it('parses back to the value it formatted, at any indentation and width', () => {
    fc.assert(
      fc.property(
        json,
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 10, max: 140 }),
        (value, indent, width) => {
          const text = formatJson(value, { indent, column: indent, width })
          expect(canonicalJson(JSON.parse(text))).toBe(canonicalJson(value))
        },
      ),
    )
  })

  it('keeps what fits on one line, opens what does not', () => {
    expect(
      formatJson(
        { write: true, arguments: { path: { path_prefixes: ['/srv/'] } } },
        { indent: 0, column: 0 },
      ),
    ).toBe('{ "write": true, "arguments": { "path": { "path_prefixes": ["/srv/"] } } }')
    expect(formatJson({ a: 'x'.repeat(20), b: [1, 2] }, { indent: 2, column: 10, width: 30 })).toBe(
      `{\n    "a": "${'x'.repeat(20)}",\n    "b": [1, 2]\n  }`,
    )
  })
})

describe('setJsonMember', () => {
  it('sets or adds a member anywhere on a path of objects and leaves the rest as it was', () => {
    fc.assert(
      fc.property(object, object, fc.string({ maxLength: 8 }), json, (outer, inner, key, value) => {
        const document = { ...outer, nested: inner }
        const text = JSON.stringify(document, null, 2)
        const edited = setJsonMember(text, ['nested', key], value)
        expect(edited).toBeDefined()
        const expected = structuredClone(document) as Record<string, Record<string, unknown>>
        Object.defineProperty(expected.nested, key, {
          value,
          enumerable: true,
          writable: true,
          configurable: true,
        })
        expect(canonicalJson(JSON.parse(edited!))).toBe(canonicalJson(expected))
      }),
    )
  })

  it('adds to an empty object, and to one written on a single line', () => {
    expect(JSON.parse(setJsonMember('{"servers": {}}', ['servers', 'a'], { tools: {} })!)).toEqual({
      servers: { a: { tools: {} } },
    })
    expect(setJsonMember('{ "a": 1 }', ['b'], 2)).toBe('{ "a": 1,\n"b": 2 }')
  })

  it('edits only the bytes of the member it sets', () => {
    const text = '{\n  "keep":   [1,2,  3],\n  "servers": {\n    "x": { "old": true },\n    "y": 1\n  }\n}\n'
    expect(setJsonMember(text, ['servers', 'x'], { new: true })).toBe(
      '{\n  "keep":   [1,2,  3],\n  "servers": {\n    "x": { "new": true },\n    "y": 1\n  }\n}\n',
    )
  })

  it('declines what it cannot edit in place: not JSON, a missing or non-object parent, a duplicate key', () => {
    expect(setJsonMember('{ "a": ', ['a'], 1)).toBeUndefined()
    expect(setJsonMember('[1]', ['a'], 1)).toBeUndefined()
    expect(setJsonMember('{ "a": 1 }', ['b', 'c'], 1)).toBeUndefined()
    expect(setJsonMember('{ "a": 1 }', ['a', 'c'], 1)).toBeUndefined()
    expect(setJsonMember('{ "a": {}, "a": {} }', ['a', 'c'], 1)).toBeUndefined()
    expect(setJsonMember('{ "a": 1, "a": 2 }', ['a'], 3)).toBeUndefined()
    expect(setJsonMember('{ "a": 1 } x', ['a'], 3)).toBeUndefined()
  })

  it('treats __proto__ and escaped keys as the keys JSON.parse sees', () => {
    const text = '{ "servers": { "__proto__": { "tools": {} }, "a\\u0062": 1 } }'
    const edited = setJsonMember(text, ['servers', '__proto__'], { tools: { x: {} } })!
    const parsed = JSON.parse(edited) as { servers: Record<string, unknown> }
    expect(Object.hasOwn(parsed.servers, '__proto__')).toBe(true)
    expect(Object.getOwnPropertyDescriptor(parsed.servers, '__proto__')?.value).toEqual({ tools: { x: {} } })
    expect(JSON.parse(setJsonMember(text, ['servers', 'ab'], 2)!).servers.ab).toBe(2)
  })
})
