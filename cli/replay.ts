import { writeFile } from 'node:fs/promises'
import type { Argv, CommandModule } from 'yargs'
import {
  McpPolicyError,
  type ReplayReport,
  renderReplayHtml,
  renderReplaySummaryMarkdown,
  replayLog,
} from '../src/index.js'
import { ProgressBar } from './progress-bar.js'
import { runCommand } from './run-command.js'

interface ReplayArgs {
  paths: string[]
  'bundle-store': string
  against?: string
  format: 'text' | 'json' | 'html'
  out?: string
  'max-differences': number
  'fail-on'?: FailOn
  summary?: string
}

/** Which what-if differences fail `replay --against` (exit 1). */
export type FailOn = 'change' | 'deny-to-allow' | 'none'

/**
 * `mcp-policy replay PATH...`: re-evaluate logged decisions. Against the recorded bundles every
 * decision must reproduce (exit 0, else 1). With `--against` (what-if) it is a CI gate: exit 1 when
 * a decision changes in the way `--fail-on` names (`change`, the default: any), or when no decision
 * could be re-evaluated at all, else 0; `--fail-on none` only reports.
 * `--summary FILE` writes a Markdown summary for a pull request.
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
      })
      .option('fail-on', {
        choices: ['change', 'deny-to-allow', 'none'] as const,
        describe:
          'with --against, the gate: exit 1 when any decision changes (change, the default), only when a denied one would be allowed (deny-to-allow), or never (none: the what-if only reports)',
      })
      .option('summary', {
        type: 'string',
        describe: 'also write a Markdown summary here (for a pull-request comment or a CI job summary)',
      }) as unknown as Argv<ReplayArgs>,
  handler: (args) =>
    runCommand(async () => {
      if (args['fail-on'] !== undefined && args.against === undefined)
        throw new McpPolicyError(
          'ERR_CLI_USAGE',
          '--fail-on applies to a what-if (--against CANDIDATE); a replay against the recorded bundles always fails on any difference',
        )
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
      // A what-if is a gate unless told otherwise: any changed decision fails it, since a candidate
      // can widen access without flipping a deny (fewer redactions, more visible tools, no approval).
      const failOn = args['fail-on'] ?? 'change'
      const gate = report.mode === 'what-if' ? whatIfGate(report, failOn) : undefined
      if (args.summary)
        await writeFile(
          args.summary,
          renderReplaySummaryMarkdown(report, { sources: args.paths, against: args.against, gate }),
        )
      if (args.out) await writeFile(args.out, text)
      else process.stdout.write(text)
      if (gate) {
        process.stderr.write(`what-if gate (--fail-on ${gate.failOn}): ${gate.verdict}: ${gate.because}\n`)
        return gate.verdict === 'failed' ? 1 : 0
      }
      if (report.mode === 'what-if') return 0
      return report.differing === 0 && Object.keys(report.missingBundles).length === 0 ? 0 : 1
    }),
}

/**
 * The what-if gate's verdict. `change` fails on any difference: besides deny → allow, a candidate
 * can widen access while every allow stays as it was — drop a log `redact` obligation, a
 * `require_approval`, a tool-result redaction, or add to `visible_tools` — and those are
 * differences of kind `reasons`. `deny-to-allow` fails only on decisions a candidate would newly
 * allow. A what-if that re-evaluated nothing (an empty or wrong log path) fails under both, so a
 * gate never passes vacuously; `none` never fails.
 */
export function whatIfGate(
  report: ReplayReport,
  failOn: FailOn,
): { failOn: FailOn; verdict: 'failed' | 'passed' | 'not gated'; because: string } {
  const compared = report.same + report.differing
  const count = (n: number, what: string) => `${n.toLocaleString('en-US')} ${what}${n === 1 ? '' : 's'}`
  if (failOn === 'none')
    return { failOn, verdict: 'not gated', because: `${count(report.differing, 'decision')} changed` }
  if (compared === 0)
    return {
      failOn,
      verdict: 'failed',
      because: 'no decision in the log could be re-evaluated, so nothing was checked',
    }
  if (failOn === 'deny-to-allow') {
    const widened = report.changes['deny→allow']
    return widened > 0
      ? { failOn, verdict: 'failed', because: `${count(widened, 'denied decision')} would be allowed` }
      : {
          failOn,
          verdict: 'passed',
          because: `no denied decision would be allowed (${count(report.differing, 'decision')} changed otherwise)`,
        }
  }
  return report.differing > 0
    ? {
        failOn,
        verdict: 'failed',
        because: `${count(report.differing, 'decision')} of ${compared.toLocaleString('en-US')} would change`,
      }
    : { failOn, verdict: 'passed', because: `all ${count(compared, 'decision')} unchanged` }
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
