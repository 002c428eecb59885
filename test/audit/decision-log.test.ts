import { spawn } from 'node:child_process'
import { createHash, generateKeyPairSync } from 'node:crypto'
import { appendFile, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it, vi } from 'vitest'
import { canonicalEventLine, eventHash } from '../../src/audit/event-hash.js'
import { CanonicalText } from '../../src/canonical-json.js'
import {
  DecisionLog,
  type DecisionRecord,
  type Durability,
  type LogFindingKind,
  verifyLog,
} from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'

const { privateKey, publicKey } = generateKeyPairSync('ed25519')
const other = generateKeyPairSync('ed25519')
const bundles = { default: { revision: 'r1', digest: `sha256:${'a'.repeat(64)}` } }

function record(i: number): DecisionRecord {
  return {
    path: 'mcp/decision',
    input: {
      mcp: {
        method: 'tools/call',
        tool: { name: `tool_${i % 7}`, arguments: { password: `secret-${i}`, n: i } },
      },
      subject: { id: `user-${i % 3}` },
    },
    result: { allow: i % 2 === 0, status: i % 2 === 0 ? 200 : 403, reasons: [], obligations: {} },
    bundles,
    redact: ['/mcp/tool/arguments/password'],
    nd_builtin_cache: i % 5 === 0 ? { 'time.now_ns': { '[]': 1_763_769_720_000_000_000 + i } } : {},
  }
}

async function writeLog(count: number, durability: Durability = 'batch', extra: object = {}) {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-log-'))
  const log = await DecisionLog.open({
    dir,
    durability,
    signingKey: privateKey,
    checkpointEvery: 10,
    ...extra,
  })
  // Appends arrive in small concurrent groups, as from a busy PDP: several batches, several checkpoints.
  for (let i = 0; i < count; i += 7) {
    await Promise.all(Array.from({ length: Math.min(7, count - i) }, (_, j) => log.append(record(i + j))))
  }
  await log.close()
  const files = (await readdir(dir)).filter((f) => f.endsWith('.jsonl')).sort()
  return {
    dir,
    log,
    files: files.map((f) => join(dir, f)),
    checkpoints: join(dir, `decisions-${log.chain}.checkpoints`),
  }
}

async function lines(path: string) {
  return (await readFile(path, 'utf8')).split('\n').filter(Boolean)
}

async function findingsAfter(dir: string, key = publicKey): Promise<LogFindingKind[]> {
  const report = await verifyLog([dir], { key })
  return [...new Set(report.findings.map((f) => f.kind))].sort()
}

describe('DecisionLog writes a verifiable hash chain', () => {
  it.each(['sync', 'batch', 'async'] as const)(
    '%s mode: every event chained, hashed, masked and checkpointed',
    async (mode) => {
      const { dir, files, checkpoints } = await writeLog(120, mode)
      const events = (await lines(files[0]!)).map((l) => JSON.parse(l))
      expect(events.map((e) => e.seq)).toEqual(Array.from({ length: 120 }, (_, i) => i + 1))
      for (const [i, e] of events.entries()) {
        expect(e.hash).toBe(eventHash(e))
        if (i > 0) expect(e.prev).toBe(events[i - 1].hash)
        expect(e.input.mcp.tool.arguments.password).toBeUndefined()
        expect(e.erased).toEqual(['/mcp/tool/arguments/password'])
        expect(e).toMatchObject({ path: 'mcp/decision', bundles, labels: { chain: expect.any(String) } })
      }
      // async acknowledges before writing, so its batches (and checkpoints) are fewer.
      // A checkpoint names the last event of a written batch, once 10 events have passed: sync writes
      // one event per batch (every 10th event), batch groups of 7 (every 14th); async acknowledges
      // before writing, so its batches and checkpoints are fewest.
      expect((await lines(checkpoints)).length).toBeGreaterThanOrEqual({ sync: 12, batch: 8, async: 1 }[mode])
      const report = await verifyLog([dir], { key: publicKey })
      expect(report).toMatchObject({ intact: true, findings: [] })
      expect(report.chains[0]).toMatchObject({ events: 120, lastSeq: 120, checkpointsVerified: true })
    },
  )

  it('rotates files by size and the chain continues across them', async () => {
    const { dir, files } = await writeLog(200, 'batch', { rotateBytes: 16 * 1024 })
    expect(files.length).toBeGreaterThan(3)
    const first = JSON.parse((await lines(files[1]!))[0]!)
    const lastOfPrevious = JSON.parse((await lines(files[0]!)).at(-1)!)
    expect(first.prev).toBe(lastOfPrevious.hash)
    expect(await findingsAfter(dir)).toEqual([])
  })
})

