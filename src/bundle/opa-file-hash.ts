import { createHash } from 'node:crypto'

/**
 * The digest OPA records for a bundle file in `.signatures.json` (OPA `bundle/hash.go`):
 * structured files (`data.json`, `.manifest`, `data.yaml`) are hashed in a canonical form
 * (object keys sorted, Go's JSON encoding of primitives without HTML escaping), every other file
 * over its raw bytes.
 *
 * Known difference: Go keeps a JSON number's literal text (`1.0`), JavaScript keeps its value (`1`),
 * so a structured file whose numbers are not in shortest form hashes differently. OPA itself writes
 * data.json in shortest form, so bundles built by `opa build` verify.
 *
 * @example
 * ```ts
 * opaFileHash('data.json', bytes, 'SHA-256') // hex digest
 * ```
 */
export function opaFileHash(path: string, bytes: Uint8Array, algorithm: string): string {
  const nodeAlgorithm = hashAlgorithms[algorithm]
  if (!nodeAlgorithm) throw new Error(`unsupported hashing algorithm ${algorithm}`)
  const hash = createHash(nodeAlgorithm)
  if (isStructuredDoc(path)) {
    hash.update(canonicalOpaJson(JSON.parse(Buffer.from(bytes).toString('utf8'))))
  } else {
    hash.update(bytes)
  }
  return hash.digest('hex')
}

const hashAlgorithms: Record<string, string> = {
  MD5: 'md5',
  'SHA-1': 'sha1',
  'SHA-224': 'sha224',
  'SHA-256': 'sha256',
  'SHA-384': 'sha384',
  'SHA-512': 'sha512',
  'SHA-512-224': 'sha512-224',
  'SHA-512-256': 'sha512-256',
}

function isStructuredDoc(path: string): boolean {
  const base = path.slice(path.lastIndexOf('/') + 1)
  return base === 'data.json' || base === '.manifest' || base === 'data.yaml' || base === 'data.yml'
}

function canonicalOpaJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalOpaJson).join(',')}]`
  if (value !== null && typeof value === 'object') {
    // Go sorts map keys bytewise (UTF-8); comparing UTF-8 buffers gives the same order.
    const keys = Object.keys(value).sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)))
    return `{${keys.map((k) => `${goJsonString(k)}:${canonicalOpaJson((value as Record<string, unknown>)[k])}`).join(',')}}`
  }
  if (typeof value === 'string') return goJsonString(value)
  return JSON.stringify(value)
}

// Go's encoder escapes U+2028 and U+2029 where JSON.stringify leaves them raw.
function goJsonString(s: string): string {
  return JSON.stringify(s)
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029')
}
