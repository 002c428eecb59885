import type { ErrorObject } from 'ajv'
import { type Document, isAlias, isMap, isScalar, isSeq, type LineCounter, type Node } from 'yaml'

/** A JSON Schema object as far as these messages read it. */
interface SchemaObject {
  readonly $ref?: string
  readonly allOf?: readonly SchemaObject[]
  readonly properties?: Readonly<Record<string, SchemaObject>>
  readonly items?: SchemaObject
  readonly description?: string
  readonly type?: string | readonly string[]
  readonly anyOf?: readonly SchemaObject[]
}

/**
 * Turns Ajv's errors for a `*.cases.yaml` file into lines a person can act on: each names the
 * file, the YAML line and column, the path, what is wrong, and — for an unknown key — the keys
 * allowed at that place with a "did you mean" for a near typo. Internal: not exported from the
 * package. Ajv must have run with `allErrors` and `verbose` (the schema of each error is read).
 *
 * @example
 * ```ts
 * if (!validate(value)) throw new Error(describeCaseSchemaErrors(validate.errors ?? [], { file, document, lineCounter, root: schema }).join('\n'))
 * ```
 */
export function describeCaseSchemaErrors(
  errors: readonly ErrorObject[],
  source: { file: string; document: Document; lineCounter: LineCounter; root: SchemaObject },
): string[] {
  // An unknown key whose near typo is a missing required key is one mistake, said once.
  const typoFor = new Set<string>()
  for (const error of errors) {
    const key = unknownKey(error)
    if (key === undefined) continue
    const near = nearest(key, allowedKeys(error.parentSchema as SchemaObject, source.root))
    if (near) typoFor.add(`${error.instancePath}\0${near}`)
  }
  // A value that fits no branch of an anyOf is one error, not one per branch.
  const alternatives = errors.filter((e) => e.keyword === 'anyOf').map((e) => `${e.schemaPath}/`)
  const described = new Map<string, number>()
  for (const error of errors) {
    if (
      error.keyword === 'required' &&
      typoFor.has(`${error.instancePath}\0${String(error.params.missingProperty)}`)
    )
      continue
    if (alternatives.some((path) => error.schemaPath.startsWith(path))) continue
    const segments = pointerSegments(error.instancePath)
    const { offset, text } = describeOne(error, segments, source)
    const { line, col } = source.lineCounter.linePos(offset)
    const entry = `${source.file}:${line}:${col}: ${displayPath(segments)}: ${text}`
    if (!described.has(entry)) described.set(entry, offset)
  }
  return [...described].sort((a, b) => a[1] - b[1]).map(([entry]) => entry)
}

function unknownKey(error: ErrorObject): string | undefined {
  if (error.keyword === 'additionalProperties') return String(error.params.additionalProperty)
  if (error.keyword === 'unevaluatedProperties') return String(error.params.unevaluatedProperty)
  return undefined
}

function describeOne(
  error: ErrorObject,
  segments: string[],
  source: { document: Document; root: SchemaObject },
): { offset: number; text: string } {
  const target = nodeAt(source.document, segments)
  const here = start(target.value) ?? target.keyOffset ?? 0
  const schema = (error.parentSchema ?? {}) as SchemaObject
  const params = error.params as Record<string, unknown>
  switch (error.keyword) {
    case 'additionalProperties':
    case 'unevaluatedProperties': {
      const key = unknownKey(error)!
      const allowed = allowedKeys(schema, source.root)
      const keyNode = memberKey(target.value, key, source.document)
      const hints: string[] = []
      const near = nearest(key, allowed)
      if (near) hints.push(`did you mean "${near}"?`)
      const homes = homesOf(key, schema, allowed, source.root)
      if (homes.length > 0) hints.push(`"${key}" goes under ${homes.join(' or under ')}`)
      return {
        offset: keyNode ?? here,
        text: `unknown key "${key}"${hints.length ? ` (${hints.join(' ')})` : ''}; allowed here: ${allowed.join(', ')}`,
      }
    }
    case 'required':
      return {
        offset: here,
        text: `missing required key "${String(params.missingProperty)}"; allowed here: ${allowedKeys(schema, source.root).join(', ')}`,
      }
    case 'type': {
      const types = Array.isArray(params.type) ? (params.type as string[]) : [String(params.type)]
      return { offset: here, text: `must be ${types.map(article).join(' or ')}, got ${got(error.data)}` }
    }
    case 'anyOf': {
      const types = (schema.anyOf ?? []).flatMap((branch) =>
        branch.type === undefined ? [] : [branch.type].flat(),
      )
      return {
        offset: here,
        text: `must be ${types.length > 0 ? types.map(article).join(' or ') : 'one of the allowed forms'}, got ${got(error.data)}`,
      }
    }
    case 'enum':
      return {
        offset: here,
        text: `must be one of ${(params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}, got ${got(error.data)}`,
      }
    case 'pattern':
      return {
        offset: here,
        text: `got ${got(error.data)}, which is not ${
          schema.description
            ? `the form asked for: ${schema.description}`
            : `of the form ${String(params.pattern)}`
        }`,
      }
    default:
      return { offset: here, text: `${error.message ?? 'is invalid'}, got ${got(error.data)}` }
  }
}

