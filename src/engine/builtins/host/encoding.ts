import type { HostBuiltin } from '../host-builtin.js'
import { RegoNumber, RegoSet, type RegoValue } from '../rego-value.js'
import { goJsonMarshal } from './go-json.js'

const utf8 = new TextEncoder()
const fatalUtf8 = new TextDecoder('utf-8', { fatal: true })

/** Go's `url.QueryEscape`: unreserved bytes kept, space as `+`, the rest `%XX`. */
export function queryEscape(s: string): string {
  let out = ''
  for (const b of utf8.encode(s)) {
    const c = String.fromCharCode(b)
    if (/[A-Za-z0-9\-_.~]/.test(c)) out += c
    else if (b === 0x20) out += '+'
    else out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`
  }
  return out
}

/** Go's `url.QueryUnescape`, or undefined on a bad `%` escape (or bytes that are not UTF-8). */
export function queryUnescape(s: string): string | undefined {
  const bytes: number[] = []
  const raw = utf8.encode(s)
  for (let i = 0; i < raw.length; i++) {
    const b = raw[i]!
    if (b === 0x25) {
      const h = String.fromCharCode(raw[i + 1] ?? 0, raw[i + 2] ?? 0)
      if (!/^[0-9A-Fa-f]{2}$/.test(h)) return undefined
      bytes.push(Number.parseInt(h, 16))
      i += 2
    } else {
      bytes.push(b === 0x2b ? 0x20 : b)
    }
  }
  try {
    return fatalUtf8.decode(new Uint8Array(bytes))
  } catch {
    return undefined
  }
}

/** Go's `url.ParseQuery`: `&`-separated `key=value`, a `;` or bad escape is an error. */
function parseQuery(q: string): Map<string, string[]> | undefined {
  const out = new Map<string, string[]>()
  for (const part of q.split('&')) {
    if (part === '') continue
    if (part.includes(';')) return undefined
    const eq = part.indexOf('=')
    const k = queryUnescape(eq < 0 ? part : part.slice(0, eq))
    const v = queryUnescape(eq < 0 ? '' : part.slice(eq + 1))
    if (k === undefined || v === undefined) return undefined
    out.set(k, [...(out.get(k) ?? []), v])
  }
  return out
}

const isObject = (x: RegoValue): x is { [k: string]: RegoValue } =>
  x !== null &&
  typeof x === 'object' &&
  !Array.isArray(x) &&
  !(x instanceof RegoSet) &&
  !(x instanceof RegoNumber) &&
  !(x instanceof Map)

/** OPA's `json.marshal_with_options` options: `pretty`, `indent`, `prefix`; undefined if invalid. */
function marshalOptions(opts: RegoValue): { prefix: string; indent: string } | null | undefined {
  if (!isObject(opts)) return undefined
  let indent = '\t'
  let prefix = ''
  let implicit = false
  let explicit: boolean | undefined
  for (const [k, v] of Object.entries(opts)) {
    if (k === 'prefix' || k === 'indent') {
      if (typeof v !== 'string') return undefined
      if (k === 'prefix') prefix = v
      else indent = v
      implicit = true
    } else if (k === 'pretty') {
      if (typeof v !== 'boolean') return undefined
      explicit = v
    } else {
      return undefined
    }
  }
  return (explicit ?? implicit) ? { prefix, indent } : null
}

/** Encoding builtins not in OPA's WebAssembly module (OPA `topdown/encoding.go`). */
export const encodingBuiltins: readonly HostBuiltin[] = [
  {
    name: 'hex.encode',
    impl: (s) => (typeof s === 'string' ? Buffer.from(s, 'utf8').toString('hex') : undefined),
  },
  {
    name: 'hex.decode',
    impl: (s) => {
      if (typeof s !== 'string' || s.length % 2 !== 0 || !/^[0-9A-Fa-f]*$/.test(s)) return undefined
      try {
        return fatalUtf8.decode(Buffer.from(s, 'hex'))
      } catch {
        return undefined
      }
    },
  },
  {
    name: 'base64url.encode_no_pad',
    impl: (s) => (typeof s === 'string' ? Buffer.from(s, 'utf8').toString('base64url') : undefined),
  },
  {
    name: 'urlquery.encode',
    impl: (s) => (typeof s === 'string' ? queryEscape(s) : undefined),
  },
  {
    name: 'urlquery.decode',
    impl: (s) => (typeof s === 'string' ? queryUnescape(s) : undefined),
  },
  {
    name: 'urlquery.encode_object',
    values: 'rego',
    impl: (o) => {
      if (!isObject(o as RegoValue)) return undefined
      const pairs: string[] = []
      const entries = Object.entries(o as { [k: string]: RegoValue }).sort((a, b) =>
        a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0,
      )
      for (const [k, v] of entries) {
        // A set's members go in Rego's order, as ast.JSON writes a set.
        const values =
          typeof v === 'string' ? [v] : Array.isArray(v) ? v : v instanceof RegoSet ? v.items : undefined
        if (values === undefined || values.some((x) => typeof x !== 'string')) return undefined
        // url.Values.Set with one string; Add for each member of a list.
        for (const x of values as string[]) pairs.push(`${queryEscape(k)}=${queryEscape(x)}`)
      }
      return pairs.join('&')
    },
  },
  {
    name: 'urlquery.decode_object',
    impl: (q) => {
      if (typeof q !== 'string') return undefined
      const parsed = parseQuery(q)
      return parsed === undefined ? undefined : Object.fromEntries(parsed)
    },
  },
  {
    name: 'json.marshal_with_options',
    values: 'rego',
    impl: (v, opts) => {
      const o = marshalOptions(opts as RegoValue)
      if (o === undefined) return undefined
      return o === null ? goJsonMarshal(v as RegoValue) : o.prefix + goJsonMarshal(v as RegoValue, o)
    },
  },
]
