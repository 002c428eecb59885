import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import type { HostBuiltin } from '../host-builtin.js'

/**
 * `json.verify_schema` and `json.match_schema` on Ajv (draft-07 vocabulary; draft-04/06 schemas
 * are read as draft-07 after rewriting draft-04's boolean `exclusiveMinimum`/`exclusiveMaximum`).
 * OPA uses gojsonschema; error objects are shaped like its `{error, type, field, desc}` for the
 * common keywords. `format` is not validated (gojsonschema checks a fixed set of formats).
 */
const ajv = new Ajv({ allErrors: true, strict: false, validateFormats: false, logger: false })

const validators = new Map<string, ValidateFunction | Error>()

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }

/** A schema or document operand: a JSON string, an object or an array. */
function loadOperand(x: unknown): { ok: true; value: Json } | { ok: false; error: string } {
  if (typeof x === 'string') {
    try {
      return { ok: true, value: JSON.parse(x) as Json }
    } catch {
      return { ok: false, error: 'invalid JSON string' }
    }
  }
  if (x !== null && typeof x === 'object') return { ok: true, value: x as Json }
  return { ok: false, error: 'wrong type, expected string or object' }
}

const draft04or06 = /^https?:\/\/json-schema\.org\/draft-0[46]\/schema#?$/

/** Rewrites draft-04/06 schemas into draft-07 form that Ajv's default vocabulary accepts. */
function toDraft07(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(toDraft07)
  if (schema === null || typeof schema !== 'object') return schema
  const out: { [key: string]: Json } = {}
  for (const [k, v] of Object.entries(schema)) {
    if (k === '$schema' && typeof v === 'string' && draft04or06.test(v)) continue
    if (k === 'id' && typeof v === 'string' && !('$id' in schema)) {
      out.$id = v
      continue
    }
    out[k] = k === 'enum' || k === 'const' ? v : toDraft07(v)
  }
  for (const [flag, bound] of [
    ['exclusiveMinimum', 'minimum'],
    ['exclusiveMaximum', 'maximum'],
  ] as const) {
    if (typeof out[flag] === 'boolean') {
      if (out[flag] === true && typeof out[bound] === 'number') {
        out[flag] = out[bound]
        delete out[bound]
      } else {
        delete out[flag]
      }
    }
  }
  return out
}

const primitiveTypes = ['array', 'boolean', 'integer', 'number', 'null', 'object', 'string']

/**
 * gojsonschema's own check of `type` while it loads a schema, with its message (Ajv reports the
 * same fault through the meta-schema, in other words).
 */
function invalidType(schema: Json): string | undefined {
  if (Array.isArray(schema)) {
    for (const x of schema) {
      const found = invalidType(x)
      if (found !== undefined) return found
    }
    return undefined
  }
  if (schema === null || typeof schema !== 'object') return undefined
  for (const [k, v] of Object.entries(schema)) {
    if (k === 'type') {
      for (const t of typeof v === 'string' ? [v] : Array.isArray(v) ? v : []) {
        if (typeof t === 'string' && !primitiveTypes.includes(t)) {
          return `has a primitive type that is NOT VALID -- given: /${t}/ Expected valid values are:[${primitiveTypes.join(' ')}]`
        }
      }
    } else if (k !== 'enum' && k !== 'const' && k !== 'default' && k !== 'examples') {
      const found = invalidType(v)
      if (found !== undefined) return found
    }
  }
  return undefined
}

function compile(schema: Json): ValidateFunction | Error {
  const key = JSON.stringify(schema)
  const hit = validators.get(key)
  if (hit !== undefined) return hit
  let result: ValidateFunction | Error
  try {
    if (typeof schema !== 'object' && typeof schema !== 'boolean') throw new Error('schema must be an object')
    const typeFault = invalidType(schema)
    if (typeFault !== undefined) throw new Error(typeFault)
    // Ajv caches schemas by $id; compile a fresh copy so repeated ids do not collide.
    result = ajv.compile(toDraft07(schema) as object)
    ajv.removeSchema()
  } catch (err) {
    result = err instanceof Error ? err : new Error(String(err))
  }
  if (validators.size > 256) validators.clear()
  validators.set(key, result)
  return result
}

function jsonType(v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'array'
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number'
  return typeof v
}

/** gojsonschema's field path: "(Root)" or dot-separated keys and indices. */
function fieldOf(instancePath: string, extra?: string): string {
  const parts = instancePath
    .split('/')
    .slice(1)
    .map((p) => p.replaceAll('~1', '/').replaceAll('~0', '~'))
  if (extra !== undefined) parts.push(extra)
  return parts.length === 0 ? '(Root)' : parts.join('.')
}

function valueAt(doc: Json, instancePath: string): unknown {
  let cur: unknown = doc
  for (const raw of instancePath.split('/').slice(1)) {
    const p = raw.replaceAll('~1', '/').replaceAll('~0', '~')
    cur = cur !== null && typeof cur === 'object' ? (cur as Record<string, unknown>)[p] : undefined
  }
  return cur
}

interface SchemaError {
  error: string
  type: string
  field: string
  desc: string
}

