import { readdir, readFile, stat } from 'node:fs/promises'
import { basename, join } from 'node:path'
import { type CryptoKey, compactVerify, type KeyObject } from 'jose'
import { McpPolicyError, toMcpPolicyError } from '../errors.js'
import type { CheckpointPayload, DecisionEvent } from './decision-event.js'
import { eventHash, genesisHash } from './event-hash.js'
import { readLineBatches } from './read-lines.js'
import { writtenLineFields, writtenLineHash } from './written-line.js'

/** Kinds of evidence {@link verifyLog} reports. */
export type LogFindingKind =
  | 'hash_mismatch'
  | 'not_as_written'
  | 'sequence_break'
  | 'chain_break'
  | 'malformed_line'
  | 'torn_last_line'
  | 'truncated'
  | 'checkpoint_invalid'
  | 'checkpoint_mismatch'

/** One piece of evidence that the log is not as written: where, and what. */
export interface LogFinding {
  kind: LogFindingKind
  chain: string
  file: string
  /** 1-based line in `file` (0 for findings about the whole chain). */
  line: number
  seq?: number
  message: string
}

/** The outcome of {@link verifyLog}. */
export interface LogVerification {
  /**
   * True when no finding was made. Without a key (or without signed checkpoints) that is only as
   * far as can be told: see {@link LogVerification.verified}.
   */
  intact: boolean
  /**
   * True when intact and the key verified at least one signed checkpoint of every chain with
   * events, so that deleting lines back past the last checkpoint, and rewriting the log, would
   * have been found.
   * False without a key: then truncation after the last checkpoint and forged events (a rewritten
   * log with recomputed hashes and checkpoints) cannot be detected.
   */
  verified: boolean
  /** The first `maxFindings` findings, in log order. */
  findings: LogFinding[]
  /** Findings made beyond `maxFindings`: counted, not kept, so memory stays bounded. */
  findingsOmitted: number
  chains: {
    chain: string
    files: number
    events: number
    lastSeq: number
    checkpoints: number
    /** A key was given: the checkpoints counted are those whose signature it verified. */
    checkpointsVerified: boolean
    /** The highest seq a verified checkpoint names (0 without a key or without checkpoints). */
    signedSeq: number
    /**
     * Events after the last verified checkpoint (all of them without one): deleting them cannot be
     * detected. A running writer signs the head every `checkpointEvery` events or
     * `checkpointIntervalMs`, and on close.
     */
    unsignedEvents: number
  }[]
}

/**
 * Keeps the first `max` findings and counts the rest: a log broken on every line (a million
 * malformed lines) must not make verification hold a million findings in memory.
 */
class FindingSink {
  readonly list: LogFinding[] = []
  omitted = 0
  constructor(readonly max: number) {}

  add(finding: LogFinding): void {
    if (this.list.length < this.max) this.list.push(finding)
    else this.omitted++
  }

  addAll(other: FindingSink): void {
    for (const finding of other.list) this.add(finding)
    this.omitted += other.omitted
  }

  get empty(): boolean {
    return this.list.length === 0 && this.omitted === 0
  }
}

/** The highest sequence number a checkpoint names (0 for none). */
function lastSeq(checkpoints: Map<number, unknown>): number {
  let last = 0
  for (const seq of checkpoints.keys()) if (seq > last) last = seq
  return last
}

/** Options for {@link verifyLog}. */
export interface VerifyLogOptions {
  /** The Ed25519 public key of the checkpoints. Without it checkpoints are read but not trusted. */
  key?: CryptoKey | KeyObject
  /** Findings kept in the report (default 10,000); the rest are counted in `findingsOmitted`. */
  maxFindings?: number
  /**
   * Parse every line as JSON. By default, with a `key`, lines up to the last verified checkpoint
   * are checked from their bytes (the hash, and `seq` and `prev` read by a scan), about three
   * times as fast; the findings are the same, since a finding there makes the chain be verified
   * again with every line parsed.
   */
  strict?: boolean
}

const EVENT_FILE = /^decisions-(.+)-(\d{6})\.jsonl$/

