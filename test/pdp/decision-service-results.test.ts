import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import {
  DecisionLog,
  DecisionService,
  defaultPdpConfig,
  PolicyEngine,
  REJECTED_PATH,
  RequestNormalizer,
} from '../../src/index.js'
import { buildReferenceBundle } from '../helpers/pdp.js'

let engine: PolicyEngine
let bundleDir: string
const request = JSON.parse(
  await readFile(new URL('../fixtures/tools-call.json', import.meta.url), 'utf8'),
) as Record<string, unknown>

beforeAll(async () => {
  const bundle = await buildReferenceBundle()
  bundleDir = bundle.dir
  engine = await PolicyEngine.fromBundleFile(bundle.path)
}, 120_000)

/** A value nested `depth` levels deep (objects), with a string at the bottom. */
function nested(depth: number): unknown {
  let value: unknown = 'bottom'
  for (let i = 1; i < depth; i++) value = { next: value }
  return value
}

describe('DecisionService.judgeResponse on results from anywhere', () => {
  it('refuses a result nested deeper than the bound, and logs the refusal', async () => {
    const dir = join(bundleDir, `log-${Date.now()}`)
    const log = await DecisionLog.open({ dir, durability: 'sync' })
    const service = new DecisionService({
      engine,
      normalizer: new RequestNormalizer(defaultPdpConfig().normalize),
      log,
    })
    const deep = await service.judgeResponse({
      request,
      result: { content: [], structuredContent: nested(65) },
      destination: { model: 'internal' },
    })
    expect(deep.allow).toBe(false)
    expect(deep.reasons.map((r) => r.code)).toEqual(['ERR_NORMALIZE_TOO_DEEP'])

    // At the bound itself the policy judges it (a clean result is allowed).
    const atBound = await service.judgeResponse({
      request,
      result: { content: [], structuredContent: nested(62) },
      destination: { model: 'internal' },
    })
    expect(atBound.reasons).toEqual([])
    expect(atBound.allow).toBe(true)

    await log.close()
    const files = (await readdir(dir)).filter((f) => f.endsWith('.jsonl'))
    const events = (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8'))))
      .join('')
      .split('\n')
      .filter(Boolean)
      .map((line) => JSON.parse(line) as { decision_id: string; path: string })
    expect(events.find((e) => e.decision_id === deep.decision_id)?.path).toBe(REJECTED_PATH)
    expect(events.find((e) => e.decision_id === atBound.decision_id)?.path).toBe('mcp/response')
  })
})
