import { createRequire } from 'node:module'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { evaluateDirect } from '../../src/engine/policy-instance.js'
import { loadBundle } from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'

const sdk = createRequire(import.meta.url)(
  '@open-policy-agent/opa-wasm',
) as typeof import('@open-policy-agent/opa-wasm')

describe('evaluateDirect agrees with the SDK evaluate it replaces', async () => {
  const built = await buildPolicy({
    rego: {
      'policy.rego': `package mcp

decision := {"allow": count(input.items) > 2, "reasons": [{"code": "few", "message": sprintf("%d items", [count(input.items)])}], "echo": input}
`,
    },
  })
  const bundle = await loadBundle(built.path)
  const viaSdk = await sdk.loadPolicy(bundle.wasm as Uint8Array<ArrayBuffer>, 5, {})
  const direct = await sdk.loadPolicy(bundle.wasm as Uint8Array<ArrayBuffer>, 5, {})

  it('on arbitrary inputs, including multi-byte text and inputs larger than the initial memory', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue(), { maxLength: 20 }),
        fc.string({ unit: 'grapheme' }),
        (items, text) => {
          const input = { items, text }
          expect(evaluateDirect(direct, 'mcp/decision', JSON.stringify(input))).toEqual(
            viaSdk.evaluate(input, 'mcp/decision'),
          )
        },
      ),
      { numRuns: 300 },
    )
    const big = { items: Array.from({ length: 50_000 }, (_, i) => `€${i}`), text: 'x' }
    expect(evaluateDirect(direct, 'mcp/decision', JSON.stringify(big))).toEqual(
      viaSdk.evaluate(big, 'mcp/decision'),
    )
  })

  it('without input', () => {
    expect(evaluateDirect(direct, 'mcp/decision', undefined)).toEqual(
      viaSdk.evaluate(undefined, 'mcp/decision'),
    )
  })
})

describe('evaluateDirect without input keeps the module memory intact', async () => {
  // Regression: with no input the heap was placed at address 0, so each evaluation wrote over the
  // data and the module's own structures; later evaluations then returned wrong values.
  const built = await buildPolicy({
    rego: {
      'policy.rego': `package mcp

decision := {"allow": true, "reasons": [], "names": sorted_names, "count": count(data.people)}

sorted_names := sort([concat(" ", [p.first, p.last]) | some p in data.people])
`,
    },
    data: { people: Array.from({ length: 200 }, (_, i) => ({ first: `first-${i}`, last: `last-${i}` })) },
  })
  const bundle = await loadBundle(built.path)
  const viaSdk = await sdk.loadPolicy(bundle.wasm as Uint8Array<ArrayBuffer>, 5, {})
  viaSdk.setData(bundle.data as object)
  const direct = await sdk.loadPolicy(bundle.wasm as Uint8Array<ArrayBuffer>, 5, {})
  direct.setData(bundle.data as object)

  it('many evaluations without input, interleaved with evaluations with input, agree with the SDK', () => {
    const expected = viaSdk.evaluate(undefined, 'mcp/decision')
    for (let i = 0; i < 50; i++) {
      expect(evaluateDirect(direct, 'mcp/decision', undefined)).toEqual(expected)
      expect(evaluateDirect(direct, 'mcp/decision', JSON.stringify({ i }))).toEqual(expected)
    }
  })
})