/**
 * The chain a decision-log file belongs to, read from its name (`decisions-<chain>-<nnnnnn>.jsonl`,
 * as {@link verifyLog} finds them), or undefined for a file of another name, which it does not verify.
 *
 * @internal
 *
 * @example
 * ```ts
 * logFileChain('logs/decisions-worker-1-000002.jsonl') // 'worker-1'
 * ```
 */
export function logFileChain(path: string): string | undefined {
  return EVENT_FILE.exec(basename(path))?.[1]
}

/**
 * Verifies decision-log files, streamed in constant memory: every event's hash, the `seq`/`prev`
 * chain from the genesis of its chain id, and — with the Ed25519 public key — every signed
 * checkpoint: its signature, that the event it names has that hash, and that the log still reaches
 * it (truncation back past a checkpoint). A torn last line (a crash mid-write) is reported, never
 * silently dropped. Without the key nothing pins the end of the log or its content: `intact` then
 * means "no inconsistency found", and `verified` stays false.
 *
 * @throws McpPolicyError `ERR_LOG_READ_FAILED` when a path cannot be read.
 * @example
 * ```ts
 * const report = await verifyLog(['logs/'], { key: publicKey })
 * if (!report.intact) console.log(report.findings[0])
 * ```
 */
export async function verifyLog(
  paths: readonly string[],
  options: VerifyLogOptions = {},
): Promise<LogVerification> {
  const chains = await discoverChains(paths)
  const findings = new FindingSink(options.maxFindings ?? 10_000)
  const summaries: LogVerification['chains'] = []
  for (const [chain, { files, checkpointFile }] of chains) {
    const checkpoints = await readCheckpoints(chain, checkpointFile, options.key, findings)
    // Lines are read from their bytes only where a verified signature pins those bytes: up to the
    // last checkpoint, every line must be the writer's own (each hash names the line before), and
    // on the writer's lines the scan and JSON.parse agree. Lines after it are parsed whole, so a
    // forged tail is read as any JSON reader would read it.
    const pinnedUntil = options.key && !options.strict ? lastSeq(checkpoints) : 0
    const walk = async (sink: FindingSink, until: number) => {
      try {
        return await verifyChain(chain, files, new Map(checkpoints), sink, until)
      } catch (err) {
        throw toMcpPolicyError(err, 'ERR_LOG_READ_FAILED', `cannot read the files of chain ${chain}`)
      }
    }
    let chainFindings = new FindingSink(findings.max)
    let walked = await walk(chainFindings, pinnedUntil)
    if (pinnedUntil > 0 && walked.pinnedFinding) {
      // Something is wrong where lines were read from their bytes, so they may not be the
      // writer's: report exactly what parsing every line finds (where a forged line sits, whether
      // it is JSON), as --strict would. Findings only after the last checkpoint (a torn last line
      // after a crash) need no second pass: those lines were parsed, from the same state.
      chainFindings = new FindingSink(findings.max)
      walked = await walk(chainFindings, 0)
    }
    findings.addAll(chainFindings)
    const signedSeq = options.key ? lastSeq(checkpoints) : 0
    summaries.push({
      events: walked.events,
      lastSeq: walked.lastSeq,
      chain,
      files: files.length,
      checkpoints: checkpoints.size,
      checkpointsVerified: Boolean(options.key),
      signedSeq,
      unsignedEvents: Math.max(0, walked.lastSeq - signedSeq),
    })
  }
  return {
    intact: findings.empty,
    // A chain without events has nothing to pin (deleting whole files is beyond any log's reach).
    verified:
      findings.empty &&
      Boolean(options.key) &&
      summaries.every((chain) => chain.signedSeq > 0 || chain.lastSeq === 0),
    findings: findings.list,
    findingsOmitted: findings.omitted,
    chains: summaries,
  }
}

