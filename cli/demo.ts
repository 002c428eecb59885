import { access } from 'node:fs/promises'
import type { Argv, CommandModule } from 'yargs'
import { runDemo } from '../src/demo/run-demo.js'
import {
  buildBundle,
  DEFAULT_BUNDLE_DIR,
  DEFAULT_BUNDLE_FILE,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_LOG_DIR,
  DEFAULT_REGO_DIR,
} from '../src/index.js'
import { runCommand } from './run-command.js'

interface DemoArgs {
  bundle: string
  rebuild: boolean
  port: number
  exit: boolean
  'log-dir'?: string
}

/** The line the demo prints when it is done and only the gateway keeps running (the newcomer test waits for it). */
export const DEMO_LAST_LINE = 'demo complete: the gateway keeps serving until Ctrl-C'

/**
 * `mcp-policy demo` (what `npm start` runs): builds the default bundle if needed, starts a sample
 * MCP server and `mcp-policy gateway` in front of it, runs a scripted agent through the gateway,
 * prints every decision with its reason, verifies and replays the decision log, and keeps the
 * gateway running until Ctrl-C.
 */
export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe:
    'Run a sample MCP server behind the gateway and a scripted agent; print each decision; verify and replay the log',
  builder: (yargs: Argv) =>
    yargs
      .option('bundle', { type: 'string', default: DEFAULT_BUNDLE_FILE })
      .option('rebuild', {
        type: 'boolean',
        default: false,
        describe: `rebuild the bundle from ${DEFAULT_BUNDLE_DIR} and ${DEFAULT_REGO_DIR}/ first`,
      })
      .option('port', {
        type: 'number',
        default: DEFAULT_GATEWAY_PORT,
        describe: 'gateway port (any free port when taken)',
      })
      .option('log-dir', {
        type: 'string',
        describe: `decision log directory (default ${DEFAULT_LOG_DIR}/demo-<time>)`,
      })
      .option('exit', {
        type: 'boolean',
        default: false,
        describe: 'stop after the scripted calls',
      }) as Argv<DemoArgs>,
  handler: async (args) => {
    await runCommand(async () => {
      const exists = await access(args.bundle).then(
        () => true,
        () => false,
      )
      if (!exists || args.rebuild) {
        process.stdout.write('building the default bundle (OPA → WebAssembly)…\n')
        const built = await buildBundle({ out: args.bundle })
        process.stdout.write(`built ${built.path} (${built.digest})\n\n`)
      }
      const demo = await runDemo({ bundle: args.bundle, port: args.port, logDir: args['log-dir'] })
      const endpoint = demo.gateway.endpoints.github
      process.stdout.write(
        [
          '',
          'try it yourself while the gateway runs (any MCP client, e.g. npx @modelcontextprotocol/inspector):',
          `  endpoint   ${endpoint}`,
          `  token      npx mcp-policy token --sub alice --roles developer --aud ${demo.gateway.resources.github}`,
          '  header     Authorization: Bearer <token>',
          DEMO_LAST_LINE,
          '',
        ].join('\n'),
      )
      if (!args.exit)
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve)
          process.once('SIGTERM', resolve)
        })
      await demo.close()
      return 0
    })
    process.exit(process.exitCode ?? 0)
  },
}
