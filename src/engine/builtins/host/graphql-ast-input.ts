import {
  type ConstDirectiveNode,
  type ConstValueNode,
  type DefinitionNode,
  type DirectiveNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type InputValueDefinitionNode,
  Kind,
  type ListTypeNode,
  type NamedTypeNode,
  type NameNode,
  OperationTypeNode,
  type SelectionSetNode,
  type TypeNode,
  type ValueNode,
  type VariableDefinitionNode,
} from 'graphql'

/**
 * gqlparser-shaped AST objects (what `graphql.parse_query`/`parse_schema` return, or a policy
 * built by hand) read back into graphql-js documents, as OPA reads them: Go's `json.Unmarshal`
 * into gqlparser's structs, where a missing member is its zero value and unknown members are
 * ignored. gqlparser's `UnmarshalSelectionSet` tries `Field` first, which always succeeds, so
 * every selection of an object query is a field (a fragment spread `{Name: "F"}` becomes a field
 * `F`), faithfully reproduced here. A member of the wrong JSON type is an error, as in Go.
 */
type J = unknown

class ShapeError extends Error {}

function record(x: J): Record<string, J> {
  if (x === undefined || x === null) return {}
  if (typeof x !== 'object' || Array.isArray(x)) throw new ShapeError('object expected')
  return x as Record<string, J>
}

function list(x: J): J[] {
  if (x === undefined || x === null) return []
  if (!Array.isArray(x)) throw new ShapeError('array expected')
  return x
}

function str(x: J): string {
  if (x === undefined || x === null) return ''
  if (typeof x !== 'string') throw new ShapeError('string expected')
  return x
}

function bool(x: J): boolean {
  if (x === undefined || x === null) return false
  if (typeof x !== 'boolean') throw new ShapeError('boolean expected')
  return x
}

const name = (value: string): NameNode => ({ kind: Kind.NAME, value })
const named = (value: string): NamedTypeNode => ({ kind: Kind.NAMED_TYPE, name: name(value) })

function value(x: J): ValueNode {
  const v = record(x)
  const raw = str(v.Raw)
  const kind = v.Kind ?? 0
  if (typeof kind !== 'number') throw new ShapeError('number expected')
  const children = list(v.Children).map(record)
  switch (kind) {
    case 0:
      return { kind: Kind.VARIABLE, name: name(raw) }
    case 1:
      return { kind: Kind.INT, value: raw }
    case 2:
      return { kind: Kind.FLOAT, value: raw }
    case 3:
      return { kind: Kind.STRING, value: raw }
    case 4:
      return { kind: Kind.STRING, value: raw, block: true }
    case 5:
      return { kind: Kind.BOOLEAN, value: raw === 'true' }
    case 6:
      return { kind: Kind.NULL }
    case 7:
      return { kind: Kind.ENUM, value: raw }
    case 8:
      return { kind: Kind.LIST, values: children.map((c) => value(c.Value)) }
    case 9:
      return {
        kind: Kind.OBJECT,
        fields: children.map((c) => ({
          kind: Kind.OBJECT_FIELD,
          name: name(str(c.Name)),
          value: value(c.Value),
        })),
      }
    default:
      throw new ShapeError(`unknown value kind ${kind}`)
  }
}

const constValue = (x: J): ConstValueNode => value(x) as ConstValueNode

function type(x: J): TypeNode {
  const t = record(x)
  const inner: NamedTypeNode | ListTypeNode =
    t.Elem !== undefined && t.Elem !== null
      ? { kind: Kind.LIST_TYPE, type: type(t.Elem) }
      : named(str(t.NamedType))
  return bool(t.NonNull) ? { kind: Kind.NON_NULL_TYPE, type: inner } : inner
}

const args = (x: J) =>
  list(x).map((a) => {
    const r = record(a)
    return { kind: Kind.ARGUMENT as const, name: name(str(r.Name)), value: value(r.Value) }
  })

