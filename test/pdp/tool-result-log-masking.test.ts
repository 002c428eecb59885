import { randomUUID } from 'node:crypto'
import { copyFile, mkdir, mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  buildBundle,
  DecisionLog,
  DecisionService,
  defaultPdpConfig,
  PolicyEngine,
  RequestNormalizer,
  replayLog,
} from '../../src/index.js'
import { policyRepoTemplate } from '../../src/scaffold/policy-repo-template.js'

// The reference policy keeps tool results out of the decision log unless
// data.mcp_data.masking.log_tool_results is true: the request and the judgement stay, and replay
// counts the event as withheld rather than as a difference.

const request = JSON.parse(
  await readFile(new URL('../fixtures/tools-call.json', import.meta.url), 'utf8'),
) as Record<string, unknown>

interface LoggedEvent {
  decision_id: string
  path: string
  input: { request?: unknown; result?: unknown; destination?: unknown }
  result: Record<string, unknown>
  erased: string[]
}

let dir: string
let store: string
let masking: PolicyEngine
let keeping: PolicyEngine

/** Builds the reference bundle with `log_tool_results` set as given (absent: the shipped data). */
async function build(name: string, logToolResults?: boolean): Promise<PolicyEngine> {
  const bundleDir = join(dir, name)
  await mkdir(bundleDir)
  await copyFile('bundles/default/.manifest', join(bundleDir, '.manifest'))
  const data = JSON.parse(await readFile('bundles/default/data.json', 'utf8'))
  if (logToolResults !== undefined) data.mcp_data.masking.log_tool_results = logToolResults
  await writeFile(join(bundleDir, 'data.json'), JSON.stringify(data))
  const built = await buildBundle({ bundleDir, out: join(dir, `${name}.tar.gz`), bundleStore: store })
  return PolicyEngine.fromBundleFile(built.path)
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mcp-policy-result-masking-'))
  store = join(dir, 'store')
  masking = await build('shipped')
  keeping = await build('keeping', true)
}, 180_000)

/** Judges one clean tool result carrying `marker` through a logging DecisionService. */
async function judgeClean(engine: PolicyEngine, marker: string) {
  const logDir = join(dir, `log-${randomUUID()}`)
  const log = await DecisionLog.open({ dir: logDir, durability: 'sync' })
  const service = new DecisionService({
    engine,
    normalizer: new RequestNormalizer(defaultPdpConfig().normalize),
    log,
  })
  const judged = await service.judgeResponse({
    request,
    result: {
      content: [{ type: 'text', text: `Issue created: ${marker}` }],
      structuredContent: { note: marker },
    },
    destination: { model: 'internal' },
  })
  await log.close()
  const files = (await readdir(logDir)).filter((f) => f.endsWith('.jsonl'))
  const text = (await Promise.all(files.map((f) => readFile(join(logDir, f), 'utf8')))).join('')
  const events = text
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LoggedEvent)
  const event = events.find((e) => e.decision_id === judged.decision_id)
  return { judged, text, event, logDir }
}

