import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
import { applyRedactions } from '../../src/enforce/apply-redactions.js'
import { PolicyEngine } from '../../src/index.js'
import { buildReferenceBundle } from '../helpers/pdp.js'

// Issue #15 class 4 (response DLP), generated: a secret or personal datum placed anywhere in a
// tool result — a string value at any depth of content, structuredContent, _meta or a member the
// schema does not know, a member name, or the whole result as a bare string — is always found.
// From a public server to a public model every kind is redacted: the redacted result never holds
// it, and a member name that holds it blocks the result without the judgement repeating it.

const findings = {
  aws_access_key: 'AKIAIOSFODNN7EXAMPLE',
  jwt: 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U',
  private_key: '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\n-----END RSA PRIVATE KEY-----',
  email: 'jane.doe@example.com',
  card_number: '4111 1111 1111 1111',
  phone: '+14155550132',
}

/** Filler that is no finding of its own: lower-case letters and spaces. */
const filler = fc.stringMatching(/^[a-z ]{0,12}$/)
const plainKey = fc.stringMatching(/^[a-z]{1,8}$/)
const plainJson = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    filler,
    fc.integer({ min: 0, max: 99 }),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(plainKey, tie('value'), { maxKeys: 3 }),
  ),
})).value

type Step = { key: string } | { index: number }

/** Where the finding goes: a string value or a member name, down a path under a top-level member. */
const placement = fc.record({
  kind: fc.constantFrom(...(Object.keys(findings) as (keyof typeof findings)[])),
  where: fc.constantFrom('value', 'name', 'bare'),
  top: fc.constantFrom('content', 'structuredContent', '_meta', 'extra'),
  path: fc.array(
    fc.oneof(
      plainKey.map((key) => ({ key })),
      fc.nat(2).map((index) => ({ index })),
    ),
    {
      maxLength: 5,
    },
  ),
  left: filler,
  right: filler,
  around: fc.dictionary(plainKey, plainJson, { maxKeys: 3 }),
})

type Placement = typeof placement extends fc.Arbitrary<infer T> ? T : never

function build(p: Placement): unknown {
  const text = `${p.left} ${findings[p.kind]} ${p.right}`
  if (p.where === 'bare') return text
  let node: unknown = p.where === 'value' ? text : { [text]: 'x' }
  for (const step of [...p.path].reverse() as Step[]) {
    if ('key' in step) node = { [step.key]: node }
    else node = [...Array.from({ length: step.index }, (_, i) => i), node]
  }
  return {
    ...p.around,
    [p.top]: p.top === 'content' ? [{ type: 'text', text: 'ok', annotations: node }] : node,
  }
}

let engine: PolicyEngine
beforeAll(async () => {
  engine = await PolicyEngine.fromBundleFile((await buildReferenceBundle()).path.replace('x', 'x'))
}, 300_000)

describe('response DLP finds data wherever it sits in a result', () => {
  it('a public server to a public model: redacted from values, blocked in member names', () => {
    fc.assert(
      fc.property(placement, (p) => {
        const result = build(p)
        const secret = findings[p.kind]
        const { judgement } = engine.judgeResponse({
          request: { server: { id: 'fetch' } },
          result,
          destination: { model: 'public' },
        })
        const shown = JSON.stringify(result)
        if (p.where === 'name') {
          expect(judgement.allow, shown).toBe(false)
          expect(judgement.reasons.map((r) => r.code)).toContain('sensitive_data_blocked')
          // Neither the reasons nor the redactions repeat the member name.
          expect(JSON.stringify(judgement)).not.toContain(secret.slice(0, 12))
          return
        }
        expect(judgement.allow, shown).toBe(true)
        expect(judgement.reasons.map((r) => r.code)).toContain('sensitive_data_redacted')
        const redacted = applyRedactions(result, judgement.redactions)
        expect(redacted, shown).toBeDefined()
        expect(JSON.stringify(redacted)).not.toContain(JSON.stringify(secret).slice(1, -1))
      }),
      { numRuns: 400 },
    )
  })

  it('an internal server to a public model: every secret kind blocks the result wherever it is', () => {
    const secrets = fc.constantFrom('aws_access_key', 'jwt', 'private_key', 'card_number' as const)
    fc.assert(
      fc.property(placement, secrets, (p, kind) => {
        const { judgement } = engine.judgeResponse({
          request: { server: { id: 'github' } },
          result: build({ ...p, kind }),
          destination: { model: 'public' },
        })
        expect(judgement.allow).toBe(false)
        expect(judgement.reasons.map((r) => r.code)).toEqual(['sensitive_data_blocked'])
      }),
      { numRuns: 300 },
    )
  })
})