const directives = (x: J): DirectiveNode[] =>
  list(x).map((d) => {
    const r = record(d)
    return { kind: Kind.DIRECTIVE, name: name(str(r.Name)), arguments: args(r.Arguments) }
  })

const constDirectives = (x: J): ConstDirectiveNode[] => directives(x) as ConstDirectiveNode[]

function selectionSet(x: J): SelectionSetNode | undefined {
  const items = list(x)
  if (items.length === 0) return undefined
  return {
    kind: Kind.SELECTION_SET,
    selections: items.map((s) => {
      const r = record(s)
      const fieldName = str(r.Name)
      const alias = str(r.Alias)
      const set = selectionSet(r.SelectionSet)
      return {
        kind: Kind.FIELD,
        ...(alias !== '' && alias !== fieldName ? { alias: name(alias) } : {}),
        name: name(fieldName),
        arguments: args(r.Arguments),
        directives: directives(r.Directives),
        ...(set !== undefined ? { selectionSet: set } : {}),
      }
    }),
  }
}

const emptySet: SelectionSetNode = { kind: Kind.SELECTION_SET, selections: [] }

const variableDefinitions = (x: J): VariableDefinitionNode[] =>
  list(x).map((v) => {
    const r = record(v)
    return {
      kind: Kind.VARIABLE_DEFINITION,
      variable: { kind: Kind.VARIABLE, name: name(str(r.Variable)) },
      type: type(r.Type),
      ...(r.DefaultValue !== undefined && r.DefaultValue !== null
        ? { defaultValue: constValue(r.DefaultValue) }
        : {}),
      directives: constDirectives(r.Directives),
    }
  })

const operations: Record<string, OperationTypeNode> = {
  query: OperationTypeNode.QUERY,
  mutation: OperationTypeNode.MUTATION,
  subscription: OperationTypeNode.SUBSCRIPTION,
}

/** A query document object as OPA's `objectToQueryDocument` reads it. */
export function queryDocumentFromJson(x: J): DocumentNode {
  const doc = record(x)
  const definitions: DefinitionNode[] = []
  for (const o of list(doc.Operations)) {
    const r = record(o)
    const op = operations[str(r.Operation)] ?? OperationTypeNode.QUERY
    const n = str(r.Name)
    definitions.push({
      kind: Kind.OPERATION_DEFINITION,
      operation: op,
      ...(n !== '' ? { name: name(n) } : {}),
      variableDefinitions: variableDefinitions(r.VariableDefinitions),
      directives: directives(r.Directives),
      selectionSet: selectionSet(r.SelectionSet) ?? emptySet,
    })
  }
  for (const f of list(doc.Fragments)) {
    const r = record(f)
    definitions.push({
      kind: Kind.FRAGMENT_DEFINITION,
      name: name(str(r.Name)),
      variableDefinitions: variableDefinitions(r.VariableDefinition),
      typeCondition: named(str(r.TypeCondition)),
      directives: directives(r.Directives),
      selectionSet: selectionSet(r.SelectionSet) ?? emptySet,
    })
  }
  return { kind: Kind.DOCUMENT, definitions }
}

const description = (x: J) => {
  const d = str(x)
  return d === '' ? {} : { description: { kind: Kind.STRING as const, value: d } }
}

const inputValues = (x: J): InputValueDefinitionNode[] =>
  list(x).map((a) => {
    const r = record(a)
    return {
      kind: Kind.INPUT_VALUE_DEFINITION,
      ...description(r.Description),
      name: name(str(r.Name)),
      type: type(r.Type),
      ...(r.DefaultValue !== undefined && r.DefaultValue !== null
        ? { defaultValue: constValue(r.DefaultValue) }
        : {}),
      directives: constDirectives(r.Directives),
    }
  })

const fieldDefinitions = (x: J): FieldDefinitionNode[] =>
  list(x).map((f) => {
    const r = record(f)
    return {
      kind: Kind.FIELD_DEFINITION,
      ...description(r.Description),
      name: name(str(r.Name)),
      arguments: inputValues(r.Arguments),
      type: type(r.Type),
      directives: constDirectives(r.Directives),
    }
  })

