import type { HostBuiltin } from '../host-builtin.js'
import { compareRegoValues } from '../rego-text.js'
import { RegoNumber, RegoSet, type RegoValue } from '../rego-value.js'

/**
 * `json.patch` (OPA `topdown/json.go` over `internal/edittree`): RFC 6902 operations on objects,
 * arrays and sets, with paths as JSON pointers or arrays of segments. Values are exact Rego
 * values and are never mutated: each step builds the changed spine anew.
 */

class PatchError extends Error {}

type Obj = { [k: string]: RegoValue }
const isMap = (v: RegoValue): v is Map<RegoValue, RegoValue> => v instanceof Map
const isObj = (v: RegoValue): v is Obj =>
  v !== null &&
  typeof v === 'object' &&
  !Array.isArray(v) &&
  !(v instanceof RegoSet) &&
  !(v instanceof RegoNumber) &&
  !(v instanceof Map)
const equal = (a: RegoValue, b: RegoValue) => compareRegoValues(a, b) === 0

/** OPA's `parsePath`: `/a/b~1c` (leading slashes trimmed, `~1` then `~0` unescaped) or segments. */
function parsePath(p: RegoValue): RegoValue[] {
  if (typeof p === 'string') {
    if (p === '') return []
    return p
      .replace(/^\/+/, '')
      .split('/')
      .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
  }
  if (Array.isArray(p)) return p
  throw new PatchError('path must be a string or an array')
}

/** The edit tree's `toIndex`: an integer, `-` (the end), or a decimal string without leading zeros. */
function toIndex(length: number, key: RegoValue): number {
  if (key instanceof RegoNumber) {
    if (!/^-?\d+$/.test(key.text)) throw new PatchError('invalid number type for indexing')
    return Number(key.text)
  }
  if (typeof key === 'string') {
    if (key === '-') return length
    if (!/^-?\d+$/.test(key) || (key !== '0' && key.startsWith('0')))
      throw new PatchError('invalid string for indexing')
    return Number(key)
  }
  throw new PatchError('invalid type for indexing')
}

function child(v: RegoValue, key: RegoValue): RegoValue {
  if (isObj(v)) {
    if (typeof key === 'string' && Object.hasOwn(v, key)) return v[key]!
  } else if (isMap(v)) {
    for (const [k, x] of v) if (equal(k, key)) return x
  } else if (v instanceof RegoSet) {
    const m = v.items.find((x) => equal(x, key))
    if (m !== undefined) return m
  } else if (Array.isArray(v)) {
    const i = toIndex(v.length, key)
    if (i >= 0 && i < v.length) return v[i]!
  }
  throw new PatchError('path does not exist')
}

/** Replaces the child at `key` (which exists) by `f(child)`. */
function update(v: RegoValue, key: RegoValue, f: (c: RegoValue) => RegoValue): RegoValue {
  const c = child(v, key)
  if (isObj(v)) return { ...v, [key as string]: f(c) }
  if (isMap(v)) return new Map([...v].map(([k, x]) => [k, equal(k, key) ? f(c) : x]))
  if (v instanceof RegoSet) return new RegoSet(v.items.map((x) => (equal(x, key) ? f(c) : x)))
  const arr = v as RegoValue[]
  const i = toIndex(arr.length, key)
  return arr.map((x, j) => (j === i ? f(c) : x))
}

function insert(v: RegoValue, key: RegoValue, value: RegoValue): RegoValue {
  if (isObj(v)) {
    if (typeof key === 'string') return { ...v, [key]: value }
    return new Map<RegoValue, RegoValue>([...Object.entries(v), [key, value]])
  }
  if (isMap(v)) return new Map([...[...v].filter(([k]) => !equal(k, key)), [key, value]])
  if (v instanceof RegoSet) {
    if (!equal(key, value)) throw new PatchError('set key does not equal value to be inserted')
    return v.items.some((x) => equal(x, key)) ? v : new RegoSet([...v.items, value])
  }
  if (Array.isArray(v)) {
    const i = toIndex(v.length, key)
    if (i < 0 || i > v.length) throw new PatchError('index for array insertion out of bounds')
    return [...v.slice(0, i), value, ...v.slice(i)]
  }
  throw new PatchError('expected composite type')
}

function remove(v: RegoValue, key: RegoValue): RegoValue {
  child(v, key)
  if (isObj(v)) {
    const { [key as string]: _, ...rest } = v
    return rest
  }
  if (isMap(v)) return new Map([...v].filter(([k]) => !equal(k, key)))
  if (v instanceof RegoSet) return new RegoSet(v.items.filter((x) => !equal(x, key)))
  const arr = v as RegoValue[]
  const i = toIndex(arr.length, key)
  return [...arr.slice(0, i), ...arr.slice(i + 1)]
}

function at(v: RegoValue, path: readonly RegoValue[]): RegoValue {
  return path.reduce<RegoValue>((node, key) => child(node, key), v)
}

/** Applies `op(parent, last key)` at the parent of `path`. */
function atParent(
  v: RegoValue,
  path: readonly RegoValue[],
  op: (parent: RegoValue, key: RegoValue) => RegoValue,
) {
  const walk = (node: RegoValue, i: number): RegoValue =>
    i === path.length - 1 ? op(node, path[i]!) : update(node, path[i]!, (c) => walk(c, i + 1))
  return walk(v, 0)
}

function applyPatches(doc: RegoValue | undefined, ops: readonly RegoValue[]): RegoValue | undefined {
  let d = doc
  const addAt = (path: RegoValue[], value: RegoValue) => {
    d = path.length === 0 ? value : atParent(live(d), path, (p, k) => insert(p, k, value))
  }
  const removeAt = (path: RegoValue[]) => {
    if (path.length === 0) {
      live(d)
      d = undefined
    } else {
      d = atParent(live(d), path, remove)
    }
  }
  for (const raw of ops) {
    if (!isObj(raw)) throw new PatchError('must be an array of JSON-Patch objects')
    if (raw.path === undefined) throw new PatchError("missing required attribute 'path'")
    if (typeof raw.op !== 'string') throw new PatchError("attribute 'op' must be a string")
    const path = parsePath(raw.path)
    const value = () => {
      if (raw.value === undefined) throw new PatchError("missing required attribute 'value'")
      return raw.value
    }
    const from = () => {
      if (raw.from === undefined) throw new PatchError("missing required attribute 'from'")
      return parsePath(raw.from)
    }
    switch (raw.op) {
      case 'add':
        addAt(path, value())
        break
      case 'remove':
        removeAt(path)
        break
      case 'replace':
        removeAt(path)
        addAt(path, value())
        break
      case 'move': {
        const f = from()
        const chunk = at(live(d), f)
        removeAt(f)
        addAt(path, chunk)
        break
      }
      case 'copy':
        addAt(path, at(live(d), from()))
        break
      case 'test':
        if (!equal(at(live(d), path), value())) throw new PatchError('test failed')
        break
      default:
        throw new PatchError(`unrecognized op: '${raw.op}'`)
    }
  }
  return d
}

function live(d: RegoValue | undefined): RegoValue {
  if (d === undefined) throw new PatchError('deleted node encountered')
  return d
}

/** `json.patch`. */
export const jsonPatchBuiltins: readonly HostBuiltin[] = [
  {
    name: 'json.patch',
    values: 'rego',
    impl: (doc, ops) => {
      if (!Array.isArray(ops)) return undefined
      try {
        return applyPatches(doc as RegoValue, ops as RegoValue[])
      } catch (err) {
        if (err instanceof PatchError) return undefined
        throw err
      }
    },
  },
]
