import type { HostBuiltin } from '../host-builtin.js'
import { goUrlParse, splitHostPort } from './go-url.js'

/** `uri.*` builtins (OPA `topdown/uri.go`), on a port of Go's `net/url.Parse`. */
export const uriBuiltins: readonly HostBuiltin[] = [
  {
    name: 'uri.parse',
    impl: (s) => {
      if (typeof s !== 'string') return undefined
      const u = goUrlParse(s)
      if (u === undefined) return undefined
      const out: Record<string, string> = {}
      const { hostname, port } = splitHostPort(u.host)
      if (u.scheme) out.scheme = u.scheme
      if (hostname) out.hostname = hostname
      if (port) out.port = port
      if (u.path) {
        out.path = u.path
        out.raw_path = u.rawPath || u.path
      }
      if (u.rawQuery) out.raw_query = u.rawQuery
      if (u.fragment) out.fragment = u.fragment
      return out
    },
  },
  {
    name: 'uri.is_valid',
    // OPA: false for a non-string and for the empty string (a valid relative reference).
    impl: (s) => typeof s === 'string' && s.length > 0 && goUrlParse(s) !== undefined,
  },
]