describe('DecisionLog rotates by time (injected clock, no sleeping)', () => {
  const day = 86_400_000

  it('a new file at each UTC midnight, the chain continuing across files; idle periods leave no empty file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-log-time-'))
    let now = Date.parse('2026-03-01T23:59:58.000Z')
    const log = await DecisionLog.open({
      dir,
      rotateEveryMs: day,
      now: () => now,
      signingKey: privateKey,
      checkpointEvery: 4,
    })
    const appendMany = async (n: number) => {
      for (let i = 0; i < n; i++) await log.append(record(i))
    }
    await appendMany(10)
    now = Date.parse('2026-03-02T00:00:00.500Z')
    await appendMany(10)
    now += 3_600_000 // later the same day: same file
    await appendMany(5)
    now = Date.parse('2026-03-05T08:00:00.000Z') // two idle days: no files for them
    await appendMany(1)
    await log.close()
    const files = (await readdir(dir)).filter((f) => f.endsWith('.jsonl')).sort()
    const perFile = await Promise.all(
      files.map(async (f) => (await lines(join(dir, f))).map((l) => JSON.parse(l))),
    )
    expect(perFile.map((events) => events.length)).toEqual([10, 15, 1])
    expect(perFile.map((events) => [...new Set(events.map((e) => e.timestamp.slice(0, 10)))])).toEqual([
      ['2026-03-01'],
      ['2026-03-02'],
      ['2026-03-05'],
    ])
    expect(perFile[1]![0].prev).toBe(perFile[0]!.at(-1).hash)
    expect(perFile[2]![0].prev).toBe(perFile[1]!.at(-1).hash)
    const checkpoints = (await lines(join(dir, `decisions-${log.chain}.checkpoints`))).map(
      (jws) => JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()).timestamp,
    )
    expect(checkpoints.at(-1)).toBe('2026-03-05T08:00:00.000Z')
    expect(await verifyLog([dir], { key: publicKey })).toMatchObject({
      intact: true,
      chains: [{ files: 3, events: 26, lastSeq: 26 }],
    })
  })

  it('hourly rotation and size rotation together', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-log-time-'))
    let now = Date.parse('2026-03-01T10:30:00.000Z')
    const log = await DecisionLog.open({ dir, rotateEveryMs: 3_600_000, rotateBytes: 4096, now: () => now })
    for (let i = 0; i < 40; i++) {
      if (i === 20) now += 3_600_000
      await log.append(record(i))
    }
    await log.close()
    const files = (await readdir(dir)).filter((f) => f.endsWith('.jsonl')).sort()
    const hours = await Promise.all(
      files.map(
        async (f) => new Set((await lines(join(dir, f))).map((l) => JSON.parse(l).timestamp.slice(11, 13))),
      ),
    )
    // Size splits each hour into several files; no file mixes the two hours.
    expect(files.length).toBeGreaterThan(4)
    expect(hours.every((h) => h.size === 1)).toBe(true)
    expect(hours.map((h) => [...h][0])).toContain('11')
    expect((await verifyLog([dir])).intact).toBe(true)
  })

  it.each([0, -5, Number.NaN])('rejects rotateEveryMs %s with ERR_LOG_CONFIG_INVALID', async (value) => {
    await expect(DecisionLog.open({ dir: tmpdir(), rotateEveryMs: value })).rejects.toMatchObject({
      code: 'ERR_LOG_CONFIG_INVALID',
    })
  })
})