function typeDefinition(x: J, extension: boolean): DefinitionNode {
  const r = record(x)
  const common = {
    ...(extension ? {} : description(r.Description)),
    name: name(str(r.Name)),
    directives: constDirectives(r.Directives),
  }
  const k = str(r.Kind)
  switch (k) {
    case 'SCALAR':
      return { kind: extension ? Kind.SCALAR_TYPE_EXTENSION : Kind.SCALAR_TYPE_DEFINITION, ...common }
    case 'OBJECT':
    case 'INTERFACE': {
      const interfaces = list(r.Interfaces).map((i) => named(str(i)))
      const fields = fieldDefinitions(r.Fields)
      if (k === 'OBJECT') {
        return {
          kind: extension ? Kind.OBJECT_TYPE_EXTENSION : Kind.OBJECT_TYPE_DEFINITION,
          ...common,
          interfaces,
          fields,
        }
      }
      return {
        kind: extension ? Kind.INTERFACE_TYPE_EXTENSION : Kind.INTERFACE_TYPE_DEFINITION,
        ...common,
        interfaces,
        fields,
      }
    }
    case 'UNION':
      return {
        kind: extension ? Kind.UNION_TYPE_EXTENSION : Kind.UNION_TYPE_DEFINITION,
        ...common,
        types: list(r.Types).map((t) => named(str(t))),
      }
    case 'ENUM':
      return {
        kind: extension ? Kind.ENUM_TYPE_EXTENSION : Kind.ENUM_TYPE_DEFINITION,
        ...common,
        values: list(r.EnumValues).map((e) => {
          const v = record(e)
          return {
            kind: Kind.ENUM_VALUE_DEFINITION,
            ...description(v.Description),
            name: name(str(v.Name)),
            directives: constDirectives(v.Directives),
          }
        }),
      }
    case 'INPUT_OBJECT':
      return {
        kind: extension ? Kind.INPUT_OBJECT_TYPE_EXTENSION : Kind.INPUT_OBJECT_TYPE_DEFINITION,
        ...common,
        fields: inputValues(r.Fields),
      }
    default:
      throw new ShapeError(`unknown definition kind ${k}`)
  }
}

const operationTypes = (x: J) =>
  list(x).map((o) => {
    const r = record(o)
    const op = operations[str(r.Operation)]
    if (op === undefined) throw new ShapeError('unknown operation')
    return { kind: Kind.OPERATION_TYPE_DEFINITION as const, operation: op, type: named(str(r.Type)) }
  })

/** A schema document object as OPA's `objectToSchemaDocument` reads it. */
export function schemaDocumentFromJson(x: J): DocumentNode {
  const doc = record(x)
  const definitions: DefinitionNode[] = []
  for (const s of list(doc.Schema)) {
    const r = record(s)
    definitions.push({
      kind: Kind.SCHEMA_DEFINITION,
      ...description(r.Description),
      directives: constDirectives(r.Directives),
      operationTypes: operationTypes(r.OperationTypes),
    })
  }
  for (const s of list(doc.SchemaExtension)) {
    const r = record(s)
    definitions.push({
      kind: Kind.SCHEMA_EXTENSION,
      directives: constDirectives(r.Directives),
      operationTypes: operationTypes(r.OperationTypes),
    })
  }
  for (const d of list(doc.Directives)) {
    const r = record(d)
    definitions.push({
      kind: Kind.DIRECTIVE_DEFINITION,
      ...description(r.Description),
      name: name(str(r.Name)),
      arguments: inputValues(r.Arguments),
      repeatable: bool(r.IsRepeatable),
      locations: list(r.Locations).map((l) => name(str(l))),
    })
  }
  for (const d of list(doc.Definitions)) definitions.push(typeDefinition(d, false))
  for (const d of list(doc.Extensions)) definitions.push(typeDefinition(d, true))
  return { kind: Kind.DOCUMENT, definitions }
}
