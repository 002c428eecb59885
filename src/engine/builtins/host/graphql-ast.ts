import {
  type ArgumentNode,
  type ConstDirectiveNode,
  type DefinitionNode,
  type DirectiveNode,
  type DocumentNode,
  type EnumValueDefinitionNode,
  type FieldDefinitionNode,
  type InputValueDefinitionNode,
  Kind,
  type Location,
  type OperationTypeDefinitionNode,
  type SelectionNode,
  type StringValueNode,
  type Token,
  TokenKind,
  type TypeNode,
  type ValueNode,
  type VariableDefinitionNode,
} from 'graphql'

/**
 * graphql-js ASTs as OPA returns them: vektah/gqlparser's AST structs marshalled to JSON, with
 * `Position` keys, nulls and empty arrays/objects pruned (OPA `topdown/graphql.go`
 * `pruneIrrelevantGraphQLASTNodes`). Empty strings and `false` stay, as in OPA.
 *
 * gqlparser also records source comments (`Comment`, and in schemas `BeforeDescriptionComment`,
 * `AfterDescriptionComment`, `EndOfDefinitionComment`, each `{List: [{Value: "# …"}]}`); they
 * are reproduced from graphql-js's token chain, which links comment tokens between the others.
 */
export type GqlJson = null | boolean | number | string | GqlJson[] | { [key: string]: GqlJson }
type Obj = { [key: string]: GqlJson }

/** Builds a pruned object: drops undefined/null values and empty arrays/objects. */
function obj(entries: Record<string, GqlJson | undefined>): Obj {
  const out: Obj = {}
  for (const [k, v] of Object.entries(entries)) {
    if (v === undefined || v === null) continue
    if (Array.isArray(v) && v.length === 0) continue
    if (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0) continue
    out[k] = v
  }
  return out
}

/**
 * The comment group gqlparser attaches to a node: the `#` comments right before its first token
 * (commas are not tokens, in either parser). graphql-js links comment tokens into its token
 * chain, so they are found walking back from the node's start token.
 */
function commentsBefore(node: { readonly loc?: Location | undefined } | undefined): Obj | undefined {
  return commentsBeforeToken(node?.loc?.startToken)
}

/** Comments before a token (walking back over comment tokens). */
function commentsBeforeToken(token: Token | null | undefined): Obj | undefined {
  const list: Obj[] = []
  for (let t = token?.prev; t != null && t.kind === TokenKind.COMMENT; t = t.prev) {
    list.unshift({ Value: `#${t.value}` })
  }
  return list.length === 0 ? undefined : { List: list }
}

/** The first token after `token` that is not a comment. */
function nextToken(token: Token | null | undefined): Token | undefined {
  let t = token?.next
  while (t != null && t.kind === TokenKind.COMMENT) t = t.next
  return t ?? undefined
}

/**
 * A schema definition's comments as gqlparser splits them: before its description, and between
 * the description (or nothing) and the definition itself.
 */
function describedComments(node: {
  readonly loc?: Location | undefined
  readonly description?: StringValueNode | undefined
}): Obj {
  if (node.description === undefined) return { AfterDescriptionComment: commentsBefore(node) ?? null }
  return {
    AfterDescriptionComment: commentsBeforeToken(nextToken(node.description.loc?.endToken)) ?? null,
    BeforeDescriptionComment: commentsBefore(node.description) ?? null,
  }
}

/** Comments before the closing brace of a definition's body. */
function endComments(node: { readonly loc?: Location | undefined }): Obj {
  const end = node.loc?.endToken
  return {
    EndOfDefinitionComment: end?.kind === TokenKind.BRACE_R ? (commentsBeforeToken(end) ?? null) : null,
  }
}

/** gqlparser's `ast.ValueKind` numbers. */
const valueKind = {
  Variable: 0,
  IntValue: 1,
  FloatValue: 2,
  StringValue: 3,
  BlockValue: 4,
  BooleanValue: 5,
  NullValue: 6,
  EnumValue: 7,
  ListValue: 8,
  ObjectValue: 9,
} as const

