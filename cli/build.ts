import type { Argv, CommandModule } from 'yargs'
import { buildBundle, DEFAULT_BUNDLE_DIR, DEFAULT_BUNDLE_STORE, DEFAULT_REGO_DIR } from '../src/index.js'
import { runCommand } from './run-command.js'

interface BuildArgs {
  bundle: string
  rego: string
  out?: string
  revision?: string
  'signing-key'?: string
  'signing-alg'?: string
  'bundle-store': string
}

/** `mcp-policy build`: compile a bundle definition and the Rego policies to a WebAssembly bundle. */
export const buildCommand: CommandModule<object, BuildArgs> = {
  command: 'build',
  describe: 'Compile a bundle definition and rego/ to an OPA WebAssembly bundle (.tar.gz)',
  builder: (yargs: Argv) =>
    yargs
      .option('bundle', {
        type: 'string',
        default: DEFAULT_BUNDLE_DIR,
        describe: 'bundle definition directory (.manifest, data.json)',
      })
      .option('rego', {
        type: 'string',
        default: DEFAULT_REGO_DIR,
        describe: 'Rego source directory (*_test.rego left out)',
      })
      .option('out', { type: 'string', describe: 'output archive (default <bundle>.tar.gz)' })
      .option('revision', {
        type: 'string',
        describe: 'bundle revision (default: manifest, else source digest)',
      })
      .option('signing-key', { type: 'string', describe: 'PEM private key to sign the bundle with' })
      .option('signing-alg', {
        type: 'string',
        describe: 'signing algorithm (default RS256, ES256 for EC keys)',
      })
      .option('bundle-store', {
        type: 'string',
        default: DEFAULT_BUNDLE_STORE,
        describe: 'keep built bundles here by digest',
      }) as Argv<BuildArgs>,
  handler: (args) =>
    runCommand(async () => {
      const built = await buildBundle({
        bundleDir: args.bundle,
        regoDir: args.rego,
        out: args.out,
        revision: args.revision,
        signingKey: args['signing-key'],
        signingAlg: args['signing-alg'],
        bundleStore: args['bundle-store'],
        warn: (message) => process.stderr.write(`warning: ${message}\n`),
      })
      process.stdout.write(`${built.path}\n${built.digest}\n`)
      process.stderr.write(
        `revision ${built.revision}; entrypoints ${built.entrypoints.join(', ')}; stored ${built.storedAt}\n`,
      )
      return 0
    }),
}
