import { writeFile } from 'node:fs/promises'
import type { Argv, CommandModule } from 'yargs'
import { logFileVerdicts } from '../src/audit/log-file-verdicts.js'
import {
  DEFAULT_BUNDLE_STORE,
  McpPolicyError,
  type ReplayBundle,
  type ReplayReport,
  renderReplayHtml,
  renderReplaySummaryMarkdown,
  replayLog,
  verifyLog,
} from '../src/index.js'
import { readCheckpointPublicKey } from './checkpoint-public-key.js'
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
  key?: string
}

/** Which what-if differences fail `replay --against` (exit 1). */
export type FailOn = 'change' | 'deny-to-allow' | 'none'

/**
 * `mcp-policy replay PATH...`: re-evaluate logged decisions. Against the recorded bundles every
 * decision must reproduce (exit 0, else 1). With `--against` (what-if) it is a CI gate: exit 1 when
 * a decision changes in the way `--fail-on` names (`change`, the default: any), or when no decision
 * could be re-evaluated at all, else 0; `--fail-on none` only reports.
 * `--summary FILE` writes a Markdown summary for a pull request. `--format html` is the evidence
 * report: it also verifies the log files (with the checkpoint public key from `--key`) and names
 * both policies by digest, revision and build time.
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
      .option('bundle-store', {
        type: 'string',
        default: DEFAULT_BUNDLE_STORE,
        describe: 'bundles by digest',
      })
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
          'with --against, the gate: exit 1 when any decision changes (change, the default), only when the candidate grants more — a denied decision allowed, or obligations that widen access such as a visible tool gained or an approval, log mask or redaction dropped (deny-to-allow) — or never (none: the what-if only reports)',
      })
      .option('key', {
        type: 'string',
        describe:
          'with --format html: Ed25519 public key (PEM or JWK JSON) that signs the log checkpoints; the report verifies each log file with it (without it: NOT VERIFIED)',
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
      if (args.key !== undefined && args.format !== 'html')
        throw new McpPolicyError(
          'ERR_CLI_USAGE',
          '--key verifies the log for the HTML report (--format html); mcp-policy verify-log --key checks a log on its own',
        )
      const key = args.key !== undefined ? await readCheckpointPublicKey(args.key) : undefined
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
      let text: string
      if (args.format === 'json') text = `${JSON.stringify(report, null, 2)}\n`
      else if (args.format === 'html') {
        // The report is evidence only if the log it replays is the log as written: verify it too.
        // A failure to verify is shown in the report, file by file, not thrown.
        const verification = await verifyLog(args.paths, { key }).catch((err: unknown) => err)
        const logFiles = logFileVerdicts(
          report.files.map((f) => f.path),
          verification,
          { keyGiven: key !== undefined },
        )
        text = renderReplayHtml(report, { sources: args.paths, against: args.against, logFiles })
      } else text = renderText(report)
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
 * The what-if gate's verdict. `change` fails on any difference. `deny-to-allow` fails when the
 * candidate grants more than the record: a denied decision it would allow, or an allowed one whose
 * obligations widen access while the allow stays as it was — a tool added to `visible_tools`, a
 * `require_approval`, a log `redact` pointer or a tool-result redaction dropped (differences of
 * kind `obligations` that widen); a candidate that only narrows (denies more, masks more) passes
 * it. A what-if that re-evaluated nothing (an empty or wrong log path) fails under both, so a gate
 * never passes vacuously; `none` never fails.
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
    const allowed = report.changes['deny→allow']
    const wider = report.widened - allowed
    const because = [
      allowed > 0 ? `${count(allowed, 'denied decision')} would be allowed` : '',
      wider > 0
        ? `${count(wider, 'allowed decision')} would grant more through obligations (a visible tool gained, or an approval, log mask or redaction dropped)`
        : '',
    ].filter(Boolean)
    return because.length > 0
      ? { failOn, verdict: 'failed', because: because.join('; ') }
      : {
          failOn,
          verdict: 'passed',
          because: `no decision would grant more (${count(report.differing, 'decision')} changed otherwise)`,
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
    `${report.mode}: ${report.same}/${report.events - report.rejected - report.revocations - report.withheld} decisions ${report.mode === 'reproduce' ? 'reproduced' : 'unchanged'}, ${report.differing} differ`,
  ]
  if (report.withheld > 0)
    lines.push(
      `${report.withheld} tool-result judgements had their secrets withheld from the log: recorded, not re-evaluated`,
    )
  if (report.rejected > 0)
    lines.push(
      `${report.rejected} requests were refused before any policy ran (malformed): nothing to replay`,
    )
  if (report.revocations > 0)
    lines.push(
      `${report.revocations} revocation signals received (SSF events, back-channel logouts): recorded, no policy to replay`,
    )
  for (const bundle of report.bundles.recorded) lines.push(`recorded bundle ${bundleLine(bundle)}`)
  if (report.bundles.candidate) lines.push(`candidate bundle ${bundleLine(report.bundles.candidate)}`)
  for (const [digest, count] of Object.entries(report.missingBundles))
    lines.push(`bundle ${digest} not in the store: ${count} decisions not replayed`)
  for (const group of report.groups)
    lines.push(
      `  ${group.change.padEnd(10)} ${String(group.count).padStart(6)}  by ${group.by}: ${group.key}`,
    )
  for (const d of report.differences.slice(0, 50)) {
    lines.push(
      `${d.change}${d.widens ? ' (widens)' : ''}: seq ${d.seq} (${d.file}:${d.line}) ${d.subject ?? '?'} ${d.method ?? ''} ${d.server ?? ''}/${d.tool ?? ''}${d.masked ? ' [input was masked]' : ''}`,
    )
    if (d.change !== 'obligations') continue
    for (const o of d.obligations ?? []) {
      const entries = [
        ...o.added.map((e) => `+ ${o.key} ${entryText(e)}`),
        ...o.removed.map((e) => `\u2212 ${o.key} ${entryText(e)}`),
      ]
      for (const entry of entries.slice(0, 10)) lines.push(`    ${entry}`)
      if (entries.length > 10) lines.push(`    … ${entries.length - 10} more (use --format json)`)
    }
  }
  const listed = Math.min(50, report.differences.length)
  if (report.differing > listed) lines.push(`… ${report.differing - listed} more (use --format json)`)
  return `${lines.join('\n')}\n`
}

function entryText(entry: unknown): string {
  return typeof entry === 'string' ? entry : (JSON.stringify(entry) ?? String(entry))
}

function bundleLine(b: ReplayBundle): string {
  const built = b.buildTime ? `built ${b.buildTime}` : 'build time not recorded'
  const events = b.events !== undefined ? `, ${b.events} events` : ''
  return `${b.name} revision ${b.revision || '(none)'} ${b.digest}, ${b.source ? built : 'not in the bundle store'}${events}`
}
