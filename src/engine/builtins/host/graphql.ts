import {
  buildASTSchema,
  type DefinitionNode,
  type DocumentNode,
  type GraphQLSchema,
  Kind,
  Lexer,
  parse,
  Source,
  TokenKind,
  validate,
  validateSchema,
  visit,
} from 'graphql'
import type { HostBuiltin } from '../host-builtin.js'
import { type GqlJson, queryDocumentJson, schemaDocumentJson } from './graphql-ast.js'
import { queryDocumentFromJson, schemaDocumentFromJson } from './graphql-ast-input.js'

/**
 * OPA's `graphql.*` builtins (`topdown/graphql.go`, on vektah/gqlparser) on graphql-js 16.
 * ASTs come back in gqlparser's JSON shape (`graphql-ast.ts`); a parse or validation failure is
 * a builtin error (undefined) for `parse_query`/`parse_schema`/`parse`, and `false` for the
 * `is_valid` family, as in OPA.
 *
 * Cost is bounded where OPA's is not: documents longer than {@link maxSourceLength} characters,
 * holding more than {@link maxTokens} tokens or nesting brackets deeper than {@link maxDepth} are
 * rejected (an error; `false` for the `is_valid` family), and graphql-js's own work budget for
 * the overlapping-fields rule makes a query too costly to check invalid. gqlparser's comment
 * members are reproduced (see `graphql-ast.ts`).
 */
const maxSourceLength = 1 << 20
const maxTokens = 50_000
const maxDepth = 256

/**
 * The text's shape as its tokens tell it: empty (no tokens; gqlparser accepts that as an empty
 * document, graphql-js does not), or too big (token count or bracket nesting over the limits).
 */
function tokenShape(text: string): 'empty' | 'too-big' | 'ok' {
  const lexer = new Lexer(new Source(text))
  let depth = 0
  for (let n = 0; ; n++) {
    const token = lexer.advance()
    if (token.kind === TokenKind.EOF) return n === 0 ? 'empty' : 'ok'
    if (n >= maxTokens) return 'too-big'
    if (
      token.kind === TokenKind.BRACE_L ||
      token.kind === TokenKind.BRACKET_L ||
      token.kind === TokenKind.PAREN_L
    ) {
      if (++depth > maxDepth) return 'too-big'
    } else if (
      token.kind === TokenKind.BRACE_R ||
      token.kind === TokenKind.BRACKET_R ||
      token.kind === TokenKind.PAREN_R
    ) {
      depth--
    }
  }
}

type Parsed = { doc: DocumentNode; json: { [key: string]: GqlJson } }

function parseText(text: string, as: 'query' | 'schema'): Parsed | undefined {
  if (text.length > maxSourceLength) return undefined
  try {
    const shape = tokenShape(text)
    if (shape === 'too-big') return undefined
    if (shape === 'empty') return { doc: { kind: Kind.DOCUMENT, definitions: [] }, json: {} }
    const doc = parse(text, { maxTokens, allowLegacyFragmentVariables: as === 'query' })
    return { doc, json: as === 'query' ? queryDocumentJson(doc) : schemaDocumentJson(doc) }
  } catch {
    return undefined
  }
}

/** Types of gqlparser's prelude, which OPA merges in first: a schema may not declare them again. */
const preludeTypes = new Set([
  'Int',
  'Float',
  'String',
  'Boolean',
  'ID',
  '__Schema',
  '__Type',
  '__TypeKind',
  '__Field',
  '__InputValue',
  '__EnumValue',
  '__Directive',
  '__DirectiveLocation',
])

/** gqlparser's prelude `@defer`, which graphql-js 16 does not define. */
const deferDirective = parse(
  'directive @defer(if: Boolean = true, label: String) on FRAGMENT_SPREAD | INLINE_FRAGMENT',
  { noLocation: true },
).definitions[0] as DefinitionNode

const extensionKinds: Partial<Record<string, Kind>> = {
  [Kind.SCALAR_TYPE_EXTENSION]: Kind.SCALAR_TYPE_DEFINITION,
  [Kind.OBJECT_TYPE_EXTENSION]: Kind.OBJECT_TYPE_DEFINITION,
  [Kind.INTERFACE_TYPE_EXTENSION]: Kind.INTERFACE_TYPE_DEFINITION,
  [Kind.UNION_TYPE_EXTENSION]: Kind.UNION_TYPE_DEFINITION,
  [Kind.ENUM_TYPE_EXTENSION]: Kind.ENUM_TYPE_DEFINITION,
  [Kind.INPUT_OBJECT_TYPE_EXTENSION]: Kind.INPUT_OBJECT_TYPE_DEFINITION,
}

/**
 * The schema document rewritten to gqlparser's reading of it (`validator/schema.go`): declaring
 * a prelude type is an error (undefined here); extending a type nobody defines defines it;
 * gqlparser's prelude `@defer` is added unless the schema declares it.
 */
