import type { Argv, CommandModule } from 'yargs'
import { formatCatalogDiff } from '../src/catalog/catalog-diff.js'
import { type CatalogSource, DEFAULT_BUNDLE_DATA_FILE, importCatalog, McpPolicyError } from '../src/index.js'
import { runCommand } from './run-command.js'

interface ImportArgs {
  server: string
  url?: string
  header: string[]
  env: string[]
  data: string
  check: boolean
  prune: boolean
  timeout: number
}

/**
 * `mcp-policy catalog import`: reads a live MCP server's tools, prompts, resources and resource
 * templates with the SDK client and merges them into the bundle data (digests and annotations;
 * policy fields kept; new tools marked `"review": "pending"`). Exit 0 written or up to date,
 * 1 with `--check` when the file would change, 2 on error.
 */
const importCommand: CommandModule<object, ImportArgs> = {
  command: 'import',
  describe:
    'Import a server catalog into bundle data: --server ID (-- COMMAND ARGS... | --url URL); --check exits 1 when the data would change',
  builder: (yargs: Argv) =>
    yargs
      // Everything after `--` is the server's command line, never options or commands of ours.
      .parserConfiguration({ 'populate--': true })
      .usage(
        '$0 catalog import --server ID [--data FILE] [--check] [--prune] (-- COMMAND ARGS... | --url URL)',
      )
      .option('server', {
        type: 'string',
        demandOption: true,
        describe: 'server id: the key in mcp_data.servers (and server.id of input documents)',
      })
      .option('url', { type: 'string', describe: 'Streamable HTTP endpoint (legacy HTTP+SSE servers too)' })
      .option('header', {
        type: 'string',
        array: true,
        default: [],
        describe: "HTTP header 'Name: value' for --url (repeatable), e.g. 'Authorization: Bearer …'",
      })
      .option('env', {
        type: 'string',
        array: true,
        default: [],
        describe: 'name of an environment variable to pass to a stdio server (repeatable)',
      })
      .option('data', {
        type: 'string',
        default: DEFAULT_BUNDLE_DATA_FILE,
        describe: 'bundle data file to update',
      })
      .option('check', {
        type: 'boolean',
        default: false,
        describe: 'write nothing; exit 1 when the data would change',
      })
      .option('prune', {
        type: 'boolean',
        default: false,
        describe: 'remove entries the server no longer lists',
      })
      .option('timeout', {
        type: 'number',
        default: 30,
        describe: 'seconds for starting the server and for each list request',
      }) as unknown as Argv<ImportArgs>,
  handler: (args) =>
    runCommand(async () => {
      const result = await importCatalog({
        serverId: args.server,
        source: catalogSource(args),
        dataFile: args.data,
        check: args.check,
        prune: args.prune,
        timeoutMs: timeoutMs(args.timeout),
      })
      process.stdout.write(formatCatalogDiff(result.serverId, result.changes, result.catalog))
      if (!result.changed) process.stdout.write(`${args.data}: up to date\n`)
      else if (result.written) process.stdout.write(`${args.data}: updated\n`)
      else process.stdout.write(`${args.data}: would change (--check)\n`)
      return result.changed && args.check ? 1 : 0
    }),
}

/** `mcp-policy catalog <command>`: bundle data from what MCP servers list. */
export const catalogCommand: CommandModule = {
  command: 'catalog <command>',
  describe: 'Tool catalogs of MCP servers in bundle data (catalog import)',
  builder: (yargs: Argv) => yargs.command(importCommand).demandCommand(1, 'name a catalog command'),
  handler: () => {},
}

function catalogSource(args: ImportArgs): CatalogSource {
  const command = serverCommandLine()
  if (args.url !== undefined && command.length > 0)
    throw new McpPolicyError('ERR_CLI_USAGE', 'give either --url URL or -- COMMAND ARGS..., not both')
  if (args.url !== undefined) {
    if (args.env.length > 0)
      throw new McpPolicyError('ERR_CLI_USAGE', '--env is for a server started with -- COMMAND')
    return { kind: 'http', url: args.url, headers: parseHeaders(args.header) }
  }
  const [executable, ...rest] = command
  if (!executable)
    throw new McpPolicyError(
      'ERR_CLI_USAGE',
      'name the server: -- COMMAND ARGS... (stdio) or --url URL (HTTP)',
    )
  if (args.header.length > 0)
    throw new McpPolicyError('ERR_CLI_USAGE', '--header is for a server reached with --url')
  const env: Record<string, string> = {}
  for (const name of args.env) {
    const value = process.env[name]
    if (value === undefined)
      throw new McpPolicyError('ERR_CLI_USAGE', `--env ${name}: no such environment variable`)
    env[name] = value
  }
  return { kind: 'stdio', command: executable, args: rest, env }
}

/**
 * The words after the first `--`, exactly as typed. yargs would hand them over parsed (`1e3`
 * becomes 1000, `0x10` 16), and a server's arguments must reach it unchanged.
 */
function serverCommandLine(): string[] {
  const separator = process.argv.indexOf('--')
  return separator < 0 ? [] : process.argv.slice(separator + 1)
}

function parseHeaders(lines: string[]): Record<string, string> {
  const headers: Record<string, string> = {}
  for (const line of lines) {
    const colon = line.indexOf(':')
    // The value is never echoed: it is usually a bearer token.
    if (colon <= 0) throw new McpPolicyError('ERR_CLI_USAGE', "--header must be 'Name: value'")
    headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim()
  }
  return headers
}

function timeoutMs(seconds: number): number {
  if (!Number.isFinite(seconds) || seconds <= 0)
    throw new McpPolicyError('ERR_CLI_USAGE', '--timeout must be a positive number of seconds')
  return Math.round(seconds * 1000)
}
