import { beforeAll, describe, expect, it } from 'vitest'
import { opaBinary } from '../../helpers/opa-binary.js'
import { type Call, opaAnswers, ourAnswer } from './opa-answers.js'

/**
 * The `graphql.*` builtins (graphql-js underneath) against a real `opa eval` (vektah/gqlparser
 * underneath): whole ASTs in gqlparser's JSON shape, validity verdicts for schemas and queries,
 * AST objects fed back in place of text, wrong types, and hostile input whose cost stays bounded.
 */
let opa: string

beforeAll(async () => {
  opa = await opaBinary()
}, 120_000)

const schema = `
"desc" schema @d { query: Query mutation: M }
extend schema @e { subscription: S }
"""block desc""" type Query implements A & B @k(x: 1) { "fd" f(a: Int = 3 @dep): [String!]! g: Int }
interface A implements B { f: Int }
union U = X | Y
enum E { A "d" B @deprecated }
input I { a: Int = 1 b: [I] }
scalar Sc @specifiedBy(url: "x")
directive @k(x: Int) repeatable on FIELD_DEFINITION | OBJECT
directive @plain on FIELD
extend type Query { h: Int }
extend scalar Sc @x
`

const query = `
query Q($a: [Int!]! = [1], $b: String = "x", $c: I) @dir(x: 1.5) {
  f: field(a: $a, b: {c: null, d: true, e: ENUMV, s: """block
  str""", l: [], o: {}}) { ...Frag ... on T @skip(if: true) { x } ... { y } }
}
fragment Frag on T { y }
mutation { m }
subscription S { s }
`

const employees = `
type Employee { id: String! salary: Int! manager: Employee }
schema { query: Query }
type Query { employeeByID(id: String): Employee employees(first: Int!): [Employee!]! }
`

/** Block strings, where gqlparser's indentation rule differs from the spec's (first line counts). */
const blockStrings = [
  '  """',
  '    Multi',
  '      line\r',
  '    \\""" quoted',
  '',
  '  """',
  '  type T { """first',
  '   second""" f(a: String = """  x',
  '    y""" b: String = """\ta\n\t\tb"""): Int }',
].join('\n')

const good = '{ employeeByID(id: "alice") { id salary manager { id } } }'
const goodVars = 'query Q($n: Int!) { employees(first: $n) { ...E } } fragment E on Employee { id }'
const bad = [
  '{ employeeByID(id: "alice") { id secret } }',
  '{ employeeByID(id: 1) { id } }',
  '{ employees { id } }',
  '{ employeeByID { manager } }',
  'query Q($n: Int) { employees(first: $n) { id } }',
  'query Q($unused: Int) { employees(first: 1) { id } }',
  '{ ...Missing }',
  'fragment Unused on Employee { id } { employees(first: 1) { id } }',
  'mutation { employees(first: 1) { id } }',
  '{ a: employeeByID(id: "a") { id } a: employeeByID(id: "b") { id } }',
  '{ employees(first: 1) { id @unknown } }',
  '{ employees(first: 1) { id @skip(if: true) @skip(if: false) } }',
  '{ employees(first: 1) { ... @defer { id } } }',
  '{ employees(first: 1) { id @include } }',
  '{ __schema { types { name } } }',
  '{ __typename employees(first: 1) { __typename } }',
  '{ employees(first: 1, first: 2) { id } }',
  'query A { employees(first: 1) { id } } query A { employees(first: 2) { id } }',
  '{ employees(first: 1) { id } } { employees(first: 2) { id } }',
  'query Q($v: Employee) { employees(first: 1) { id } }',
  'fragment F on Employee { ...F } { employees(first: 1) { ...F } }',
  '{ employees(first: 1) { ... on Query { __typename } } }',
  '{ employees(first: 1) { id(x: 1) } }',
  '{ employees(first: "1") { id } }',
]

