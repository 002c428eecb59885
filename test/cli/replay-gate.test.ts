import { mkdir, mkdtemp, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { type DecisionEvent, DecisionLog, PolicyEngine } from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'
import { mcpPolicy } from '../helpers/run-cli.js'

// Grants by role; arguments named in data.sensitive are masked in the log (the redact obligation,
// as the reference policy does); tools in data.approval need a human's approval.
const policy = `package mcp

granted if {
	some role in input.subject.roles
	input.mcp.tool.name in data.grants[role]
}

redact contains concat("", ["/mcp/tool/arguments/", name]) if {
	some name, _ in input.mcp.tool.arguments
	name in data.sensitive
}

obligations["redact"] := sort(redact) if count(redact) > 0

obligations["require_approval"] := {"reason": "a write"} if {
	granted
	input.mcp.tool.name in data.approval
}

decision := {"allow": true, "status": 200, "reasons": [], "obligations": obligations} if granted

decision := {"allow": false, "status": 403, "reasons": [{"code": "not_granted", "message": "no grant"}], "obligations": obligations} if not granted
`
const hostileTool = '<img src=x onerror=alert(1)>|@security-team'
const data = {
  grants: { developer: ['get_issue', 'create_issue'], support: ['get_issue'] },
  sensitive: ['password'],
  approval: ['create_issue'],
}
const tools = ['get_issue', 'create_issue', 'delete_repo', hostileTool]
const roles = [['developer'], ['support']]

describe('mcp-policy replay --against as a CI gate (--fail-on, --summary)', async () => {
  const build = (revision: string, over: Partial<typeof data>) =>
    buildPolicy({ rego: { 'policy.rego': policy }, data: { ...data, ...over }, revision })
  const [recorded, same, tighter, wider, noApproval, moreMasking] = await Promise.all([
    build('v1', {}),
    build('same', {}),
    build('tighter', { grants: { developer: ['get_issue'], support: ['get_issue'] } }),
    build('wider', {
      grants: { developer: ['get_issue', 'create_issue'], support: ['get_issue', 'create_issue'] },
    }),
    build('no-approval', { approval: [] }),
    build('more-masking', { sensitive: ['password', 'token'] }),
  ])
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-replay-gate-'))
  const logDir = join(dir, 'log')
  const engine = await PolicyEngine.fromBundleFile(recorded.path)
  const log = await DecisionLog.open({ dir: logDir, durability: 'batch' })
  for (let i = 0; i < 32; i++) {
    const input = {
      mcp: {
        method: 'tools/call',
        // Every fourth request carries a password (masked in the log) and a token (not masked).
        tool: {
          name: tools[i % 4],
          arguments: i % 8 < 2 ? { password: 'hunter2', token: 't-1', n: i } : { n: i },
        },
      },
      subject: { id: `user-${i % 3}`, roles: roles[Math.floor(i / 4) % 2] },
      server: { id: 'github' },
    }
    const outcome = engine.decide(input)
    expect(outcome.error).toBeUndefined()
    // As DecisionService logs a decision: the redact obligation erases those arguments.
    await log.append({
      path: 'mcp/decision',
      input,
      result: outcome.decision,
      bundles: { default: { revision: outcome.bundle!.revision, digest: outcome.bundle!.digest } },
      nd_builtin_cache: outcome.ndBuiltinCache,
      redact: outcome.decision.obligations.redact,
    })
  }
  await log.close()
  const events = (
    await Promise.all(
      (
        await readdir(logDir)
      )
        .filter((f) => f.endsWith('.jsonl'))
        .map(async (f) => (await readFile(join(logDir, f), 'utf8')).trim().split('\n')),
    )
  )
    .flat()
    .map((line) => JSON.parse(line) as DecisionEvent)
  const replay = (...args: string[]) => mcpPolicy(['replay', logDir, ...args], dir)

  it('the log has masked requests, and every decision reproduces against the recorded bundle', async () => {
    expect(events.filter((e) => e.erased.length > 0).length).toBe(8)
    expect(JSON.stringify(events)).not.toContain('hunter2')
    const { code, stdout } = await replay('--bundle-store', join(recorded.dir, 'store'))
    expect(code, stdout).toBe(0)
    expect(stdout).toMatch(/^reproduce: 32\/32 decisions reproduced, 0 differ/)
  })

  it('the same policy passes the gate, masked requests included, and the summary says so', async () => {
    const summary = join(dir, 'same.md')
    const { code, stderr } = await replay('--against', same.path, '--fail-on', 'change', '--summary', summary)
    expect(code, stderr).toBe(0)
    expect(stderr).toContain('what-if gate (--fail-on change): passed: all 32 decisions unchanged')
    const md = await readFile(summary, 'utf8')
    expect(md).toMatch(/^## mcp-policy what-if: 0 of 32 decisions would change\n/)
    expect(md).toContain('**Gate passed** (`--fail-on change`): all 32 decisions unchanged')
  })

  it('tightening fails --fail-on change, passes deny-to-allow and none; without --fail-on it fails as change does', async () => {
    const change = await replay('--against', tighter.path, '--fail-on', 'change')
    expect(change.code).toBe(1)
    expect(change.stdout).toMatch(/^what-if: \d+\/32 decisions unchanged, 4 differ/)
    expect(change.stderr).toContain('what-if gate (--fail-on change): failed: 4 decisions of 32 would change')
    const denyToAllow = await replay('--against', tighter.path, '--fail-on', 'deny-to-allow')
    expect(denyToAllow.code).toBe(0)
    expect(denyToAllow.stderr).toContain(
      'passed: no decision would grant more (4 decisions changed otherwise)',
    )
    expect((await replay('--against', tighter.path, '--fail-on', 'none')).code).toBe(0)
    // Without --fail-on the what-if is a gate on any change (the default is change).
    const report = await replay('--against', tighter.path, '--format', 'json')
    expect(report.code).toBe(1)
    expect(JSON.parse(report.stdout)).toMatchObject({ changes: { 'allow→deny': 4, 'deny→allow': 0 } })
  })

  it('widening fails deny-to-allow; the summary lists each flip with its decision id and escapes the log', async () => {
    const summary = join(dir, 'wider.md')
    const { code, stderr } = await replay(
      '--against',
      wider.path,
      '--fail-on',
      'deny-to-allow',
      '--summary',
      summary,
    )
    expect(code).toBe(1)
    expect(stderr).toContain(
      'what-if gate (--fail-on deny-to-allow): failed: 4 denied decisions would be allowed',
    )
    const md = await readFile(summary, 'utf8')
    expect(md).toContain('**Gate failed** (`--fail-on deny-to-allow`): 4 denied decisions would be allowed')
    expect(md).toContain('| deny → allow | 4 |')
    const flipped = events.filter(
      (e) =>
        (e.input as { mcp: { tool: { name: string } } }).mcp.tool.name === 'create_issue' &&
        (e.result as { allow: boolean }).allow === false,
    )
    expect(flipped).toHaveLength(4)
    for (const e of flipped)
      expect(md).toContain(
        `| ${e.seq} | deny → allow | \`${e.decision_id}\`${e.erased.length > 0 ? ' *masked*' : ''} | \`tools/call\` | \`github/create_issue\` | \`${(e.input as { subject: { id: string } }).subject.id}\` | deny 403 \`not_granted\` → allow 200 |`,
      )
    expect(md).not.toContain('hunter2')
    expect(md).not.toContain('no grant') // reason messages stay out
  })

  it('a hostile tool name in the log stays text in its own cell of the summary', async () => {
    const summary = join(dir, 'hostile.md')
    // Every tool is granted to support: the hostile tool flips too.
    const all = await build('all', { grants: { developer: tools, support: tools } })
    expect((await replay('--against', all.path, '--fail-on', 'change', '--summary', summary)).code).toBe(1)
    const md = await readFile(summary, 'utf8')
    expect(md).toContain('`github/<img src=x onerror=alert(1)>\\|@security-team`')
    const outside = md.replace(/(`+)(?!`)([\s\S]*?[^`])\1(?!`)/g, '')
    expect(outside).not.toMatch(/<|@security/)
  })

  it('dropping an obligation keeps every allow but widens access: its own change kind with a +/− diff, failing both gates', async () => {
    const summary = join(dir, 'no-approval.md')
    const widened = await replay('--against', noApproval.path, '--fail-on', 'deny-to-allow')
    expect(widened.code).toBe(1)
    expect(widened.stderr).toContain(
      'what-if gate (--fail-on deny-to-allow): failed: 4 allowed decisions would grant more through obligations',
    )
    expect(widened.stdout).toMatch(/^what-if: 28\/32 decisions unchanged, 4 differ/)
    expect(widened.stdout).toContain('\u2212 require_approval {"reason":"a write"}')
    const { code, stdout } = await replay(
      '--against',
      noApproval.path,
      '--fail-on',
      'change',
      '--summary',
      summary,
      '--format',
      'json',
    )
    expect(code).toBe(1)
    const report = JSON.parse(stdout) as {
      changes: Record<string, number>
      widened: number
      differences: { change: string; widens: boolean; obligations: unknown }[]
    }
    expect(report.changes).toMatchObject({ obligations: 4, reasons: 0, 'deny→allow': 0 })
    expect(report.widened).toBe(4)
    for (const d of report.differences)
      expect(d).toMatchObject({
        change: 'obligations',
        widens: true,
        obligations: [
          { key: 'require_approval', added: [], removed: [{ reason: 'a write' }], effect: 'widens' },
        ],
      })
    const md = await readFile(summary, 'utf8')
    expect(md).toContain('| same allow, other obligations (permissions) | 4 |')
    expect(md).toContain('| allow 200; `require_approval` −`{"reason":"a write"}` (widens) |')
  })

  it('masking one more argument is a change, though the log erased the first one', async () => {
    const { code, stdout } = await replay(
      '--against',
      moreMasking.path,
      '--fail-on',
      'change',
      '--format',
      'json',
    )
    expect(code).toBe(1)
    const report = JSON.parse(stdout) as {
      differences: { masked: boolean; replayed: unknown; change: string; obligations: unknown }[]
    }
    expect(report.differences).toHaveLength(8)
    for (const d of report.differences) {
      expect(d.masked).toBe(true)
      expect(d.replayed).toMatchObject({
        obligations: { redact: ['/mcp/tool/arguments/password', '/mcp/tool/arguments/token'] },
      })
      // Masking more narrows access: an obligations change the deny-to-allow gate lets pass.
      expect(d).toMatchObject({
        change: 'obligations',
        obligations: [
          { key: 'redact', added: ['/mcp/tool/arguments/token'], removed: [], effect: 'narrows' },
        ],
      })
    }
    const narrowed = await replay('--against', moreMasking.path, '--fail-on', 'deny-to-allow')
    expect(narrowed.code).toBe(0)
    expect(narrowed.stderr).toContain('passed: no decision would grant more (8 decisions changed otherwise)')
  })

  it('a gate over a log with nothing to re-evaluate fails instead of passing vacuously', async () => {
    const empty = join(dir, 'empty')
    await mkdir(empty)
    const gated = await mcpPolicy(['replay', empty, '--against', same.path, '--fail-on', 'change'], dir)
    expect(gated.code).toBe(1)
    expect(gated.stderr).toContain('failed: no decision in the log could be re-evaluated')
    expect((await mcpPolicy(['replay', empty, '--against', same.path, '--fail-on', 'none'], dir)).code).toBe(
      0,
    )
  })

  it('errors exit 2: --fail-on without --against, an unknown setting, a missing candidate', async () => {
    const reproduce = await replay('--fail-on', 'none', '--bundle-store', join(recorded.dir, 'store'))
    expect(reproduce.code).toBe(2)
    expect(reproduce.stderr).toMatch(/ERR_CLI_USAGE: --fail-on applies to a what-if/)
    expect((await replay('--against', same.path, '--fail-on', 'sometimes')).code).toBe(2)
    const missing = await replay('--against', join(dir, 'nope.tar.gz'), '--fail-on', 'change')
    expect(missing.code).toBe(2)
    expect(missing.stderr).toMatch(/ERR_BUNDLE_NOT_FOUND/)
  })
})
