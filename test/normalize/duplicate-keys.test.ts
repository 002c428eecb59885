import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { errorTable, McpPolicyError, RequestNormalizer } from '../../src/index.js'
import { countMemberNames, findDuplicateKey, separatorBound } from '../../src/normalize/duplicate-keys.js'
import { parseMessageBody } from '../../src/normalize/parse-message.js'

// Issue #15 class 5: JSON.parse keeps the last of two equal keys, other parsers the first, so a
// message holding a key twice can be decided as one thing and run as another. Every such message
// is refused (ERR_NORMALIZE_DUPLICATE_KEY), whatever the depth and however the keys are spelled;
// every message without one parses exactly as JSON.parse parses it.

const limits = { maxBytes: 4 << 20, maxDepth: 64 }
const normalizer = new RequestNormalizer({
  servers: { s: { resource: 'https://mcp.example.com/s' } },
  defaultServer: 's',
})

function codeOf(run: () => unknown): string | undefined {
  try {
    run()
  } catch (err) {
    if (err instanceof McpPolicyError) return err.code
    throw err
  }
  return undefined
}

function errorOf(run: () => unknown): McpPolicyError {
  try {
    run()
  } catch (err) {
    if (err instanceof McpPolicyError) return err
    throw err
  }
  throw new Error('expected an McpPolicyError')
}

// ----- A JSON tree whose text we write ourselves: member order, whitespace and escapes are ours -----

type Node = null | boolean | number | string | ArrayNode | ObjectNode
interface ArrayNode {
  kind: 'array'
  items: Node[]
}
interface ObjectNode {
  kind: 'object'
  entries: [string, Node][]
}

// Characters that stress a scanner: quotes, backslashes, colons (a URL, a time, `\":`), the JSON
// Pointer escapes, whitespace, control characters, non-ASCII and astral characters.
const trickyChar = fc.constantFrom(
  'a',
  'n',
  'm',
  'e',
  ':',
  '"',
  '\\',
  '/',
  '~',
  ' ',
  ',',
  '{',
  '[',
  '\n',
  '\t',
  '\u0000',
  '\u001f',
  'é',
  '€',
  '😀',
)
const text = fc.oneof(
  fc.array(trickyChar, { maxLength: 8 }).map((chars) => chars.join('')),
  // Lone surrogates are another class (refused as ERR_NORMALIZE_JSON_INVALID): Unicode text only.
  fc.string({ unit: 'binary', maxLength: 8 }).filter((s) => s.isWellFormed()),
  fc.constantFrom('https://api.github.com/repos', '12:30:00', 'file:///srv/a', '":"', '\\":'),
)
const key = fc.oneof(
  { arbitrary: text, weight: 4 },
  fc.constantFrom('name', 'arguments', '_meta', 'uri', '__proto__', 'constructor', 'toString', '', '0', '1'),
)
const leaf = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  text,
)

const { node: jsonNode, object: jsonObject } = fc.letrec<{
  node: Node
  array: ArrayNode
  object: ObjectNode
}>((tie) => ({
  node: fc.oneof({ depthSize: 'small', maxDepth: 6 }, leaf, tie('array'), tie('object')),
  array: fc.array(tie('node'), { maxLength: 4 }).map((items): ArrayNode => ({ kind: 'array', items })),
  object: fc
    .uniqueArray(fc.tuple(key, tie('node')), { maxLength: 5, selector: ([k]) => k })
    .map((entries): ObjectNode => ({ kind: 'object', entries })),
}))

/** A JSON-RPC tools/call whose `arguments` and `_meta` are random objects, or any JSON value. */
const message = fc.oneof(
  fc.tuple(jsonObject, jsonObject, fc.constantFrom('get_issue', 'delete_repository')).map(
    ([args, meta, name]): Node => ({
      kind: 'object',
      entries: [
        ['jsonrpc', '2.0'],
        ['id', 1],
        ['method', 'tools/call'],
        [
          'params',
          {
            kind: 'object',
            entries: [
              ['name', name],
              ['arguments', args],
              ['_meta', meta],
            ],
          },
        ],
      ],
    }),
  ),
  jsonNode,
)

