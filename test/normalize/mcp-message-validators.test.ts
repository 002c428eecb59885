import {
  CallToolRequestParamsSchema,
  GetPromptRequestParamsSchema,
  JSONRPCMessageSchema,
  ReadResourceRequestParamsSchema,
} from '@modelcontextprotocol/sdk/types.js'
import { Ajv2020 } from 'ajv/dist/2020.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { compileMcpMessageValidators } from '../../src/normalize/mcp-message-validators.js'

const validators = compileMcpMessageValidators(new Ajv2020({ strict: true, allowUnionTypes: true }))

// Values near every branch of the SDK schemas: ids of each kind (and unsafe integers), _meta with
// and without a progress token or related task, result/error shapes, stray keys.
const id = fc.oneof(
  { arbitrary: fc.integer(), weight: 4 },
  { arbitrary: fc.string(), weight: 4 },
  fc.double(),
  fc.constantFrom(2 ** 53, -(2 ** 53), null, true),
)
const meta = fc.record(
  {
    progressToken: id,
    'io.modelcontextprotocol/related-task': fc.oneof(fc.record({ taskId: fc.string() }), fc.jsonValue()),
    other: fc.jsonValue(),
  },
  { requiredKeys: [] },
)
// Mostly valid field values (weight 4) with the occasional wrong one, so each schema sees both.
const mostly = <T>(valid: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: valid, weight: 4 }, { arbitrary: fc.jsonValue(), weight: 1 })
const params = fc.oneof(
  {
    arbitrary: fc.record(
      {
        _meta: mostly(meta),
        name: mostly(fc.string()),
        arguments: mostly(
          fc.oneof(fc.dictionary(fc.string(), fc.string()), fc.dictionary(fc.string(), fc.jsonValue())),
        ),
        uri: mostly(fc.webUrl()),
        task: mostly(
          fc.record({ ttl: fc.oneof(fc.double({ noNaN: true }), fc.string()) }, { requiredKeys: [] }),
        ),
      },
      { requiredKeys: [] },
    ),
    weight: 6,
  },
  { arbitrary: fc.jsonValue(), weight: 1 },
)
const jsonrpc = fc.oneof(
  { arbitrary: fc.constant('2.0'), weight: 8 },
  { arbitrary: fc.jsonValue(), weight: 1 },
)
const method = fc.oneof(
  { arbitrary: fc.constantFrom('tools/call', 'ping', 'notifications/progress'), weight: 8 },
  { arbitrary: fc.jsonValue(), weight: 1 },
)
const errorObject = fc.oneof(
  fc.record(
    {
      code: fc.oneof(fc.integer(), fc.double()),
      message: fc.oneof({ arbitrary: fc.string(), weight: 4 }, { arbitrary: fc.integer(), weight: 1 }),
      data: fc.jsonValue(),
    },
    { requiredKeys: ['code', 'message'] },
  ),
  fc.jsonValue(),
)
const rarely = <T>(value: fc.Arbitrary<T>) =>
  fc.oneof({ arbitrary: fc.constant(null), weight: 8 }, { arbitrary: value, weight: 1 })
// One of the four JSON-RPC kinds, mostly well-formed; sometimes with a key missing or a stray one.
const message = fc
  .tuple(
    fc.oneof(
      fc.record({ jsonrpc, id, method, params }, { requiredKeys: ['jsonrpc', 'id', 'method'] }),
      fc.record({ jsonrpc, method, params }, { requiredKeys: ['jsonrpc', 'method'] }),
      fc.record({
        jsonrpc,
        id,
        result: fc.oneof(fc.record({ _meta: meta }, { requiredKeys: [] }), fc.jsonValue()),
      }),
      fc.record({ jsonrpc, id, error: errorObject }, { requiredKeys: ['jsonrpc', 'error'] }),
    ),
    rarely(fc.constantFrom('jsonrpc', 'id', 'method', 'result', 'error')),
    rarely(fc.tuple(fc.constantFrom('extra', 'params', 'result', 'id'), fc.jsonValue())),
  )
  .map(([base, drop, add]) => {
    const value: Record<string, unknown> = { ...base }
    if (drop !== null) delete value[drop]
    if (add !== null) value[add[0]] = add[1]
    return value
  })