/**
 * A string's value as gqlparser reads it. Block strings differ from graphql-js (and the spec):
 * gqlparser's common indentation counts the first line too (`lexer/blockstring.go`), so the
 * value is recomputed from the token's source text when the node has one.
 */
function stringValue(node: StringValueNode): string {
  if (node.block !== true || node.loc === undefined) return node.value
  const inner = node.loc.source.body
    .slice(node.loc.start + 3, node.loc.end - 3)
    .replaceAll('\\"""', '"""')
    .replace(/\r\n?/g, '\n')
  const lines = inner.split('\n')
  const leading = (line: string): number => {
    const n = /^[ \t]*/.exec(line)?.[0].length ?? 0
    return n === line.length ? Number.POSITIVE_INFINITY : n
  }
  let common = Number.POSITIVE_INFINITY
  for (const line of lines) common = Math.min(common, leading(line))
  if (common !== Number.POSITIVE_INFINITY) {
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i] ?? ''
      lines[i] = line.length < common ? '' : line.slice(common)
    }
  }
  let start = 0
  let end = lines.length
  while (start < end && leading(lines[start] ?? '') === Number.POSITIVE_INFINITY) start++
  while (start < end && leading(lines[end - 1] ?? '') === Number.POSITIVE_INFINITY) end--
  return lines.slice(start, end).join('\n')
}

function value(v: ValueNode): Obj {
  const base = (kind: number, raw: string, children?: GqlJson[], comment?: Obj) =>
    obj({ Children: children, Comment: comment, ExpectedTypeHasDefault: false, Kind: kind, Raw: raw })
  switch (v.kind) {
    case Kind.VARIABLE:
      return base(valueKind.Variable, v.name.value)
    case Kind.INT:
      return base(valueKind.IntValue, v.value)
    case Kind.FLOAT:
      return base(valueKind.FloatValue, v.value)
    case Kind.STRING:
      return base(v.block === true ? valueKind.BlockValue : valueKind.StringValue, stringValue(v))
    case Kind.BOOLEAN:
      return base(valueKind.BooleanValue, v.value ? 'true' : 'false')
    case Kind.NULL:
      return base(valueKind.NullValue, 'null')
    case Kind.ENUM:
      return base(valueKind.EnumValue, v.value)
    case Kind.LIST:
      return base(
        valueKind.ListValue,
        '',
        v.values.map((x) => obj({ Name: '', Value: value(x) })),
        commentsBefore(v),
      )
    case Kind.OBJECT:
      return base(
        valueKind.ObjectValue,
        '',
        v.fields.map((f) => obj({ Comment: commentsBefore(f), Name: f.name.value, Value: value(f.value) })),
        commentsBefore(v),
      )
  }
}

function type(t: TypeNode): Obj {
  switch (t.kind) {
    case Kind.NAMED_TYPE:
      return obj({ NamedType: t.name.value, NonNull: false })
    case Kind.LIST_TYPE:
      return obj({ Elem: type(t.type), NamedType: '', NonNull: false })
    case Kind.NON_NULL_TYPE:
      return { ...type(t.type), NonNull: true }
  }
}

const args = (a: readonly ArgumentNode[] | undefined): GqlJson[] | undefined =>
  a?.map((x) => obj({ Comment: commentsBefore(x), Name: x.name.value, Value: value(x.value) }))

const directives = (d: readonly (DirectiveNode | ConstDirectiveNode)[] | undefined): GqlJson[] | undefined =>
  d?.map((x) => obj({ Arguments: args(x.arguments), Location: '', Name: x.name.value }))

const description = (d: StringValueNode | undefined): string => (d === undefined ? '' : stringValue(d))