/** A small deterministic PRNG: the text's whitespace and escapes follow from one generated seed. */
function prng(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SHORT_ESCAPES: Record<string, string> = {
  '"': '\\"',
  '\\': '\\\\',
  '\b': '\\b',
  '\f': '\\f',
  '\n': '\\n',
  '\r': '\\r',
  '\t': '\\t',
  '/': '\\/',
}

function unicodeEscape(unit: number): string {
  const hex = unit.toString(16).padStart(4, '0')
  return `\\u${hex.length === 4 && (unit & 1) === 1 ? hex.toUpperCase() : hex}`
}

/**
 * JSON text of a string: each character raw where JSON allows it, or (with probability
 * `escapeRate`) escaped, `\uXXXX` (both halves of a surrogate pair) or its short form. Lone
 * surrogates are always escaped, so the text is well-formed and survives UTF-8. `mustEscape`
 * escapes at least one character of a non-empty string.
 */
function stringText(value: string, random: () => number, escapeRate: number, mustEscape = false): string {
  let out = '"'
  const chars = Array.from(value)
  const forced = mustEscape && chars.length > 0 ? Math.floor(random() * chars.length) : -1
  chars.forEach((ch, i) => {
    const unit = ch.charCodeAt(0)
    const lone = ch.length === 1 && unit >= 0xd800 && unit <= 0xdfff
    const escaped = lone || unit < 0x20 || ch === '"' || ch === '\\' || i === forced || random() < escapeRate
    if (!escaped) out += ch
    else if (SHORT_ESCAPES[ch] !== undefined && random() < 0.5) out += SHORT_ESCAPES[ch]
    else for (let u = 0; u < ch.length; u++) out += unicodeEscape(ch.charCodeAt(u))
  })
  return `${out}"`
}

interface Injection {
  /** The object (by identity) that gets a key twice. */
  target: ObjectNode
  key: string
  value: Node
  /** Where the extra member goes among the target's members (modulo their count + 1). */
  at: number
  /** `escaped`: the extra member's key has at least one escaped character. */
  spelling: 'plain' | 'escaped' | 'random'
}

/** Writes `node` as JSON text with random whitespace and escapes, and the injection if any. */
function writeJson(node: Node, seed: number, injection?: Injection): string {
  const random = prng(seed)
  const escapeRate = random() < 0.5 ? 0 : random() * 0.5
  const ws = () => {
    const r = random()
    if (r < 0.75) return ''
    return [' ', '\n', '\t', '\r\n  ', '   '][Math.floor(random() * 5)]!
  }
  const write = (n: Node): string => {
    if (n === null || typeof n === 'boolean' || typeof n === 'number') return JSON.stringify(n)
    if (typeof n === 'string') return stringText(n, random, escapeRate)
    if (n.kind === 'array')
      return `[${ws()}${n.items.map((item) => `${write(item)}${ws()}`).join(`,${ws()}`)}]`
    const members = n.entries.map(
      ([k, v]) => `${stringText(k, random, escapeRate)}${ws()}:${ws()}${write(v)}`,
    )
    if (injection?.target === n) {
      const spelled = (k: string) =>
        stringText(
          k,
          random,
          injection.spelling === 'plain' ? 0 : escapeRate,
          injection.spelling === 'escaped',
        )
      const extra = `${spelled(injection.key)}${ws()}:${ws()}${write(injection.value)}`
      const present = n.entries.some(([k]) => k === injection.key)
      members.splice(injection.at % (members.length + 1), 0, extra)
      // A key the object does not have yet goes in twice.
      if (!present) members.splice((injection.at >>> 3) % (members.length + 1), 0, extra)
    }
    return `{${ws()}${members.join(`${ws()},${ws()}`)}${ws()}}`
  }
  return `${ws()}${write(node)}${ws()}`
}

/** Every object of the tree with its JSON Pointer and depth, in text order. */
function objectsOf(root: Node): { node: ObjectNode; pointer: string; depth: number }[] {
  const found: { node: ObjectNode; pointer: string; depth: number }[] = []
  const visit = (n: Node, pointer: string, depth: number) => {
    if (n === null || typeof n !== 'object') return
    if (n.kind === 'array') {
      for (let i = 0; i < n.items.length; i++) visit(n.items[i]!, `${pointer}/${i}`, depth + 1)
    } else {
      found.push({ node: n, pointer, depth })
      for (const [k, v] of n.entries)
        visit(v, `${pointer}/${k.replaceAll('~', '~0').replaceAll('/', '~1')}`, depth + 1)
    }
  }
  visit(root, '', 1)
  return found
}

function memberCount(root: Node): number {
  return objectsOf(root).reduce((n, o) => n + o.node.entries.length, 0)
}

/** Leading whitespace past 4 KiB sends a body down the path that checks depth on the text first. */
const padding = fc.constantFrom('', '', ' '.repeat(4200), '\n'.repeat(5000))

describe('duplicate keys: generated', () => {
  it('a JSON value without duplicate keys parses exactly as JSON.parse parses it (string and bytes)', () => {
    let scanned = 0
    let escapedKeys = 0
    fc.assert(
      fc.property(message, fc.integer(), padding, (root, seed, pad) => {
        const body = `${pad}${writeJson(root, seed)}`
        const expected = JSON.parse(body)
        expect(sameJson(parseMessageBody(body, limits), expected)).toBe(true)
        expect(sameJson(parseMessageBody(Buffer.from(body, 'utf8'), limits), expected)).toBe(true)
        expect(findDuplicateKey(body)).toBeUndefined()
        expect(countMemberNames(body)).toBe(memberCount(root))
        expect(separatorBound(body)).toBeGreaterThanOrEqual(memberCount(root))
        if (body.length > 4096) scanned++
        if (/\\u[0-9a-fA-F]{4}[^"]*"\s*:/.test(body)) escapedKeys++
      }),
      { numRuns: 1500 },
    )
    // The generator really reaches both parser paths and escaped keys.
    expect(scanned).toBeGreaterThan(300)
    expect(escapedKeys).toBeGreaterThan(100)
  })

  it('a JSON value with one key written twice, at any depth, plain or escaped, is refused with ERR_NORMALIZE_DUPLICATE_KEY', async () => {
    const seen = { runs: 0, differentSpelling: 0, deep: 0, scanned: 0, inArguments: 0, inMeta: 0 }
    await fc.assert(
      fc.asyncProperty(
        message,
        fc.nat(),
        fc.option(key, { nil: undefined }),
        fc.nat(),
        leaf,
        fc.constantFrom<Injection['spelling']>('plain', 'escaped', 'random'),
        fc.integer(),
        padding,
        async (root, which, freshKey, at, value, spelling, seed, pad) => {
          // A root that is not an object gets one around it, so there is always a target.
          const wrapped: Node =
            root !== null && typeof root === 'object' && root.kind === 'object'
              ? root
              : { kind: 'object', entries: [['v', root]] }
          const objects = objectsOf(wrapped)
          const target = objects[which % objects.length]!
          // Mostly a key the object already has; sometimes a new one, written twice.
          const existing = target.node.entries.map(([k]) => k)
          const duplicated =
            freshKey !== undefined || existing.length === 0
              ? (freshKey ?? 'name')
              : existing[at % existing.length]!
          const body = `${pad}${writeJson(wrapped, seed, { target: target.node, key: duplicated, value, at, spelling })}`

          expect(codeOf(() => JSON.parse(body))).toBeUndefined()
          const error = errorOf(() => parseMessageBody(body, limits))
          expect(error.code).toBe('ERR_NORMALIZE_DUPLICATE_KEY')
          expect(error.status).toBe(400)
          expect(codeOf(() => parseMessageBody(Buffer.from(body, 'utf8'), limits))).toBe(
            'ERR_NORMALIZE_DUPLICATE_KEY',
          )
          expect(error.message).toMatch(MESSAGE)
          expect(error.message).toContain(`(${target.pointer.split('/').length} level`)
          const found = findDuplicateKey(body)
          expect(found).toMatchObject({ key: duplicated, pointer: target.pointer })
          expect(keyAt(body, found!.at)).toBe(duplicated)
          expect(error.message).toContain(`the second at character ${found!.at})`)
          await expect(normalizer.normalize({ message: body })).rejects.toMatchObject({
            code: 'ERR_NORMALIZE_DUPLICATE_KEY',
          })

          seen.runs++
          if (spellingsOf(body, duplicated).size > 1) seen.differentSpelling++
          if (target.depth >= 3) seen.deep++
          if (body.length > 4096) seen.scanned++
          if (target.pointer.startsWith('/params/arguments')) seen.inArguments++
          if (target.pointer.startsWith('/params/_meta')) seen.inMeta++
        },
      ),
      { numRuns: 1500 },
    )
    // The class is really generated: keys equal only after unescaping, deep targets, both parser
    // paths, duplicates inside arguments and _meta.
    expect(seen.differentSpelling).toBeGreaterThan(seen.runs / 10)
    expect(seen.deep).toBeGreaterThan(seen.runs / 10)
    expect(seen.scanned).toBeGreaterThan(seen.runs / 5)
    expect(seen.inArguments).toBeGreaterThan(seen.runs / 20)
    expect(seen.inMeta).toBeGreaterThan(seen.runs / 20)
  })
})

/**
 * Deep equality of two parsed JSON values: same own keys in the same order, leaves equal by
 * `Object.is` (so `-0` is not `0`). Not `toStrictEqual`, which reads a `constructor` member as the
 * object's class.
 */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return Object.is(a, b)
  if (Array.isArray(a) !== Array.isArray(b)) return false
  const keysA = Object.keys(a)
  const keysB = Object.keys(b)
  if (keysA.length !== keysB.length) return false
  return keysA.every(
    (k, i) =>
      k === keysB[i] &&
      Object.hasOwn(a, k) &&
      sameJson((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]),
  )
}

/** The one shape of the refusal: where, never what (no body text reaches the log through it). */
const MESSAGE = /^body holds a key twice in one object \(\d+ levels? deep; the second at character \d+\)$/

/** The decoded member name whose opening quote is at `at`. */
function keyAt(body: string, at: number): string {
  const token = /^"(?:[^"\\]|\\.)*"\s*:/.exec(body.slice(at))
  if (!token) throw new Error(`no member name at ${at}`)
  return JSON.parse(token[0].slice(0, token[0].lastIndexOf('"') + 1)) as string
}

