/**
 * A name as PostgreSQL's parser produced it: quotes removed, `U&"…"` escapes decoded, unquoted
 * identifiers folded to lower case. `schema` (and `catalog`) only when the query qualified it.
 */
export interface SqlName {
  name: string
  schema?: string
  catalog?: string
}

/** What the `sql:postgres` analyzer found in a query that PostgreSQL's parser accepted. */
export interface SqlAnalysis {
  analyzer: string
  parsed: true
  /** The kind of each top-level statement, in order (`select`, `delete`, `show`…). */
  statements: string[]
  /**
   * Every statement kind anywhere in the tree, sorted: top-level, in CTEs, under EXPLAIN, in
   * subqueries. `select_into` is a SELECT … INTO (it creates a table).
   */
  statement_kinds: string[]
  /** Every function called, sorted and distinct. */
  functions: SqlName[]
  /** Every relation named (tables, views, CTE references, SELECT INTO targets), sorted and distinct. */
  tables: SqlName[]
  /** Row-locking clauses, sorted and distinct: `for_update`, `for_no_key_update`, `for_share`, `for_key_share`. */
  locking: string[]
}

/** How a URL reads differently to different parsers (or to none of them reliably). */
export type UrlAmbiguity =
  | 'backslash'
  | 'control_character'
  | 'whitespace'
  | 'userinfo'
  | 'host_mismatch'
  | 'invalid_authority'

/** What the `url` analyzer found in a URL that the WHATWG parser accepted. */
export interface UrlAnalysis {
  analyzer: string
  parsed: true
  /** True when {@link ambiguities} is not empty: clients may not reach the host the policy sees. */
  ambiguous: boolean
  /** Sorted, distinct. */
  ambiguities: UrlAmbiguity[]
  /** The WHATWG scheme, lower case, without the colon. */
  scheme: string
  /** The WHATWG host (lower case, punycode, IPv4 canonical, IPv6 in brackets); '' when none. */
  host: string
  host_type: 'domain' | 'ipv4' | 'ipv6' | 'none'
  /** The port when one other than the scheme's default is given. */
  port?: number
  /** The WHATWG path. Query and fragment are left out: they may carry credentials. */
  path: string
  /** The host as each parser reads it (`rfc3986` null when it sees no authority). */
  hosts: { whatwg: string; rfc3986: string | null }
}

/** An argument value an analyzer could not analyse: the reference policy refuses it. */
export interface FailedAnalysis {
  analyzer: string
  parsed: false
  /** Why, in a few words (a parser's own message for SQL). Never a credential-bearing part of a URL. */
  error: string
}

/** The analysis of one argument value (`input.mcp.tool.analysis[name]`, one per element of an array). */
export type ArgumentAnalysis = SqlAnalysis | UrlAnalysis | FailedAnalysis

/** Largest error message an analysis carries, in code points. */
const MAX_ERROR_CHARS = 200

/** An analysis that failed, with its message clipped (never splitting a surrogate pair). */
export function failedAnalysis(analyzer: string, error: string): FailedAnalysis {
  const points = Array.from(error)
  const clipped = points.length > MAX_ERROR_CHARS ? `${points.slice(0, MAX_ERROR_CHARS).join('')}…` : error
  return { analyzer, parsed: false, error: clipped.toWellFormed() }
}
