import { Ajv2020 } from 'ajv/dist/2020.js'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { McpPolicyError, RequestNormalizer } from '../../src/index.js'
import { readSchema } from '../../src/schemas.js'

const validateInput = new Ajv2020({ strict: true, allowUnionTypes: true }).compile(readSchema('input'))
const normalizer = new RequestNormalizer({
  servers: { s: { resource: 'https://mcp.example.com/s' } },
  defaultServer: 's',
})

const outcomes = { documents: 0, errors: 0 }

/** The property: a valid input document v1, or an McpPolicyError — nothing else, ever. */
async function validOrTypedError(envelope: Parameters<RequestNormalizer['normalize']>[0]): Promise<void> {
  try {
    const document = await normalizer.normalize(envelope)
    expect(validateInput(document), JSON.stringify(validateInput.errors)).toBe(true)
    outcomes.documents++
  } catch (err) {
    outcomes.errors++
    if (!(err instanceof McpPolicyError)) throw err
    expect(err.code).toMatch(/^ERR_NORMALIZE_/)
  }
}

const methods = fc.constantFrom(
  'initialize',
  'ping',
  'tools/list',
  'tools/call',
  'resources/read',
  'resources/subscribe',
  'prompts/get',
  'notifications/initialized',
  'completion/complete',
  'x/unknown',
)
const jsonRpcLike = fc.record(
  {
    // Mostly well-formed, so both the document and the error branch are exercised often.
    jsonrpc: fc.oneof({ arbitrary: fc.constant('2.0'), weight: 8 }, { arbitrary: fc.string(), weight: 1 }),
    id: fc.oneof(
      { arbitrary: fc.integer(), weight: 4 },
      { arbitrary: fc.string(), weight: 4 },
      fc.double(),
      fc.constant(null),
    ),
    method: fc.oneof({ arbitrary: methods, weight: 4 }, { arbitrary: fc.string(), weight: 1 }),
    params: fc.oneof(
      {
        arbitrary: fc.record(
          {
            name: fc.oneof(fc.string(), fc.integer()),
            arguments: fc.dictionary(fc.string(), fc.jsonValue()),
            uri: fc.oneof(fc.webUrl(), fc.string()),
          },
          { requiredKeys: [] },
        ),
        weight: 4,
      },
      { arbitrary: fc.jsonValue(), weight: 1 },
    ),
    result: fc.jsonValue(),
    error: fc.record({ code: fc.integer(), message: fc.string() }, { requiredKeys: [] }),
  },
  { requiredKeys: ['jsonrpc'] },
)

const requestLike = fc.record(
  {
    jsonrpc: fc.constant('2.0'),
    id: fc.oneof(fc.integer(), fc.string()),
    method: methods,
    params: fc.record(
      { name: fc.string(), arguments: fc.dictionary(fc.string(), fc.jsonValue()), uri: fc.webUrl() },
      { requiredKeys: [] },
    ),
  },
  { requiredKeys: ['jsonrpc', 'method'] },
)

describe('normalizer properties (fast-check)', () => {
  it('JSON-RPC-shaped messages, as objects and as text', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(requestLike, jsonRpcLike), async (message) => {
        await validOrTypedError({ message })
        await validOrTypedError({ message: JSON.stringify(message) })
      }),
      { numRuns: 400 },
    )
    // Both branches of the property were exercised, so neither can pass vacuously.
    expect(outcomes.documents).toBeGreaterThan(20)
    expect(outcomes.errors).toBeGreaterThan(20)
  })

  it('any JSON value, any string, any bytes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.jsonValue(),
        fc.string(),
        fc.uint8Array({ maxLength: 256 }),
        async (value, text, bytes) => {
          await validOrTypedError({ message: JSON.stringify(value) })
          await validOrTypedError({ message: text })
          await validOrTypedError({ message: bytes })
        },
      ),
      { numRuns: 300 },
    )
  })

  it('any headers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.dictionary(
          fc.oneof(
            fc.string(),
            fc.constantFrom('authorization', 'x-forwarded-for', 'traceparent', 'mcp-session-id'),
          ),
          fc.oneof(fc.string(), fc.array(fc.string())),
        ),
        async (headers) => {
          await validOrTypedError({
            message: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"t"}}',
            headers,
          })
        },
      ),
      { numRuns: 300 },
    )
  })
})
