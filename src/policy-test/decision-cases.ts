import { readdir, readFile, stat } from 'node:fs/promises'
import { join, relative, resolve } from 'node:path'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { type Document, isMap, isScalar, isSeq, LineCounter, type Node, parseDocument } from 'yaml'
import { McpPolicyError } from '../errors.js'
import { describeCaseSchemaErrors } from './case-schema-errors.js'
import { decisionCasesSchema } from './decision-cases-schema.js'

/** Identity claims a case signs into a token (see the cases schema). */
export interface CaseIdentity {
  sub?: string
  roles?: string[]
  groups?: string[]
  scopes?: string[]
  client_id?: string
  act?: Record<string, unknown>
  auth_age_s?: number
  acr?: string
  amr?: string[]
  claims?: Record<string, unknown>
  token?: 'valid' | 'expired' | 'wrong_audience' | 'forged'
}

/** What a case expects of the decision (or of the response judgement). */
export interface CaseExpectation {
  allow: boolean
  status?: number
  reasons?: string[]
  obligations?: {
    visible_tools?: string[]
    redact?: string[]
    require_approval?: boolean
    headers?: Record<string, unknown>
  }
  redactions?: string[]
}

/** One decision case, defaults applied. */
export interface DecisionCase {
  name: string
  file: string
  line: number
  server?: string
  identity?: CaseIdentity | null
  now?: string
  environment?: string
  /** HTTP headers; a list is one header sent that many times. */
  headers?: Record<string, string | string[]>
  attributes?: Record<string, unknown>
  message: unknown
  /** `server_to_client`: a message the MCP server sends (decided by a gateway seeing both directions). */
  direction?: 'server_to_client'
  result?: Record<string, unknown>
  destination?: Record<string, unknown>
  expect: CaseExpectation
}

/** A parsed `*.cases.yaml` file. */
export interface DecisionCaseFile {
  file: string
  servers?: Record<string, { resource: string }>
  /** Line of the file's `servers:` key, when it has one (error messages point there). */
  serversLine?: number
  cases: DecisionCase[]
}

// allErrors: a file with three mistakes says all three at once; verbose: each error carries its
// schema, from which the message lists the keys allowed at that place.
const validateCases = new Ajv2020({ strict: true, allErrors: true, verbose: true }).compile(
  decisionCasesSchema,
)

/**
 * Lists the `*.cases.yaml` files under the given files or directories that exist (sorted).
 *
 * @internal
 *
 * @example
 * ```ts
 * const files = await findCaseFiles(['bundles/default/cases'])
 * ```
 */
export async function findCaseFiles(paths: readonly string[]): Promise<string[]> {
  const found = new Set<string>()
  for (const path of paths) {
    const absolute = resolve(path)
    const info = await stat(absolute).catch(() => undefined)
    if (!info) continue
    if (!info.isDirectory()) {
      if (/\.cases\.ya?ml$/.test(absolute)) found.add(absolute)
      continue
    }
    for (const entry of await readdir(absolute, { recursive: true })) {
      if (/\.cases\.ya?ml$/.test(entry)) found.add(join(absolute, entry))
    }
  }
  return [...found].sort()
}

/**
 * Reads and validates a cases file; `defaults` are merged under each case.
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_POLICY_TEST_INVALID` naming the file and what is wrong.
 */
export async function readCaseFile(path: string): Promise<DecisionCaseFile> {
  const file = relative(process.cwd(), path) || path
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new McpPolicyError('ERR_POLICY_TEST_INVALID', `cannot read ${file}`, { cause: err })
  }
  const lineCounter = new LineCounter()
  const document = parseDocument(text, { uniqueKeys: true, lineCounter })
  if (document.errors.length > 0)
    throw new McpPolicyError(
      'ERR_POLICY_TEST_INVALID',
      [
        `${file} is not valid YAML:`,
        ...document.errors.flatMap((e) => {
          const at = e.linePos?.[0]
          // The yaml package appends " at line L, column C:" and the source around it.
          const [first = '', ...context] = e.message.split('\n')
          return [
            `  ${file}${at ? `:${at.line}:${at.col}` : ''}: ${first.replace(/ at line \d+, column \d+:$/, '')}`,
            ...context.filter((line) => line.trim() !== '').map((line) => `      ${line}`),
          ]
        }),
      ].join('\n'),
    )
  const value = document.toJS() as unknown
  if (!validateCases(value)) {
    const lines = describeCaseSchemaErrors(validateCases.errors ?? [], {
      file,
      document,
      lineCounter,
      root: decisionCasesSchema,
    })
    throw new McpPolicyError(
      'ERR_POLICY_TEST_INVALID',
      [
        `${file} does not match the decision cases schema (${lines.length} ${lines.length === 1 ? 'error' : 'errors'}):`,
        ...lines.map((line) => `  ${line}`),
      ].join('\n'),
    )
  }
  const parsed = value as {
    servers?: DecisionCaseFile['servers']
    defaults?: Partial<DecisionCase>
    cases: DecisionCase[]
  }
  const lines = caseLines(document, lineCounter)
  const cases = parsed.cases.map((c, index) => {
    const merged: DecisionCase = { ...parsed.defaults, ...c, file, line: lines[index] ?? 0 }
    if (merged.now !== undefined && Number.isNaN(Date.parse(merged.now)))
      throw new McpPolicyError(
        'ERR_POLICY_TEST_INVALID',
        `${file}:${merged.line}: case "${c.name}" has now ${merged.now}, not a valid time`,
      )
    // An expectation that cannot apply to the case's entrypoint would pass whatever happens.
    const judgesResponse = merged.result !== undefined
    const misplaced = judgesResponse
      ? (['status', 'obligations'] as const).filter((key) => merged.expect[key] !== undefined)
      : merged.expect.redactions !== undefined
        ? ['redactions']
        : []
    if (misplaced.length > 0)
      throw new McpPolicyError(
        'ERR_POLICY_TEST_INVALID',
        `${file}:${merged.line}: case "${c.name}" expects ${misplaced.join(', ')}, which ${
          judgesResponse ? 'an mcp/response judgement (a case with result)' : 'an mcp/decision'
        } does not have`,
      )
    return merged
  })
  return { file, servers: parsed.servers, serversLine: keyLine(document, lineCounter, 'servers'), cases }
}

function keyLine(document: Document, lineCounter: LineCounter, key: string): number | undefined {
  const contents = document.contents
  if (!isMap(contents)) return undefined
  const offset = (contents.items.find((p) => isScalar(p.key) && p.key.value === key)?.key as Node | undefined)
    ?.range?.[0]
  return offset === undefined ? undefined : lineCounter.linePos(offset).line
}

// The line of each case, from the YAML node it was parsed from.
function caseLines(document: Document, lineCounter: LineCounter): number[] {
  const cases = document.get('cases', true)
  if (!isSeq(cases)) return []
  return cases.items.map((item) => {
    const offset = (item as { range?: [number, number, number] }).range?.[0]
    return offset === undefined ? 0 : lineCounter.linePos(offset).line
  })
}
