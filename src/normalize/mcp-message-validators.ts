import {
  CallToolRequestParamsSchema,
  GetPromptRequestParamsSchema,
  JSONRPCMessageSchema,
  ReadResourceRequestParamsSchema,
} from '@modelcontextprotocol/sdk/types.js'
import type { Ajv2020, ValidateFunction } from 'ajv/dist/2020.js'
import { toJSONSchema, type ZodType } from 'zod/v4'

/** The MCP SDK's message shapes the normalizer checks, as compiled ajv validators. */
export interface McpMessageValidators {
  /** A JSON-RPC 2.0 request, notification, result or error response (the SDK's `JSONRPCMessageSchema`). */
  message: ValidateFunction
  /** `tools/call` params (`CallToolRequestParamsSchema`). */
  toolCall: ValidateFunction
  /** `resources/read|subscribe|unsubscribe` params (`ReadResourceRequestParamsSchema`). */
  resource: ValidateFunction
  /** `prompts/get` params (`GetPromptRequestParamsSchema`). */
  prompt: ValidateFunction
}

/**
 * Compiles the MCP SDK's zod schemas for the JSON-RPC envelope and the params the normalizer reads
 * into ajv validators. The SDK stays the one source of truth for what a message looks like (its
 * schemas are converted with zod's own `toJSONSchema`, an unrepresentable construct is an error);
 * ajv checks a `tools/call` about ten times faster than zod's interpreter, and the normalizer runs
 * on every request. A property test holds both to the same verdicts.
 *
 * Compiled per normalizer, with the normalizer's own ajv instance, not per module: ajv keeps the
 * last `errors` on the function.
 *
 * @example
 * ```ts
 * const validators = compileMcpMessageValidators(new Ajv2020({ strict: true, allowUnionTypes: true }))
 * validators.message({ jsonrpc: '2.0', id: 1, method: 'ping' }) // true
 * ```
 */
export function compileMcpMessageValidators(ajv: Ajv2020): McpMessageValidators {
  const compile = (schema: ZodType) =>
    ajv.compile(toJSONSchema(schema, { io: 'input', unrepresentable: 'throw', target: 'draft-2020-12' }))
  return {
    message: compile(JSONRPCMessageSchema),
    toolCall: compile(CallToolRequestParamsSchema),
    resource: compile(ReadResourceRequestParamsSchema),
    prompt: compile(GetPromptRequestParamsSchema),
  }
}