const schemas = [
  employees,
  'type Query { a: Int }',
  'scalar Hello',
  'extend type User { id: ID! } union U = User type Query { u: U }',
  'type Query { a: Undefined }',
  'type Query { a: Int } type Query { b: Int }',
  'scalar String',
  'type Query { a: Int } schema { query: Missing }',
  'interface I { a: Int } type Query implements I { b: Int }',
  'type Query { a: Int @unknown }',
  'enum E { A A }',
  'input I { a: I! } type Query { f(i: I): Int }',
  'union U = Int type Query { u: U }',
  'directive @plain on FIELD directive @plain on FIELD',
  'directive @deprecated on FIELD type Query { a: Int }',
  'schema { query: Q } type Q { a: Int } type Query { b: Int }',
  'scalar Sc extend type Sc { a: Int }',
  'type Query { a: Int } type Empty',
  'type Query { a: Int } enum E',
  'type Query { a: Int } union U',
  'type Query { a: Int } input In',
  'type Query { __a: Int }',
  'type Query { a(x: Query): Int }',
  'type Query { a: In } input In { b: Int }',
  'interface I { a: Int } type Query implements I { a: String }',
  'type Query { a: Int } extend type Query { a: Int }',
  'type Query { a: Int } extend type Query @deprecated',
  'type Query { a: Int @deprecated(reason: 1) }',
  'type Query { a: Int @deprecated(reason: null) }',
  'type Query { a: Int @deprecated(foo: "x") }',
  'type Query { a: Int @deprecated @deprecated }',
  'scalar S @specifiedBy(url: 1) type Query { a: S }',
  'scalar S @specifiedBy type Query { a: S }',
  'type Query { a: Int @k(x: "no") } directive @k(x: Int) on FIELD_DEFINITION',
  'type Query { a: Int } directive @d(a: Int) on QUERY directive @e on NOWHERE',
  'type Query { a: Int } schema { query: Query } extend schema { query: Query }',
  'schema { query: Query subscription: Query } type Query { a: Int }',
  'schema { query: U } union U = Q type Q { a: Int }',
  'type Query { f(a: Int, a: Int): Int }',
  'type Query { a: Int } extend union Nope = Query',
]

/** An answer as plain JSON again (exact integers come back as bigint), to pass it as an argument. */
const asJson = (v: unknown): unknown =>
  JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === 'bigint' ? Number(x) : x)))

const text = (v: unknown): string => JSON.stringify(asJson(v)).slice(0, 1500)

function calls(): Call[] {
  const c = (name: string, ...args: unknown[]): Call => ({ name: `graphql.${name}`, args })
  const schemaAst = asJson(ourAnswer(c('parse_schema', employees))[0])
  const goodAst = asJson(ourAnswer(c('parse_query', good))[0])
  return [
    c('parse_query', query),
    c('parse_query', good),
    c('parse_query', goodVars),
    c('parse_query', ''),
    c('parse_query', '   \n  '),
    c('parse_query', '{'),
    c('parse_query', 'type Query { a: Int }'),
    c('parse_query', 'fragment a($v: Boolean = false) on t { f(v: $v) }'),
    c('parse_query', '{ f(s: "\\u00e9\\n\\t", n: -1.5e3, i: 0) }'),
    c('parse_query', 42),
    // Comments: gqlparser attaches the ones right before a node (none to a shorthand query).
    c('parse_query', '# c1\n{ f }'),
    c(
      'parse_query',
      '# c1\n\n# c2\nquery Q {\n # c3\n a # c4\n # c5\n b(x: # c6\n 1) # c7\n ...F # c8\n ... on T { x } }\n# c9\nfragment F on T { y }\n# c10\n',
    ),
    c(
      'parse_query',
      'query Q { b(# c1\n x: # c2\n [# c3\n 1, # c4\n 2], y: {# c5\n k: # c6\n 1}) @d(# c7\n z: 1) }',
    ),
    c('parse_query', '# c0\nquery Q($a: Int # c1\n, # c2\n $b: Int = # c3\n 3) { f } # c4\n mutation { g }'),
    c('parse_schema', schema),
    c('parse_schema', employees),
    c('parse_schema', blockStrings),
    c(
      'parse_schema',
      '# c0\n"desc" # c1\n type T # c2\n { # c3\n a: Int # c4\n "d" # c5\n b(# c6\n x: Int): Int # c7\n } # c8\n # c9\n',
    ),
    c(
      'parse_schema',
      '# s0\nschema # s1\n { # s2\n query: Q # s3\n } # e0\n extend type Q # e1\n { z: Int } # d0\n directive @x(# d1\n a: Int) on FIELD # u0\n union U # u1\n = A | B # n0\n enum E { # n1\n A # n2\n } # i0\n input I { # i1\n f: Int = 1 # i2\n } scalar S # x0\n extend schema @k # x1\n',
    ),
    c('parse_schema', ''),
    c('parse_schema', 'type {'),
    c('parse_schema', '{ a }'),
    c('parse_schema', { a: 1 }),
    ...schemas.map((s) => c('schema_is_valid', s)),
    c('schema_is_valid', schemaAst),
    c('schema_is_valid', 7),
    c('is_valid', good, employees),
    c('is_valid', goodVars, employees),
    c('is_valid', '', 'scalar Hello'),
    c('is_valid', '{ a }', 'scalar Hello'),
    ...bad.map((q) => c('is_valid', q, employees)),
    c('is_valid', good, schemaAst),
    c('is_valid', goodAst, employees),
    c('is_valid', goodAst, schemaAst),
    c('is_valid', 1, employees),
    c('is_valid', good, 1),
    c('parse', good, employees),
    c('parse', goodVars, employees),
    c('parse', bad[0], employees),
    c('parse', good, 'type Query { a: Undefined }'),
    c('parse', good, schemaAst),
    c('parse', goodAst, schemaAst),
    c('parse_and_verify', good, employees),
    c('parse_and_verify', bad[1], employees),
    c('parse_and_verify', goodAst, schemaAst),
    c('parse_and_verify', '{', employees),
    c('parse_and_verify', good, 'scalar String'),
  ]
}

