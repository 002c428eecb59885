import { member, members } from '../../json-members.js'
import type { ArgumentValidation } from './argument-validation.js'
import { type BoundedValidator, compileBoundedSchema, type SchemaLimits } from './bounded-schema.js'

/**
 * The declared `inputSchema` of each tool, from a bundle's data, compiled on first use and kept
 * for the life of the bundle (build one per bundle with {@link toolInputSchemas}).
 */
export interface ToolInputSchemas {
  /** Validates a tool's arguments; `undefined` when the tool declares no schema. */
  validate(server: string, tool: string, args: unknown): ArgumentValidation | undefined
}

/** No tool declares a schema. */
export const NO_INPUT_SCHEMAS: ToolInputSchemas = { validate: () => undefined }

/**
 * Reads the schemas from a bundle's data document: `input_schema` of each tool at
 * `mcp_data.servers[server].tools[tool]` (the reference data model; `mcp-policy catalog import`
 * records it from the server's `tools/list`). Each schema is compiled the first time one of its
 * tool's calls is validated, within {@link SchemaLimits}; a schema that cannot be compiled fails
 * every call of its tool (see {@link compileBoundedSchema}).
 *
 * @example
 * ```ts
 * const schemas = toolInputSchemas(bundle.data)
 * schemas.validate('postgres', 'query', { sql: 'select 1', limit: [10] }) // { valid: false, errors: [...] }
 * ```
 */
export function toolInputSchemas(data: unknown, limits: Partial<SchemaLimits> = {}): ToolInputSchemas {
  const declared = new Map<string, Map<string, unknown>>()
  for (const [server, serverData] of members(member(member(data, 'mcp_data'), 'servers'))) {
    for (const [tool, toolData] of members(member(serverData, 'tools'))) {
      if (toolData === null || typeof toolData !== 'object' || !Object.hasOwn(toolData, 'input_schema'))
        continue
      const tools = declared.get(server) ?? new Map<string, unknown>()
      declared.set(server, tools)
      tools.set(tool, (toolData as Record<string, unknown>).input_schema)
    }
  }
  if (declared.size === 0) return NO_INPUT_SCHEMAS
  const compiled = new Map<unknown, BoundedValidator>()
  return {
    validate(server, tool, args) {
      const tools = declared.get(server)
      if (!tools?.has(tool)) return undefined
      const schema = tools.get(tool)
      let validator = compiled.get(schema)
      if (!validator) {
        validator = compileBoundedSchema(schema, limits)
        // Keyed by the schema value: a primitive (a typo: "object") and an object both work.
        compiled.set(schema, validator)
      }
      return validator(args)
    },
  }
}

/**
 * Sets `tool.validation` to the validation of its arguments against the schema `schemas` holds
 * for `server`'s tool (and removes any validation already there: only the validator's word
 * counts). Leaves it absent when the tool declares no schema.
 *
 * @example
 * ```ts
 * validateTool(toolInputSchemas(bundle.data), 'postgres', input.mcp.tool)
 * ```
 */
export function validateTool(
  schemas: ToolInputSchemas | undefined,
  server: string,
  tool: { name: string; arguments: Record<string, unknown>; validation?: ArgumentValidation },
): void {
  delete tool.validation
  const validation = schemas?.validate(server, tool.name, tool.arguments)
  if (validation) tool.validation = validation
}
