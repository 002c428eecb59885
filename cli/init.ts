import type { Argv, CommandModule } from 'yargs'
import { initPolicyRepo, recordPolicyRepoSample } from '../src/scaffold/init-policy-repo.js'
import type { PolicyTemplateName } from '../src/scaffold/repo-readme.js'
import { runCommand } from './run-command.js'

interface InitArgs {
  dir: string
  template: PolicyTemplateName
  'record-sample': boolean
}

/**
 * `mcp-policy init DIR`: scaffold a policy repository that passes `mcp-policy check` and `test`
 * right away — by default from the reference policy — with a CI job and the sample decision log
 * its what-if gate replays. `--record-sample` records that log again in an existing repository.
 */
export const initCommand: CommandModule<object, InitArgs> = {
  command: 'init <dir>',
  describe: 'Scaffold a policy repository (policy, data, tests, decision cases, CI job, sample log)',
  builder: (yargs: Argv) =>
    yargs
      .positional('dir', {
        type: 'string',
        demandOption: true,
        describe: 'new or empty directory (with --record-sample: an existing policy repository)',
      })
      .option('template', {
        choices: ['reference', 'minimal'] as const,
        default: 'reference' as const,
        describe:
          "reference: mcp-policy's reference policy and data model (mcp_data); minimal: a small policy with its own",
      })
      .option('record-sample', {
        type: 'boolean',
        default: false,
        describe:
          'only record samples/decisions again, from the policy and decision cases in DIR (after a change you meant)',
      }) as unknown as Argv<InitArgs>,
  handler: (args) =>
    runCommand(async () => {
      if (args['record-sample']) {
        for (const file of await recordPolicyRepoSample(args.dir))
          process.stdout.write(`recorded ${args.dir}/${file}\n`)
        return 0
      }
      for (const file of await initPolicyRepo(args.dir, { template: args.template }))
        process.stdout.write(`created ${args.dir}/${file}\n`)
      process.stdout.write(`next: cd ${args.dir} && npx mcp-policy test\n`)
      return 0
    }),
}
