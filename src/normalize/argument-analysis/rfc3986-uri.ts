/** A URI split the RFC 3986 way, with whether each part keeps to the RFC's grammar. */
export interface Rfc3986Uri {
  scheme?: string
  /** Present when the URI has `//` and so an authority (possibly empty). */
  authority?: string
  userinfo?: string
  /** The host as written (lower-cased), without the port; IP literals keep their brackets. */
  host?: string
  port?: string
  path: string
  query?: string
  fragment?: string
  /** Scheme and authority follow RFC 3986's grammar (ASCII only, valid escapes, digits for a port). */
  validAuthority: boolean
}

// RFC 3986 Appendix B, the split every RFC-minded parser (urllib's urlsplit among them) shares:
// only "/", "?" and "#" end the authority, never a backslash.
const SPLIT = /^(?:([^:/?#]+):)?(?:\/\/([^/?#]*))?([^?#]*)(?:\?([^#]*))?(?:#([\s\S]*))?$/
const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*$/
const PCT = '%[0-9A-Fa-f]{2}'
const UNRESERVED_SUB_DELIMS = "A-Za-z0-9\\-._~!$&'()*+,;="
const USERINFO = new RegExp(`^(?:[${UNRESERVED_SUB_DELIMS}:]|${PCT})*$`)
const REG_NAME = new RegExp(`^(?:[${UNRESERVED_SUB_DELIMS}]|${PCT})*$`)
const IP_LITERAL = new RegExp(`^\\[(?:[0-9A-Fa-f:.]+|v[0-9A-Fa-f]+\\.[${UNRESERVED_SUB_DELIMS}:]+)\\]$`)
const PORT = /^[0-9]*$/

/**
 * Splits a URI by RFC 3986 (Appendix B) and reads its authority as Python's urllib does: the
 * userinfo ends at the last "@", the port starts at the first ":" after the host (after "]" for an
 * IP literal). A second reading beside WHATWG URL's: where the two disagree on the host, clients
 * built on either may reach different servers.
 *
 * @example
 * ```ts
 * parseRfc3986Uri('https://api.github.com\\@evil.com/').host // 'evil.com' (WHATWG: api.github.com)
 * ```
 */
export function parseRfc3986Uri(text: string): Rfc3986Uri {
  // The pattern matches any text: every group is optional and the path takes the rest.
  const [, scheme, authority, path = '', query, fragment] = SPLIT.exec(text)!
  const uri: Rfc3986Uri = { path, validAuthority: scheme !== undefined && SCHEME.test(scheme) }
  if (scheme !== undefined) uri.scheme = scheme.toLowerCase()
  if (query !== undefined) uri.query = query
  if (fragment !== undefined) uri.fragment = fragment
  if (authority === undefined) return uri
  uri.authority = authority
  const at = authority.lastIndexOf('@')
  let hostPort = authority
  if (at >= 0) {
    uri.userinfo = authority.slice(0, at)
    hostPort = authority.slice(at + 1)
    if (!USERINFO.test(uri.userinfo)) uri.validAuthority = false
  }
  let host = hostPort
  let port: string | undefined
  if (hostPort.startsWith('[')) {
    const close = hostPort.indexOf(']')
    host = close < 0 ? hostPort : hostPort.slice(0, close + 1)
    const rest = close < 0 ? '' : hostPort.slice(close + 1)
    if (rest.startsWith(':')) port = rest.slice(1)
    else if (rest !== '') uri.validAuthority = false
    if (!IP_LITERAL.test(host)) uri.validAuthority = false
  } else {
    const colon = hostPort.indexOf(':')
    if (colon >= 0) {
      host = hostPort.slice(0, colon)
      port = hostPort.slice(colon + 1)
    }
    if (!REG_NAME.test(host)) uri.validAuthority = false
  }
  uri.host = host.toLowerCase()
  if (port !== undefined) {
    uri.port = port
    if (!PORT.test(port)) uri.validAuthority = false
  }
  return uri
}
