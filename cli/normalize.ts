import { readFile } from 'node:fs/promises'
import type { Argv, CommandModule } from 'yargs'
import {
  analysisDeclarations,
  DEFAULT_DEV_KEY_DIR,
  DEFAULT_SERVER,
  DEFAULT_SERVERS,
  defaultPdpConfig,
  devIssuerConfig,
  type IdentityConfig,
  loadArgumentAnalyzers,
  loadBundle,
  loadOrCreateDevKey,
  McpPolicyError,
  type NormalizeConfig,
  RequestNormalizer,
  TokenVerifier,
  toolInputSchemas,
} from '../src/index.js'
import { runCommand } from './run-command.js'

interface NormalizeArgs {
  message: string
  token?: string
  header: string[]
  config?: string
  server?: string
  bundle?: string
  'key-dir': string
}

/** The `--config` file: normalizer settings and token issuers. */
interface NormalizeFileConfig {
  normalize?: NormalizeConfig
  identity?: IdentityConfig
}

/**
 * `mcp-policy normalize`: print the input document v1 for a JSON-RPC message, headers and token.
 * Exit 0 with the document, 2 when the message cannot be normalized.
 */
export const normalizeCommand: CommandModule<object, NormalizeArgs> = {
  command: 'normalize',
  describe: 'Print the input document v1 for an MCP message (+ token and headers)',
  builder: (yargs: Argv) =>
    yargs
      .option('message', {
        type: 'string',
        demandOption: true,
        describe: 'JSON-RPC message file (- for stdin)',
      })
      .option('token', { type: 'string', describe: 'bearer token (sent as Authorization: Bearer)' })
      .option('header', {
        type: 'string',
        array: true,
        default: [],
        describe: "extra header 'Name: value' (repeatable)",
      })
      .option('config', {
        type: 'string',
        describe: 'JSON file {normalize: NormalizeConfig, identity: IdentityConfig}',
      })
      .option('server', {
        type: 'string',
        describe: `explicit server id (without --config: ${DEFAULT_SERVERS.join(', ')}; default ${DEFAULT_SERVER})`,
      })
      .option('bundle', {
        type: 'string',
        describe:
          "bundle (.tar.gz) whose data declares the argument analyzers (analyze: sql:postgres, url) and the tools' input schemas (input_schema); without it, no argument is analysed or validated",
      })
      .option('key-dir', {
        type: 'string',
        default: DEFAULT_DEV_KEY_DIR,
        describe: 'dev key directory (no --config)',
      }) as Argv<NormalizeArgs>,
  handler: (args) =>
    runCommand(async () => {
      const file = args.config ? await readJson<NormalizeFileConfig>(args.config) : undefined
      // Without a config file: the servers `serve` knows by default (`https://localhost/mcp/<id>`),
      // DEFAULT_SERVER when no --server is named, and the local dev issuer of `mcp-policy token` —
      // all from src/defaults.ts, so a token minted from `serve`'s hint normalizes here too.
      const normalizeConfig: NormalizeConfig = file?.normalize ?? {
        ...defaultPdpConfig().normalize,
        defaultServer: DEFAULT_SERVER,
      }
      const identity: IdentityConfig = file?.identity ?? {
        issuers: [devIssuerConfig(await loadOrCreateDevKey(args['key-dir']))],
      }
      const headers: Record<string, string[]> = {}
      for (const line of args.header) {
        const colon = line.indexOf(':')
        if (colon <= 0)
          throw new McpPolicyError('ERR_CLI_USAGE', `--header must be 'Name: value', got ${line}`)
        const name = line.slice(0, colon).trim().toLowerCase()
        headers[name] = [...(headers[name] ?? []), line.slice(colon + 1).trim()]
      }
      if (args.token) headers.authorization = [`Bearer ${args.token}`]
      const message = args.message === '-' ? await readStdin() : await readText(args.message)
      const normalizer = new RequestNormalizer(normalizeConfig, new TokenVerifier(identity))
      // The PDP analyses what its bundle declares; the same bundle shows the same analysis here.
      const data = args.bundle ? (await loadBundle(args.bundle)).data : undefined
      const analysis = args.bundle ? analysisDeclarations(data) : undefined
      const validation = args.bundle ? toolInputSchemas(data) : undefined
      if (analysis?.needsSql) await loadArgumentAnalyzers()
      const document = await normalizer.normalize(
        { message, headers, server: args.server },
        { analysis, validation },
      )
      process.stdout.write(`${JSON.stringify(document, null, 2)}\n`)
      return 0
    }),
}

async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8')
  } catch (err) {
    throw new McpPolicyError('ERR_CLI_USAGE', `cannot read ${path}: ${(err as Error).message}`, {
      cause: err,
    })
  }
}

async function readJson<T>(path: string): Promise<T> {
  try {
    return JSON.parse(await readText(path)) as T
  } catch (err) {
    if (err instanceof McpPolicyError) throw err
    throw new McpPolicyError('ERR_CLI_USAGE', `${path} is not JSON: ${(err as Error).message}`, {
      cause: err,
    })
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}
