import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { DecisionLog, PolicyEngine, type ReplayDifference, replayLog } from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'

// Grants by role, a time window read from time.now_ns (non-deterministic), a request id from uuid.
const policy = (writeRole: string) => `package mcp

now := time.now_ns()

writes := {"create_issue", "delete_repo"}

granted if input.mcp.tool.name in data.read_tools

granted if {
	input.mcp.tool.name in writes
	"${writeRole}" in input.subject.roles
}

in_window if now < input.deadline_ns

decision := {"allow": true, "status": 200, "reasons": [], "obligations": {"headers": {"x-id": uuid.rfc4122("id")}}} if {
	granted
	in_window
}

default decision := {"allow": false, "status": 403, "reasons": [{"code": "not_granted", "message": "no grant"}], "obligations": {}}
`

const tools = ['get_issue', 'list_repos', 'create_issue', 'delete_repo']
const roles = [['developer'], ['support'], ['admin']]

describe('replay: every decision written by the engine reproduces; what-if lists the flips', async () => {
  const built = await buildPolicy({
    rego: { 'policy.rego': policy('developer') },
    data: { read_tools: ['get_issue', 'list_repos'] },
    revision: 'v1',
  })
  const candidate = await buildPolicy({
    rego: { 'policy.rego': policy('admin') },
    data: { read_tools: ['get_issue', 'list_repos'] },
    revision: 'v2',
  })
  const store = join(built.dir, 'store')
  const engine = await PolicyEngine.fromBundleFile(built.path)
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-replay-'))
  const log = await DecisionLog.open({ dir, durability: 'batch' })
  const now = Date.now()
  let allowed = 0
  for (let i = 0; i < 600; i++) {
    // Mixed traffic; one in seven requests has a deadline in the past, so time decides them.
    const input = {
      mcp: { method: 'tools/call', tool: { name: tools[i % 4], arguments: { i } } },
      subject: { id: `user-${i % 5}`, roles: roles[i % 3] },
      server: { id: 'github' },
      deadline_ns: (i % 7 === 0 ? now - 60_000 : now + 3_600_000) * 1e6,
    }
    const outcome = engine.decide(input)
    if (outcome.decision.allow) allowed++
    await log.append({
      path: 'mcp/decision',
      input,
      result: outcome.decision,
      bundles: {
        [outcome.bundle!.name]: { revision: outcome.bundle!.revision, digest: outcome.bundle!.digest },
      },
      metrics: outcome.metrics,
      nd_builtin_cache: outcome.ndBuiltinCache,
    })
  }
  await log.close()

  it('reproduces 100 % against the recorded bundle from the store (time.now_ns and uuid from the record)', async () => {
    expect(allowed).toBeGreaterThan(100)
    expect(allowed).toBeLessThan(500)
    const report = await replayLog([dir], { bundleStore: store })
    expect(report).toMatchObject({
      mode: 'reproduce',
      events: 600,
      same: 600,
      differences: [],
      missingBundles: {},
    })
  })

  it('what-if against a candidate lists each flip, grouped by tool, subject and reason', async () => {
    const report = await replayLog([dir], { against: candidate.path })
    expect(report.mode).toBe('what-if')
    // Writes moved from developer to admin; reads and the time window are unchanged.
    const flips = report.differences
    expect(flips.length).toBeGreaterThan(0)
    for (const flip of flips) expect(['create_issue', 'delete_repo']).toContain(flip.tool)
    expect(
      flips.filter((f) => f.change === 'allow→deny').every((f) => (f.recorded as { allow: boolean }).allow),
    ).toBe(true)
    expect(new Set(flips.map((f) => f.change))).toEqual(new Set(['allow→deny', 'deny→allow']))
    const byTool = report.groups.filter((g) => g.by === 'tool')
    expect(byTool.map((g) => g.key).sort()).toEqual(
      expect.arrayContaining(['github/create_issue', 'github/delete_repo']),
    )
    expect(report.groups.filter((g) => g.by === 'tool').reduce((n, g) => n + g.count, 0)).toBe(flips.length)
    // uuid answers differ only where the x-id header is new; the recorded ones are reused.
    expect(report.same + flips.length).toBe(600)
  })

  it('maxDifferences bounds the list kept in memory; counts and groups still cover every difference', async () => {
    const all = await replayLog([dir], { against: candidate.path })
    const capped = await replayLog([dir], { against: candidate.path, maxDifferences: 5 })
    expect(all.differing).toBe(all.differences.length)
    expect(all.differing).toBeGreaterThan(5)
    expect(Object.values(all.changes).reduce((a, b) => a + b, 0)).toBe(all.differing)
    // What-if computes uuids the recorded policy never asked for afresh: compare what is stable.
    const stable = (d: ReplayDifference) => [d.seq, d.change, d.tool, d.subject]
    expect(capped.differences.map(stable)).toEqual(all.differences.slice(0, 5).map(stable))
    expect(capped).toMatchObject({ differing: all.differing, changes: all.changes, groups: all.groups })
    const { renderReplayHtml } = await import('../../src/index.js')
    expect(renderReplayHtml(capped)).toContain(`${all.differing - 5} more differences not listed`)
  })

  it('mcp-policy replay: exit 0 when everything reproduces, what-if report with --against', async () => {
    const { execFile } = await import('node:child_process')
    const { packageRoot } = await import('../../src/package-root.js')
    const cli = join(packageRoot(), 'dist', 'cli', 'main.js')
    const run = (args: string[]) =>
      new Promise<{ code: number; stdout: string }>((resolve) => {
        execFile(process.execPath, [cli, 'replay', ...args], (err, stdout) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 2) : 0, stdout }),
        )
      })
    const reproduce = await run([dir, '--bundle-store', store])
    expect(reproduce).toMatchObject({ code: 0 })
    expect(reproduce.stdout).toMatch(/^reproduce: 600\/600 decisions reproduced, 0 differ/)
    const whatIf = await run([dir, '--against', candidate.path, '--fail-on', 'none', '--format', 'json'])
    expect(whatIf.code).toBe(0)
    expect(JSON.parse(whatIf.stdout)).toMatchObject({ mode: 'what-if', events: 600 })
    expect((await run([dir, '--bundle-store', join(dir, 'nothing-here')])).code).toBe(1)
  })

  it('reports decisions whose bundle is not in the store', async () => {
    const report = await replayLog([dir], { bundleStore: join(dir, 'empty-store') })
    expect(report.same).toBe(0)
    expect(Object.values(report.missingBundles)).toEqual([600])
  })

  it('a tampered result is reported as a difference on replay', async () => {
    const { readdir, readFile, writeFile } = await import('node:fs/promises')
    const copy = await mkdtemp(join(tmpdir(), 'mcp-policy-replay-tamper-'))
    const file = (await readdir(dir)).find((f) => f.endsWith('.jsonl'))!
    const lines = (await readFile(join(dir, file), 'utf8')).trim().split('\n')
    const index = lines.findIndex((l) => JSON.parse(l).result.allow === false)
    const event = JSON.parse(lines[index]!)
    event.result = { allow: true, status: 200, reasons: [], obligations: {} }
    lines[index] = JSON.stringify(event)
    await writeFile(join(copy, file), `${lines.join('\n')}\n`)
    const report = await replayLog([copy], { bundleStore: store })
    expect(report.differences).toEqual([
      expect.objectContaining({ seq: event.seq, change: 'allow→deny', line: index + 1 }),
    ])
  })

  it('a line whose input is not JSON is skipped, never evaluated as if there were no input; an escaped input key is read as JSON.parse reads it', async () => {
    const { readdir, readFile, writeFile } = await import('node:fs/promises')
    const copy = await mkdtemp(join(tmpdir(), 'mcp-policy-replay-split-'))
    const file = (await readdir(dir)).find((f) => f.endsWith('.jsonl'))!
    const lines = (await readFile(join(dir, file), 'utf8')).trim().split('\n')
    // Each line's input made unparseable in a way a nesting-only scan accepts.
    const broken = lines.slice(0, 4).map((line, i) => {
      const start = line.indexOf('"input":') + '"input":'.length
      const end = line.indexOf(',"labels":')
      const input = line.slice(start, end)
      return `${line.slice(0, start)}${[`${input.slice(0, -1)},}`, '{]', `${input}${input}`, `{"a":tru}`][i]}${line.slice(end)}`
    })
    // A denied request whose line gains an escaped `input` key holding an allowed request's input:
    // JSON.parse reads the escaped one, and so must replay.
    const denied = lines.findIndex((l) => JSON.parse(l).result.allow === false)
    const allowedInput = JSON.stringify(
      JSON.parse(lines.find((l) => JSON.parse(l).result.allow === true)!).input,
    )
    const escaped = lines[denied]!.replace(',"labels":', `,"\\u0069nput":${allowedInput},"labels":`)
    expect(JSON.parse(escaped).input).toEqual(JSON.parse(allowedInput))
    await writeFile(join(copy, file), `${[...broken, escaped].join('\n')}\n`)
    const report = await replayLog([copy], { bundleStore: store })
    expect(report.events).toBe(1)
    // With the input the scan saw (the line's own), the deny would reproduce; the escaped input makes
    // it differ (the allowed request needs a uuid the denied record never cached).
    expect(report.same).toBe(0)
    expect(report.differences).toEqual([expect.objectContaining({ line: 5 })])
  })
})
