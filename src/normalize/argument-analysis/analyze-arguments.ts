import type { AnalysisDeclarations } from './analysis-declarations.js'
import { type ArgumentAnalysis, failedAnalysis } from './argument-analysis.js'
import { loadedPostgresParser, loadPostgresParser, type PostgresParser } from './postgres-parser.js'
import { analyzePostgresSql } from './postgres-sql.js'
import { analyzeUrl } from './url.js'

/**
 * The analyzers there are, by the name an argument constraint's `analyze` gives.
 *
 * @internal
 */
export const ARGUMENT_ANALYZERS = ['sql:postgres', 'url'] as const

/**
 * Most elements of an array argument analysed one by one (the reference policy's default
 * `max_argument_elements`): a longer array gets one failed analysis instead of a list.
 */
export const MAX_ANALYZED_ELEMENTS = 100

/** `input.mcp.tool.analysis`: per analysed argument, its analysis (a list for an array argument). */
export type ToolArgumentAnalysis = Record<string, ArgumentAnalysis | ArgumentAnalysis[]>

/** What the analyzers need loaded: the PostgreSQL parser, for `sql:postgres`. */
export interface LoadedAnalyzers {
  postgres?: PostgresParser
}

/**
 * Loads what the analyzers need (the PostgreSQL parser's WebAssembly), once per process.
 * Enforcement points call it at startup, so no request waits for it.
 *
 * @example
 * ```ts
 * await loadArgumentAnalyzers()
 * ```
 */
export async function loadArgumentAnalyzers(): Promise<LoadedAnalyzers> {
  return { postgres: await loadPostgresParser() }
}

/**
 * The analyzers ready to run for these declarations, waiting only when the parser has not been
 * loaded yet or is replacing a trapped instance. A parser that cannot load is left out: its
 * arguments then fail to analyse, which the reference policy refuses.
 */
export async function readyAnalyzers(declared: ReadonlyMap<string, string>): Promise<LoadedAnalyzers> {
  if (![...declared.values()].some((analyzer) => analyzer.startsWith('sql:'))) return {}
  const loaded = loadedPostgresParser()
  if (loaded?.available) return { postgres: loaded }
  try {
    const parser = loaded ?? (await loadPostgresParser())
    await parser.ready()
    return { postgres: parser }
  } catch {
    return {}
  }
}

/**
 * Runs the declared analyzer on each declared argument present in `args` (element by element for
 * an array). Undefined when no declared argument is present. Never throws: a value an analyzer
 * cannot read, an unknown analyzer or a parser that is not loaded give `parsed: false`.
 *
 * @internal
 *
 * @example
 * ```ts
 * analyzeArguments(new Map([['url', 'url']]), { url: 'https://a.example/' }, {})
 * // { url: { analyzer: 'url', parsed: true, ambiguous: false, host: 'a.example', … } }
 * ```
 */
export function analyzeArguments(
  declared: ReadonlyMap<string, string>,
  args: Record<string, unknown>,
  analyzers: LoadedAnalyzers,
): ToolArgumentAnalysis | undefined {
  let analysis: ToolArgumentAnalysis | undefined
  for (const [name, analyzer] of declared) {
    if (!Object.hasOwn(args, name)) continue
    const value = args[name]
    let result: ArgumentAnalysis | ArgumentAnalysis[]
    if (!Array.isArray(value)) result = analyzeValue(analyzer, value, analyzers)
    else if (value.length > MAX_ANALYZED_ELEMENTS)
      result = failedAnalysis(analyzer, `an array of more than ${MAX_ANALYZED_ELEMENTS} elements`)
    else result = value.map((element) => analyzeValue(analyzer, element, analyzers))
    analysis ??= {}
    // defineProperty: an argument named `__proto__` stays an ordinary member.
    Object.defineProperty(analysis, name, {
      value: result,
      enumerable: true,
      writable: true,
      configurable: true,
    })
  }
  return analysis
}

function analyzeValue(analyzer: string, value: unknown, analyzers: LoadedAnalyzers): ArgumentAnalysis {
  switch (analyzer) {
    case 'sql:postgres':
      return analyzers.postgres
        ? analyzePostgresSql(analyzers.postgres, value, analyzer)
        : failedAnalysis(analyzer, 'the PostgreSQL parser is not loaded')
    case 'url':
      return analyzeUrl(value, analyzer)
    default:
      return failedAnalysis(analyzer, 'unknown analyzer')
  }
}

/**
 * Sets `tool.analysis` to what the analyzers `declarations` names for `server`'s tool find in its
 * arguments (and removes any analysis already there: only an analyzer's word counts). Waits only
 * when a SQL analyzer is declared and the parser is not ready.
 *
 * @example
 * ```ts
 * await analyzeTool(analysisDeclarations(bundle.data), 'postgres', input.mcp.tool)
 * ```
 */
export async function analyzeTool(
  declarations: AnalysisDeclarations | undefined,
  server: string,
  tool: { name: string; arguments: Record<string, unknown>; analysis?: ToolArgumentAnalysis },
): Promise<void> {
  delete tool.analysis
  const declared = declarations?.forTool(server, tool.name)
  if (!declared) return
  const analysis = analyzeArguments(declared, tool.arguments, await readyAnalyzers(declared))
  if (analysis) tool.analysis = analysis
}
