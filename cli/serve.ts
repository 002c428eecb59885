import cluster from 'node:cluster'
import type { Argv, CommandModule } from 'yargs'
import {
  DEFAULT_SERVER,
  defaultCheckpointSigning,
  defaultPdpConfig,
  defaultServerResource,
  loadOrCreateDevKey,
  loadPdpConfig,
  type PdpConfig,
  runPdp,
} from '../src/index.js'
import { runCommand } from './run-command.js'

interface ServeArgs {
  config?: string
  port?: number
  host?: string
  bundle?: string
  workers?: number
}

/**
 * `mcp-policy serve`: the PDP HTTP service. With no configuration it serves the default bundle on
 * 127.0.0.1:8181 with the local dev issuer and signs the log's checkpoints with the local key in
 * `.checkpoint-keys/`; exit 0 after a graceful SIGTERM/SIGINT drain.
 */
export const serveCommand: CommandModule<object, ServeArgs> = {
  command: 'serve',
  describe: 'Run the PDP decision service (OPA Data API, /v1/mcp/*, Envoy ext_authz, AuthZEN)',
  builder: (yargs: Argv) =>
    yargs
      .option('config', { type: 'string', describe: 'JSON or YAML configuration file' })
      .option('port', { type: 'number', describe: 'listen port (overrides the config; 0 = any free port)' })
      .option('host', { type: 'string', describe: 'listen address (overrides the config)' })
      .option('bundle', { type: 'string', describe: 'bundle .tar.gz (overrides the config)' })
      .option('workers', {
        type: 'number',
        describe: 'worker processes (default: one per core)',
      }) as Argv<ServeArgs>,
  handler: async (args) => {
    await runCommand(async () => {
      const config: PdpConfig = args.config ? await loadPdpConfig(args.config) : defaultPdpConfig()
      if (args.port !== undefined) config.port = args.port
      if (args.host !== undefined) config.host = args.host
      if (args.bundle !== undefined) config.bundle = { file: args.bundle }
      if (args.workers !== undefined) config.workers = Math.max(1, Math.floor(args.workers))
      // Tamper evidence on by default: without log.signingKeyFile (and unless log.checkpoints is
      // false) checkpoints are signed with the key in .checkpoint-keys/. The primary creates it
      // before forking; workers, which run this handler again, load the same key.
      const signing = await defaultCheckpointSigning(config.log)
      config.log = signing.log
      if (cluster.isPrimary && signing.notice.length > 0)
        process.stdout.write(`${signing.notice.join('\n')}\n`)
      if (cluster.isPrimary && !config.identity) {
        // Create the dev key once here, before workers race to create it.
        await loadOrCreateDevKey(config.devKeyDir)
        const server = Object.keys(config.normalize.servers ?? {})[0] ?? DEFAULT_SERVER
        process.stdout.write(
          [
            `dev issuer: tokens signed by the local key in ${config.devKeyDir}/ are trusted (no --config identity given)`,
            `  mint one: npx mcp-policy token --sub alice --roles developer --aud ${defaultServerResource(server)}`,
            '',
          ].join('\n'),
        )
      }
      return runPdp(config)
    })
    // Open handles (JWKS caches, timers) must not keep a drained PDP alive.
    process.exit(process.exitCode ?? 0)
  },
}