// Each case runs on both verification paths (bytes scanned, or every line parsed) and with forged
// lines written both ways a forger might: in the log's own canonical form, or re-serialized JSON.
describe.each([
  { strict: false, forgery: 'canonical' },
  { strict: false, forgery: 'json' },
  { strict: true, forgery: 'canonical' },
  { strict: true, forgery: 'json' },
] as const)(
  'verify-log tamper matrix (strict: $strict, forged lines as $forgery): each kind of tampering is detected and located',
  ({ strict, forgery }) => {
    const verify = (dir: string, options: Parameters<typeof verifyLog>[1] = { key: publicKey }) =>
      verifyLog([dir], { ...options, strict })
    const findingsAfter = async (dir: string, key = publicKey): Promise<LogFindingKind[]> => {
      const report = await verify(dir, { key })
      return [...new Set(report.findings.map((f) => f.kind))].sort()
    }
    const tamper = async (edit: (lines: string[]) => string[] | Promise<string[]>) => {
      const log = await writeLog(60)
      const original = await lines(log.files[0]!)
      await writeFile(log.files[0]!, `${(await edit(original)).join('\n')}\n`)
      return log
    }
    const rehash = (line: string, change: (e: Record<string, unknown>) => void, prev?: string) => {
      const e = JSON.parse(line)
      change(e)
      if (prev) e.prev = prev
      if (forgery === 'canonical') return canonicalEventLine({ ...e, hash: undefined }).line
      e.hash = eventHash(e)
      return JSON.stringify(e)
    }

    it('an edited record (hash no longer matches)', async () => {
      const { dir } = await tamper((l) =>
        l.map((line, i) =>
          i === 20 ? JSON.stringify({ ...JSON.parse(line), result: { allow: true, status: 200 } }) : line,
        ),
      )
      const report = await verify(dir)
      expect(report.findings).toEqual([expect.objectContaining({ kind: 'hash_mismatch', line: 21, seq: 21 })])
    })

    it('keeps the first maxFindings findings and counts the rest (memory stays bounded)', async () => {
      // Every line but the first and last replaced by garbage: one finding per line.
      const { dir } = await tamper((l) =>
        l.map((line, i) => (i === 0 || i === l.length - 1 ? line : 'garbage')),
      )
      const all = await verify(dir)
      const capped = await verify(dir, { key: publicKey, maxFindings: 5 })
      expect(all.findings.length).toBeGreaterThan(50)
      expect(all.findingsOmitted).toBe(0)
      expect(capped.findings).toEqual(all.findings.slice(0, 5))
      expect(capped.findingsOmitted).toBe(all.findings.length - 5)
      expect(capped.intact).toBe(false)
    })

    it('an edited record with its own hash recomputed (breaks the next link and the checkpoint)', async () => {
      const { dir } = await tamper((l) =>
        l.map((line, i) =>
          i === 20 ? rehash(line, (e) => (e.result = { allow: true, status: 201 })) : line,
        ),
      )
      expect(await findingsAfter(dir)).toEqual(['chain_break'])
    })

    it('history rewritten from a record on, every hash recomputed (only the signed checkpoints catch it)', async () => {
      const { dir } = await tamper((l) => {
        const out = l.slice(0, 20)
        let prev = JSON.parse(out.at(-1)!).hash
        for (const line of l.slice(20)) {
          const next = rehash(line, (e) => (e.result = { allow: true, status: 201 }), prev)
          out.push(next)
          prev = JSON.parse(next).hash
        }
        return out
      })
      expect(await findingsAfter(dir)).toEqual(['checkpoint_mismatch'])
      // Without the verification key, a full rewrite is undetectable: checkpoints are what make it evident.
      expect((await verify(dir, {})).findings.map((f) => f.kind)).toContain('checkpoint_mismatch')
    })

    it('a deleted record', async () => {
      const { dir } = await tamper((l) => l.filter((_, i) => i !== 30))
      expect(await findingsAfter(dir)).toEqual(['sequence_break'])
    })

    it('an inserted record (a duplicate)', async () => {
      const { dir } = await tamper((l) => [...l.slice(0, 31), l[30]!, ...l.slice(31)])
      expect(await findingsAfter(dir)).toContain('sequence_break')
    })

    it('reordered records', async () => {
      const { dir } = await tamper((l) => [...l.slice(0, 40), l[41]!, l[40]!, ...l.slice(42)])
      expect(await findingsAfter(dir)).toEqual(['sequence_break'])
    })

    it('truncation back past a signed checkpoint', async () => {
      const log = await tamper((l) => l.slice(0, 45))
      const signedSeqs = (await lines(log.checkpoints)).map(
        (jws) => JSON.parse(Buffer.from(jws.split('.')[1]!, 'base64url').toString()).seq,
      )
      const lost = signedSeqs.filter((seq: number) => seq > 45)
      expect(lost.length).toBeGreaterThanOrEqual(2)
      const report = await verify(log.dir)
      expect(report.findings.every((f) => f.kind === 'truncated')).toBe(true)
      expect(report.findings.map((f) => f.seq).sort((a, b) => a! - b!)).toEqual(lost)
    })

    it('a forged checkpoint (signed by another key)', async () => {
      const log = await writeLog(30)
      const { CompactSign } = await import('jose')
      const forged = await new CompactSign(
        Buffer.from(JSON.stringify({ chain: log.log.chain, seq: 30, hash: 'f'.repeat(64), timestamp: '' })),
      )
        .setProtectedHeader({ alg: 'EdDSA' })
        .sign(other.privateKey)
      await appendFile(log.checkpoints, `${forged}\n`)
      expect(await findingsAfter(log.dir)).toEqual(['checkpoint_invalid'])
    })

    it('a torn last line after a crash is reported, and the chain verifies up to it', async () => {
      const log = await writeLog(25)
      await appendFile(log.files[0]!, '{"decision_id":"x","timestamp":"2025-')
      const report = await verify(log.dir)
      expect(report.findings).toEqual([expect.objectContaining({ kind: 'torn_last_line', line: 26 })])
      expect(report.chains[0]).toMatchObject({ events: 25, lastSeq: 25 })
    })

    it('a line whose content hashes right only after re-serialization (a duplicate key a first-wins reader would take)', async () => {
      const { dir } = await tamper((l) =>
        l.map((line, i) => (i === 4 ? line.replace('{', '{"result":{"allow":"FORGED"},') : line)),
      )
      expect(await findingsAfter(dir)).toEqual(['not_as_written'])
    })

    it('bytes changed to others that decode the same (U+FFFD as written, replaced by an invalid UTF-8 byte)', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-log-'))
      const log = await DecisionLog.open({ dir, signingKey: privateKey, checkpointEvery: 10 })
      for (let i = 0; i < 25; i++) await log.append({ ...record(i), input: { note: `n\ufffd${i}` } })
      await log.close()
      const file = join(dir, (await readdir(dir)).find((f) => f.endsWith('.jsonl'))!)
      const bytes = await readFile(file)
      const at = bytes.indexOf(Buffer.from('n\ufffd4"'))
      expect(at).toBeGreaterThan(0)
      // EF BF BD (U+FFFD) becomes FF: a decoder replaces FF with U+FFFD, so the text reads the same.
      await writeFile(
        file,
        Buffer.concat([bytes.subarray(0, at + 1), Buffer.from([0xff]), bytes.subarray(at + 4)]),
      )
      expect(await findingsAfter(dir)).toEqual(['not_as_written'])
    })

    it('a forged last line after the last checkpoint, in a form a byte scan would misread', async () => {
      const log = await writeLog(25)
      const last = JSON.parse((await lines(log.files[0]!)).at(-1)!)
      // `"seq" :99` (a space before the colon) and `"s\u0065q"` are the seq JSON.parse reads.
      for (const trick of ['"seq" :99', '"s\\u0065q":99']) {
        const body = `${canonicalEventLine({ ...last, seq: 26, prev: last.hash, hash: undefined }).line.split(',"hash":')[0]!},${trick}`
        const hash = createHash('sha256').update(`${body}}`).digest('hex')
        await writeFile(
          log.files[0]!,
          `${(await lines(log.files[0]!)).slice(0, 25).join('\n')}\n${body},"hash":"${hash}"}\n`,
        )
        const report = await verify(log.dir)
        expect(report.findings).toEqual([
          expect.objectContaining({ kind: 'sequence_break', line: 26, seq: 99 }),
        ])
      }
    })

    it('a forged line with its hash recomputed inside the signed region is located as a full parse locates it', async () => {
      const { dir } = await tamper((l) =>
        l.map((line, i) => {
          if (i !== 14) return line
          const body = `GARBAGE ]]]} ${line.slice(line.indexOf(',"prev"'), line.indexOf(',"hash":'))}`
          return `${body},"hash":"${createHash('sha256').update(`${body}}`).digest('hex')}"}`
        }),
      )
      const report = await verify(dir)
      expect(report.findings.map((f) => [f.kind, f.line])).toEqual(
        (await verifyLog([dir], { key: publicKey, strict: true })).findings.map((f) => [f.kind, f.line]),
      )
      expect(report.findings[0]).toMatchObject({ kind: 'malformed_line', line: 15 })
    })

    it('a malformed line in the middle is tampering, not a torn write', async () => {
      const { dir } = await tamper((l) => l.map((line, i) => (i === 10 ? line.slice(0, 40) : line)))
      expect(await findingsAfter(dir)).toContain('malformed_line')
    })
  },
)