describe('graphql.* agree with opa eval', () => {
  it('on schemas, queries, AST objects and ill-typed operands, good and bad', () => {
    const cs = calls()
    const expected = opaAnswers(opa, cs)
    const diffs = cs.flatMap((c, i) => {
      const actual = ourAnswer(c)
      try {
        expect(actual).toEqual(expected[i])
        return []
      } catch {
        return [
          `case ${i} ${c.name}(${JSON.stringify(c.args).slice(0, 200)}): ours ${text(actual)}\n  opa ${text(expected[i])}`,
        ]
      }
    })
    expect(diffs).toEqual([])
  }, 60_000)

  it('bounds the cost of hostile input: deep nesting, huge and wide documents', () => {
    const moderate: Call[] = [
      { name: 'graphql.parse_query', args: [`{${'a{'.repeat(100)}b${'}'.repeat(101)}`] },
      {
        name: 'graphql.is_valid',
        args: [`{${'a{'.repeat(100)}b${'}'.repeat(101)}`, 'type Query { a: Query b: Int }'],
      },
    ]
    expect(moderate.map(ourAnswer)).toEqual(opaAnswers(opa, moderate))
    const schemaText = 'type Query { a(x: Int): Query b: Int }'
    for (const [name, args, want] of [
      // Nesting beyond the limit is an error (undefined), never a stack overflow.
      ['graphql.parse_query', [`{${'a{'.repeat(50_000)}b${'}'.repeat(50_001)}`], []],
      [
        'graphql.is_valid',
        [`{ a(x: ${'['.repeat(100_000)}${']'.repeat(100_000)}) { b } }`, schemaText],
        [false],
      ],
      // Too many tokens.
      ['graphql.parse_query', [`{ ${'b '.repeat(200_000)}}`], []],
      ['graphql.parse_schema', [`type Query { ${'f: Int '.repeat(100_000)}}`], []],
      // Over the size limit.
      ['graphql.parse_query', [`{ b${' '.repeat(2 << 20)}}`], []],
      // graphql-js's work budget for overlapping fields makes this too costly to check: invalid.
      ['graphql.is_valid', [`{ ${'a { b } '.repeat(4_000)}}`, schemaText], [false]],
      [
        'graphql.parse_and_verify',
        [`{ ${Array.from({ length: 4_000 }, (_, i) => `x: a(x: ${i}) { b }`).join(' ')} }`, schemaText],
        [[false, {}, {}]],
      ],
    ] as const) {
      const start = performance.now()
      const answer = ourAnswer({ name, args: [...args] })
      const ms = performance.now() - start
      expect(answer).toEqual(want)
      expect(ms, `${name} took ${ms.toFixed(0)} ms`).toBeLessThan(3_000)
    }
  }, 60_000)
})
