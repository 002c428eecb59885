import type { Argv, CommandModule } from 'yargs'
import { initPolicyRepo } from '../src/index.js'
import { runCommand } from './run-command.js'

interface InitArgs {
  dir: string
}

/** `mcp-policy init DIR`: scaffold a policy repository that passes `mcp-policy test` right away. */
export const initCommand: CommandModule<object, InitArgs> = {
  command: 'init <dir>',
  describe: 'Scaffold a policy repository (policy, data, tests, decision cases, CI job)',
  builder: (yargs: Argv) =>
    yargs.positional('dir', {
      type: 'string',
      demandOption: true,
      describe: 'new or empty directory',
    }) as Argv<InitArgs>,
  handler: (args) =>
    runCommand(async () => {
      for (const file of await initPolicyRepo(args.dir)) process.stdout.write(`created ${args.dir}/${file}\n`)
      process.stdout.write(`next: cd ${args.dir} && npx mcp-policy test\n`)
      return 0
    }),
}