describe('verify-log reads a signed log from its bytes', () => {
  it('parses no event line of an intact signed log, and every line with --strict', async () => {
    const log = await writeLog(60)
    const parse = vi.spyOn(JSON, 'parse')
    try {
      const report = await verifyLog([log.dir], { key: publicKey })
      expect(report.intact).toBe(true)
      // Only the checkpoints are parsed (payload, and the protected header inside jose): none of
      // the 60 event lines.
      expect(parse.mock.calls.length).toBeLessThanOrEqual(2 * report.chains[0]!.checkpoints)
      expect(report.chains[0]!.checkpoints).toBeLessThan(20)
      parse.mockClear()
      expect((await verifyLog([log.dir], { key: publicKey, strict: true })).intact).toBe(true)
      expect(parse.mock.calls.length).toBeGreaterThanOrEqual(60)
    } finally {
      parse.mockRestore()
    }
  })

  it('a torn line after the last checkpoint is found in one pass; a finding before it makes a second, parsing pass', async () => {
    const log = await writeLog(60)
    await appendFile(log.files[0]!, '{"decision_id":"x","timestamp":"2025-')
    const parse = vi.spyOn(JSON, 'parse')
    try {
      const report = await verifyLog([log.dir], { key: publicKey })
      expect(report.findings).toEqual([expect.objectContaining({ kind: 'torn_last_line', line: 61 })])
      expect(parse.mock.calls.length).toBeLessThanOrEqual(2 * report.chains[0]!.checkpoints + 1)
      const lines = (await readFile(log.files[0]!, 'utf8')).split('\n')
      lines[9] = lines[9]!.replace('"n":9', '"n":10')
      await writeFile(log.files[0]!, lines.join('\n'))
      parse.mockClear()
      const edited = await verifyLog([log.dir], { key: publicKey })
      expect(edited.findings.map((f) => f.kind)).toEqual(['hash_mismatch', 'torn_last_line'])
      expect(parse.mock.calls.length).toBeGreaterThanOrEqual(60)
    } finally {
      parse.mockRestore()
    }
  })
})