// JSON.parse(JSON.stringify(...)) gives what the normalizer sees: plain data as parsed from a body.
const asParsed = (value: unknown) => JSON.parse(JSON.stringify(value) ?? 'null')

/** Whether an object at any depth has an own "__proto__" key (as JSON.parse creates). */
function hasProtoKey(value: unknown): boolean {
  if (value === null || typeof value !== 'object') return false
  if (!Array.isArray(value) && Object.hasOwn(value, '__proto__')) return true
  return Object.values(value).some(hasProtoKey)
}

describe('the ajv validators compiled from the MCP SDK schemas', () => {
  it('give the same verdict as the SDK (zod) on JSON-RPC-shaped messages and on any JSON', () => {
    const verdicts = { valid: 0, invalid: 0 }
    fc.assert(
      fc.property(
        fc.oneof({ arbitrary: message, weight: 4 }, { arbitrary: fc.jsonValue(), weight: 1 }),
        (raw) => {
          const value = asParsed(raw)
          const sdk = JSONRPCMessageSchema.safeParse(value).success
          expect(validators.message(value)).toBe(sdk)
          verdicts[sdk ? 'valid' : 'invalid']++
        },
      ),
      { numRuns: 2000 },
    )
    // Both verdicts were reached often, so agreement is not vacuous.
    expect(verdicts.valid).toBeGreaterThan(100)
    expect(verdicts.invalid).toBeGreaterThan(100)
  })

  it('give the same verdict as the SDK on tools/call, resources/read and prompts/get params', () => {
    const valid = { toolCall: 0, resource: 0, prompt: 0 }
    fc.assert(
      fc.property(params, (raw) => {
        const value = asParsed(raw)
        const pairs = [
          ['toolCall', CallToolRequestParamsSchema],
          ['resource', ReadResourceRequestParamsSchema],
          ['prompt', GetPromptRequestParamsSchema],
        ] as const
        for (const [name, schema] of pairs) {
          const sdk = schema.safeParse(value).success
          const ours = validators[name](value)
          // zod skips an own "__proto__" key of a record (prompt arguments), so it accepts
          // {"__proto__": {}} where the schema asks for strings; ajv checks the key like any other
          // and refuses. Stricter is the safe side: there, ours may refuse what the SDK accepts, never
          // the other way round.
          if (hasProtoKey(value)) expect(!ours || sdk, `${name}: ${JSON.stringify(value)}`).toBe(true)
          else expect(ours, `${name}: ${JSON.stringify(value)}`).toBe(sdk)
          if (sdk) valid[name]++
        }
      }),
      { numRuns: 2000 },
    )
    expect(Math.min(valid.toolCall, valid.resource, valid.prompt)).toBeGreaterThan(50)
  })

  it('accept the messages MCP sends and refuse what JSON-RPC forbids', () => {
    expect(validators.message({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'x' } })).toBe(
      true,
    )
    expect(validators.message({ jsonrpc: '2.0', method: 'notifications/initialized' })).toBe(true)
    expect(validators.message({ jsonrpc: '2.0', id: 'a', result: {} })).toBe(true)
    expect(validators.message({ jsonrpc: '2.0', error: { code: -32700, message: 'parse error' } })).toBe(true)
    expect(validators.message({ jsonrpc: '1.0', id: 1, method: 'ping' })).toBe(false)
    expect(validators.message({ jsonrpc: '2.0', id: 1.5, method: 'ping' })).toBe(false)
    expect(validators.message({ jsonrpc: '2.0', id: 1, method: 'ping', stray: true })).toBe(false)
    expect(validators.message({ jsonrpc: '2.0', id: 1, method: 'ping', params: [] })).toBe(false)
  })
})
