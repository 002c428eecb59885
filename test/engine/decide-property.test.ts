import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { PolicyEngine } from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'

describe('decide() is total: any input yields a well-formed decision, never a throw', async () => {
  const built = await buildPolicy({
    rego: {
      'policy.rego': `package mcp

decision := {"allow": true, "status": 200, "reasons": [], "obligations": {}} if input.mcp.tool.name == "read_file"

default decision := {"allow": false, "status": 403, "reasons": [{"code": "not_granted", "message": "no grant"}], "obligations": {}}
`,
    },
  })
  const engine = await PolicyEngine.fromBundleFile(built.path, { maxInputBytes: 16 * 1024 })

  it('for arbitrary JSON values and arbitrary JSON text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.anything()), fc.string(), (value, text) => {
        for (const outcome of [engine.decide(value), engine.decideJson(text)]) {
          expect(typeof outcome.decision.allow).toBe('boolean')
          if (!outcome.decision.allow) expect(outcome.decision.reasons.length).toBeGreaterThan(0)
          expect(outcome.decision.status >= 400).toBe(!outcome.decision.allow)
          if (outcome.error) expect(outcome.decision.reasons[0]?.code).toBe(outcome.error.code)
        }
      }),
      { numRuns: 500 },
    )
  })

  it('only the granted tool is ever allowed', () => {
    fc.assert(
      fc.property(fc.string(), fc.jsonValue(), (name, args) => {
        const { decision } = engine.decide({ mcp: { tool: { name, arguments: args } } })
        expect(decision.allow).toBe(name === 'read_file')
      }),
      { numRuns: 500 },
    )
  })
})