describe('DecisionLog with the input handed over as canonical JSON', () => {
  it('writes the same chain, and never that text when the redact obligation erases from the input', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-log-'))
    const log = await DecisionLog.open({ dir, signingKey: privateKey, checkpointEvery: 5 })
    const plain = await DecisionLog.open({
      dir: join(dir, 'plain'),
      chain: log.chain,
      signingKey: privateKey,
    })
    for (let i = 0; i < 10; i++) {
      const r = { ...record(i), decision_id: `d${i}`, timestamp: new Date(1_764_000_000_000 + i) }
      // Every other record has nothing to erase: the text is used. Else the masked input is written.
      // Every third hands the text of another object: never used for this input.
      const made = i % 3 === 0 ? CanonicalText.of({ other: i }) : CanonicalText.of(r.input)
      const entry = { ...r, redact: i % 2 === 0 ? [] : r.redact, canonicalInput: made }
      const [a, b] = await Promise.all([
        log.append(entry),
        plain.append({ ...entry, canonicalInput: undefined }),
      ])
      expect(a.hash).toBe(b.hash)
    }
    await log.close()
    await plain.close()
    const text = (await lines(join(dir, (await readdir(dir)).find((f) => f.endsWith('.jsonl'))!))).join('\n')
    expect(text).toContain('secret-0')
    expect(text).not.toContain('secret-1')
    expect(await findingsAfter(dir)).toEqual([])
  })
})

