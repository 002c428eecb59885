import { Ajv, type ErrorObject, type Options, type ValidateFunction } from 'ajv'
import { Ajv2019 } from 'ajv/dist/2019.js'
import { Ajv2020 } from 'ajv/dist/2020.js'
import { RE2JS } from 're2js'
import { canonicalJson } from '../../canonical-json.js'
import { maskCredentialText } from '../credential-mask.js'
import {
  type ArgumentValidation,
  type ArgumentValidationError,
  MAX_VALIDATION_ERRORS,
} from './argument-validation.js'

/**
 * Bounds on a tool's `inputSchema` and on validating arguments against it. A schema comes from a
 * server's catalog, so it is untrusted: Ajv compiles a schema into code and treats it "as trusted
 * as your application code" (its security notes), so size and depth are bounded before it is
 * compiled, and validation runs on a step budget.
 */
export interface SchemaLimits {
  /** Longest schema, as JSON text (UTF-16 code units). Default 65,536. */
  maxSchemaChars: number
  /** Deepest nesting of arrays and objects in the schema. Default 32. */
  maxSchemaDepth: number
  /**
   * Most subschemas (objects in schema positions) in one schema. Default 512. Ajv's compile time
   * grows with them (about half a millisecond each): the bound keeps a hostile schema's one-time
   * compile, paid by the first call of its tool after a bundle loads, to a fraction of a second.
   */
  maxSubschemas: number
  /**
   * Steps one validation may take (a step: one subschema applied to one value, or 256 characters
   * a pattern reads), beyond {@link stepsPerValue} for each value in the arguments. Default 20,000.
   */
  baseSteps: number
  /** Steps added per value (any JSON value, nested ones included) in the arguments. Default 16. */
  stepsPerValue: number
  /**
   * Wall-clock bound on one validation, milliseconds (default 100): the backstop for work a step
   * does not measure (a large `enum` compared many times). The step budget is what normally ends
   * a hostile validation, deterministically; the outcome is recorded in the input either way.
   */
  deadlineMs: number
}

/**
 * The default {@link SchemaLimits}.
 *
 * @internal
 */
export const DEFAULT_SCHEMA_LIMITS: Readonly<SchemaLimits> = {
  maxSchemaChars: 65_536,
  maxSchemaDepth: 32,
  maxSubschemas: 512,
  baseSteps: 20_000,
  stepsPerValue: 16,
  deadlineMs: 100,
}

/** A compiled tool schema: validates arguments within the limits it was compiled with. */
export type BoundedValidator = (args: unknown) => ArgumentValidation

// The keyword added to every subschema so that each application of it costs a step. Its name
// cannot occur in a schema as a keyword Ajv knows; a schema that uses it has it overwritten.
const FUEL = 'x-mcp-policy-step'

// Keywords whose value is one subschema, a list of them, or a map of them (JSON Schema draft-07,
// 2019-09 and 2020-12). Other keywords' values are data (`enum`, `const`, `default`, `examples`)
// or annotations, and are never rewritten.
const ONE = new Set([
  'additionalProperties',
  'additionalItems',
  'propertyNames',
  'contains',
  'not',
  'if',
  'then',
  'else',
  'unevaluatedProperties',
  'unevaluatedItems',
  'contentSchema',
  'items',
])
const LIST = new Set(['allOf', 'anyOf', 'oneOf', 'prefixItems', 'items'])
const MAP = new Set([
  'properties',
  'patternProperties',
  '$defs',
  'definitions',
  'dependentSchemas',
  'dependencies',
])

class BudgetExceeded extends Error {}

/** The budget of the validation running now (validation is synchronous: one at a time per thread). */
interface Meter {
  steps: number
  maxSteps: number
  deadline: number
}
let meter: Meter | undefined

function charge(steps: number): void {
  const m = meter
  if (!m) return
  const before = m.steps
  m.steps += steps
  if (m.steps > m.maxSteps) throw new BudgetExceeded(`more than ${m.maxSteps} validation steps`)
  // The clock is read every 128 steps, and on every long pattern match.
  if ((before >> 7 !== m.steps >> 7 || steps > 1) && performance.now() > m.deadline)
    throw new BudgetExceeded('past the validation deadline')
}

/**
 * JSON Schema `pattern` and `patternProperties` on RE2 (re2js): matching is linear in the text,
 * where a backtracking `RegExp` can take hours on a pattern like `(a+)+$`. A pattern RE2 does not
 * accept (lookaround, backreferences) makes the schema unusable. Each match costs steps by length.
 */