/** The distinct spellings of member name `key` in `body` (as written, escapes and all). */
function spellingsOf(body: string, key: string): Set<string> {
  const spellings = new Set<string>()
  // Matched from the start, every match begins at a string's opening quote.
  for (const match of body.matchAll(/"(?:[^"\\]|\\.)*"/g)) {
    const isName = /^\s*:/.test(body.slice(match.index + match[0].length))
    if (isName && JSON.parse(match[0]) === key) spellings.add(match[0])
  }
  return spellings
}

describe('duplicate keys: cases', () => {
  const review =
    '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_repository","arguments":{},"name":"get_issue"}}'

  it("refuses the outside review's example, naming the key and where it is", () => {
    const error = errorOf(() => parseMessageBody(review, limits))
    expect(error.code).toBe('ERR_NORMALIZE_DUPLICATE_KEY')
    expect(error.message).toBe(
      `body holds a key twice in one object (2 levels deep; the second at character ${review.lastIndexOf('"name"')})`,
    )
    expect(errorTable.ERR_NORMALIZE_DUPLICATE_KEY.status).toBe(400)
  })

  it.each([
    ['an escaped spelling', '{"params":{"name":"a","n\\u0061me":"b"}}', 'name', '/params'],
    ['upper-case hex', '{"params":{"n\\u0061me":"a","na\\u006De":"b"}}', 'name', '/params'],
    ['an escaped solidus', '{"a/b":1,"a\\/b":2}', 'a/b', ''],
    ['an astral character', '{"😀":1,"\\ud83d\\ude00":2}', '😀', ''],
    ['a top-level method', '{"jsonrpc":"2.0","id":1,"method":"ping","method":"tools/call"}', 'method', ''],
    [
      'arguments',
      '{"params":{"name":"q","arguments":{"sql":"select 1","sql":"drop table t"}}}',
      'sql',
      '/params/arguments',
    ],
    ['_meta', '{"params":{"_meta":{"progressToken":1,"progressToken":2}}}', 'progressToken', '/params/_meta'],
    ['an object in an array', '{"a":[1,{"x":1},{"y":1,"y":2}]}', 'y', '/a/2'],
    ['__proto__', '{"__proto__":{},"__proto__":[]}', '__proto__', ''],
    ['whitespace around the colon', '{ "k" : 1 ,\n\t"k"\r\n:\n2 }', 'k', ''],
    ['a key with a pointer escape', '{"a~b/c":{"d":1,"d":1}}', 'd', '/a~0b~1c'],
  ])('refuses a duplicate in %s', (_what, body, duplicated, pointer) => {
    expect(codeOf(() => parseMessageBody(body, limits))).toBe('ERR_NORMALIZE_DUPLICATE_KEY')
    const found = findDuplicateKey(body)
    expect(found).toMatchObject({ key: duplicated, pointer })
    expect(keyAt(body, found!.at)).toBe(duplicated)
  })

  it.each([
    ['keys differing in case', '{"a":1,"A":2}'],
    ['one key in nested objects', '{"a":{"a":{"a":1}}}'],
    ['one key in sibling objects', '[{"a":1},{"a":2}]'],
    ['colons and quotes inside strings', '{"url":"https://x:1/\\":","t":"12:30","\\":":"\\":\\"::"}'],
    ['keys that only look alike', '{"name":1,"name ":2,"nam\\u00e9":3,"\\u006e\\u0061\\u006d":4}'],
    ['an empty key once', '{"":1,"a":{"":2}}'],
  ])('accepts %s', (_what, body) => {
    expect(sameJson(parseMessageBody(body, limits), JSON.parse(body))).toBe(true)
  })

  it('finds a duplicate in a large body (checked on the text before parsing) and in a small one', () => {
    const items = Array.from({ length: 500 }, (_, i) => ({ id: i, name: `item-${i}`, tags: ['a', 'b'] }))
    const large = JSON.stringify({
      jsonrpc: '2.0',
      id: 1,
      method: 'tools/call',
      params: { name: 'bulk', arguments: { items } },
    })
    expect(large.length).toBeGreaterThan(4096)
    expect(sameJson(parseMessageBody(large, limits), JSON.parse(large))).toBe(true)
    const withDuplicate = large.replace('"id":321,', '"id":321,"i\\u0064":322,')
    expect(errorOf(() => parseMessageBody(withDuplicate, limits)).message).toBe(
      `body holds a key twice in one object (5 levels deep; the second at character ${withDuplicate.indexOf('"i\\u0064"')})`,
    )
    expect(findDuplicateKey(withDuplicate)).toMatchObject({
      key: 'id',
      pointer: '/params/arguments/items/321',
    })
  })

  it('refuses duplicates through RequestNormalizer, from text and from bytes', async () => {
    await expect(normalizer.normalize({ message: review })).rejects.toMatchObject({
      code: 'ERR_NORMALIZE_DUPLICATE_KEY',
    })
    await expect(normalizer.normalize({ message: Buffer.from(review) })).rejects.toMatchObject({
      code: 'ERR_NORMALIZE_DUPLICATE_KEY',
    })
    const single = review.replace('"name":"delete_repository",', '')
    expect((await normalizer.normalize({ message: single })).mcp.tool?.name).toBe('get_issue')
  })

  it('still counts keys right when Object.prototype has an enumerable property', () => {
    const fine = '{"a":{"b":[{"c":1}]},"d":2}'
    let accepted: unknown
    let refused: string | undefined
    // biome-ignore lint/suspicious/noExplicitAny: the test pollutes the prototype on purpose
    const proto = Object.prototype as any
    Object.defineProperty(proto, 'polluted', { value: { x: 1 }, enumerable: true, configurable: true })
    try {
      accepted = parseMessageBody(fine, limits)
      refused = codeOf(() => parseMessageBody(review, limits))
    } finally {
      delete proto.polluted
    }
    expect(sameJson(accepted, JSON.parse(fine))).toBe(true)
    expect(refused).toBe('ERR_NORMALIZE_DUPLICATE_KEY')
  })

  it('still refuses invalid and too deep bodies with their own codes', () => {
    expect(codeOf(() => parseMessageBody('{"a":1,"a":', limits))).toBe('ERR_NORMALIZE_JSON_INVALID')
    expect(codeOf(() => parseMessageBody(`${'['.repeat(80)}${']'.repeat(80)}`, limits))).toBe(
      'ERR_NORMALIZE_TOO_DEEP',
    )
  })
})