function selections(s: { readonly selections: readonly SelectionNode[] } | undefined): GqlJson[] | undefined {
  return s?.selections.map((x): Obj => {
    switch (x.kind) {
      case Kind.FIELD:
        return obj({
          Alias: x.alias?.value ?? x.name.value,
          Arguments: args(x.arguments),
          Comment: commentsBefore(x),
          Directives: directives(x.directives),
          Name: x.name.value,
          SelectionSet: selections(x.selectionSet),
        })
      case Kind.FRAGMENT_SPREAD:
        return obj({ Comment: commentsBefore(x), Directives: directives(x.directives), Name: x.name.value })
      default:
        return obj({
          Comment: commentsBefore(x),
          Directives: directives(x.directives),
          SelectionSet: selections(x.selectionSet),
          TypeCondition: x.typeCondition?.name.value ?? '',
        })
    }
  })
}

const variableDefinitions = (v: readonly VariableDefinitionNode[] | undefined): GqlJson[] | undefined =>
  v?.map((x) =>
    obj({
      Comment: commentsBefore(x),
      DefaultValue: x.defaultValue === undefined ? undefined : value(x.defaultValue),
      Description: '',
      Directives: directives(x.directives),
      Type: type(x.type),
      Used: false,
      Variable: x.variable.name.value,
    }),
  )

/** A query document (`graphql.parse_query`). Rejects type-system definitions, as gqlparser. */
export function queryDocumentJson(doc: DocumentNode): Obj {
  const operations: GqlJson[] = []
  const fragments: GqlJson[] = []
  for (const d of doc.definitions) {
    if (d.kind === Kind.OPERATION_DEFINITION) {
      // A shorthand query (`{ … }`) gets no comment in gqlparser.
      const shorthand = d.loc?.startToken.kind === TokenKind.BRACE_L
      operations.push(
        obj({
          Comment: shorthand ? undefined : commentsBefore(d),
          Description: '',
          Directives: directives(d.directives),
          Name: d.name?.value ?? '',
          Operation: d.operation,
          SelectionSet: selections(d.selectionSet),
          VariableDefinitions: variableDefinitions(d.variableDefinitions),
        }),
      )
    } else if (d.kind === Kind.FRAGMENT_DEFINITION) {
      fragments.push(
        obj({
          Comment: commentsBefore(d),
          Description: '',
          Directives: directives(d.directives),
          Name: d.name.value,
          SelectionSet: selections(d.selectionSet),
          TypeCondition: d.typeCondition.name.value,
          VariableDefinition: variableDefinitions(d.variableDefinitions),
        }),
      )
    } else {
      throw new Error(`Unexpected ${d.kind}`)
    }
  }
  return obj({ Fragments: fragments, Operations: operations })
}

const argumentDefinitions = (a: readonly InputValueDefinitionNode[] | undefined): GqlJson[] | undefined =>
  a?.map((x) =>
    obj({
      ...describedComments(x),
      DefaultValue: x.defaultValue === undefined ? undefined : value(x.defaultValue),
      Description: description(x.description),
      Directives: directives(x.directives),
      Name: x.name.value,
      Type: type(x.type),
    }),
  )

const fieldDefinitions = (
  f: readonly (FieldDefinitionNode | InputValueDefinitionNode)[] | undefined,
): GqlJson[] | undefined =>
  f?.map((x) =>
    obj({
      ...describedComments(x),
      Arguments: 'arguments' in x ? argumentDefinitions(x.arguments) : undefined,
      DefaultValue: 'defaultValue' in x && x.defaultValue !== undefined ? value(x.defaultValue) : undefined,
      Description: description(x.description),
      Directives: directives(x.directives),
      Name: x.name.value,
      Type: type(x.type),
    }),
  )

const enumValues = (e: readonly EnumValueDefinitionNode[] | undefined): GqlJson[] | undefined =>
  e?.map((x) =>
    obj({
      ...describedComments(x),
      Description: description(x.description),
      Directives: directives(x.directives),
      Name: x.name.value,
    }),
  )

const operationTypes = (o: readonly OperationTypeDefinitionNode[] | undefined): GqlJson[] | undefined =>
  o?.map((x) => obj({ Comment: commentsBefore(x), Operation: x.operation, Type: x.type.name.value }))