async function discoverChains(paths: readonly string[]) {
  const chains = new Map<string, { files: { path: string; index: number }[]; checkpointFile?: string }>()
  const add = (path: string) => {
    const name = basename(path)
    const event = EVENT_FILE.exec(name)
    if (event) {
      const entry = chains.get(event[1]!) ?? { files: [] }
      entry.files.push({ path, index: Number(event[2]) })
      chains.set(event[1]!, entry)
    }
  }
  for (const path of paths) {
    let info: Awaited<ReturnType<typeof stat>>
    try {
      info = await stat(path)
    } catch (err) {
      throw toMcpPolicyError(err, 'ERR_LOG_READ_FAILED', `cannot read ${path}`)
    }
    if (info.isDirectory()) for (const name of (await readdir(path)).sort()) add(join(path, name))
    else add(path)
  }
  for (const [chain, entry] of chains) {
    entry.files.sort((a, b) => a.index - b.index)
    const dir = entry.files[0]!.path.slice(0, -basename(entry.files[0]!.path).length)
    const candidate = join(dir, `decisions-${chain}.checkpoints`)
    if (
      await stat(candidate).then(
        () => true,
        () => false,
      )
    )
      entry.checkpointFile = candidate
  }
  if (chains.size === 0)
    throw new McpPolicyError('ERR_LOG_READ_FAILED', `no decision log files in ${paths.join(', ')}`)
  return chains
}

async function readCheckpoints(
  chain: string,
  file: string | undefined,
  key: CryptoKey | KeyObject | undefined,
  findings: FindingSink,
): Promise<Map<number, { hash: string; line: number }>> {
  const checkpoints = new Map<number, { hash: string; line: number }>()
  if (!file) return checkpoints
  const lines = (await readFile(file, 'utf8')).split('\n')
  for (let i = 0; i < lines.length; i++) {
    const jws = lines[i]!.trim()
    if (!jws) continue
    const at = { chain, file, line: i + 1 }
    let payload: CheckpointPayload
    try {
      if (key)
        payload = JSON.parse(
          Buffer.from((await compactVerify(jws, key, { algorithms: ['EdDSA'] })).payload).toString(),
        )
      else payload = JSON.parse(Buffer.from(jws.split('.')[1] ?? '', 'base64url').toString())
    } catch (err) {
      findings.add({
        ...at,
        kind: 'checkpoint_invalid',
        message: `checkpoint signature does not verify: ${(err as Error).message}`,
      })
      continue
    }
    if (payload.chain !== chain || !Number.isInteger(payload.seq) || typeof payload.hash !== 'string') {
      findings.add({
        ...at,
        kind: 'checkpoint_invalid',
        message: 'checkpoint names another chain or is malformed',
      })
      continue
    }
    checkpoints.set(payload.seq, { hash: payload.hash, line: i + 1 })
  }
  return checkpoints
}