/** Maps one Ajv error onto gojsonschema's type and description. */
function toSchemaError(e: ErrorObject, doc: Json): SchemaError | undefined {
  const p = e.params as Record<string, unknown>
  let field = fieldOf(e.instancePath)
  let type: string
  let desc: string
  switch (e.keyword) {
    case 'required':
      type = 'required'
      desc = `${String(p.missingProperty)} is required`
      break
    case 'type': {
      type = 'invalid_type'
      const expected = Array.isArray(p.type) ? `[${p.type.join(',')}]` : String(p.type)
      desc = `Invalid type. Expected: ${expected}, given: ${jsonType(valueAt(doc, e.instancePath))}`
      break
    }
    case 'enum':
      type = 'enum'
      desc = `${field} must be one of the following: ${(p.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}`
      break
    case 'const':
      type = 'const'
      desc = `${field} does not match: ${JSON.stringify(p.allowedValue)}`
      break
    case 'additionalProperties':
      type = 'additional_property_not_allowed'
      desc = `Additional property ${String(p.additionalProperty)} is not allowed`
      break
    case 'minLength':
      type = 'string_gte'
      desc = `String length must be greater than or equal to ${String(p.limit)}`
      break
    case 'maxLength':
      type = 'string_lte'
      desc = `String length must be less than or equal to ${String(p.limit)}`
      break
    case 'pattern':
      type = 'pattern'
      desc = `Does not match pattern '${String(p.pattern)}'`
      break
    case 'minimum':
    case 'exclusiveMinimum':
    case 'maximum':
    case 'exclusiveMaximum': {
      const names = {
        minimum: ['number_gte', 'Must be greater than or equal to'],
        exclusiveMinimum: ['number_gt', 'Must be greater than'],
        maximum: ['number_lte', 'Must be less than or equal to'],
        exclusiveMaximum: ['number_lt', 'Must be less than'],
      } as const
      const [t, d] = names[e.keyword]
      type = t
      desc = `${d} ${String(p.limit)}`
      break
    }
    case 'multipleOf':
      type = 'multiple_of'
      desc = `Must be a multiple of ${String(p.multipleOf)}`
      break
    case 'minItems':
      type = 'array_min_items'
      desc = `Array must have at least ${String(p.limit)} items`
      break
    case 'maxItems':
      type = 'array_max_items'
      desc = `Array must have at most ${String(p.limit)} items`
      break
    case 'uniqueItems':
      type = 'unique'
      desc = `array items[${String(p.j)},${String(p.i)}] must be unique`
      break
    case 'minProperties':
      type = 'array_min_properties'
      desc = `Must have at least ${String(p.limit)} properties`
      break
    case 'maxProperties':
      type = 'array_max_properties'
      desc = `Must have at most ${String(p.limit)} properties`
      break
    case 'anyOf':
      type = 'number_any_of'
      desc = 'Must validate at least one schema (anyOf)'
      break
    case 'oneOf':
      type = 'number_one_of'
      desc = 'Must validate one and only one schema (oneOf)'
      break
    case 'not':
      type = 'number_not'
      desc = 'Must not validate the schema (not)'
      break
    case 'contains':
      type = 'contains'
      desc = 'At least one of the items must match'
      break
    case 'dependencies':
      type = 'missing_dependency'
      desc = `Has a dependency on ${String(p.missingProperty)}`
      break
    case 'propertyNames':
      type = 'invalid_property_name'
      desc = `Property name of "${String(p.propertyName)}" does not match`
      field = fieldOf(e.instancePath)
      break
    case 'false schema':
      type = 'false'
      desc = 'False always fails validation'
      break
    case 'if':
      type = p.failingKeyword === 'else' ? 'condition_else' : 'condition_then'
      desc = `Must validate "${p.failingKeyword === 'else' ? 'else' : 'then'}" as "if" was ${p.failingKeyword === 'else' ? 'not valid' : 'valid'}`
      break
    default:
      type = e.keyword
      desc = e.message ?? e.keyword
  }
  return { error: `${field}: ${desc}`, type, field, desc }
}

/** JSON Schema builtins (OPA `topdown/jsonschema.go`). */
export const jsonSchemaBuiltins: readonly HostBuiltin[] = [
  {
    name: 'json.verify_schema',
    impl: (schema) => {
      const loaded = loadOperand(schema)
      if (!loaded.ok) return [false, `jsonschema: ${loaded.error}`]
      const v = compile(loaded.value)
      return v instanceof Error ? [false, `jsonschema: ${v.message}`] : [true, null]
    },
  },
  {
    name: 'json.match_schema',
    impl: (document, schema) => {
      const doc = loadOperand(document)
      if (!doc.ok) return undefined
      const loaded = loadOperand(schema)
      if (!loaded.ok) return undefined
      const v = compile(loaded.value)
      if (v instanceof Error) return undefined
      const valid = v(doc.value) === true
      // gojsonschema walks object members in key order; Array.prototype.sort is stable.
      const errors = (v.errors ?? [])
        .flatMap((e) => toSchemaError(e, doc.value) ?? [])
        .sort((a, b) => (a.field < b.field ? -1 : a.field > b.field ? 1 : 0))
      return [valid, errors]
    },
  },
]