function gqlparserSchemaDocument(doc: DocumentNode): DocumentNode | undefined {
  const defined = new Set<string>()
  for (const d of doc.definitions) {
    if (
      'name' in d &&
      d.name !== undefined &&
      d.kind.endsWith('Definition') &&
      d.kind !== Kind.DIRECTIVE_DEFINITION
    ) {
      if (preludeTypes.has(d.name.value)) return undefined
      defined.add(d.name.value)
    }
  }
  const definitions = doc.definitions.map((d): DefinitionNode => {
    const definitionKind = extensionKinds[d.kind]
    if (definitionKind === undefined || !('name' in d) || d.name === undefined) return d
    if (defined.has(d.name.value) || preludeTypes.has(d.name.value)) return d
    defined.add(d.name.value)
    return { ...d, kind: definitionKind } as DefinitionNode
  })
  const declaresDefer = doc.definitions.some(
    (d) => d.kind === Kind.DIRECTIVE_DEFINITION && d.name.value === 'defer',
  )
  const rewritten: DocumentNode = {
    kind: Kind.DOCUMENT,
    definitions: declaresDefer ? definitions : [...definitions, deferDirective],
  }
  // gqlparser does not check the values given to the built-in `@deprecated(reason:)` and
  // `@specifiedBy(url:)` in a schema; graphql-js reads them while building and throws.
  return visit(rewritten, {
    Directive: (node) =>
      node.name.value === 'deprecated' || node.name.value === 'specifiedBy'
        ? {
            ...node,
            arguments: node.arguments?.map((a) =>
              a.value.kind === Kind.STRING ? a : { ...a, value: { kind: Kind.STRING, value: '' } },
            ),
          }
        : undefined,
  })
}

/** A query or schema operand: document text, or an AST object as the `parse_*` builtins return. */
function operand(x: unknown, as: 'query' | 'schema'): (Parsed & { key: string }) | undefined {
  if (typeof x === 'string') {
    const parsed = parseText(x, as)
    return parsed === undefined ? undefined : { ...parsed, key: `s${x}` }
  }
  if (x === null || typeof x !== 'object' || Array.isArray(x)) return undefined
  try {
    const key = JSON.stringify(x)
    if (key.length > maxSourceLength) return undefined
    const doc = as === 'query' ? queryDocumentFromJson(x) : schemaDocumentFromJson(x)
    return { doc, json: as === 'query' ? queryDocumentJson(doc) : schemaDocumentJson(doc), key: `o${key}` }
  } catch {
    return undefined
  }
}

const schemas = new Map<string, GraphQLSchema | undefined>()

/**
 * The schema for a schema document, or undefined when gqlparser would reject it. gqlparser does
 * not require a query root type, so that one graphql-js finding is ignored, and the schema used
 * for query validation is built as valid (graphql-js would refuse to validate against it).
 */
function schemaOf(parsed: Parsed & { key: string }): GraphQLSchema | undefined {
  if (schemas.has(parsed.key)) return schemas.get(parsed.key)
  let schema: GraphQLSchema | undefined
  try {
    const doc = gqlparserSchemaDocument(parsed.doc)
    if (doc !== undefined) {
      const errors = validateSchema(buildASTSchema(doc)).filter(
        (e) => !e.message.startsWith('Query root type must be provided'),
      )
      if (errors.length === 0) schema = buildASTSchema(doc, { assumeValid: true, assumeValidSDL: true })
    }
  } catch {
    schema = undefined
  }
  if (schemas.size >= 16) schemas.clear()
  schemas.set(parsed.key, schema)
  return schema
}

/** The query's validation against the schema; undefined when either is invalid. */
function verify(query: unknown, schemaOperand: unknown): { query: Parsed; schema: Parsed } | undefined {
  const q = operand(query, 'query')
  if (q === undefined) return undefined
  const s = operand(schemaOperand, 'schema')
  if (s === undefined) return undefined
  const schema = schemaOf(s)
  if (schema === undefined) return undefined
  // gqlparser's KnownRootType rule, which graphql-js 16 leaves to execution.
  for (const d of q.doc.definitions) {
    if (d.kind === Kind.OPERATION_DEFINITION && schema.getRootType(d.operation) === undefined)
      return undefined
  }
  try {
    if (validate(schema, q.doc, undefined, { maxErrors: 1 }).length > 0) return undefined
  } catch {
    return undefined
  }
  return { query: q, schema: s }
}

/** The `graphql.*` host builtins. */
export const graphqlBuiltins: readonly HostBuiltin[] = [
  {
    name: 'graphql.parse_query',
    impl: (q) => (typeof q === 'string' ? parseText(q, 'query')?.json : undefined),
  },
  {
    name: 'graphql.parse_schema',
    impl: (s) => (typeof s === 'string' ? parseText(s, 'schema')?.json : undefined),
  },
  {
    name: 'graphql.schema_is_valid',
    impl: (s) => {
      const parsed = operand(s, 'schema')
      return parsed !== undefined && schemaOf(parsed) !== undefined
    },
  },
  {
    name: 'graphql.is_valid',
    impl: (q, s) => verify(q, s) !== undefined,
  },
  {
    name: 'graphql.parse',
    impl: (q, s) => {
      const v = verify(q, s)
      return v === undefined ? undefined : [v.query.json, v.schema.json]
    },
  },
  {
    name: 'graphql.parse_and_verify',
    impl: (q, s) => {
      const v = verify(q, s)
      return v === undefined ? [false, {}, {}] : [true, v.query.json, v.schema.json]
    },
  },
]
