import { McpPolicyError } from '../errors.js'

const encoder = new TextEncoder()

/**
 * Serializes an input document once, for the WebAssembly module, enforcing a byte limit.
 * `undefined` means "no input" (policies see `input` as undefined).
 *
 * @throws McpPolicyError `ERR_INPUT_UNSERIALIZABLE` (cycles, BigInt, functions) or `ERR_INPUT_TOO_LARGE`.
 * @example
 * ```ts
 * const bytes = serializeInput({ mcp: { method: 'ping' } }, 1024 * 1024)
 * ```
 */
export function serializeInput(input: unknown, maxBytes: number): ArrayBuffer | undefined {
  if (input === undefined) return undefined
  let json: string | undefined
  try {
    json = JSON.stringify(input)
  } catch (err) {
    throw new McpPolicyError(
      'ERR_INPUT_UNSERIALIZABLE',
      `input cannot be serialized: ${(err as Error).message}`,
      {
        cause: err,
      },
    )
  }
  if (json === undefined)
    throw new McpPolicyError('ERR_INPUT_UNSERIALIZABLE', `input of type ${typeof input} is not JSON`)
  return encodeJson(json, maxBytes)
}

/**
 * Encodes already-serialized JSON text (e.g. a request body) for the module, enforcing a byte limit.
 * The text must be valid JSON; the module rejects anything else with an evaluation error.
 */
export function encodeJson(json: string, maxBytes: number): ArrayBuffer {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: only measure exactly near the limit.
  if (json.length * 3 > maxBytes && Buffer.byteLength(json, 'utf8') > maxBytes) {
    throw new McpPolicyError(
      'ERR_INPUT_TOO_LARGE',
      `input is ${Buffer.byteLength(json, 'utf8')} bytes serialized, limit ${maxBytes}`,
    )
  }
  return encoder.encode(json).buffer as ArrayBuffer
}
