import { existsSync } from 'node:fs'
import type { Argv, CommandModule } from 'yargs'
import { serverIdFromCommand } from '../src/gateway/gateway-config.js'
import {
  buildBundle,
  DEFAULT_BUNDLE_DIR,
  DEFAULT_BUNDLE_FILE,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_HOST,
  defaultCheckpointSigning,
  defaultGatewayConfig,
  type GatewayConfig,
  loadGatewayConfig,
  loadOrCreateDevKey,
  McpPolicyError,
  startGateway,
} from '../src/index.js'
import { runCommand } from './run-command.js'

interface GatewayArgs {
  config?: string
  port?: number
  host?: string
  bundle?: string
  id?: string
  'log-dir'?: string
  workers?: number
}

/**
 * `mcp-policy gateway`: protect MCP servers with the policy, in one process. With `-- COMMAND…`
 * the stdio server it names is spawned and served at `/mcp/<id>`; with `--config` any number of
 * stdio and HTTP servers are. Exit 0 after SIGTERM/SIGINT once sessions are closed and the log flushed.
 */
export const gatewayCommand: CommandModule<object, GatewayArgs> = {
  command: 'gateway',
  describe: 'Put the policy in front of MCP servers: gateway [--config FILE] [-- COMMAND ARGS…]',
  builder: (yargs: Argv) =>
    yargs
      .usage(
        '$0 gateway [--config FILE] [-- COMMAND ARGS…]\n\n' +
          'e.g. mcp-policy gateway -- npx -y @modelcontextprotocol/server-filesystem /srv/projects',
      )
      .option('config', {
        type: 'string',
        describe: 'JSON or YAML gateway configuration (servers, bundle, identity, log)',
      })
      .option('port', {
        type: 'number',
        describe: `listen port (default ${DEFAULT_GATEWAY_PORT}; 0 = any free port)`,
      })
      .option('host', { type: 'string', describe: `listen address (default ${DEFAULT_HOST})` })
      .option('bundle', { type: 'string', describe: `bundle .tar.gz (default ${DEFAULT_BUNDLE_FILE})` })
      .option('id', {
        type: 'string',
        describe: 'server id of the -- COMMAND server (default: from its package name)',
      })
      .option('log-dir', {
        type: 'string',
        describe: 'decision log directory (default decision-logs)',
      })
      .option('workers', {
        type: 'number',
        describe:
          'decision worker threads, each with its own engine and log chain (default: one per core; 0 or 1: decide in the main thread)',
      }) as Argv<GatewayArgs>,
  handler: async (args) => {
    await runCommand(async () => {
      const config: GatewayConfig = args.config
        ? await loadGatewayConfig(args.config)
        : defaultGatewayConfig()
      if (args.port !== undefined) config.port = args.port
      if (args.host !== undefined) config.host = args.host
      if (args.bundle !== undefined) config.bundle = { file: args.bundle }
      if (args.workers !== undefined) {
        if (!(Number.isInteger(args.workers) && args.workers >= 0 && args.workers <= 256))
          throw new McpPolicyError(
            'ERR_GATEWAY_CONFIG_INVALID',
            `--workers ${args.workers} is not a number of worker threads (0 to 256)`,
          )
        config.workers = args.workers
      }
      // Naming a log directory asks for a log, even over a configuration that turned it off.
      if (args['log-dir'] !== undefined)
        config.log = { ...(config.log || { durability: 'batch' as const }), dir: args['log-dir'] }
      // yargs leaves what follows `--` alone only in process.argv: the upstream's own command line.
      const dashes = process.argv.indexOf('--')
      const command = dashes >= 0 ? process.argv.slice(dashes + 1) : []
      if (command.length > 0) {
        const [program, ...rest] = command as [string, ...string[]]
        const id = args.id ?? serverIdFromCommand(program, rest)
        if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id))
          throw new McpPolicyError(
            'ERR_GATEWAY_CONFIG_INVALID',
            `--id ${JSON.stringify(id.slice(0, 80))} is not a server id (letters, digits, . _ -; at most 64)`,
          )
        if (config.servers[id])
          throw new McpPolicyError('ERR_GATEWAY_CONFIG_INVALID', `server ${id} is configured twice`)
        config.servers[id] = { command: program, args: rest }
      }
      if (Object.keys(config.servers).length === 0)
        throw new McpPolicyError(
          'ERR_GATEWAY_CONFIG_INVALID',
          'no upstream server: give --config FILE or -- COMMAND…',
        )
      if (!config.identity) await loadOrCreateDevKey(config.devKeyDir)
      // One command in a policy repository: the default bundle is built from it when missing.
      const bundleFile = config.bundle.file
      if (
        bundleFile &&
        !args.bundle &&
        !args.config &&
        !existsSync(bundleFile) &&
        existsSync(DEFAULT_BUNDLE_DIR)
      ) {
        process.stdout.write('building the default bundle (OPA → WebAssembly)…\n')
        const built = await buildBundle({ out: bundleFile })
        process.stdout.write(`built ${built.path} (${built.digest})\n`)
      }
      // Tamper evidence on by default: checkpoints signed with a local key unless configured.
      const signing = await defaultCheckpointSigning(config.log)
      config.log = signing.log
      const gateway = await startGateway(config)
      const lines = [`mcp-policy gateway listening on ${gateway.url}`]
      for (const [id, endpoint] of Object.entries(gateway.endpoints)) {
        lines.push(`  ${id.padEnd(12)} ${endpoint}`)
      }
      if (!config.identity) {
        const [first] = Object.keys(gateway.resources)
        lines.push(
          `dev issuer: tokens signed by the local key in ${config.devKeyDir}/ are trusted (no identity configured)`,
          `  mint one: npx mcp-policy token --sub alice --roles developer --aud ${gateway.resources[first!]}`,
        )
      }
      lines.push(
        gateway.pool
          ? `decisions: ${config.workers} worker threads, one log chain each`
          : 'decisions: in the main thread',
      )
      if (config.log) lines.push(`decisions are logged to ${config.log.dir}/`)
      lines.push(...signing.notice)
      process.stdout.write(`${lines.join('\n')}\n`)
      await new Promise<void>((resolve) => {
        process.once('SIGTERM', resolve)
        process.once('SIGINT', resolve)
      })
      await gateway.close()
      return 0
    })
    process.exit(process.exitCode ?? 0)
  },
}
