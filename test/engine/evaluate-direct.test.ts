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
