import { type ArgumentAnalysis, failedAnalysis, type SqlAnalysis, type SqlName } from './argument-analysis.js'
import type { PostgresParser } from './postgres-parser.js'

/**
 * Longest query analysed, in UTF-16 code units; longer text is refused unread. Parsing is
 * synchronous and its cost grows with the tree: a typical query takes 20–60 µs, 16 Ki characters
 * of dense expressions about 7 ms of CPU.
 */
export const MAX_SQL_LENGTH = 16 * 1024

/**
 * Most operator characters (`+-*\/<>=~!@#%^&|\`?`) in a query analysed. An operator chain
 * (`1+1+…`) nests its tree one level per operator, and libpg_query's tree output recurses per
 * level: about 7,000 levels exhaust the stack once the WebAssembly is optimized. Keyword chains
 * (`not not …`, casts) need four or more characters a level, so within {@link MAX_SQL_LENGTH} they
 * stay below that. Counted over the raw text (literals and comments too): it only ever refuses more.
 */
export const MAX_SQL_OPERATOR_CHARACTERS = 4096

/**
 * Deepest nesting of brackets analysed. PostgreSQL's parser and libpg_query's tree output recurse
 * per level; a thousand nested subqueries exhaust the stack, which costs a new parser instance.
 * Counted over the raw text (brackets in literals too): a cheap bound that only ever refuses more.
 */
export const MAX_SQL_NESTING = 100

// Past these, the analysis is refused rather than cut: a list cut short could hide a call.
const MAX_TREE_NODES = 200_000
const MAX_NAMES = 1_000

const LOCK_STRENGTHS: Record<string, string> = {
  LCS_FORKEYSHARE: 'for_key_share',
  LCS_FORSHARE: 'for_share',
  LCS_FORNOKEYUPDATE: 'for_no_key_update',
  LCS_FORUPDATE: 'for_update',
}

// Statement node names whose snake_case form would not be the SQL a reader knows.
const STATEMENT_KINDS: Record<string, string> = {
  VariableShowStmt: 'show',
  VariableSetStmt: 'set',
  CreateTableAsStmt: 'create_table_as',
}

const STATEMENT_NODE = /^[A-Z][A-Za-z]*Stmt$/

/**
 * Analyses a PostgreSQL query with PostgreSQL's own parser: the statements it holds (top level and
 * nested), the functions it calls, the relations it names and its row-locking clauses, with names
 * exactly as PostgreSQL resolves their spelling (quoting, `U&` escapes, comments and case make no
 * difference). Deterministic for a given parser version; never throws: anything it cannot
 * analyse is `parsed: false`.
 *
 * @example
 * ```ts
 * analyzePostgresSql(await loadPostgresParser(), 'select U&"\\0070g_sleep"(10)', 'sql:postgres').functions
 * // [{ name: 'pg_sleep' }]
 * ```
 */
export function analyzePostgresSql(
  parser: PostgresParser,
  value: unknown,
  analyzer: string,
): ArgumentAnalysis {
  if (typeof value !== 'string') return failedAnalysis(analyzer, 'not a string')
  if (value.length > MAX_SQL_LENGTH)
    return failedAnalysis(analyzer, `longer than ${MAX_SQL_LENGTH} characters`)
  // The parser reads a C string: text after a NUL would reach the database unparsed.
  if (value.includes('\u0000')) return failedAnalysis(analyzer, 'contains a NUL character')
  if (nestingDepth(value) > MAX_SQL_NESTING)
    return failedAnalysis(analyzer, `nests brackets deeper than ${MAX_SQL_NESTING} levels`)
  if (operatorCharacters(value) > MAX_SQL_OPERATOR_CHARACTERS)
    return failedAnalysis(analyzer, `holds more than ${MAX_SQL_OPERATOR_CHARACTERS} operator characters`)
  // Another value of this request trapped the parser: its replacement is not ready yet.
  if (!parser.available) return failedAnalysis(analyzer, 'the PostgreSQL parser is being replaced')
  const parsed = parser.parse(value)
  if ('error' in parsed) return failedAnalysis(analyzer, parsed.error)
  return describeTree(parsed.tree, analyzer)
}

function nestingDepth(text: string): number {
  let depth = 0
  let deepest = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 0x28 || c === 0x5b) {
      depth++
      if (depth > deepest) deepest = depth
    } else if ((c === 0x29 || c === 0x5d) && depth > 0) depth--
  }
  return deepest
}

