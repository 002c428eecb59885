import { writeFile } from 'node:fs/promises'
import type { Argv, CommandModule } from 'yargs'
import {
  DEFAULT_BUNDLE_DIR,
  DEFAULT_REGO_DIR,
  formatTestReport,
  McpPolicyError,
  reportExitCode,
  resolveOpa,
  runPolicyTests,
  type TestReportFormat,
} from '../src/index.js'
import { compareWithOpa } from '../src/policy-test/compare-with-opa.js'
import { runCommand } from './run-command.js'

interface TestArgs {
  paths?: string[]
  bundle: string
  rego: string
  format: TestReportFormat
  out?: string
  run?: string
  verbose: boolean
  'compare-opa': boolean
}

/**
 * `mcp-policy test [PATH...]`: Rego tests compiled to WebAssembly and run in this engine, plus YAML
 * decision cases through normalize → decide. Exit 0 all pass, 1 a failure, 2 an error.
 */
export const testCommand: CommandModule<object, TestArgs> = {
  command: 'test [paths..]',
  describe: 'Run Rego tests in the WebAssembly engine and decision cases; exit 0 pass, 1 failure, 2 error',
  builder: (yargs: Argv) =>
    yargs
      .positional('paths', {
        type: 'string',
        array: true,
        describe: '*_test.rego and *.cases.yaml files or directories (default: --rego and <bundle>/cases)',
      })
      .option('bundle', { type: 'string', default: DEFAULT_BUNDLE_DIR, describe: 'bundle definition' })
      .option('rego', {
        type: 'string',
        default: DEFAULT_REGO_DIR,
        describe: 'policy directory compiled with the tests',
      })
      .option('format', { choices: ['pretty', 'json', 'junit'] as const, default: 'pretty' as const })
      .option('out', { type: 'string', describe: 'write the report here instead of stdout' })
      .option('run', { type: 'string', describe: 'only tests and cases whose name matches this regex' })
      .option('verbose', { alias: 'v', type: 'boolean', default: false, describe: 'list passing tests too' })
      .option('compare-opa', {
        type: 'boolean',
        default: false,
        describe: 'also run opa test and report tests whose outcome differs',
      }) as unknown as Argv<TestArgs>,
  handler: (args) =>
    runCommand(async () => {
      let run: RegExp | undefined
      if (args.run !== undefined) {
        try {
          run = new RegExp(args.run)
        } catch (err) {
          throw new McpPolicyError('ERR_CLI_USAGE', `--run ${args.run} is not a regular expression`, {
            cause: err,
          })
        }
      }
      const opa = await resolveOpa()
      const report = await runPolicyTests({
        paths: args.paths,
        bundleDir: args.bundle,
        regoDir: args.rego,
        run,
        opa,
      })
      const text = formatTestReport(report, args.format, args.verbose)
      if (args.out) await writeFile(args.out, text)
      else process.stdout.write(text)
      if (args.out && args.format !== 'pretty') process.stderr.write(formatTestReport(report, 'pretty'))
      let code = reportExitCode(report)
      if (report.counts.pass + report.counts.fail + report.counts.error === 0) {
        process.stderr.write('mcp-policy: no test or decision case ran\n')
        code = Math.max(code, 1) as 0 | 1 | 2
      }
      if (args['compare-opa']) {
        const differences = await compareWithOpa(
          opa,
          { regoDir: args.rego, bundleDir: args.bundle, run },
          report.results,
        )
        for (const d of differences)
          process.stderr.write(
            `opa disagrees: ${d.name}: opa test ${d.opa}, WebAssembly engine ${d.engine}\n`,
          )
        process.stderr.write(
          differences.length === 0
            ? 'opa test and the WebAssembly engine agree on every Rego test\n'
            : `${differences.length} Rego test(s) differ between opa test and the WebAssembly engine\n`,
        )
        if (differences.length > 0) code = Math.max(code, 1) as 0 | 1 | 2
      }
      return code
    }),
}
