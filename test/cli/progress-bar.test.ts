import { execFile } from 'node:child_process'
import { accessSync, constants, statSync } from 'node:fs'
import { mkdtemp, readdir } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { ProgressBar } from '../../cli/progress-bar.js'
import { DecisionLog, replayLog } from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'

const ERASE_LINE = '\x1b[K'

function fakeTty(columns = 100) {
  const writes: string[] = []
  return { writes, stream: { columns, write: (text: string) => writes.push(text) } }
}

describe('ProgressBar', () => {
  it('draws in place with percentage, count, rate and ETA, at most every redrawMs', () => {
    let now = 1_000
    const { writes, stream } = fakeTty()
    const bar = new ProgressBar(stream, { label: 'replaying', unit: 'decisions', now: () => now })
    now += 2_000
    bar.update(4_000, { done: 250, total: 1_000 })
    expect(writes).toHaveLength(1)
    // 25 % in 2 s: 2,000/s, 6 s to go.
    expect(writes[0]!.endsWith(ERASE_LINE)).toBe(true)
    expect(writes[0]!.slice(0, -ERASE_LINE.length)).toMatch(
      /^\rreplaying \[█+░+\] {2}25% 4,000 decisions 2,000\/s ETA 0:06$/,
    )
    now += 50
    bar.update(4_100, { done: 260, total: 1_000 })
    expect(writes).toHaveLength(1)
    now += 60
    bar.update(4_200, { done: 500, total: 1_000 })
    expect(writes).toHaveLength(2)
    expect(writes[1]).toContain(' 50% 4,200 decisions')
    bar.finish(8_000)
    expect(writes.slice(2)).toEqual([expect.stringMatching(/\[█+\] 100% 8,000 decisions [\d,]+\/s/), '\n'])
    expect(writes[2]!.endsWith(ERASE_LINE)).toBe(true)
  })

  it('fits a narrow terminal and writes nothing when never updated', () => {
    const { writes, stream } = fakeTty(50)
    const bar = new ProgressBar(stream, { label: 'replaying', unit: 'decisions', now: () => 0 })
    bar.finish(0)
    expect(writes).toEqual([])
    bar.update(1, { done: 1, total: 3 })
    const visible = writes[0]!.replace('\r', '').replace(ERASE_LINE, '')
    expect(visible.length).toBeLessThanOrEqual(49)
  })
})

function onPath(name: string): boolean {
  return (process.env.PATH ?? '').split(delimiter).some((dir) => {
    try {
      accessSync(join(dir, name), constants.X_OK)
      return true
    } catch {
      return false
    }
  })
}

describe('mcp-policy replay progress', async () => {
  const cli = join(packageRoot(), 'dist', 'cli', 'main.js')
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-progress-'))
  const log = await DecisionLog.open({ dir })
  // The bundle is not in any store, so nothing is evaluated: the replay only reads and counts.
  const bundles = { default: { revision: 'r1', digest: `sha256:${'0'.repeat(64)}` } }
  await Promise.all(
    Array.from({ length: 2_500 }, (_, i) =>
      log.append({ path: 'mcp/decision', input: { i }, result: { allow: true }, bundles }),
    ),
  )
  await log.close()
  const args = [cli, 'replay', dir, '--bundle-store', join(dir, 'store')]

  it('replayLog reports progress every 1,000 events and at the end, by bytes of the log read', async () => {
    const calls: [number, number, number][] = []
    await replayLog([dir], {
      bundleStore: join(dir, 'store'),
      onProgress: (n, bytes) => calls.push([n, bytes.done, bytes.total]),
    })
    const size = (await readdir(dir))
      .filter((f) => f.endsWith('.jsonl'))
      .reduce((n, f) => n + statSync(join(dir, f)).size, 0)
    expect(calls.map((c) => c[0])).toEqual([1000, 2000, 2500])
    expect(calls.every((c) => c[2] === size)).toBe(true)
    expect(calls.at(-1)![1]).toBe(size)
    for (let i = 1; i < calls.length; i++) expect(calls[i]![1]).toBeGreaterThanOrEqual(calls[i - 1]![1])
    expect(calls[0]![1]).toBeGreaterThan(0)
  })

  it('stderr that is not a TTY gets no bar and no control characters', async () => {
    const { stderr, stdout } = await new Promise<{ stderr: string; stdout: string }>((resolve) =>
      execFile(process.execPath, args, (_err, stdout, stderr) => resolve({ stdout, stderr })),
    )
    expect(stdout).toMatch(/^reproduce: 0\/2500 decisions reproduced/)
    expect(stderr).toBe('')
  })

  // util-linux `script` runs the command on a pseudo-terminal: the real TTY path, end to end.
  describe.runIf(onPath('script') || process.env.CI)('on a terminal', () => {
    it('draws the bar on stderr and ends at 100 %', async () => {
      const command = [process.execPath, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')
      const output = await new Promise<string>((resolve) =>
        execFile('script', ['-qec', command, '/dev/null'], (_err, stdout) => resolve(stdout)),
      )
      expect(output).toMatch(/\rreplaying \[[█░]+\] +\d+% [\d,]+ decisions/)
      expect(output).toContain('100% 2,500 decisions')
      expect(output).toContain('reproduce: 0/2500 decisions reproduced')
    })
  })
})
