import {
  type ArgumentAnalysis,
  failedAnalysis,
  type UrlAmbiguity,
  type UrlAnalysis,
} from './argument-analysis.js'
import { parseRfc3986Uri } from './rfc3986-uri.js'

/** Longest URL analysed, in UTF-16 code units (longer is refused unread). */
export const MAX_URL_LENGTH = 8 * 1024

// C0 controls, DEL and C1 controls: WHATWG drops tabs and newlines anywhere and strips the rest at
// the ends, other parsers keep or refuse them.
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/
// Unicode White_Space (U+0085 is a C1 control, above) and the BOM, which IDNA drops from hosts.
const WHITESPACE = /[\s\ufeff]/
const IPV4 = /^(?:\d{1,3}\.){3}\d{1,3}$/

/**
 * Analyses a URL with two parsers — WHATWG URL (browsers, Node's fetch) and an RFC 3986 reading
 * with urllib's authority rules ({@link parseRfc3986Uri}) — and marks where readers may disagree:
 * backslashes, userinfo, control characters, whitespace, an authority outside RFC 3986's grammar,
 * or hosts that differ between the two. The host reported is WHATWG's; the reference policy
 * refuses an ambiguous URL whatever its host. Never throws.
 *
 * @example
 * ```ts
 * analyzeUrl('https://api.github.com\\@evil.com/', 'url')
 * // { parsed: true, ambiguous: true, ambiguities: ['backslash', 'host_mismatch', 'invalid_authority', 'userinfo'], host: 'api.github.com', … }
 * ```
 */
export function analyzeUrl(value: unknown, analyzer: string): ArgumentAnalysis {
  if (typeof value !== 'string') return failedAnalysis(analyzer, 'not a string')
  if (value.length > MAX_URL_LENGTH)
    return failedAnalysis(analyzer, `longer than ${MAX_URL_LENGTH} characters`)
  let url: URL
  try {
    url = new URL(value)
  } catch {
    // No quote of the text: a URL may carry a credential in its userinfo or query.
    return failedAnalysis(analyzer, 'not an absolute URL')
  }
  const rfc = parseRfc3986Uri(value)
  const ambiguities = new Set<UrlAmbiguity>()
  if (value.includes('\\')) ambiguities.add('backslash')
  if (CONTROL.test(value)) ambiguities.add('control_character')
  if (WHITESPACE.test(value)) ambiguities.add('whitespace')
  if (url.username !== '' || url.password !== '' || rfc.userinfo !== undefined) ambiguities.add('userinfo')
  if (!rfc.validAuthority) ambiguities.add('invalid_authority')
  const rfcHost = rfc.host ?? null
  if ((rfcHost ?? '') !== url.hostname) ambiguities.add('host_mismatch')
  const analysis: UrlAnalysis = {
    analyzer,
    parsed: true,
    ambiguous: ambiguities.size > 0,
    ambiguities: [...ambiguities].sort(),
    scheme: url.protocol.slice(0, -1),
    host: url.hostname,
    host_type: hostType(url.hostname),
    path: url.pathname,
    hosts: { whatwg: url.hostname, rfc3986: rfcHost },
  }
  if (url.port !== '') analysis.port = Number(url.port)
  return analysis
}

function hostType(host: string): UrlAnalysis['host_type'] {
  if (host === '') return 'none'
  if (host.startsWith('[')) return 'ipv6'
  // WHATWG serializes every IPv4 spelling (0x7f.1, 2130706433) as four decimals.
  if (IPV4.test(host)) return 'ipv4'
  return 'domain'
}
