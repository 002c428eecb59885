import { writeFile } from 'node:fs/promises'
import type { Argv, CommandModule } from 'yargs'
import { type ReplayReport, renderReplayHtml, replayLog } from '../src/index.js'
import { ProgressBar } from './progress-bar.js'
import { runCommand } from './run-command.js'

interface ReplayArgs {
  paths: string[]
  'bundle-store': string
  against?: string
  format: 'text' | 'json' | 'html'
  out?: string
  'max-differences': number
}

/**
 * `mcp-policy replay PATH...`: re-evaluate logged decisions. Against the recorded bundles every
 * decision must reproduce (exit 0, else 1); with `--against` (what-if) it lists the flips (exit 0).
 */
export const replayCommand: CommandModule<object, ReplayArgs> = {
  command: 'replay <paths..>',
  describe: 'Re-evaluate logged decisions against their recorded bundles, or --against a candidate (what-if)',
  builder: (yargs: Argv) =>
    yargs
      .positional('paths', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: 'log files or directories',
      })
      .option('bundle-store', { type: 'string', default: '.bundle-store', describe: 'bundles by digest' })
      .option('against', { type: 'string', describe: 'candidate bundle .tar.gz (what-if)' })
      .option('format', {
        choices: ['text', 'json', 'html'] as const,
        default: 'text' as const,
        describe: 'html: one self-contained file for a browser (use with --out)',
      })
      .option('max-differences', {
        type: 'number',
        default: 10_000,
        describe: 'keep at most this many differences in the report (counts and groups cover all)',
      })
      .option('out', {
        type: 'string',
        describe: 'write the report here instead of stdout',
      }) as unknown as Argv<ReplayArgs>,
  handler: (args) =>
    runCommand(async () => {
      // Only a terminal gets a bar: piped or captured stderr stays free of control characters.
      const bar = process.stderr.isTTY
        ? new ProgressBar(process.stderr, { label: 'replaying', unit: 'decisions' })
        : undefined
      const report = await replayLog(args.paths, {
        bundleStore: args['bundle-store'],
        against: args.against,
        maxDifferences: args['max-differences'],
        onProgress: bar ? (n, bytes) => bar.update(n, bytes) : undefined,
      })
      bar?.finish(report.events)
      const text =
        args.format === 'json'
          ? `${JSON.stringify(report, null, 2)}\n`
          : args.format === 'html'
            ? renderReplayHtml(report, { sources: args.paths, against: args.against })
            : renderText(report)
      if (args.out) await writeFile(args.out, text)
      else process.stdout.write(text)
      if (report.mode === 'what-if') return 0
      return report.differing === 0 && Object.keys(report.missingBundles).length === 0 ? 0 : 1
    }),
}

function renderText(report: ReplayReport): string {
  const lines = [
    `${report.mode}: ${report.same}/${report.events - report.rejected - report.withheld} decisions ${report.mode === 'reproduce' ? 'reproduced' : 'unchanged'}, ${report.differing} differ`,
  ]
  if (report.withheld > 0)
    lines.push(
      `${report.withheld} tool-result judgements had their secrets withheld from the log: recorded, not re-evaluated`,
    )
  if (report.rejected > 0)
    lines.push(
      `${report.rejected} requests were refused before any policy ran (malformed): nothing to replay`,
    )
  for (const [digest, count] of Object.entries(report.missingBundles))
    lines.push(`bundle ${digest} not in the store: ${count} decisions not replayed`)
  for (const group of report.groups)
    lines.push(
      `  ${group.change.padEnd(10)} ${String(group.count).padStart(6)}  by ${group.by}: ${group.key}`,
    )
  for (const d of report.differences.slice(0, 50)) {
    lines.push(
      `${d.change}: seq ${d.seq} (${d.file}:${d.line}) ${d.subject ?? '?'} ${d.method ?? ''} ${d.server ?? ''}/${d.tool ?? ''}${d.masked ? ' [input was masked]' : ''}`,
    )
  }
  const listed = Math.min(50, report.differences.length)
  if (report.differing > listed) lines.push(`… ${report.differing - listed} more (use --format json)`)
  return `${lines.join('\n')}\n`
}
