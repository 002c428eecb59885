import { McpPolicyError } from '../errors.js'

/**
 * Serializes an input document once, for the WebAssembly module, enforcing a byte limit.
 * `undefined` means "no input" (policies see `input` as undefined).
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_INPUT_UNSERIALIZABLE` (cycles, BigInt, functions) or `ERR_INPUT_TOO_LARGE`.
 * @example
 * ```ts
 * const json = serializeInput({ mcp: { method: 'ping' } }, 1024 * 1024)
 * ```
 */
export function serializeInput(input: unknown, maxBytes: number): string | undefined {
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
  checkJsonSize(json, maxBytes)
  return json
}

/**
 * Checks that text is JSON before the WebAssembly module sees it: the module evaluates text it
 * cannot parse as if there were no input, which must never turn into a decision.
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_INPUT_UNSERIALIZABLE`.
 */
export function checkIsJson(json: string): void {
  try {
    JSON.parse(json)
  } catch (err) {
    throw new McpPolicyError(
      'ERR_INPUT_UNSERIALIZABLE',
      `input text is not JSON: ${(err as Error).message}`,
      {
        cause: err,
      },
    )
  }
}

/**
 * Enforces the byte limit on already-serialized JSON text (e.g. a request body).
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_INPUT_TOO_LARGE`.
 */
export function checkJsonSize(json: string, maxBytes: number): void {
  // A UTF-16 code unit is at most 3 UTF-8 bytes: only measure exactly near the limit.
  if (json.length * 3 > maxBytes && Buffer.byteLength(json, 'utf8') > maxBytes) {
    throw new McpPolicyError(
      'ERR_INPUT_TOO_LARGE',
      `input is ${Buffer.byteLength(json, 'utf8')} bytes serialized, limit ${maxBytes}`,
    )
  }
}
