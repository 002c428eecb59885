import type { Argv, CommandModule } from 'yargs'
import { type LogVerification, verifyLog } from '../src/index.js'
import { readCheckpointPublicKey } from './checkpoint-public-key.js'
import { runCommand } from './run-command.js'

interface VerifyLogArgs {
  paths: string[]
  key?: string
  'max-findings': number
  strict: boolean
  format: 'text' | 'json'
}

/** Exit status of a log with no finding that could not be verified against signed checkpoints. */
const UNVERIFIED_EXIT = 3

/**
 * `mcp-policy verify-log PATH... [--key FILE] [--strict]`: checks decision-log files and their signed
 * checkpoints. Exit 0 intact and verified with the key, 1 tampered (or torn), 2 error, 3 no finding
 * but not verifiable: without `--key`, or a chain without a signed checkpoint, deleted last lines
 * and forged events cannot be detected.
 */
export const verifyLogCommand: CommandModule<object, VerifyLogArgs> = {
  command: 'verify-log <paths..>',
  describe:
    'Verify decision-log hash chains and signed checkpoints; exit 0 intact and verified (--key), 1 tampered, 2 error, 3 no findings but unverifiable without --key or signed checkpoints',
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
      const key = args.key ? await readCheckpointPublicKey(args.key) : undefined
      const report = await verifyLog(args.paths, {
        key,
        maxFindings: args['max-findings'],
        strict: args.strict,
      })
      if (args.format === 'json') {
        process.stdout.write(`${JSON.stringify(report, null, 2)}\n`)
      } else {
        for (const chain of report.chains) process.stdout.write(`${chainLine(chain)}\n`)
        for (const f of report.findings) {
          process.stdout.write(
            `${f.kind}: ${f.file}${f.line ? `:${f.line}` : ''}${f.seq ? ` seq ${f.seq}` : ''}: ${f.message}\n`,
          )
        }
        process.stdout.write(`${verdict(report, Boolean(key))}\n`)
      }
      if (!report.intact) return 1
      return report.verified ? 0 : UNVERIFIED_EXIT
    }),
}

type ChainSummary = LogVerification['chains'][number]

function chainLine(chain: ChainSummary): string {
  const head = `chain ${chain.chain}: ${chain.events} events in ${chain.files} file(s), last seq ${chain.lastSeq}, `
  if (!chain.checkpointsVerified) return `${head}${chain.checkpoints} checkpoint(s) NOT verified (no --key)`
  if (chain.lastSeq === 0) return `${head}${chain.checkpoints} checkpoint(s) verified`
  if (chain.signedSeq === 0)
    return `${head}no signed checkpoint verified: deleted last lines and forged events cannot be detected`
  const tail = chain.unsignedEvents
    ? ` (${chain.unsignedEvents} later event(s) not yet signed: their deletion cannot be detected)`
    : ''
  return `${head}signed through seq ${chain.signedSeq}${tail}, ${chain.checkpoints} checkpoint(s) verified`
}

/** The last line: never a bare "intact" for what could not be verified. */
function verdict(report: LogVerification, keyGiven: boolean): string {
  if (!report.intact) {
    const total = report.findings.length + report.findingsOmitted
    const omitted = report.findingsOmitted ? ` (the first ${report.findings.length} listed)` : ''
    return `NOT intact: ${total} finding(s)${omitted}`
  }
  if (!keyGiven)
    return (
      'NOT VERIFIED (no --key): no inconsistency found, but without the checkpoint public key ' +
      'deleted last lines (truncation after the last checkpoint) and forged events cannot be detected'
    )
  if (!report.verified) {
    const unsigned = report.chains
      .filter((chain) => chain.signedSeq === 0 && chain.lastSeq > 0)
      .map((chain) => chain.chain)
    return (
      `NOT VERIFIED: no inconsistency found, but chain(s) ${unsigned.join(', ')} have no signed checkpoint: ` +
      'deleted last lines and forged events cannot be detected'
    )
  }
  const unsignedEvents = report.chains.reduce((sum, chain) => sum + chain.unsignedEvents, 0)
  return unsignedEvents
    ? `intact up to the last signed checkpoints; ${unsignedEvents} later event(s) not yet signed (their deletion cannot be detected)`
    : 'intact'
}