/** A type definition or extension as gqlparser's `ast.Definition`. */
function definition(d: DefinitionNode): Obj | undefined {
  const common = (
    kind: string,
    node: { name: { value: string }; description?: StringValueNode; loc?: Location | undefined },
  ) => ({
    ...describedComments(node),
    ...endComments(node),
    BuiltIn: false,
    Description: description(node.description),
    Kind: kind,
    Name: node.name.value,
  })
  switch (d.kind) {
    case Kind.SCALAR_TYPE_DEFINITION:
    case Kind.SCALAR_TYPE_EXTENSION:
      return obj({ ...common('SCALAR', d), Directives: directives(d.directives) })
    case Kind.OBJECT_TYPE_DEFINITION:
    case Kind.OBJECT_TYPE_EXTENSION:
    case Kind.INTERFACE_TYPE_DEFINITION:
    case Kind.INTERFACE_TYPE_EXTENSION:
      return obj({
        ...common(d.kind.startsWith('Object') ? 'OBJECT' : 'INTERFACE', d),
        Directives: directives(d.directives),
        Fields: fieldDefinitions(d.fields),
        Interfaces: d.interfaces?.map((i) => i.name.value),
      })
    case Kind.UNION_TYPE_DEFINITION:
    case Kind.UNION_TYPE_EXTENSION:
      return obj({
        ...common('UNION', d),
        Directives: directives(d.directives),
        Types: d.types?.map((t) => t.name.value),
      })
    case Kind.ENUM_TYPE_DEFINITION:
    case Kind.ENUM_TYPE_EXTENSION:
      return obj({
        ...common('ENUM', d),
        Directives: directives(d.directives),
        EnumValues: enumValues(d.values),
      })
    case Kind.INPUT_OBJECT_TYPE_DEFINITION:
    case Kind.INPUT_OBJECT_TYPE_EXTENSION:
      return obj({
        ...common('INPUT_OBJECT', d),
        Directives: directives(d.directives),
        Fields: fieldDefinitions(d.fields),
      })
    default:
      return undefined
  }
}

/** A schema document (`graphql.parse_schema`). Rejects executable definitions, as gqlparser. */
export function schemaDocumentJson(doc: DocumentNode): Obj {
  const out = {
    Definitions: [] as GqlJson[],
    Directives: [] as GqlJson[],
    Extensions: [] as GqlJson[],
    Schema: [] as GqlJson[],
    SchemaExtension: [] as GqlJson[],
  }
  for (const d of doc.definitions) {
    if (d.kind === Kind.SCHEMA_DEFINITION || d.kind === Kind.SCHEMA_EXTENSION) {
      const s = obj({
        ...describedComments(d),
        ...endComments(d),
        Description: d.kind === Kind.SCHEMA_DEFINITION ? description(d.description) : '',
        Directives: directives(d.directives),
        OperationTypes: operationTypes(d.operationTypes),
      })
      ;(d.kind === Kind.SCHEMA_DEFINITION ? out.Schema : out.SchemaExtension).push(s)
    } else if (d.kind === Kind.DIRECTIVE_DEFINITION) {
      out.Directives.push(
        obj({
          ...describedComments(d),
          Arguments: argumentDefinitions(d.arguments),
          Description: description(d.description),
          IsRepeatable: d.repeatable,
          Locations: d.locations.map((l) => l.value),
          Name: d.name.value,
        }),
      )
    } else {
      const def = definition(d)
      if (def === undefined) throw new Error(`Unexpected ${d.kind}`)
      ;(d.kind.endsWith('Extension') ? out.Extensions : out.Definitions).push(def)
    }
  }
  let eof: Token | null | undefined = doc.definitions.at(-1)?.loc?.endToken
  while (eof != null && eof.kind !== TokenKind.EOF) eof = eof.next
  return obj({ ...out, Comment: commentsBeforeToken(eof) })
}