describe('tool results in the decision log (reference policy)', () => {
  it('shipped data says so explicitly: log_tool_results is false', async () => {
    const data = JSON.parse(await readFile('bundles/default/data.json', 'utf8'))
    expect(data.mcp_data.masking.log_tool_results).toBe(false)
  })

  it('masks a clean result by default: no result text in the log, the request and judgement stay', async () => {
    const marker = `clean-result-${randomUUID()}`
    const { judged, text, event, logDir } = await judgeClean(masking, marker)
    // Clean: nothing redacted, nothing blocked; the policy asks the log to drop the result.
    expect(judged).toMatchObject({ allow: true, redactions: [], reasons: [], log_redact: ['/result'] })
    expect(text).not.toContain(marker)
    expect(event).toBeDefined()
    expect(event!.path).toBe('mcp/response')
    expect(event!.erased).toEqual(['/result'])
    expect(event!.input.result).toBeUndefined()
    expect(event!.input.request).toMatchObject({ mcp: { tool: { name: 'create_issue' } } })
    expect(event!.input.destination).toEqual({ model: 'internal' })
    expect(event!.result).toEqual({ allow: true, redactions: [], reasons: [], log_redact: ['/result'] })

    // Replay: counted withheld (the policy's input is no longer whole), never as a difference.
    const report = await replayLog([logDir], { bundleStore: store })
    expect(report).toMatchObject({ events: 1, same: 0, withheld: 1, differing: 0, differences: [] })
    expect(report.missingBundles).toEqual({})
  })

  it('keeps the result when log_tool_results is true, and replay re-evaluates it exactly', async () => {
    const marker = `kept-result-${randomUUID()}`
    const { judged, text, event, logDir } = await judgeClean(keeping, marker)
    expect(judged).toEqual({ decision_id: judged.decision_id, allow: true, redactions: [], reasons: [] })
    expect(text).toContain(marker)
    expect(event!.erased).toEqual([])
    expect(event!.input.result).toMatchObject({ structuredContent: { note: marker } })
    expect(event!.result).toEqual({ allow: true, redactions: [], reasons: [] })

    const report = await replayLog([logDir], { bundleStore: store })
    expect(report).toMatchObject({ events: 1, same: 1, withheld: 0, differing: 0 })
  })

  it('what-if from a log that keeps results to the masking default: the masked judgement differs in log_redact only', async () => {
    const marker = `what-if-${randomUUID()}`
    const { logDir } = await judgeClean(keeping, marker)
    const report = await replayLog([logDir], { against: join(dir, 'shipped.tar.gz') })
    expect(report.differing).toBe(1)
    // Masking the result in the log is an obligation gained: a change that narrows access.
    expect(report.differences[0]).toMatchObject({
      change: 'obligations',
      widens: false,
      obligations: [{ key: 'log_redact', added: ['/result'], removed: [], effect: 'narrows' }],
      recorded: { allow: true, redactions: [], reasons: [] },
      replayed: { allow: true, redactions: [], reasons: [], log_redact: ['/result'] },
    })
  })

  it('with results kept, strings redacted from one array all leave the log (erased highest index first)', async () => {
    const logDir = join(dir, `log-${randomUUID()}`)
    const log = await DecisionLog.open({ dir: logDir, durability: 'sync' })
    const service = new DecisionService({
      engine: keeping,
      normalizer: new RequestNormalizer(defaultPdpConfig().normalize),
      log,
    })
    const emails = Array.from({ length: 12 }, (_, i) => `person${i}@example.com`)
    const judged = await service.judgeResponse({
      request,
      result: { content: [], structuredContent: { list: [...emails.map((e) => `mail ${e}`), 'no address'] } },
      destination: { model: 'public' },
    })
    await log.close()
    expect(judged.allow).toBe(true)
    expect(judged.redactions).toHaveLength(12)
    const text = (
      await Promise.all((await readdir(logDir)).map((f) => readFile(join(logDir, f), 'utf8')))
    ).join('')
    for (const email of emails) expect(text).not.toContain(email)
    const event = JSON.parse(text.trim()) as LoggedEvent
    // What was not redacted stays; the event counts as withheld in a replay.
    expect(event.input.result).toEqual({ content: [], structuredContent: { list: ['no address'] } })
    const report = await replayLog([logDir], { bundleStore: store })
    expect(report).toMatchObject({ events: 1, withheld: 1, differing: 0 })
  })

  it('a blocked result is withheld whatever the flag says', async () => {
    for (const engine of [masking, keeping]) {
      const logDir = join(dir, `log-${randomUUID()}`)
      const log = await DecisionLog.open({ dir: logDir, durability: 'sync' })
      const service = new DecisionService({
        engine,
        normalizer: new RequestNormalizer(defaultPdpConfig().normalize),
        log,
      })
      const judged = await service.judgeResponse({
        request,
        result: { content: [{ type: 'text', text: 'AWS_ACCESS_KEY_ID=AKIAIOSFODNN7EXAMPLE' }] },
        destination: { model: 'public' },
      })
      await log.close()
      expect(judged.allow).toBe(false)
      const text = (
        await Promise.all((await readdir(logDir)).map((f) => readFile(join(logDir, f), 'utf8')))
      ).join('')
      expect(text).not.toContain('AKIAIOSFODNN7EXAMPLE')
      const report = await replayLog([logDir], { bundleStore: store })
      expect(report).toMatchObject({ events: 1, withheld: 1, differing: 0 })
    }
  })
})

describe('tool results in the decision log (minimal init template)', () => {
  /** The minimal template's policy, built with `policy.log_tool_results` as given (absent: as scaffolded). */
  async function buildMinimal(logToolResults?: boolean): Promise<PolicyEngine> {
    const root = await mkdtemp(join(dir, 'minimal-'))
    for (const [path, content] of Object.entries(policyRepoTemplate)) {
      await mkdir(dirname(join(root, path)), { recursive: true })
      await writeFile(join(root, path), content)
    }
    const dataFile = join(root, 'bundles/default/data.json')
    const data = JSON.parse(await readFile(dataFile, 'utf8'))
    expect(data.policy.log_tool_results).toBe(false)
    if (logToolResults !== undefined) data.policy.log_tool_results = logToolResults
    await writeFile(dataFile, JSON.stringify(data))
    const built = await buildBundle({
      bundleDir: join(root, 'bundles/default'),
      regoDir: join(root, 'rego'),
      out: join(root, 'default.tar.gz'),
      bundleStore: store,
    })
    return PolicyEngine.fromBundleFile(built.path)
  }

  it('masks a clean result by default and keeps it with log_tool_results: true', async () => {
    const masked = await judgeClean(await buildMinimal(), `minimal-masked-${randomUUID()}`)
    expect(masked.judged).toMatchObject({ allow: true, log_redact: ['/result'] })
    expect(masked.text).not.toContain('minimal-masked-')
    expect(masked.event!.erased).toEqual(['/result'])
    expect(masked.event!.input.request).toMatchObject({ mcp: { tool: { name: 'create_issue' } } })
    expect(await replayLog([masked.logDir], { bundleStore: store })).toMatchObject({
      events: 1,
      withheld: 1,
      differing: 0,
    })

    const kept = await judgeClean(await buildMinimal(true), `minimal-kept-${randomUUID()}`)
    expect(kept.judged.log_redact).toBeUndefined()
    expect(kept.text).toContain('minimal-kept-')
    expect(await replayLog([kept.logDir], { bundleStore: store })).toMatchObject({
      events: 1,
      same: 1,
      withheld: 0,
    })
  }, 60_000)
})