// The properties a schema object allows, through $ref and allOf (how the case schema composes them).
function allowedKeys(
  schema: SchemaObject | undefined,
  root: SchemaObject,
  seen = new Set<SchemaObject>(),
): string[] {
  if (!schema || seen.has(schema)) return []
  seen.add(schema)
  const keys = new Set(Object.keys(schema.properties ?? {}))
  for (const part of [resolveRef(schema.$ref, root), ...(schema.allOf ?? [])])
    for (const key of allowedKeys(part, root, seen)) keys.add(key)
  return [...keys]
}

// Where an unknown key would be allowed one level down: `expect:` for `reasons`, each entry of
// `cases:` for `name`. The common slip is a right key at the wrong indentation.
function homesOf(
  key: string,
  schema: SchemaObject,
  allowed: readonly string[],
  root: SchemaObject,
): string[] {
  const homes: string[] = []
  for (const name of allowed) {
    const child = propertySchema(schema, name, root)
    if (allowedKeys(child, root).includes(key)) homes.push(`${name}:`)
    else if (child?.items && allowedKeys(child.items, root).includes(key))
      homes.push(`each entry of ${name}:`)
  }
  return homes
}

function propertySchema(schema: SchemaObject, name: string, root: SchemaObject): SchemaObject | undefined {
  const direct = schema.properties?.[name]
  if (direct) return direct.$ref && !direct.properties ? resolveRef(direct.$ref, root) : direct
  for (const part of [resolveRef(schema.$ref, root), ...(schema.allOf ?? [])]) {
    const found = part && propertySchema(part, name, root)
    if (found) return found
  }
  return undefined
}

function resolveRef(ref: string | undefined, root: SchemaObject): SchemaObject | undefined {
  if (!ref?.startsWith('#/')) return undefined
  let node: unknown = root
  for (const segment of ref.slice(2).split('/'))
    node = (node as Record<string, unknown> | undefined)?.[segment]
  return node as SchemaObject | undefined
}

// A near typo: another letter case, a shortened name (visible for visible_tools), or an edit
// distance of at most one per three letters (and two).
function nearest(key: string, allowed: readonly string[]): string | undefined {
  let best: { name: string; distance: number } | undefined
  const lower = key.toLowerCase()
  for (const name of allowed) {
    const other = name.toLowerCase()
    const shortened = lower.length >= 4 && (other.startsWith(lower) || lower.startsWith(other))
    const distance = other === lower || shortened ? 0 : editDistance(key, name)
    if (
      distance <= Math.min(2, Math.max(1, Math.floor(name.length / 3))) &&
      (!best || distance < best.distance)
    )
      best = { name, distance }
  }
  return best?.name
}

// Damerau–Levenshtein (optimal string alignment): a swapped pair of letters is one edit.
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  )
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1
      let value = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost)
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1])
        value = Math.min(value, d[i - 2]![j - 2]! + 1)
      d[i]![j] = value
    }
  }
  return d[a.length]![b.length]!
}

function article(type: string): string {
  const names: Record<string, string> = {
    object: 'a mapping (key: value)',
    array: 'a list',
    string: 'a string',
    integer: 'an integer',
    number: 'a number',
    boolean: 'true or false',
    null: 'null (~)',
  }
  return names[type] ?? type
}

function got(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (typeof value === 'object') return 'a mapping'
  const text = JSON.stringify(value) ?? String(value)
  return `${typeof value} ${text.length > 60 ? `${text.slice(0, 57)}…` : text}`
}

function pointerSegments(pointer: string): string[] {
  if (pointer === '') return []
  return pointer
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
}

// `cases[0].expect.status`, the way the YAML reads; the top level is "the file".
function displayPath(segments: readonly string[]): string {
  if (segments.length === 0) return 'top level'
  let out = ''
  for (const segment of segments) {
    if (/^\d+$/.test(segment)) out += `[${segment}]`
    else
      out +=
        out === ''
          ? segment
          : /^[A-Za-z_][\w-]*$/.test(segment)
            ? `.${segment}`
            : `[${JSON.stringify(segment)}]`
  }
  return out
}

// The YAML node at a JSON pointer's segments, and the offset of the key that led to it.
function nodeAt(document: Document, segments: readonly string[]): { value: unknown; keyOffset?: number } {
  let value: unknown = document.contents
  let keyOffset: number | undefined
  for (const segment of segments) {
    value = isAlias(value) ? value.resolve(document) : value
    if (isMap(value)) {
      const pair = value.items.find((p) => keyText(p.key) === segment)
      if (!pair) break
      keyOffset = start(pair.key)
      value = pair.value
    } else if (isSeq(value)) {
      value = value.items[Number(segment)]
      keyOffset = start(value)
    } else break
  }
  return { value: isAlias(value) ? value.resolve(document) : value, keyOffset }
}

function memberKey(map: unknown, key: string, document: Document): number | undefined {
  const resolved = isAlias(map) ? map.resolve(document) : map
  if (!isMap(resolved)) return undefined
  return start(resolved.items.find((p) => keyText(p.key) === key)?.key)
}

function keyText(key: unknown): string | undefined {
  return isScalar(key) ? String(key.value) : undefined
}

function start(node: unknown): number | undefined {
  return (node as Node | undefined)?.range?.[0]
}
