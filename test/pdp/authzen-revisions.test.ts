import { readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type AuthzenEvaluation, AuthzenMapper, McpPolicyError } from '../../src/index.js'
import { buildReferenceBundle, startTestPdp, type TestPdp } from '../helpers/pdp.js'

// An AuthZEN PEP may describe a request of any MCP revision. A 2026-07-28 request carries its
// revision, client info and capabilities in its _meta, which the PEP copies into `context`; a
// PEP of an earlier revision knows them from initialize and names them in snake case. Either way
// the PDP sees the same input document, the revision recorded in it.

const subject = { type: 'user', id: 'alice', properties: { roles: ['developer'] } }
const action = { name: 'tools/call' }
const resource = { type: 'tool', id: 'get_issue', properties: { server: 'github', arguments: { number: 7 } } }
const client = { name: 'claude-code', version: '2.1.0' }
const capabilities = { elicitation: {} }

/** A tools/call of get_issue as a 2026-07-28 request states its envelope (its `_meta` members, as they are). */
const modern = (version = '2026-07-28'): AuthzenEvaluation => ({
  subject,
  action,
  resource,
  context: {
    'io.modelcontextprotocol/protocolVersion': version,
    'io.modelcontextprotocol/clientInfo': client,
    'io.modelcontextprotocol/clientCapabilities': capabilities,
    ticket: 'OPS-1',
  },
})

/** The same call as a 2025-11-25 PEP states it (revision and client from its session's initialize). */
const legacy = (version = '2025-11-25'): AuthzenEvaluation => ({
  subject,
  action,
  resource,
  context: {
    protocol_version: version,
    client_info: client,
    client_capabilities: capabilities,
    ticket: 'OPS-1',
  },
})

describe('AuthZEN mapping of MCP revisions', () => {
  const mapper = new AuthzenMapper({ servers: { github: { resource: 'https://mcp.example.com/github' } } })
  const now = new Date('2026-08-03T10:00:00Z')

  it('maps a 2026-07-28 request to the input document of the 2025-11-25 one, its revision recorded', () => {
    const fromModern = mapper.toInput(modern(), now)
    const fromLegacy = mapper.toInput(legacy(), now)
    expect(fromModern.mcp).toEqual({
      kind: 'request',
      method: 'tools/call',
      tool: { name: 'get_issue', arguments: { number: 7 } },
      protocol_version: '2026-07-28',
      client_info: client,
      client_capabilities: capabilities,
    })
    // Nothing else differs: the envelope is not left among the attributes.
    expect(fromModern).toEqual({ ...fromLegacy, mcp: { ...fromLegacy.mcp, protocol_version: '2026-07-28' } })
    expect(fromModern.context.attributes).toEqual({ ticket: 'OPS-1' })
    // Both spellings of one revision give one document.
    expect(mapper.toInput(legacy('2026-07-28'), now)).toEqual(fromModern)
  })

  it('accepts both spellings of a fact when they agree, and refuses them when they do not', () => {
    const both = modern()
    both.context = { ...both.context, protocol_version: '2026-07-28', client_info: { ...client } }
    expect(mapper.toInput(both, now)).toEqual(mapper.toInput(modern(), now))
    const torn = modern()
    torn.context = { ...torn.context, protocol_version: '2025-11-25' }
    expect(() => mapper.toInput(torn, now)).toThrow(/protocol_version.*disagree/)
  })

  it('checks the envelope as the normalizer checks a message: a revision identifier, client info strings', () => {
    const refused = (context: Record<string, unknown>) => {
      try {
        mapper.toInput({ subject, action, resource, context }, now)
      } catch (err) {
        expect(err).toBeInstanceOf(McpPolicyError)
        expect((err as McpPolicyError).code).toBe('ERR_PDP_BODY_INVALID')
        return (err as Error).message
      }
      throw new Error('the evaluation should have been refused')
    }
    expect(refused({ 'io.modelcontextprotocol/protocolVersion': 20260728 })).toMatch(/not a string/)
    expect(refused({ protocol_version: 'not a revision\n' })).toMatch(/revision identifier/)
    expect(refused({ 'io.modelcontextprotocol/clientInfo': { name: 7 } })).toMatch(/name is not a string/)
    expect(refused({ client_capabilities: ['sampling'] })).toMatch(/not an object/)
  })

  it('states no revision when the PEP names none (as before)', () => {
    const input = mapper.toInput({ subject, action, resource, context: { ticket: 'OPS-1' } }, now)
    expect(input.mcp).not.toHaveProperty('protocol_version')
    expect(input.context.attributes).toEqual({ ticket: 'OPS-1' })
  })
})

describe('AuthZEN evaluations of each revision through the PDP (reference policy)', () => {
  let pdp: TestPdp

  beforeAll(async () => {
    pdp = await startTestPdp((await buildReferenceBundle()).path)
  }, 120_000)

  afterAll(async () => {
    await pdp?.close()
  })

  async function evaluate(body: AuthzenEvaluation) {
    const res = await request(`${pdp.url}/access/v1/evaluation`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    expect(res.statusCode).toBe(200)
    return (await res.body.json()) as {
      decision: boolean
      context: { decision_id: string; reasons: { code: string }[] }
    }
  }

  it('decides alike for both revisions, judges an unknown one, and logs each revision as stated', async () => {
    const modernDecision = await evaluate(modern())
    const legacyDecision = await evaluate(legacy())
    expect(modernDecision.decision).toBe(true)
    expect(legacyDecision.decision).toBe(true)
    const unknown = await evaluate(modern('2099-01-01'))
    expect(unknown.decision).toBe(false)
    expect(unknown.context.reasons.map((r) => r.code)).toEqual(['protocol_version_unknown'])

    await pdp.log!.flush()
    const events = await readLog(pdp.logDir)
    const logged = (id: string) => events.find((e) => e.decision_id === id)?.input.mcp
    expect(logged(modernDecision.context.decision_id)).toMatchObject({
      protocol_version: '2026-07-28',
      client_info: client,
    })
    expect(logged(legacyDecision.context.decision_id)).toMatchObject({ protocol_version: '2025-11-25' })
    expect(logged(unknown.context.decision_id)).toMatchObject({ protocol_version: '2099-01-01' })
  })
})

async function readLog(
  dir: string,
): Promise<{ decision_id: string; input: { mcp: Record<string, unknown> } }[]> {
  const files = (await readdir(dir, { recursive: true })).filter((f) => f.endsWith('.jsonl'))
  const text = (await Promise.all(files.map((f) => readFile(join(dir, f), 'utf8')))).join('')
  return text
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line))
}
