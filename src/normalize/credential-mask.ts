/**
 * Credentials in request metadata: the rule that keeps them out of input document v1, and so out
 * of every policy and every decision-log line. A credential found is replaced by the marker
 * {@link REDACTED}, so a policy can still see that one was sent (and refuse it) without its value.
 *
 * The rule has three parts:
 *
 * - **By name.** A query parameter, a `_meta` member (at any depth), a `context.attributes` member,
 *   a `;name=value` path parameter or a `name=value` pair inside a header-derived value is a
 *   credential when its name (percent-decoded, NFKC, split into words at separators and camelCase
 *   humps) is one of `code`, `key`, `sig`, `sid`, `pass`, `pin`, `otp`, `totp`, `hmac`, `cred(s)`,
 *   `ticket`; contains `password`, `passwd`, `passphrase`, `passcode`, `secret`, `credential`,
 *   `cookie`, `signature`, `apikey`, `accesskey`, `privatekey`, `signingkey`, `sessionkey`, `jwt`,
 *   `bearer`, `assertion`, `authorization`, `authentication`, `sessionid`, `sessid`, `verifier`,
 *   `samlresponse`, `samlrequest`; ends in `token`, `pwd`, `otp`, `sig`, `ticket`; ends with the
 *   word `key(s)`; or has a word starting with `auth` or `oauth` (but not `author…`, except `authoriz…`). So
 *   `access_token`, `id_token`, `refresh_token`, `client_secret`, `api_key`, `X-Api-Key`,
 *   `password`, `signature`, `auth`, `authToken`, `Authorization`, `Cookie`, `jsessionid` are;
 *   `author`, `authority`, `max_tokens`, `token_type` are not. MCP's own `progressToken` (a
 *   correlation id) and `Mcp-Session-Id` (MCP forbids authenticating with it) are not.
 * - **By value.** Whatever its name, a value holding a compact JWS/JWE (a base64url segment that
 *   decodes to a JSON object, then `.` and at least two more segments), or an HTTP credential
 *   (`Bearer`, `Basic`, `DPoP` followed by a credential of 8 or more token68 characters), is masked.
 * - **By presence.** Every credential the request presented in a header (the `Authorization`
 *   credential, `Cookie` values, any header named like a credential, 8 characters or more) is
 *   masked wherever else it appears in the request's metadata.
 */

/** What a masked credential is replaced with. */
export const REDACTED = '[REDACTED]'

// MCP's own names that look like credentials but are not: `_meta.progressToken` correlates
// progress; `Mcp-Session-Id` names a session, and MCP forbids using it to authenticate.
const NOT_CREDENTIALS = new Set(['progresstoken', 'mcpsessionid'])
const EXACT = new Set([
  'code',
  'key',
  'keys',
  'sig',
  'sid',
  'pass',
  'pin',
  'otp',
  'totp',
  'hmac',
  'cred',
  'creds',
  'ticket',
])
const CONTAINS = [
  'password',
  'passwd',
  'passphrase',
  'passcode',
  'secret',
  'credential',
  'cookie',
  'signature',
  'apikey',
  'accesskey',
  'privatekey',
  'signingkey',
  'sessionkey',
  'jwt',
  'bearer',
  'assertion',
  'authorization',
  'authentication',
  'sessionid',
  'sessid',
  'verifier',
  'samlresponse',
  'samlrequest',
]
const ENDS = ['token', 'pwd', 'otp', 'sig', 'ticket']

// Names repeat (headers, `_meta` keys): the verdicts are cached, the cache bounded.
const nameVerdicts = new Map<string, boolean>()
const MAX_CACHED_NAMES = 4096

/**
 * Whether `name` — a query parameter, a `_meta` or attribute key, a header name — names a
 * credential (the rule in this module's description). Pass names already percent-decoded.
 *
 * @example
 * ```ts
 * isCredentialName('access_token') // true
 * isCredentialName('X-Api-Key') // true
 * isCredentialName('progressToken') // false
 * ```
 */
export function isCredentialName(name: string): boolean {
  const cached = nameVerdicts.get(name)
  if (cached !== undefined) return cached
  const verdict = judgeName(name)
  if (nameVerdicts.size >= MAX_CACHED_NAMES) nameVerdicts.clear()
  nameVerdicts.set(name, verdict)
  return verdict
}

