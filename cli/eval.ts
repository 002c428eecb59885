import { readFile } from 'node:fs/promises'
import type { Argv, CommandModule } from 'yargs'
import { DECISION_ENTRYPOINT, McpPolicyError, PolicyEngine, toMcpPolicyError } from '../src/index.js'
import { runCommand } from './run-command.js'

interface EvalArgs {
  bundle: string
  input: string
  entrypoint: string
  'verification-key'?: string
  'verification-alg': string
}

/**
 * `mcp-policy eval`: evaluate a bundle on an input file and print the decision as JSON.
 * Exit 0 allowed, 1 denied by policy, 2 on error (the printed decision is then a fail-closed deny).
 */
export const evalCommand: CommandModule<object, EvalArgs> = {
  command: 'eval',
  describe: 'Evaluate a bundle on an input document; exit 0 allowed, 1 denied, 2 error',
  builder: (yargs: Argv) =>
    yargs
      .option('bundle', { type: 'string', demandOption: true, describe: 'bundle .tar.gz' })
      .option('input', { type: 'string', demandOption: true, describe: 'input document JSON file' })
      .option('entrypoint', { type: 'string', default: DECISION_ENTRYPOINT })
      .option('verification-key', {
        type: 'string',
        describe: 'PEM public key: require a valid bundle signature',
      })
      .option('verification-alg', { type: 'string', default: 'RS256' }) as Argv<EvalArgs>,
  handler: (args) =>
    runCommand(async () => {
      const input = await readInput(args.input)
      let engine: PolicyEngine
      try {
        const verification = args['verification-key']
          ? {
              keys: {
                default: {
                  key: await readFile(args['verification-key'], 'utf8'),
                  algorithm: args['verification-alg'],
                },
              },
            }
          : undefined
        engine = await PolicyEngine.fromBundleFile(args.bundle, { verification })
      } catch (err) {
        return printFailClosed(toMcpPolicyError(err, 'ERR_BUNDLE_CORRUPT'))
      }
      if (args.entrypoint === DECISION_ENTRYPOINT) {
        const outcome = engine.decide(input)
        print({
          ...outcome.decision,
          bundle: outcome.bundle,
          ...(outcome.error ? { error: outcome.error.code } : {}),
        })
        if (outcome.error) return 2
        return outcome.decision.allow ? 0 : 1
      }
      try {
        const evaluation = engine.evaluate(args.entrypoint, input)
        print({ result: evaluation.result, bundle: evaluation.bundle })
        return evaluation.result === undefined ? 1 : 0
      } catch (err) {
        return printFailClosed(toMcpPolicyError(err, 'ERR_ENGINE_TRAP'))
      }
    }),
}

async function readInput(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'))
  } catch (err) {
    throw new McpPolicyError('ERR_CLI_USAGE', `cannot read input ${path}: ${(err as Error).message}`, {
      cause: err,
    })
  }
}

function printFailClosed(error: McpPolicyError): number {
  print({
    allow: false,
    status: error.status,
    reasons: [{ code: error.code, message: error.message }],
    obligations: {},
    error: error.code,
  })
  return 2
}

function print(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`)
}
