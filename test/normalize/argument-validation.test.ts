import { describe, expect, it } from 'vitest'
import { compileBoundedSchema } from '../../src/normalize/argument-validation/bounded-schema.js'
import {
  NO_INPUT_SCHEMAS,
  toolInputSchemas,
  validateTool,
} from '../../src/normalize/argument-validation/tool-input-schemas.js'

// Issue #15 class 6: arguments are validated against the tool's declared inputSchema before
// policy. The schema comes from a server's catalog, so it is untrusted: these tests feed it
// hostile ones and time them.

const query = {
  type: 'object',
  properties: {
    sql: { type: 'string' },
    limit: { type: 'integer', minimum: 1 },
  },
  required: ['sql'],
}

describe('compileBoundedSchema', () => {
  it('accepts matching arguments and reports the first failure with its pointer and keyword', () => {
    const validate = compileBoundedSchema(query)
    expect(validate({ sql: 'select 1', limit: 10 })).toEqual({ valid: true })
    expect(validate({ sql: 'select 1', limit: [10] })).toEqual({
      valid: false,
      errors: [{ pointer: '/limit', keyword: 'type', message: 'must be integer' }],
    })
    expect(validate({ limit: 1 })).toEqual({
      valid: false,
      errors: [{ pointer: '', keyword: 'required', message: "must have required property 'sql'" }],
    })
  })

  it('reads $schema for the dialect: draft-07 (items as a list), 2019-09, 2020-12 by default', () => {
    const tuple = { type: 'array', items: [{ type: 'string' }], additionalItems: false }
    const draft07 = compileBoundedSchema({ $schema: 'http://json-schema.org/draft-07/schema#', ...tuple })
    expect(draft07(['a']).valid).toBe(true)
    expect(draft07(['a', 'b']).valid).toBe(false)
    const d2019 = compileBoundedSchema({
      $schema: 'https://json-schema.org/draft/2019-09/schema',
      type: 'object',
      properties: { a: { type: 'number' } },
      unevaluatedProperties: false,
    })
    expect(d2019({ a: 1 }).valid).toBe(true)
    expect(d2019({ a: 1, b: 2 }).valid).toBe(false)
    const d2020 = compileBoundedSchema({ prefixItems: [{ type: 'string' }], items: false })
    expect(d2020(['a']).valid).toBe(true)
    expect(d2020(['a', 1]).valid).toBe(false)
  })

  it('judges members named __proto__ or constructor as data, and never finds a property on the prototype', () => {
    const closed = compileBoundedSchema({
      type: 'object',
      properties: { a: {} },
      additionalProperties: false,
    })
    expect(closed(JSON.parse('{"__proto__": {"a": 1}}')).valid).toBe(false)
    expect(closed(JSON.parse('{"constructor": "x"}')).valid).toBe(false)
    const needs = compileBoundedSchema({ type: 'object', required: ['toString', 'constructor'] })
    expect(needs({}).valid).toBe(false)
  })

  it.each([
    ['not a schema', 'object', /not a JSON Schema/],
    ['a remote $ref', { $ref: 'https://schemas.example/x.json' }, /can't resolve reference|resolve/],
    ['a pattern RE2 does not accept (lookahead)', { type: 'string', pattern: '^(?=a)a$' }, /regexp|Perl/],
    ['an invalid schema', { type: 'no-such-type' }, /schema is invalid|must be equal/],
    ['too large', { enum: Array.from({ length: 20_000 }, (_, i) => `v${i}`) }, /characters long/],
    ['too deep', nest(40), /deeper than 32/],
    ['an $id fast-uri cannot serialize', { $id: 'urn:x', type: 'object' }, /URN|serialized/],
  ])('a schema that cannot be used (%s) fails every call with keyword schema', (_, schema, reason) => {
    const result = compileBoundedSchema(schema)({})
    expect(result.valid).toBe(false)
    expect(result.errors?.[0]?.keyword).toBe('schema')
    expect(result.errors?.[0]?.message).toMatch(reason)
  })

  it('each pattern is matched as itself, across schemas the same Ajv instance compiled', () => {
    const digits = compileBoundedSchema({ type: 'string', pattern: '^[0-9]+$' })
    const both = compileBoundedSchema({
      type: 'object',
      properties: { a: { type: 'string', pattern: '^a+$' }, b: { type: 'string', pattern: '^b+$' } },
    })
    expect(digits('123').valid).toBe(true)
    expect(digits('abc').valid).toBe(false)
    expect(both({ a: 'aa', b: 'bb' }).valid).toBe(true)
    expect(both({ a: 'aa', b: 'aa' })).toMatchObject({
      valid: false,
      errors: [{ pointer: '/b', keyword: 'pattern' }],
    })
  })

  it('patterns are RE2: a catastrophic-backtracking pattern on a long string takes milliseconds', () => {
    const validate = compileBoundedSchema({ type: 'string', pattern: '^(a+)+$' })
    const text = `${'a'.repeat(50_000)}!`
    const started = performance.now()
    expect(validate(text).valid).toBe(false)
    expect(performance.now() - started).toBeLessThan(500)
  })

  it('an exponential anyOf over recursive refs stops on its step budget, deterministically', () => {
    // Each level tries its first branch (which fails only at the bottom) and then the second:
    // 2^depth subschema applications without a budget.
    const schema = {
      $defs: {
        node: {
          anyOf: [
            { allOf: [{ properties: { next: { $ref: '#/$defs/node' } } }, { required: ['never'] }] },
            { type: 'object', properties: { next: { $ref: '#/$defs/node' } } },
          ],
        },
      },
      $ref: '#/$defs/node',
    }
    let data: Record<string, unknown> = {}
    for (let i = 0; i < 60; i++) data = { next: data }
    const validate = compileBoundedSchema(schema, { deadlineMs: 60_000 })
    const started = performance.now()
    const first = validate(data)
    expect(performance.now() - started).toBeLessThan(2000)
    expect(first).toEqual({
      valid: false,
      errors: [{ pointer: '', keyword: 'budget', message: expect.stringMatching(/validation steps/) }],
    })
    // The same arguments give the same outcome: the budget counts steps, not time.
    expect(validate(data)).toEqual(first)
    // A shallow document passes with the same schema.
    expect(validate({ next: { next: {} } })).toEqual({ valid: true })
  })

  it('the deadline ends work the steps do not measure', () => {
    const big = Array.from({ length: 3000 }, (_, i) => ({ k: i, v: 'x'.repeat(8) }))
    const validate = compileBoundedSchema(
      { type: 'array', items: { enum: big } },
      { deadlineMs: 5, baseSteps: 1e9 },
    )
    const data = Array.from({ length: 20_000 }, () => ({ k: -1 }))
    const started = performance.now()
    const result = validate(data)
    expect(performance.now() - started).toBeLessThan(1000)
    expect(result.valid).toBe(false)
  })

  it('uniqueItems on many objects costs n, not n²', () => {
    const validate = compileBoundedSchema({ type: 'array', uniqueItems: true })
    const distinct = Array.from({ length: 30_000 }, (_, i) => ({ b: i, a: [i] }))
    const started = performance.now()
    expect(validate(distinct).valid).toBe(true)
    expect(performance.now() - started).toBeLessThan(1000)
    // Equal JSON values are duplicates whatever their key order.
    expect(
      validate([
        { a: 1, b: 2 },
        { b: 2, a: 1 },
      ]).valid,
    ).toBe(false)
  })

  it('masks a credential in a reported pointer and cuts long texts', () => {
    const validate = compileBoundedSchema({ type: 'object', additionalProperties: { type: 'string' } })
    const jwt = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U'
    const result = validate({ [jwt]: 1 })
    expect(result.errors?.[0]?.pointer).toBe('/[REDACTED]')
    const long = validate({ ['k'.repeat(1000)]: 1 })
    expect(long.errors?.[0]?.pointer.length).toBeLessThanOrEqual(256)
  })

  it('compiles a schema at the subschema bound in well under a second; one more is unusable', () => {
    const schema = (n: number) => ({
      type: 'object',
      properties: Object.fromEntries(
        Array.from({ length: n }, (_, i) => [`p${i}`, { type: 'string', maxLength: 10 }]),
      ),
    })
    compileBoundedSchema(schema(2)) // Ajv's first compile loads its code generator
    const started = performance.now()
    const validate = compileBoundedSchema(schema(511))
    expect(validate({ p1: 'x' }).valid).toBe(true)
    expect(performance.now() - started).toBeLessThan(1000)
    expect(compileBoundedSchema(schema(512))({}).errors?.[0]).toMatchObject({
      keyword: 'schema',
      message: expect.stringMatching(/more than 512 subschemas/),
    })
  })
})

describe('toolInputSchemas', () => {
  const data = {
    mcp_data: {
      servers: {
        postgres: { tools: { query: { input_schema: query }, list_tables: {} } },
        odd: { tools: { typo: { input_schema: 'object' } } },
      },
    },
  }

  it('validates declared tools, and nothing for a tool without input_schema', () => {
    const schemas = toolInputSchemas(data)
    expect(schemas.validate('postgres', 'query', { sql: 'x' })).toEqual({ valid: true })
    expect(schemas.validate('postgres', 'list_tables', { anything: 1 })).toBeUndefined()
    expect(schemas.validate('github', 'query', {})).toBeUndefined()
    expect(schemas.validate('odd', 'typo', {})?.errors?.[0]?.keyword).toBe('schema')
  })

  it('data with no schemas validates nothing; odd data shapes are ignored', () => {
    expect(toolInputSchemas({})).toBe(NO_INPUT_SCHEMAS)
    expect(toolInputSchemas({ mcp_data: { servers: [] } })).toBe(NO_INPUT_SCHEMAS)
    expect(toolInputSchemas(JSON.parse('{"mcp_data":{"servers":{"__proto__":{"tools":{}}}}}'))).toBe(
      NO_INPUT_SCHEMAS,
    )
  })

  it('validateTool replaces a validation the tool held with the validator’s own', () => {
    const tool: { name: string; arguments: Record<string, unknown>; validation?: unknown } = {
      name: 'query',
      arguments: { sql: 1 },
      validation: { valid: true },
    }
    validateTool(toolInputSchemas(data), 'postgres', tool as Parameters<typeof validateTool>[2])
    expect(tool.validation).toMatchObject({ valid: false })
    const other: typeof tool = { name: 'list_tables', arguments: {}, validation: { valid: true } }
    validateTool(toolInputSchemas(data), 'postgres', other as Parameters<typeof validateTool>[2])
    expect(other).not.toHaveProperty('validation')
  })
})

function nest(depth: number): unknown {
  let schema: unknown = { type: 'string' }
  for (let i = 0; i < depth; i++) schema = { type: 'object', properties: { a: schema } }
  return schema
}
