import type { Argv, CommandModule } from 'yargs'
import { createCheckpointKey, DEFAULT_CHECKPOINT_KEY_DIR } from '../src/index.js'
import { runCommand } from './run-command.js'

interface KeygenArgs {
  out: string
}

/**
 * `mcp-policy keygen [--out DIR]`: a new Ed25519 key pair for decision-log checkpoints, never
 * overwriting one. Exit 0 written, 2 a key file exists or cannot be written.
 */
export const keygenCommand: CommandModule<object, KeygenArgs> = {
  command: 'keygen',
  describe: 'Write a new Ed25519 checkpoint signing key pair (refuses to overwrite); exit 0 ok, 2 error',
  builder: (yargs: Argv) =>
    yargs.option('out', {
      type: 'string',
      default: DEFAULT_CHECKPOINT_KEY_DIR,
      describe: 'directory of checkpoint-ed25519.pem (private, mode 0600) and checkpoint-ed25519.pub.pem',
    }) as Argv<KeygenArgs>,
  handler: (args) =>
    runCommand(async () => {
      const key = await createCheckpointKey(args.out)
      process.stdout.write(
        [
          `private key: ${key.privateKeyPath} (mode 0600): set log.signingKeyFile to it; keep it only where the service runs`,
          `public key:  ${key.publicKeyPath}: give it to verifiers: mcp-policy verify-log DIR --key ${key.publicKeyPath}`,
          '',
        ].join('\n'),
      )
      return 0
    }),
}