const re2Engine = Object.assign(
  (pattern: string): { test: (text: string) => boolean; toString: () => string } => {
    const re = RE2JS.compile(pattern)
    return {
      test: (text: string) => {
        charge(1 + (text.length >> 8))
        return re.test(text)
      },
      // Ajv keys compiled patterns by their string form across every schema an instance compiles:
      // without a distinct one, each pattern would be matched with the first one it compiled.
      toString: () => `re2:${JSON.stringify(pattern)}`,
    }
  },
  { code: 'mcp-policy re2' },
)

const AJV_OPTIONS: Options = {
  strict: false,
  // The first failure ends validation: the policy needs to know that the arguments fail, and
  // collecting every error costs time the caller chooses.
  allErrors: false,
  // Formats are annotations in JSON Schema 2020-12, and Ajv's format checks are regular
  // expressions of their own.
  validateFormats: false,
  // A $ref compiles to a function call, never to a copy of its target: copying refs that use
  // refs grows the generated code exponentially with their nesting.
  inlineRefs: false,
  // A member named `__proto__` or `constructor` is the caller's data, not the prototype's.
  ownProperties: true,
  logger: false,
  // Optimization passes over the generated code cost compile time on every schema and buy little.
  code: { regExp: re2Engine, optimize: false },
}

type AjvClass = typeof Ajv | typeof Ajv2019 | typeof Ajv2020

const instances = new Map<AjvClass, Ajv>()

/** One instance per dialect, with the step keyword and a `uniqueItems` that costs n, not n². */
function instanceOf(dialect: AjvClass): Ajv {
  let ajv = instances.get(dialect)
  if (ajv) return ajv
  ajv = new dialect(AJV_OPTIONS) as Ajv
  ajv.addKeyword({
    keyword: FUEL,
    schemaType: 'boolean',
    errors: false,
    validate: () => {
      charge(1)
      return true
    },
  })
  // Ajv compares every pair of object items (n² deep comparisons): 40,000 items take minutes.
  // Canonical JSON (RFC 8785) makes equal JSON values equal strings, so a set finds duplicates.
  ajv.removeKeyword('uniqueItems')
  ajv.addKeyword({
    keyword: 'uniqueItems',
    type: 'array',
    schemaType: 'boolean',
    validate: (unique: boolean, data: unknown[]) => {
      if (!unique) return true
      charge(data.length)
      const seen = new Set<string>()
      for (const item of data) {
        const key = canonicalJson(item)
        if (seen.has(key)) return false
        seen.add(key)
      }
      return true
    },
  })
  instances.set(dialect, ajv)
  return ajv
}

