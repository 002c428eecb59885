import { createPublicKey, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import type { Argv, CommandModule } from 'yargs'
import { McpPolicyError, verifyLog } from '../src/index.js'
import { runCommand } from './run-command.js'

interface VerifyLogArgs {
  paths: string[]
  key?: string
  'max-findings': number
  strict: boolean
  format: 'text' | 'json'
}

/**
 * `mcp-policy verify-log PATH... [--key FILE] [--strict]`: checks decision-log files and their signed
 * checkpoints. Exit 0 intact, 1 tampered (or torn), 2 error.
 */
export const verifyLogCommand: CommandModule<object, VerifyLogArgs> = {
  command: 'verify-log <paths..>',
  describe: 'Verify decision-log hash chains and signed checkpoints; exit 0 intact, 1 tampered, 2 error',
  builder: (yargs: Argv) =>
    yargs
      .positional('paths', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'log files or directories',
      })
      .option('key', {
        type: 'string',
        describe: 'Ed25519 public key (PEM or JWK JSON) that signs checkpoints',
      })
      .option('max-findings', {
        type: 'number',
        default: 10_000,
        describe: 'findings kept and listed; the rest are counted (memory stays bounded)',
      })
      .option('strict', {
        type: 'boolean',
        default: false,
        describe:
          'parse every line as JSON (otherwise, with --key, lines up to the last verified checkpoint are checked from their bytes; the findings are the same)',
      })
      .option('format', {
        choices: ['text', 'json'] as const,
        default: 'text' as const,
      }) as unknown as Argv<VerifyLogArgs>,
  handler: (args) =>
    runCommand(async () => {
      const key = args.key ? await readKey(args.key) : undefined
      const report = await verifyLog(args.paths, {
        key,
        maxFindings: args['max-findings'],
        strict: args.strict,
      })
      if (args.format === 'json') {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
      } else {
        for (const chain of report.chains) {
          process.stdout.write(
            `chain ${chain.chain}: ${chain.events} events in ${chain.files} file(s), last seq ${chain.lastSeq}, ` +
              `${chain.checkpoints} checkpoint(s)${chain.checkpointsVerified ? ' verified' : ' NOT verified (no --key)'}\n`,
          )
        }
        for (const f of report.findings) {
          process.stdout.write(
            `${f.kind}: ${f.file}${f.line ? `:${f.line}` : ''}${f.seq ? ` seq ${f.seq}` : ''}: ${f.message}\n`,
          )
        }
        const total = report.findings.length + report.findingsOmitted
        const omitted = report.findingsOmitted ? ` (the first ${report.findings.length} listed)` : ''
        process.stdout.write(report.intact ? 'intact\n' : `NOT intact: ${total} finding(s)${omitted}\n`)
      }
      return report.intact ? 0 : 1
    }),
}

async function readKey(path: string): Promise<KeyObject> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new McpPolicyError('ERR_CLI_USAGE', `cannot read key ${path}`, { cause: err })
  }
  try {
    const key = text.trim().startsWith('{')
      ? createPublicKey({ key: JSON.parse(text), format: 'jwk' })
      : createPublicKey(text)
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key`)
    return key
  } catch (err) {
    throw new McpPolicyError(
      'ERR_LOG_KEY_INVALID',
      `${path} is not an Ed25519 public key: ${(err as Error).message}`,
      { cause: err },
    )
  }
}
