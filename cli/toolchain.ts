import { spawnSync } from 'node:child_process'
import type { Argv, CommandModule } from 'yargs'
import { OPA_VERSION, resolveOpa } from '../src/index.js'
import { runCommand } from './run-command.js'

interface ToolchainArgs {
  exec: boolean
  _: (string | number)[]
  '--'?: (string | number)[]
}

/**
 * `mcp-policy toolchain`: find or build OPA at the pinned version and print its path; with
 * `--exec -- ARGS`, run that OPA with ARGS. It is built into `.tools/bin` in a git checkout of
 * mcp-policy, into the per-user cache when mcp-policy is installed (see `opaToolsDir`).
 */
export const toolchainCommand: CommandModule<object, ToolchainArgs> = {
  command: 'toolchain',
  describe: `Find OPA v${OPA_VERSION} on PATH or build it (go install into the per-user cache, .tools/bin in a git checkout) and print its path`,
  builder: (yargs: Argv) =>
    yargs
      .option('exec', { type: 'boolean', default: false, describe: 'run OPA with the arguments after --' })
      .parserConfiguration({ 'populate--': true }) as Argv<ToolchainArgs>,
  handler: (args) =>
    runCommand(async () => {
      const opa = await resolveOpa()
      if (!args.exec) {
        process.stdout.write(`${opa}\n`)
        return 0
      }
      const result = spawnSync(opa, (args['--'] ?? []).map(String), { stdio: 'inherit' })
      return result.status ?? 2
    }),
}
