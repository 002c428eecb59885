import { parseAddr } from './net.js'

/**
 * Go's `net/url.Parse` (Go 1.26, as OPA v1.22.4 is built: strict colons in http(s) hosts), for
 * `uri.parse` and `uri.is_valid`. Works on UTF-8 bytes, held as a binary string (one char per
 * byte), as Go's byte loops do; results are decoded back to text.
 */

enum Mode {
  Path = 1,
  PathSegment,
  Host,
  Zone,
  UserPassword,
  QueryComponent,
  Fragment,
}

const isAlnum = (c: number) =>
  (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39)
const isHex = (c: number) => (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66) || (c >= 0x41 && c <= 0x46)
const unhex = (c: number) => (c <= 0x39 ? c - 0x30 : (c | 0x20) - 0x61 + 10)

/** Go's `shouldEscape` (gen_encoding_table.go). */
function shouldEscape(c: number, mode: Mode): boolean {
  if (isAlnum(c)) return false
  const ch = String.fromCharCode(c)
  if ((mode === Mode.Host || mode === Mode.Zone) && `!$&'()*+,;=:[]<>"`.includes(ch)) return false
  if ('-_.~'.includes(ch)) return false
  if ('$&+,/:;=?@'.includes(ch)) {
    switch (mode) {
      case Mode.Path:
        return ch === '?'
      case Mode.PathSegment:
        return ch === '/' || ch === ';' || ch === ',' || ch === '?'
      case Mode.UserPassword:
        return ch === '@' || ch === '/' || ch === '?' || ch === ':'
      case Mode.QueryComponent:
        return true
      case Mode.Fragment:
        return false
    }
  }
  if (mode === Mode.Fragment && '!()*'.includes(ch)) return false
  return true
}

class UrlError extends Error {}

function urlUnescape(s: string, mode: Mode): string {
  let n = 0
  let hasPlus = false
  for (let i = 0; i < s.length; ) {
    const c = s.charCodeAt(i)
    if (c === 0x25) {
      n++
      if (i + 2 >= s.length || !isHex(s.charCodeAt(i + 1)) || !isHex(s.charCodeAt(i + 2))) {
        throw new UrlError(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`)
      }
      if (mode === Mode.Host && unhex(s.charCodeAt(i + 1)) < 8 && s.slice(i, i + 3) !== '%25') {
        throw new UrlError(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`)
      }
      if (mode === Mode.Zone) {
        const v = (unhex(s.charCodeAt(i + 1)) << 4) | unhex(s.charCodeAt(i + 2))
        if (s.slice(i, i + 3) !== '%25' && v !== 0x20 && shouldEscape(v, Mode.Host)) {
          throw new UrlError(`invalid URL escape ${JSON.stringify(s.slice(i, i + 3))}`)
        }
      }
      i += 3
    } else if (c === 0x2b) {
      hasPlus = mode === Mode.QueryComponent
      i++
    } else {
      if ((mode === Mode.Host || mode === Mode.Zone) && c < 0x80 && shouldEscape(c, mode)) {
        throw new UrlError(`invalid character ${JSON.stringify(s[i])} in host name`)
      }
      i++
    }
  }
  if (n === 0 && !hasPlus) return s
  let t = ''
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x25) {
      t += String.fromCharCode((unhex(s.charCodeAt(i + 1)) << 4) | unhex(s.charCodeAt(i + 2)))
      i += 2
    } else if (c === 0x2b) {
      t += mode === Mode.QueryComponent ? ' ' : '+'
    } else {
      t += s[i]
    }
  }
  return t
}

function urlEscape(s: string, mode: Mode): string {
  let t = ''
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c === 0x20 && mode === Mode.QueryComponent) t += '+'
    else if (shouldEscape(c, mode)) t += `%${c.toString(16).toUpperCase().padStart(2, '0')}`
    else t += s[i]
  }
  return t
}

function getScheme(raw: string): { scheme: string; rest: string } {
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i)
    if ((c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a)) continue
    if ((c >= 0x30 && c <= 0x39) || c === 0x2b || c === 0x2d || c === 0x2e) {
      if (i === 0) return { scheme: '', rest: raw }
      continue
    }
    if (c === 0x3a) {
      if (i === 0) throw new UrlError('missing protocol scheme')
      return { scheme: raw.slice(0, i), rest: raw.slice(i + 1) }
    }
    return { scheme: '', rest: raw }
  }
  return { scheme: '', rest: raw }
}

const validOptionalPort = (port: string): boolean => port === '' || /^:[0-9]*$/.test(port)

function validUserinfo(s: string): boolean {
  return /^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(s)
}