function judgeName(name: string): boolean {
  if (name.length === 0 || name.length > 1024) return false
  const words = name
    .normalize('NFKC')
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1 $2')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w !== '')
  const squashed = words.join('')
  if (squashed === '' || NOT_CREDENTIALS.has(squashed)) return false
  if (EXACT.has(squashed)) return true
  for (const part of CONTAINS) if (squashed.includes(part)) return true
  for (const end of ENDS) if (squashed.endsWith(end)) return true
  const last = words[words.length - 1]
  if (last === 'key' || last === 'keys') return true
  for (const word of words) {
    const auth = word.startsWith('oauth') ? word.slice(1) : word
    if (auth.startsWith('auth') && (!auth.startsWith('author') || auth.startsWith('authoriz'))) return true
  }
  return false
}

// A compact JWS/JWE candidate: a segment starting as base64url of `{` + `"` or whitespace, then at
// least two more `.`-separated segments. Candidates are confirmed by decoding the first segment.
const JWT_CANDIDATE = /e[wy][A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]*\.[A-Za-z0-9_.-]*/g
const JOSE_HEADER = /^\s*\{\s*"/
// An HTTP credential: scheme, whitespace, a token68 of 8 or more characters.
const HTTP_CREDENTIAL = /\b(bearer|basic|dpop)(\s+)([A-Za-z0-9._~+/=-]{8,})/gi
// `name=value` where a name starts (start of text, or after a separator) and a value runs to the
// next separator.
const PAIR = /(^|[?&#;,\s])([^=&#;,\s?]{1,256})=([^&#;,\s]*)/g
// The same in a path, where a `;name=value` parameter ends at the next `/`.
const PATH_PAIR = /(^|[;,\s])([^=/&#;,\s?]{1,256})=([^/&#;,\s]*)/g
const WHITESPACE = /\s/

/**
 * Masks the credentials in a piece of metadata text (a header value, a `_meta` string, a query
 * value, an error message): presented credentials (`known`), compact JWS/JWE, HTTP credentials
 * after `Bearer`/`Basic`/`DPoP`, and the values of `name=value` pairs whose name is a credential's.
 * Returns `text` itself when there is nothing to mask.
 *
 * @example
 * ```ts
 * maskCredentialText('curl/8 Bearer abcdefgh12345678') // 'curl/8 Bearer [REDACTED]'
 * ```
 */
export function maskCredentialText(text: string, known: readonly string[] = []): string {
  return maskText(text, known, PAIR)
}

// Each rule runs only when the text has what it needs (cheap searches first): most metadata is
// short and clean, and this runs on every request.
function maskText(text: string, known: readonly string[], pairs: RegExp): string {
  let out = text
  for (const secret of known) if (out.includes(secret)) out = out.replaceAll(secret, REDACTED)
  if (out.length >= 10 && out.includes('.') && (out.includes('ey') || out.includes('ew')))
    out = maskJoseRuns(out)
  if (out.length >= 13 && WHITESPACE.test(out)) {
    HTTP_CREDENTIAL.lastIndex = 0
    if (HTTP_CREDENTIAL.test(out))
      out = out.replace(HTTP_CREDENTIAL, (match, scheme: string, space: string, credential: string) =>
        scheme.toLowerCase() === 'basic' && !isBasicCredential(credential)
          ? match
          : `${scheme}${space}${REDACTED}`,
      )
  }
  if (out.includes('=')) {
    out = out.replace(pairs, (match, before: string, name: string, value: string) =>
      value !== '' && value !== REDACTED && isCredentialName(decodeComponent(name))
        ? `${before}${name}=${REDACTED}`
        : match,
    )
  }
  return out
}

/** True when `text` holds a credential by value or presence (see {@link maskCredentialText}). */
export function holdsCredential(text: string, known: readonly string[] = []): boolean {
  return maskCredentialText(text, known) !== text
}

function maskJoseRuns(text: string): string {
  let out = ''
  let from = 0
  JWT_CANDIDATE.lastIndex = 0
  for (let match = JWT_CANDIDATE.exec(text); match !== null; match = JWT_CANDIDATE.exec(text)) {
    const header = match[0].slice(0, match[0].indexOf('.'))
    if (!JOSE_HEADER.test(Buffer.from(header, 'base64url').toString('latin1'))) {
      // Not a JOSE header here; one may start further on inside this candidate.
      JWT_CANDIDATE.lastIndex = match.index + 1
      continue
    }
    out += `${text.slice(from, match.index)}${REDACTED}`
    from = match.index + match[0].length
  }
  return from === 0 ? text : out + text.slice(from)
}

// `Basic` is also an English word: its credential must be base64 of `user:password`.
function isBasicCredential(credential: string): boolean {
  return Buffer.from(credential, 'base64').toString('latin1').includes(':')
}

function decodeComponent(text: string): string {
  if (!text.includes('%') && !text.includes('+')) return text
  try {
    return decodeURIComponent(text.replaceAll('+', ' '))
  } catch {
    return text
  }
}

// `scheme://user:password@` where the authority is unambiguous (no backslash before the `@`, so
// masking never changes which host a parser sees).
const USERINFO_PASSWORD = /^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@\\:]*):([^/?#@\\]+)@/

/**
 * Masks credentials in a URL or a request path with its query: a userinfo password, every query
 * and fragment parameter named like a credential or whose value holds one (the whole value goes),
 * `;name=value` path parameters and JWS/JWE anywhere in the path. Names and values are compared
 * percent-decoded; what is kept keeps its original encoding.
 *
 * @example
 * ```ts
 * maskCredentialUrl('/mcp/github?access_token=abc&page=2') // '/mcp/github?access_token=[REDACTED]&page=2'
 * ```
 */
export function maskCredentialUrl(text: string, known: readonly string[] = []): string {
  // The common request path: no query, fragment, userinfo, parameters or escapes.
  if (!/[?#@;%=]/.test(text)) return maskText(text, known, PATH_PAIR)
  const hash = text.indexOf('#')
  const beforeHash = hash < 0 ? text : text.slice(0, hash)
  const question = beforeHash.indexOf('?')
  let head = question < 0 ? beforeHash : beforeHash.slice(0, question)
  head = head.replace(USERINFO_PASSWORD, `$1:${REDACTED}@`)
  head = maskPath(head, known)
  let out = head
  if (question >= 0) out += `?${maskQuery(beforeHash.slice(question + 1), known)}`
  if (hash >= 0) out += `#${maskQuery(text.slice(hash + 1), known)}`
  return out
}

function maskPath(path: string, known: readonly string[]): string {
  const masked = maskText(path, known, PATH_PAIR)
  if (masked !== path || !path.includes('%')) return masked
  // A credential may hide behind percent-encoding: judge the decoded path, keep the original if clean.
  const decoded = decodeComponent(path)
  const maskedDecoded = maskText(decoded, known, PATH_PAIR)
  return maskedDecoded === decoded ? path : maskedDecoded
}

function maskQuery(query: string, known: readonly string[]): string {
  if (query === '') return query
  const parts = query.split(/([&;])/)
  for (let i = 0; i < parts.length; i += 2) {
    const part = parts[i]!
    if (part === '') continue
    const eq = part.indexOf('=')
    const rawName = eq < 0 ? part : part.slice(0, eq)
    const rawValue = eq < 0 ? '' : part.slice(eq + 1)
    const name = decodeComponent(rawName)
    const nameHolds = holdsCredential(name, known)
    if (eq < 0) {
      if (nameHolds) parts[i] = REDACTED
      continue
    }
    const safeName = nameHolds ? REDACTED : rawName
    if (rawValue === '') parts[i] = `${safeName}=`
    else if (isCredentialName(name) || holdsCredential(decodeComponent(rawValue), known))
      parts[i] = `${safeName}=${REDACTED}`
    else if (nameHolds) parts[i] = `${safeName}=${rawValue}`
  }
  return parts.join('')
}

/**
 * Masks credentials in a JSON tree the caller owns (changed in place; the new root is returned):
 * a member named like a credential gets {@link REDACTED} for its value (unless that is `null`, a
 * boolean or empty: nothing to hide), every string is masked with {@link maskCredentialText}, and a
 * key that holds a credential is renamed to the marker.
 */
export function maskCredentialTree(value: unknown, known: readonly string[] = []): unknown {
  if (typeof value === 'string') return maskCredentialText(value, known)
  if (value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = maskCredentialTree(value[i], known)
    return value
  }
  const record = value as Record<string, unknown>
  for (const key of Object.keys(record)) {
    const member = record[key]
    const masked =
      isCredentialName(key) && member !== null && typeof member !== 'boolean' && member !== ''
        ? REDACTED
        : maskCredentialTree(member, known)
    const safeKey = maskCredentialText(key, known)
    if (safeKey === key) {
      if (masked !== member) defineData(record, key, masked)
      continue
    }
    delete record[key]
    let renamed = safeKey
    for (let n = 2; Object.hasOwn(record, renamed); n++) renamed = `${safeKey}#${n}`
    defineData(record, renamed, masked)
  }
  return record
}

/**
 * Masks every `_meta` member, at any depth, of MCP params the caller owns (in place) with
 * {@link maskCredentialTree}. Nothing else in the params changes: arguments are the tool's data.
 */
export function maskMetaMembers(params: Record<string, unknown>, known: readonly string[] = []): void {
  const stack: object[] = [params]
  while (stack.length > 0) {
    const node = stack.pop()!
    if (Array.isArray(node)) {
      for (const item of node) if (item !== null && typeof item === 'object') stack.push(item)
      continue
    }
    const record = node as Record<string, unknown>
    for (const key of Object.keys(record)) {
      const member = record[key]
      if (key === '_meta') defineData(record, key, maskCredentialTree(member, known))
      else if (member !== null && typeof member === 'object') stack.push(member)
    }
  }
}

// Members of input document v1 the log scan leaves alone: the subject is identity facts from a
// verified token (never the token), and arguments (and their analysis) are the tool's data, which
// the policy's `redact` obligation masks (the normalizer does not change them either).
const V1_NOT_METADATA = new Set([
  '/subject',
  '/mcp/tool/arguments',
  '/mcp/tool/analysis',
  '/mcp/prompt/arguments',
  '/mcp/params/arguments',
])
// Members of input document v1 whose name the schema gives, so only their value is judged.
const V1_NAMED_BY_SCHEMA = new Set(['/mcp/session_id'])

/**
 * JSON pointers (RFC 6901) to the members of an input a caller built itself (the OPA API,
 * AuthZEN, `/v1/mcp/response` with a `request`) that the decision log must erase: members named
 * like a credential (scalars, arrays, and every value inside an object so named), and strings that
 * hold a credential by value (a whole array goes when one of its items does, so no pointer ends at
 * an array index and erasing never shifts another pointer's index). In an input document v1 the
 * subject and the arguments are left alone, as the normalizer leaves them; a member already
 * holding the marker is clean. Empty for a clean input, and for a document the normalizer built.
 *
 * @example
 * ```ts
 * credentialPointers({ attributes: { request: { http: { headers: { authorization: 'Bearer x…' } } } } })
 * // ['/attributes/request/http/headers/authorization']
 * ```
 */
export function credentialPointers(input: unknown, prefix = ''): string[] {
  const pointers: string[] = []
  if (input === null || typeof input !== 'object') return pointers
  const v1 = (input as { schema?: unknown }).schema === 'mcp-policy/input/v1'
  const visit = (node: unknown, pointer: string, inside: boolean): void => {
    if (node === null || typeof node !== 'object') return
    if (Array.isArray(node)) {
      for (let i = 0; i < node.length; i++) {
        const item = node[i]
        if (item !== null && typeof item === 'object') visit(item, `${pointer}/${i}`, inside)
      }
      return
    }
    const record = node as Record<string, unknown>
    for (const key of Object.keys(record)) {
      const member = record[key]
      const at = `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`
      if (v1 && V1_NOT_METADATA.has(at)) continue
      const named =
        inside || ((!v1 || !V1_NAMED_BY_SCHEMA.has(at)) && isCredentialName(key)) || holdsCredential(key)
      if (member !== null && typeof member === 'object' && !Array.isArray(member)) {
        visit(member, at, named)
      } else if (named ? isSecretShaped(member) : holdsCredentialDeep(member)) {
        pointers.push(`${prefix}${at}`)
      } else if (Array.isArray(member)) {
        visit(member, at, named)
      }
    }
  }
  visit(input, '', false)
  return pointers
}

// What a credential-named member may hide: anything but null, booleans and empty values.
function isSecretShaped(value: unknown): boolean {
  if (value === null || typeof value === 'boolean' || value === '' || value === REDACTED) return false
  if (Array.isArray(value)) return value.some(isSecretShaped)
  return true
}

// A string, or an array with a string item at its top level, that holds a credential by value.
function holdsCredentialDeep(value: unknown): boolean {
  if (typeof value === 'string') return holdsCredential(value)
  if (Array.isArray(value))
    return value.some(
      (item) =>
        (typeof item === 'string' && holdsCredential(item)) ||
        (Array.isArray(item) && holdsCredentialDeep(item)),
    )
  return false
}

// defineProperty keeps a `__proto__` key an ordinary member.
function defineData(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true })
}
