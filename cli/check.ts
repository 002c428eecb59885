import type { Argv, CommandModule } from 'yargs'
import { checkPolicy, DEFAULT_REGO_DIR, resolveOpa } from '../src/index.js'
import { runCommand } from './run-command.js'

interface CheckArgs {
  rego: string
  schema?: string
}

/**
 * `mcp-policy check`: `opa fmt --list` and `opa check --strict --schema`. Exit 0 clean, 1 when a
 * file is not formatted or a policy does not type-check, 2 on error.
 */
export const checkCommand: CommandModule<object, CheckArgs> = {
  command: 'check',
  describe: 'opa fmt --list and opa check --strict against input document v1; exit 0 clean, 1 findings',
  builder: (yargs: Argv) =>
    yargs
      .option('rego', { type: 'string', default: DEFAULT_REGO_DIR, describe: 'policy directory' })
      .option('schema', {
        type: 'string',
        describe: 'input JSON Schema (default: the input document v1 schema shipped with mcp-policy)',
      }) as unknown as Argv<CheckArgs>,
  handler: (args) =>
    runCommand(async () => {
      const result = await checkPolicy(await resolveOpa(), { regoDir: args.rego, schema: args.schema })
      for (const file of result.unformatted) process.stdout.write(`not opa fmt formatted: ${file}\n`)
      if (result.errors) process.stdout.write(`${result.errors}\n`)
      const clean = result.unformatted.length === 0 && !result.errors
      if (clean) process.stdout.write(`${args.rego}: formatted, and type-checks against input document v1\n`)
      return clean ? 0 : 1
    }),
}
