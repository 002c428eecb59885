import { mkdtemp, readdir, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { DEFAULT_SENSITIVE_NAMES } from '../../src/audit/sensitive-names.js'
import {
  createDevKey,
  DecisionLog,
  DecisionService,
  type DevKey,
  defaultPdpConfig,
  defaultServerResource,
  devIssuerConfig,
  mintDevToken,
  PolicyEngine,
  RequestNormalizer,
  replayLog,
  TokenVerifier,
} from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'
import { buildReferenceBundle } from '../helpers/pdp.js'

// Issue #15 class 4, generated: a member with a sensitive name (any case), holding a secret, at a
// random depth of a random method's params — allowed, denied, unauthenticated, or decided by a
// policy that fails (its decision malformed, so it carries no `redact` obligation) — never reaches
// a decision-log line. Tool results that a policy keeps in the log are searched the same way.
// Replay reproduces every decision of the reference policy from the masked log.

const referenceNames = JSON.parse(
  await readFile(join(import.meta.dirname, '../../bundles/default/data.json'), 'utf8'),
).mcp_data.masking.sensitive_arguments as string[]

/** A sensitive name from the reference list, each letter's case chosen at random. */
const sensitiveName = fc
  .tuple(fc.constantFrom(...referenceNames), fc.array(fc.boolean(), { minLength: 20, maxLength: 20 }))
  .map(([name, upper]) => [...name].map((c, i) => (upper[i] ? c.toUpperCase() : c)).join(''))

/** A secret no other rule would mask (not shaped like a token): letters and digits only. */
const secret = fc.stringMatching(/^[a-z0-9]{18}$/).map((s) => `zq${s}`)

/** Keys that are neither sensitive nor checked by the policy: where a secret is nested. */
const plainKey = fc.constantFrom('options', 'creds', 'config', 'x', 'nested', 'extra', 'b', 'settings')

/** The secret under `name`, wrapped in `depth` random objects and arrays. */
const nestedSecret = fc
  .record({
    name: sensitiveName,
    secret,
    path: fc.array(fc.oneof(plainKey, fc.integer({ min: 0, max: 2 })), { maxLength: 6 }),
  })
  .map(({ name, secret, path }) => {
    let value: unknown = { [name]: secret }
    for (const step of [...path].reverse()) {
      if (typeof step === 'number') {
        const list: unknown[] = Array.from({ length: step }, (_, i) => ({ filler: i }))
        list.push(value)
        value = list
      } else value = { [step]: value }
    }
    return { name, secret, value }
  })

const targets = [
  { server: 'fetch', method: 'tools/call', name: 'fetch', base: { url: 'https://docs.example.com/' } },
  { server: 'postgres', method: 'tools/call', name: 'query', base: { sql: 'SELECT 1' } },
  { server: 'filesystem', method: 'tools/call', name: 'read_file', base: { path: '/srv/projects/a.md' } },
  {
    server: 'github',
    method: 'tools/call',
    name: 'get_issue',
    base: { owner: 'acme', repo: 'app', issue_number: 1 },
  },
  { server: 'github', method: 'tools/call', name: 'delete_repository', base: { owner: 'acme', repo: 'app' } },
  { server: 'docs', method: 'prompts/get', name: 'rotate_credentials', base: { service: 'billing' } },
  { server: 'docs', method: 'resources/read', name: undefined, base: {} },
  { server: 'github', method: 'completion/complete', name: undefined, base: {} },
  { server: 'github', method: 'notifications/message', name: undefined, base: {} },
  { server: 'github', method: 'no/such/method', name: undefined, base: {} },
] as const

const callers = ['developer', 'support', 'analyst', 'anonymous', 'wrong-audience'] as const

let key: DevKey
let reference: { engine: PolicyEngine; dir: string }
let failing: PolicyEngine

beforeAll(async () => {
  key = await createDevKey()
  const built = await buildReferenceBundle()
  reference = { engine: await PolicyEngine.fromBundleFile(built.path), dir: built.dir }
  // A policy whose decision is malformed (every request is ERR_DECISION_MALFORMED, no obligations)
  // and that keeps tool results in the log, with no masking data: the log rule's own list applies.
  const broken = await buildPolicy({
    rego: {
      'broken.rego':
        'package mcp\n\ndecision := {"allow": "yes"}\n\nresponse := {"allow": true, "reasons": [], "redactions": []}\n',
    },
  })
  failing = await PolicyEngine.fromBundleFile(broken.path)
}, 300_000)

describe('sensitive names never reach the decision log', () => {
  it('at any depth, for every method and outcome, through the reference policy and a failing one', async () => {
    const logDirs = {
      reference: await mkdtemp(join(tmpdir(), 'mcp-policy-mask-ref-')),
      failing: await mkdtemp(join(tmpdir(), 'mcp-policy-mask-fail-')),
    }
    const normalizer = new RequestNormalizer(
      defaultPdpConfig().normalize,
      new TokenVerifier({ issuers: [devIssuerConfig(key)] }),
    )
    const logs = {
      reference: await DecisionLog.open({ dir: logDirs.reference, durability: 'batch' }),
      failing: await DecisionLog.open({ dir: logDirs.failing, durability: 'batch' }),
    }
    const services = {
      reference: new DecisionService({ engine: reference.engine, normalizer, log: logs.reference }),
      failing: new DecisionService({ engine: failing, normalizer, log: logs.failing }),
    }
    const secrets: string[] = []
    const outcomes = new Set<string>()
    let id = 0

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...targets),
        fc.constantFrom(...callers),
        fc.constantFrom('reference', 'failing'),
        nestedSecret,
        fc.boolean(),
        async (target, caller, policy, nested, withResult) => {
          secrets.push(nested.secret)
          const args = { ...target.base, ...(nested.value as Record<string, unknown>) }
          const params: Record<string, unknown> =
            target.method === 'tools/call' || target.method === 'prompts/get'
              ? { name: target.name, arguments: args }
              : target.method === 'resources/read'
                ? { uri: 'docs://handbook/intro', ...args }
                : args
          const message = { jsonrpc: '2.0', id: ++id, method: target.method, params }
          const headers: Record<string, string> = {}
          if (caller !== 'anonymous') {
            const token = await mintDevToken(key, {
              sub: caller,
              roles: caller === 'wrong-audience' ? ['developer'] : [caller],
              aud: defaultServerResource(caller === 'wrong-audience' ? 'elsewhere' : target.server),
              clientId: 'claude-desktop',
            })
            headers.authorization = `Bearer ${token}`
          }
          const service = services[policy]
          const facts = { server: target.server, headers, message: JSON.stringify(message) }
          const decided = await service.decideMcp(facts)
          outcomes.add(`${policy}:${decided.allow ? 'allow' : (decided.reasons[0]?.code ?? '?')}`)
          if (withResult && target.method === 'tools/call') {
            // The result carries the secret under the sensitive name too; the failing policy's
            // judgement keeps results in the log, so only the name rule keeps the secret out.
            await service.judgeResponse({
              facts,
              result: { content: [{ type: 'text', text: 'ok' }], structuredContent: nested.value },
            })
          }
        },
      ),
      { numRuns: 200 },
    )
    await logs.reference.close()
    await logs.failing.close()

    // The run covered allowed and denied requests, unauthenticated ones, and the failing policy.
    expect([...outcomes].some((o) => o === 'reference:allow')).toBe(true)
    expect([...outcomes].some((o) => o.startsWith('reference:') && o !== 'reference:allow')).toBe(true)
    expect(outcomes).toContain('reference:unauthenticated')
    expect(outcomes).toContain('failing:ERR_DECISION_MALFORMED')

    for (const dir of Object.values(logDirs)) {
      for (const file of await readdir(dir)) {
        if (!file.endsWith('.jsonl')) continue
        const text = await readFile(join(dir, file), 'utf8')
        for (const found of secrets) expect(text.includes(found), `${found} in ${file}`).toBe(false)
      }
    }

    // The masked log replays: every decision of the reference policy is reproduced.
    const report = await replayLog([logDirs.reference], { bundleStore: join(reference.dir, 'store') })
    expect(report.differences).toEqual([])
    expect(report.same + report.withheld + report.rejected).toBe(report.events)
  }, 300_000)

  it('the built-in list is the reference data’s', () => {
    expect([...DEFAULT_SENSITIVE_NAMES].sort()).toEqual([...referenceNames].sort())
  })
})