// PostgreSQL's operator characters (scan.l `op_chars`).
const OPERATOR_CHARACTERS = new Set('+-*/<>=~!@#%^&|`?')

function operatorCharacters(text: string): number {
  let count = 0
  for (const c of text) if (OPERATOR_CHARACTERS.has(c)) count++
  return count
}

function describeTree(tree: unknown, analyzer: string): ArgumentAnalysis {
  const statements: string[] = []
  for (const raw of (tree as { stmts?: unknown[] }).stmts ?? []) {
    const statement = (raw as { stmt?: Record<string, unknown> }).stmt ?? {}
    const [key] = Object.keys(statement)
    statements.push(key === undefined ? 'unknown' : statementKind(key, statement[key]))
  }
  const kinds = new Set<string>()
  const functions = new Map<string, SqlName>()
  const tables = new Map<string, SqlName>()
  const locking = new Set<string>()
  // Iterative: a tree may be deep, and the walk must not be what overflows.
  const stack: unknown[] = [tree]
  let nodes = 0
  while (stack.length > 0) {
    const node = stack.pop()
    if (Array.isArray(node)) {
      for (const item of node) if (item !== null && typeof item === 'object') stack.push(item)
      continue
    }
    if (++nodes > MAX_TREE_NODES)
      return failedAnalysis(analyzer, `the parse tree has more than ${MAX_TREE_NODES} nodes`)
    const record = node as Record<string, unknown>
    for (const key of Object.keys(record)) {
      const member = record[key]
      if (key === 'relname' && typeof member === 'string') {
        // RangeVar: the only node with a relname, wrapped or not (DELETE's relation, INTO's rel).
        addName(tables, [record.catalogname, record.schemaname, member])
      } else if (member !== null && typeof member === 'object') {
        if (!Array.isArray(member)) {
          if (STATEMENT_NODE.test(key)) kinds.add(statementKind(key, member))
          // A call is a FuncCall node, or CallStmt's unwrapped funccall.
          else if (key === 'FuncCall' || key === 'funccall')
            addName(functions, nameParts((member as { funcname?: unknown }).funcname))
          else if (key === 'LockingClause') locking.add(lockStrength(member))
          else if (key === 'intoClause') kinds.add('select_into')
        }
        stack.push(member)
      }
    }
  }
  if (functions.size > MAX_NAMES || tables.size > MAX_NAMES)
    return failedAnalysis(analyzer, `names more than ${MAX_NAMES} functions or relations`)
  const analysis: SqlAnalysis = {
    analyzer,
    parsed: true,
    statements,
    statement_kinds: [...kinds].sort(),
    functions: sortedNames(functions),
    tables: sortedNames(tables),
    locking: [...locking].sort(),
  }
  return analysis
}

function statementKind(key: string, node: unknown): string {
  if (key === 'SelectStmt') {
    return (node as { intoClause?: unknown }).intoClause !== undefined ? 'select_into' : 'select'
  }
  return (
    STATEMENT_KINDS[key] ??
    key
      .slice(0, -'Stmt'.length)
      .replace(/(?<=[a-z0-9])([A-Z])/g, '_$1')
      .toLowerCase()
  )
}

function lockStrength(clause: unknown): string {
  const strength = (clause as { strength?: unknown }).strength
  return (typeof strength === 'string' && LOCK_STRENGTHS[strength]) || 'unknown'
}

// funcname: a list of String nodes, [catalog, schema, name] with the qualifiers optional.
function nameParts(list: unknown): unknown[] {
  if (!Array.isArray(list)) return []
  const parts = list.map((item) => (item as { String?: { sval?: unknown } } | null)?.String?.sval ?? '')
  return [parts.at(-3), parts.at(-2), parts.at(-1)]
}

function addName(names: Map<string, SqlName>, [catalog, schema, name]: unknown[]): void {
  const entry: SqlName = { name: typeof name === 'string' ? name : '' }
  if (typeof schema === 'string') entry.schema = schema
  if (typeof catalog === 'string') entry.catalog = catalog
  names.set(JSON.stringify([entry.catalog ?? '', entry.schema ?? '', entry.name]), entry)
}

function sortedNames(names: Map<string, SqlName>): SqlName[] {
  return [...names.keys()].sort().map((key) => names.get(key)!)
}