/** The dialect a schema's `$schema` names; 2020-12 when it names none (MCP's default). */
function dialectOf(schema: unknown): AjvClass {
  const declared =
    schema !== null && typeof schema === 'object' && !Array.isArray(schema)
      ? (schema as Record<string, unknown>).$schema
      : undefined
  if (typeof declared !== 'string') return Ajv2020
  if (/^https?:\/\/json-schema\.org\/draft-0[4-7]\/schema#?$/.test(declared)) return Ajv
  if (/^https?:\/\/json-schema\.org\/draft\/2019-09\/schema#?$/.test(declared)) return Ajv2019
  return Ajv2020
}

/**
 * A copy of the schema with the step keyword in every subschema. Throws when the schema nests
 * deeper, or holds more subschemas, than the limits.
 */
function instrument(schema: unknown, maxDepth: number, maxSubschemas: number): unknown {
  let subschemas = 0
  const visit = (node: unknown, depth: number): unknown => {
    if (depth > maxDepth) throw new Error(`nests deeper than ${maxDepth} levels`)
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return node
    if (++subschemas > maxSubschemas) throw new Error(`has more than ${maxSubschemas} subschemas`)
    const out: Record<string, unknown> = {}
    for (const [key, value] of Object.entries(node as Record<string, unknown>)) {
      let copied = value
      if (LIST.has(key) && Array.isArray(value)) copied = value.map((item) => visit(item, depth + 2))
      else if (ONE.has(key)) copied = visit(value, depth + 1)
      else if (MAP.has(key) && value !== null && typeof value === 'object' && !Array.isArray(value))
        copied = Object.fromEntries(
          Object.entries(value as Record<string, unknown>).map(([name, sub]) => [
            name,
            visit(sub, depth + 2),
          ]),
        )
      else checkDepth(value, depth + 1, maxDepth)
      // defineProperty: a property named `__proto__` stays a property.
      Object.defineProperty(out, key, { value: copied, enumerable: true, writable: true, configurable: true })
    }
    out[FUEL] = true
    return out
  }
  return visit(schema, 0)
}

function checkDepth(value: unknown, depth: number, maxDepth: number): void {
  if (value === null || typeof value !== 'object') return
  if (depth > maxDepth) throw new Error(`nests deeper than ${maxDepth} levels`)
  for (const item of Array.isArray(value) ? value : Object.values(value))
    checkDepth(item, depth + 1, maxDepth)
}

/**
 * Compiles a tool's declared `inputSchema` into a validator that never takes more than its step
 * budget or deadline. A schema that cannot be used — not a JSON Schema object or boolean, too
 * large or too deep, invalid against its meta-schema, a `$ref` Ajv cannot resolve locally (remote
 * refs are never fetched), a pattern RE2 does not accept — gives a validator that fails every call
 * with keyword `schema`: arguments that cannot be checked are not valid.
 *
 * @internal
 *
 * @example
 * ```ts
 * const validate = compileBoundedSchema({ type: 'object', properties: { limit: { type: 'integer' } } })
 * validate({ limit: [10] }) // { valid: false, errors: [{ pointer: '/limit', keyword: 'type', message: 'must be integer' }] }
 * ```
 */
export function compileBoundedSchema(schema: unknown, limits: Partial<SchemaLimits> = {}): BoundedValidator {
  const bounds = { ...DEFAULT_SCHEMA_LIMITS, ...limits }
  let compiled: ValidateFunction
  try {
    compiled = compileSchema(schema, bounds)
  } catch (err) {
    const reason = `the tool's input_schema cannot be used: ${(err as Error).message}`
    const failure: ArgumentValidation = { valid: false, errors: [issue('', 'schema', reason)] }
    return () => structuredClone(failure)
  }
  return (args) => run(compiled, args, bounds)
}

function compileSchema(schema: unknown, bounds: SchemaLimits): ValidateFunction {
  if (typeof schema !== 'boolean' && (schema === null || typeof schema !== 'object' || Array.isArray(schema)))
    throw new Error('it is not a JSON Schema (an object or a boolean)')
  const text = JSON.stringify(schema)
  if (text.length > bounds.maxSchemaChars)
    throw new Error(`it is ${text.length} characters long, more than ${bounds.maxSchemaChars}`)
  const dialect = dialectOf(schema)
  let prepared = instrument(schema, bounds.maxSchemaDepth, bounds.maxSubschemas)
  if (prepared !== null && typeof prepared === 'object') {
    const { $schema: _dialect, ...rest } = prepared as Record<string, unknown>
    prepared = rest
  }
  const ajv = instanceOf(dialect)
  try {
    return ajv.compile(prepared as object | boolean)
  } finally {
    // Schemas with the same $id in two tools must not collide; a compiled function keeps working.
    ajv.removeSchema()
  }
}

function run(validate: ValidateFunction, args: unknown, bounds: SchemaLimits): ArgumentValidation {
  meter = {
    steps: 0,
    maxSteps: bounds.baseSteps + bounds.stepsPerValue * countValues(args),
    deadline: performance.now() + bounds.deadlineMs,
  }
  try {
    if (validate(args) === true) return { valid: true }
    const errors = (validate.errors ?? []).slice(0, MAX_VALIDATION_ERRORS).map(fromAjv)
    return {
      valid: false,
      errors: errors.length > 0 ? errors : [issue('', 'error', 'the arguments are invalid')],
    }
  } catch (err) {
    if (err instanceof BudgetExceeded)
      return { valid: false, errors: [issue('', 'budget', `validation stopped: ${err.message}`)] }
    return { valid: false, errors: [issue('', 'error', `the validator failed: ${(err as Error)?.message}`)] }
  } finally {
    meter = undefined
  }
}

function countValues(value: unknown): number {
  let count = 0
  const stack: unknown[] = [value]
  while (stack.length > 0) {
    const node = stack.pop()
    count++
    if (node !== null && typeof node === 'object')
      for (const item of Array.isArray(node) ? node : Object.values(node)) stack.push(item)
  }
  return count
}

function fromAjv(error: ErrorObject): ArgumentValidationError {
  // The step keyword never fails; anything else Ajv reports is the schema's own keyword.
  return issue(error.instancePath, error.keyword, error.message ?? `must pass ${error.keyword}`)
}

const MAX_TEXT = 256

/** One error, its texts masked like request metadata (a pointer holds the caller's keys) and cut. */
function issue(pointer: string, keyword: string, message: string): ArgumentValidationError {
  const cut = (text: string) => {
    const masked = maskCredentialText(text.toWellFormed())
    return masked.length > MAX_TEXT ? `${masked.slice(0, MAX_TEXT - 1).toWellFormed()}…` : masked
  }
  return { pointer: cut(pointer), keyword: cut(keyword), message: cut(message) }
}
