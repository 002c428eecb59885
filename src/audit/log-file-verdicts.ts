import { toMcpPolicyError } from '../errors.js'
import { type LogFinding, type LogVerification, logFileChain } from './verify-log.js'

/**
 * What verification says of one log file: `verified` (no finding, and a signed checkpoint
 * verified with the key pins its chain), `unverified` (no finding in it, but nothing pins it:
 * no key, no signed checkpoint, or its chain is broken elsewhere), `tampered` (a finding in this
 * file), or `unchecked` (not a decision-log file name, or the log could not be read).
 *
 * @internal
 */
export type LogFileStatus = 'verified' | 'unverified' | 'tampered' | 'unchecked'

/**
 * One log file with its verification result, as a replay report names it.
 *
 * @internal
 */
export interface LogFileVerdict {
  path: string
  /** The chain, from the file name. */
  chain?: string
  status: LogFileStatus
  /** One line for a reader: never a bare "intact" for what could not be verified. */
  detail: string
  /** The findings in this file (the first ones {@link verifyLog} kept). */
  findings: LogFinding[]
}

/**
 * Puts the result of {@link verifyLog} (or the error it threw) file by file, for the files a
 * replay read. Worded as `mcp-policy verify-log` words its verdict: without the checkpoint public
 * key, or without a signed checkpoint, a log with no finding is "NOT VERIFIED", because deleted
 * last lines and forged events cannot be detected.
 *
 * @internal
 *
 * @example
 * ```ts
 * const verification = await verifyLog(paths, { key }).catch((err: unknown) => err)
 * const verdicts = logFileVerdicts(report.files.map((f) => f.path), verification, { keyGiven: true })
 * ```
 */
export function logFileVerdicts(
  files: readonly string[],
  verification: LogVerification | unknown,
  options: { keyGiven: boolean },
): LogFileVerdict[] {
  const result = isVerification(verification) ? verification : undefined
  return files.map((path): LogFileVerdict => {
    const chain = logFileChain(path)
    const at = { path, ...(chain !== undefined ? { chain } : {}) }
    if (chain === undefined)
      return {
        ...at,
        status: 'unchecked',
        detail:
          'NOT VERIFIED: not a decision-log file name (decisions-<chain>-<nnnnnn>.jsonl), so it was not verified',
        findings: [],
      }
    if (!result) {
      const error = toMcpPolicyError(verification, 'ERR_LOG_READ_FAILED')
      return {
        ...at,
        status: 'unchecked',
        detail: `NOT VERIFIED: verification failed: ${error.code}: ${error.message}`,
        findings: [],
      }
    }
    const own = result.findings.filter((f) => f.file === path)
    if (own.length > 0) {
      const first = own[0]!
      const where = first.line > 0 ? ` at line ${first.line}` : ''
      const seq = first.seq !== undefined ? ` (seq ${first.seq})` : ''
      const more = own.length > 1 ? `; ${own.length - 1} more finding(s) in this file` : ''
      return {
        ...at,
        status: 'tampered',
        detail: `TAMPERED: ${first.kind}${where}${seq}: ${first.message}${more}`,
        findings: own,
      }
    }
    const elsewhere = result.findings.filter((f) => f.chain === chain)
    if (elsewhere.length > 0 || (!result.intact && result.findingsOmitted > 0)) {
      const first = elsewhere[0]
      return {
        ...at,
        status: 'unverified',
        detail: first
          ? `NOT VERIFIED: no finding in this file, but chain ${chain} is NOT intact: ${first.kind} in ${first.file}${first.line > 0 ? `:${first.line}` : ''}`
          : `NOT VERIFIED: no finding listed for this file, but the log is NOT intact (${result.findingsOmitted} finding(s) not listed)`,
        findings: [],
      }
    }
    const summary = result.chains.find((c) => c.chain === chain)
    if (!options.keyGiven || !summary?.checkpointsVerified)
      return {
        ...at,
        status: 'unverified',
        detail:
          'NOT VERIFIED (no checkpoint key): no finding, but without the checkpoint public key deleted last lines and forged events cannot be detected',
        findings: [],
      }
    if (summary.signedSeq === 0)
      return {
        ...at,
        status: 'unverified',
        detail: `NOT VERIFIED: no finding, but chain ${chain} has no signed checkpoint: deleted last lines and forged events cannot be detected`,
        findings: [],
      }
    const tail = summary.unsignedEvents
      ? `; ${summary.unsignedEvents} later event(s) not yet signed (their deletion cannot be detected)`
      : ''
    return {
      ...at,
      status: 'verified',
      detail: `intact: verified with the checkpoint key (chain ${chain} signed through seq ${summary.signedSeq})${tail}`,
      findings: [],
    }
  })
}

function isVerification(value: unknown): value is LogVerification {
  return (
    typeof value === 'object' &&
    value !== null &&
    Array.isArray((value as LogVerification).findings) &&
    Array.isArray((value as LogVerification).chains)
  )
}
