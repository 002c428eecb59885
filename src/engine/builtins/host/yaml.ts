import { isMap, isScalar, isSeq, type Node, parseAllDocuments, stringify, visit } from 'yaml'
import type { HostBuiltin } from '../host-builtin.js'

/**
 * OPA's YAML (`internal/yaml`, go-yaml v3 under the YAML 1.2 core schema): every document of the
 * stream must parse, the first one is the value, duplicate keys keep the last value, repeated
 * merge keys apply in order, and keys become JSON object keys (strings).
 */
function parseFirst(text: string): { ok: true; value: unknown } | { ok: false } {
  let docs: ReturnType<typeof parseAllDocuments>
  try {
    docs = parseAllDocuments(text, { uniqueKeys: false, merge: true, prettyErrors: false, strict: false })
  } catch {
    return { ok: false }
  }
  const list = Array.isArray(docs) ? docs : []
  if (list.some((d) => d.errors.length > 0)) return { ok: false }
  const first = list[0]
  if (first === undefined || first.contents === null) return { ok: true, value: null }
  try {
    // Keys of any type become strings, as OPA's jsonable does.
    visit(first, {
      Pair(_, pair) {
        if (isScalar(pair.key) && typeof pair.key.value !== 'string') {
          pair.key.value = pair.key.value === null ? 'null' : String(pair.key.value)
        } else if (isMap(pair.key as Node) || isSeq(pair.key as Node)) {
          throw new Error('non-scalar key')
        }
      },
    })
    return { ok: true, value: first.toJS({ maxAliasCount: 100 }) }
  } catch {
    return { ok: false }
  }
}

/** `yaml.*` builtins (OPA `topdown/encoding.go`). */
export const yamlBuiltins: readonly HostBuiltin[] = [
  {
    name: 'yaml.is_valid',
    // OPA answers false, not undefined, for a non-string.
    impl: (s) => typeof s === 'string' && parseFirst(s).ok,
  },
  {
    name: 'yaml.unmarshal',
    impl: (s) => {
      if (typeof s !== 'string') return undefined
      const r = parseFirst(s)
      return r.ok ? r.value : undefined
    },
  },
  {
    name: 'yaml.marshal',
    // go-yaml v3 at indent 2: map keys sorted, sequences indented under their key.
    impl: (v) => stringify(v, { indent: 2, sortMapEntries: true, lineWidth: 0, indentSeq: true }),
  },
]