async function verifyChain(
  chain: string,
  files: { path: string }[],
  checkpoints: Map<number, { hash: string; line: number }>,
  findings: FindingSink,
  pinnedUntil: number,
): Promise<{ events: number; lastSeq: number; pinnedFinding: boolean }> {
  let expectedSeq = 1
  let head = genesisHash(chain)
  let events = 0
  // Whether a finding concerns the lines up to the last checkpoint, or a checkpoint itself.
  let pinnedFinding = false
  const report = (finding: LogFinding) => {
    if (expectedSeq <= pinnedUntil || finding.kind === 'checkpoint_mismatch' || finding.kind === 'truncated')
      pinnedFinding = true
    findings.add(finding)
  }
  for (let f = 0; f < files.length; f++) {
    const file = files[f]!.path
    let lineNo = 0
    let pendingTorn: { line: number } | undefined
    let lastTerminated = true
    for await (const { lines, terminated } of readLineBatches(file)) {
      lastTerminated = terminated
      for (const bytes of lines) {
        lineNo++
        if (pendingTorn) {
          report({
            chain,
            file,
            line: pendingTorn.line,
            kind: 'malformed_line',
            message: 'line is not a JSON event',
          })
          pendingTorn = undefined
        }
        const written = expectedSeq <= pinnedUntil ? writtenLineFields(bytes) : undefined
        const fields = written ?? parsedLineFields(bytes)
        if (!fields) {
          // Only the very last line of a file may be torn by a crash; decided after the loop.
          pendingTorn = { line: lineNo }
          continue
        }
        events++
        const { seq, prev, hash } = fields
        const match = written ? 'bytes' : (fields as ParsedLineFields).match
        const at = (): Pick<LogFinding, 'chain' | 'file' | 'line' | 'seq'> => ({
          chain,
          file,
          line: lineNo,
          seq: Number.isInteger(seq) ? (seq as number) : undefined,
        })
        if (seq !== expectedSeq) {
          report({
            ...at(),
            kind: 'sequence_break',
            message: `expected seq ${expectedSeq}, found ${seq} (a record deleted, inserted or reordered)`,
          })
        } else if (prev !== head) {
          report({
            ...at(),
            kind: 'chain_break',
            message: 'prev does not name the previous event (a record inserted or replaced)',
          })
        }
        if (match === 'none')
          report({
            ...at(),
            kind: 'hash_mismatch',
            message: 'event content does not match its hash (edited)',
          })
        else if (match === 'content')
          report({
            ...at(),
            kind: 'not_as_written',
            message:
              'the line is not the text the log wrote: only its re-canonicalized content matches the hash (reformatted, reordered or duplicate keys, which readers may resolve differently)',
          })
        const checkpoint = checkpoints.get(seq as number)
        if (checkpoint && checkpoint.hash !== hash) {
          report({
            ...at(),
            kind: 'checkpoint_mismatch',
            message: `signed checkpoint (line ${checkpoint.line}) names another hash for seq ${seq} (history rewritten)`,
          })
        }
        if (checkpoint) checkpoints.delete(seq as number)
        // Resynchronise on the record as found, so one break is reported once, not for every later line.
        expectedSeq = (Number.isInteger(seq) ? (seq as number) : expectedSeq) + 1
        head = hash as string
      }
    }
    if (pendingTorn) {
      const lastOfLog = f === files.length - 1 && !lastTerminated
      report({
        chain,
        file,
        line: pendingTorn.line,
        kind: lastOfLog ? 'torn_last_line' : 'malformed_line',
        message: lastOfLog
          ? 'the last line is incomplete (a crash mid-write); the chain verifies up to it'
          : 'line is not a JSON event',
      })
    }
  }
  for (const [seq, checkpoint] of checkpoints) {
    report({
      chain,
      file: files.at(-1)!.path,
      line: 0,
      seq,
      kind: 'truncated',
      message: `a signed checkpoint (line ${checkpoint.line}) names seq ${seq}, which the log no longer holds (truncated)`,
    })
  }
  return { events, lastSeq: expectedSeq - 1, pinnedFinding }
}

/** The chain fields of a parsed line: as found, of any type. */
interface ParsedLineFields {
  seq: unknown
  prev: unknown
  hash: unknown
  /**
   * `bytes`: the line is the text that was hashed (as the log writes it). `content`: only the RFC
   * 8785 canonicalization of the parsed event hashes right. `none`: nothing does.
   */
  match: 'bytes' | 'content' | 'none'
}

/**
 * The slow path: the line parsed as JSON, its hash checked against the line text as written and,
 * failing that, against the RFC 8785 canonicalization of the parsed event — which tells an edited
 * event from one whose content is intact but whose text is not what the log wrote. Undefined when
 * the line is not a JSON object.
 */
function parsedLineFields(bytes: Buffer): ParsedLineFields | undefined {
  const text = bytes.toString('utf8')
  let event: DecisionEvent
  try {
    event = JSON.parse(text) as DecisionEvent
  } catch {
    return undefined
  }
  if (typeof event !== 'object' || event === null || Array.isArray(event)) return undefined
  let match: ParsedLineFields['match'] = 'none'
  if (typeof event.hash === 'string' && writtenLineHash(bytes) === event.hash) match = 'bytes'
  else {
    try {
      if (eventHash(event as unknown as Record<string, unknown>) === event.hash) match = 'content'
    } catch {
      // not canonicalizable: no match
    }
  }
  return { seq: event.seq, prev: event.prev, hash: event.hash, match }
}
