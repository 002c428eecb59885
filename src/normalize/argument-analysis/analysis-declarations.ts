import { member, members } from '../../json-members.js'

/**
 * Which analyzer reads which tool argument: server id → tool name → argument name → analyzer
 * (`sql:postgres`, `url`). Built from a bundle's data by {@link analysisDeclarations}.
 */
export interface AnalysisDeclarations {
  /** The analyzers of one tool's arguments, `undefined` when none is declared. */
  forTool(server: string, tool: string): ReadonlyMap<string, string> | undefined
  /** Whether any declaration names a SQL analyzer (the parser must then be loaded). */
  readonly needsSql: boolean
}

/** No argument is analysed. */
export const NO_ANALYSIS: AnalysisDeclarations = { forTool: () => undefined, needsSql: false }

/**
 * Reads the analyzer declarations from a bundle's data document: the `analyze` member of each
 * argument constraint at `mcp_data.servers[server].tools[tool].arguments[argument]` (the reference
 * data model). A value that is not a string is kept as its JSON text, so it names no analyzer and
 * the argument's analysis fails: a typo in the data is refused, not ignored.
 *
 * @example
 * ```ts
 * const declarations = analysisDeclarations(bundle.data)
 * declarations.forTool('postgres', 'query') // Map { 'sql' => 'sql:postgres' }
 * ```
 */
export function analysisDeclarations(data: unknown): AnalysisDeclarations {
  const byServer = new Map<string, Map<string, Map<string, string>>>()
  let needsSql = false
  for (const [server, serverData] of members(member(member(data, 'mcp_data'), 'servers'))) {
    for (const [tool, toolData] of members(member(serverData, 'tools'))) {
      for (const [argument, constraint] of members(member(toolData, 'arguments'))) {
        const declared = member(constraint, 'analyze')
        if (declared === undefined) continue
        const analyzer = typeof declared === 'string' ? declared : JSON.stringify(declared)
        if (analyzer.startsWith('sql:')) needsSql = true
        const tools = byServer.get(server) ?? new Map<string, Map<string, string>>()
        byServer.set(server, tools)
        const args = tools.get(tool) ?? new Map<string, string>()
        tools.set(tool, args)
        args.set(argument, analyzer)
      }
    }
  }
  if (byServer.size === 0) return NO_ANALYSIS
  return { forTool: (server, tool) => byServer.get(server)?.get(tool), needsSql }
}
