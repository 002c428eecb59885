import { mkdtemp, readFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import fc from 'fast-check'
import { beforeAll, describe, expect, it } from 'vitest'
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
import { buildReferenceBundle } from '../helpers/pdp.js'

// Issue #15 class 6, generated: for every argument the reference data types — by the tool's
// declared input schema (input_schema) or by an argument constraint (a range means a number, a
// pattern, path or analyzer a string, type: array a list) — a value of another type (the valid
// value in a list, as a string, in an object, null, a boolean, a number, a fraction for an
// integer, a lone element for a list) is always denied with a reason about that argument, while
// the same call with a value of the right type never is. Replay reproduces every decision.

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonType = 'string' | 'number' | 'integer' | 'boolean' | 'array' | 'object' | 'null'
interface Schema {
  type?: JsonType
  properties?: Record<string, Schema>
  required?: string[]
  items?: Schema
  minimum?: number
  enum?: Json[]
}
interface Constraint {
  type?: JsonType
  minimum?: number
  maximum?: number
  pattern?: string
  path_prefixes?: string[]
  denied_path_prefixes?: string[]
  analyze?: string
  url_hosts?: string[]
  relative_root?: string
}
interface Tool {
  input_schema?: Schema
  arguments?: Record<string, Constraint>
}

const data = JSON.parse(
  await readFile(join(import.meta.dirname, '../../bundles/default/data.json'), 'utf8'),
) as {
  mcp_data: { servers: Record<string, { tools: Record<string, Tool> }> }
}

/** Values that pass the reference policy's checks, by argument name. */
const KNOWN: Record<string, Json> = {
  path: '/srv/projects/app/a.md',
  paths: ['/srv/projects/app/a.md'],
  source: '/srv/projects/app/a.md',
  destination: '/srv/projects/app/b.md',
  url: 'https://docs.example.com/',
  sql: 'SELECT 1',
  head: 'main',
  branch: 'main',
  limit: 10,
  max_length: 100,
}

function validValue(name: string, schema: Schema | undefined, constraint: Constraint | undefined): Json {
  const type = schema?.type ?? constraint?.type ?? impliedType(constraint)
  const known = KNOWN[name]
  if (known !== undefined && (type === undefined || hasType(known, type))) return known
  if (schema?.enum?.length) return schema.enum[0]!
  switch (type) {
    case 'integer':
    case 'number':
      return Math.max(1, schema?.minimum ?? 1)
    case 'boolean':
      return false
    case 'array':
      return [validValue(`${name}[]`, schema?.items, undefined)]
    case 'object':
      return validArguments(schema, undefined)
    case 'null':
      return null
    default:
      return 'x'
  }
}

function validArguments(schema: Schema | undefined, constraints: Record<string, Constraint> | undefined) {
  const args: Record<string, Json> = {}
  for (const name of schema?.required ?? [])
    args[name] = validValue(name, schema?.properties?.[name], constraints?.[name])
  return args
}

/** The type a constraint's checks need when it declares none. */
function impliedType(constraint: Constraint | undefined): JsonType | undefined {
  if (!constraint) return undefined
  if (constraint.type) return constraint.type
  if (constraint.minimum !== undefined || constraint.maximum !== undefined) return 'number'
  if (
    constraint.pattern !== undefined ||
    constraint.path_prefixes !== undefined ||
    constraint.denied_path_prefixes !== undefined ||
    constraint.analyze !== undefined
  )
    return 'string'
  return undefined
}

function hasType(value: Json, type: JsonType): boolean {
  switch (type) {
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value)
    case 'array':
      return Array.isArray(value)
    case 'object':
      return value !== null && typeof value === 'object' && !Array.isArray(value)
    case 'null':
      return value === null
    default:
      return typeof value === type
  }
}

interface TypedArgument {
  server: string
  tool: string
  name: string
  types: JsonType[]
  args: Record<string, Json>
  valid: Json
}

const typed: TypedArgument[] = []
for (const [server, { tools }] of Object.entries(data.mcp_data.servers)) {
  for (const [tool, entry] of Object.entries(tools)) {
    const names = new Set([
      ...Object.keys(entry.input_schema?.properties ?? {}),
      ...Object.keys(entry.arguments ?? {}),
    ])
    for (const name of names) {
      const schema = entry.input_schema?.properties?.[name]
      const constraint = entry.arguments?.[name]
      const types = [schema?.type, impliedType(constraint)].filter((t): t is JsonType => t !== undefined)
      if (types.length === 0) continue
      const args = validArguments(entry.input_schema, entry.arguments)
      typed.push({ server, tool, name, types, args, valid: validValue(name, schema, constraint) })
    }
  }
}