function parseHost(scheme: string, host: string): string {
  const open = host.lastIndexOf('[')
  if (open > 0) throw new UrlError('invalid IP-literal')
  if (open === 0) {
    const close = host.lastIndexOf(']')
    if (close < 0) throw new UrlError("missing ']' in host")
    const colonPort = host.slice(close + 1)
    if (!validOptionalPort(colonPort))
      throw new UrlError(`invalid port ${JSON.stringify(colonPort)} after host`)
    const port = urlUnescape(colonPort, Mode.Host)
    const hostname = host.slice(1, close)
    const zone = hostname.indexOf('%25')
    const unescaped =
      zone >= 0
        ? urlUnescape(hostname.slice(0, zone), Mode.Host) + urlUnescape(hostname.slice(zone), Mode.Zone)
        : urlUnescape(hostname, Mode.Host)
    // netip.ParseAddr: an IPv6 address, with an optional non-empty zone.
    const pct = unescaped.indexOf('%')
    const addr = pct >= 0 ? unescaped.slice(0, pct) : unescaped
    const parsed = parseAddr(addr)
    if (parsed === undefined || (pct >= 0 && (parsed.v4 || pct === unescaped.length - 1))) {
      throw new UrlError('invalid host')
    }
    if (parsed.v4) throw new UrlError('invalid IP-literal')
    return `[${unescaped}]${port}`
  }
  const i = host.indexOf(':')
  if (i !== -1) {
    const last = host.lastIndexOf(':')
    // Go 1.26 (urlstrictcolons=1): in http(s) hosts the first colon starts the port.
    const at = last !== i && scheme !== 'http' && scheme !== 'https' ? last : i
    const colonPort = host.slice(at)
    if (!validOptionalPort(colonPort))
      throw new UrlError(`invalid port ${JSON.stringify(colonPort)} after host`)
  }
  return urlUnescape(host, Mode.Host)
}

function parseAuthority(scheme: string, authority: string): string {
  const i = authority.lastIndexOf('@')
  const host = parseHost(scheme, i < 0 ? authority : authority.slice(i + 1))
  if (i < 0) return host
  const userinfo = authority.slice(0, i)
  if (!validUserinfo(userinfo)) throw new UrlError('net/url: invalid userinfo')
  const colon = userinfo.indexOf(':')
  if (colon < 0) urlUnescape(userinfo, Mode.UserPassword)
  else {
    urlUnescape(userinfo.slice(0, colon), Mode.UserPassword)
    urlUnescape(userinfo.slice(colon + 1), Mode.UserPassword)
  }
  return host
}

/** The parts of a parsed URL that `uri.parse` reports (all decoded text). */
export interface GoUrl {
  scheme: string
  host: string
  path: string
  rawPath: string
  rawQuery: string
  fragment: string
}

function parse(raw: string): GoUrl {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: Go refuses control bytes in a URL
  if (/[\x00-\x1f\x7f]/.test(raw)) throw new UrlError('net/url: invalid control character in URL')
  const url: GoUrl = { scheme: '', host: '', path: '', rawPath: '', rawQuery: '', fragment: '' }
  if (raw === '*') {
    url.path = '*'
    return url
  }
  const s = getScheme(raw)
  url.scheme = s.scheme.toLowerCase()
  let rest = s.rest
  if (rest.endsWith('?') && rest.split('?').length === 2) {
    rest = rest.slice(0, -1)
  } else {
    const q = rest.indexOf('?')
    if (q >= 0) {
      url.rawQuery = rest.slice(q + 1)
      rest = rest.slice(0, q)
    }
  }
  if (!rest.startsWith('/')) {
    // Opaque: scheme:opaque; uri.parse reports none of it as a path.
    if (url.scheme !== '') return url
    const segment = rest.split('/')[0]!
    if (segment.includes(':')) throw new UrlError('first path segment in URL cannot contain colon')
  }
  if ((url.scheme !== '' || !rest.startsWith('///')) && rest.startsWith('//')) {
    let authority = rest.slice(2)
    rest = ''
    const slash = authority.indexOf('/')
    if (slash >= 0) {
      rest = authority.slice(slash)
      authority = authority.slice(0, slash)
    }
    url.host = parseAuthority(url.scheme, authority)
  }
  url.path = urlUnescape(rest, Mode.Path)
  url.rawPath = rest === urlEscape(url.path, Mode.Path) ? '' : rest
  return url
}

/** Go's `url.Parse`, or undefined where it returns an error. */
export function goUrlParse(text: string): GoUrl | undefined {
  const raw = Buffer.from(text, 'utf8').toString('latin1')
  try {
    const hash = raw.indexOf('#')
    const url = parse(hash < 0 ? raw : raw.slice(0, hash))
    if (hash >= 0) url.fragment = urlUnescape(raw.slice(hash + 1), Mode.Fragment)
    const text8 = (b: string) => Buffer.from(b, 'latin1').toString('utf8')
    return {
      scheme: text8(url.scheme),
      host: text8(url.host),
      path: text8(url.path),
      rawPath: text8(url.rawPath),
      rawQuery: text8(url.rawQuery),
      fragment: text8(url.fragment),
    }
  } catch (err) {
    if (err instanceof UrlError) return undefined
    throw err
  }
}

/** `URL.Hostname()` and `URL.Port()`: split at the last colon when a valid port follows. */
export function splitHostPort(hostPort: string): { hostname: string; port: string } {
  let host = hostPort
  let port = ''
  const colon = host.lastIndexOf(':')
  if (colon !== -1 && validOptionalPort(host.slice(colon))) {
    port = host.slice(colon + 1)
    host = host.slice(0, colon)
  }
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  return { hostname: host, port }
}