describe('DecisionLog in async mode', () => {
  it('a caller changing the event it got back cannot change what the log writes or signs', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-log-'))
    const log = await DecisionLog.open({
      dir,
      durability: 'async',
      signingKey: privateKey,
      checkpointEvery: 5,
    })
    for (let i = 0; i < 12; i++) {
      const event = await log.append(record(i))
      event.seq = 99
      event.hash = 'f'.repeat(64)
      expect(() => {
        event.labels.chain = 'other'
      }).toThrow(TypeError)
    }
    await log.close()
    const report = await verifyLog([dir], { key: publicKey })
    expect(report.findings).toEqual([])
    expect(report.chains[0]).toMatchObject({ events: 12, lastSeq: 12 })
    expect(report.chains[0]!.checkpoints).toBeGreaterThan(0)
  })
})

describe('crash: kill -9 the writer in sync mode', () => {
  it('every acknowledged decision is on disk and the chain verifies up to the torn line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-crash-'))
    const library = new URL(`file://${packageRoot()}/dist/src/index.js`).href
    const script = `
      const { DecisionLog } = await import(${JSON.stringify(library)})
      const log = await DecisionLog.open({ dir: ${JSON.stringify(dir)}, durability: 'sync', chain: 'crash' })
      for (let i = 0; ; i++) {
        const event = await log.append({ path: 'mcp/decision', input: { i, pad: 'x'.repeat(2000) }, result: { allow: true }, bundles: {} })
        process.stdout.write(event.seq + '\\n')
      }`
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const acknowledged: number[] = []
    await new Promise<void>((resolve) => {
      child.stdout.on('data', (chunk: Buffer) => {
        for (const line of chunk.toString().split('\n')) if (line) acknowledged.push(Number(line))
        if (acknowledged.length >= 300) {
          child.kill('SIGKILL')
          resolve()
        }
      })
    })
    await new Promise((resolve) => child.once('exit', resolve))
    const report = await verifyLog([dir])
    expect(report.findings.filter((f) => f.kind !== 'torn_last_line')).toEqual([])
    expect(report.chains[0]!.lastSeq).toBeGreaterThanOrEqual(Math.max(...acknowledged))
  })
})

describe('mcp-policy verify-log', () => {
  const cli = join(packageRoot(), 'dist', 'cli', 'main.js')
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stdout: string }>((resolve) => {
      const child = spawn(process.execPath, [cli, 'verify-log', ...args])
      let stdout = ''
      child.stdout.on('data', (c: Buffer) => {
        stdout += c.toString()
      })
      child.on('exit', (code) => resolve({ code, stdout }))
    })

  it('exits 0 on an intact log, 1 on a tampered one (naming the line), 2 on a bad key', async () => {
    const log = await writeLog(30)
    const keyFile = join(log.dir, 'checkpoint.pub.pem')
    await writeFile(keyFile, publicKey.export({ type: 'spki', format: 'pem' }))
    const intact = await run([log.dir, '--key', keyFile])
    expect(intact).toMatchObject({ code: 0 })
    expect(intact.stdout).toMatch(/30 events .* verified\nintact/)
    const original = await lines(log.files[0]!)
    original[4] = JSON.stringify({ ...JSON.parse(original[4]!), result: { allow: true } })
    await writeFile(log.files[0]!, `${original.join('\n')}\n`)
    const tampered = await run([log.dir, '--key', keyFile])
    expect(tampered.code).toBe(1)
    expect(tampered.stdout).toMatch(/hash_mismatch: .*decisions-.*\.jsonl:5 seq 5/)
    // --strict parses every line and reports the same.
    expect(await run([log.dir, '--key', keyFile, '--strict'])).toEqual(tampered)
    await writeFile(keyFile, 'not a key')
    expect((await run([log.dir, '--key', keyFile])).code).toBe(2)
  })
})