/** A value of another JSON type than every type the argument must have. */
function confusions(arg: TypedArgument): fc.Arbitrary<Json> {
  const { valid } = arg
  const element = Array.isArray(valid) ? (valid[0] ?? 'x') : valid
  return fc
    .constantFrom<Json>(
      [valid],
      [[valid]],
      String(valid),
      JSON.stringify(valid),
      { value: valid },
      null,
      true,
      0,
      1.5,
      element,
      [],
      {},
    )
    .filter((value) => !arg.types.some((type) => hasType(value, type)))
}

const TYPE_REASONS = new Set([
  'arguments_invalid',
  'argument_type_mismatch',
  'argument_out_of_range',
  'argument_pattern_mismatch',
  'argument_path_denied',
  'argument_unparsable',
])

let key: DevKey
let built: { path: string; dir: string }
beforeAll(async () => {
  key = await createDevKey()
  built = await buildReferenceBundle()
}, 300_000)

describe('type confusion in tools/call arguments is always denied', () => {
  it('finds typed arguments in the reference data', () => {
    const names = typed.map((t) => `${t.server}.${t.tool}.${t.name}`)
    expect(names).toEqual(
      expect.arrayContaining([
        'postgres.query.limit',
        'postgres.query.sql',
        'fetch.fetch.url',
        'fetch.fetch.max_length',
        'filesystem.read_multiple_files.paths',
        'filesystem.read_text_file.head',
        'github.create_pull_request.head',
      ]),
    )
  })

  it('for each typed argument, a value of another type is denied for that argument; the right type is not', async () => {
    const engine = await PolicyEngine.fromBundleFile(built.path)
    const normalizer = new RequestNormalizer(
      defaultPdpConfig().normalize,
      new TokenVerifier({ issuers: [devIssuerConfig(key)] }),
    )
    const logDir = await mkdtemp(join(tmpdir(), 'mcp-policy-types-log-'))
    const log = await DecisionLog.open({ dir: logDir, durability: 'batch' })
    const service = new DecisionService({ engine, normalizer, log })
    const tokens = new Map<string, string>()
    for (const server of Object.keys(data.mcp_data.servers))
      tokens.set(
        server,
        await mintDevToken(key, {
          sub: 'alice',
          roles: ['developer', 'analyst'],
          aud: defaultServerResource(server),
          clientId: 'claude-desktop',
        }),
      )
    let id = 0
    const decide = (arg: TypedArgument, value: Json) =>
      service.decideMcp({
        server: arg.server,
        headers: { authorization: `Bearer ${tokens.get(arg.server)}` },
        message: JSON.stringify({
          jsonrpc: '2.0',
          id: ++id,
          method: 'tools/call',
          params: { name: arg.tool, arguments: { ...arg.args, [arg.name]: value } },
        }),
      })
    const typeReasons = (reasons: { code: string; message: string }[]) =>
      reasons.filter((r) => TYPE_REASONS.has(r.code))

    // Controls: every typed argument with a value of its type draws no type reason.
    for (const arg of typed) {
      const decision = await decide(arg, arg.valid)
      expect(typeReasons(decision.reasons), `${arg.tool}.${arg.name}=${JSON.stringify(arg.valid)}`).toEqual(
        [],
      )
    }

    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...typed).chain((arg) => fc.tuple(fc.constant(arg), confusions(arg))),
        async ([arg, value]) => {
          const decision = await decide(arg, value)
          const label = `${arg.server}.${arg.tool}.${arg.name}=${JSON.stringify(value)}`
          expect(decision.allow, label).toBe(false)
          const found = typeReasons(decision.reasons)
          expect(found.length, label).toBeGreaterThan(0)
          // The reason is about this argument (the schema names its pointer; the policy its name).
          expect(
            found.some((r) => r.message.includes(`/${arg.name}`) || r.message.includes(`'${arg.name}'`)),
            `${label}: ${JSON.stringify(found)}`,
          ).toBe(true)
        },
      ),
      { numRuns: 300 },
    )
    await log.close()

    // The validation is in each logged input: replay reproduces every decision.
    const report = await replayLog([logDir], { bundleStore: join(built.dir, 'store') })
    expect(report).toMatchObject({ events: id, same: id, differences: [] })
  }, 300_000)
})
