import { McpPolicyError } from '../errors.js'
import { namespacePattern } from './state-store.js'

/** Longest key, in UTF-16 code units: a subject id or session id, never a document. */
export const maxKeyLength = 1024
/** Largest value, as JSON text. */
export const maxValueBytes = 64 * 1024
/** Longest TTL: a year. Revocations live as long as the tokens they cut, which are bounded far below. */
export const maxTtlMs = 366 * 86_400_000

/**
 * Checks a namespace name against {@link namespacePattern}.
 *
 * @throws McpPolicyError `ERR_STATE_ENTRY_INVALID`.
 */
export function checkNamespace(namespace: string): void {
  if (typeof namespace !== 'string' || !namespacePattern.test(namespace))
    invalid(`namespace ${JSON.stringify(String(namespace)).slice(0, 80)} does not match ${namespacePattern}`)
}

/**
 * Checks a key: a non-empty string of at most {@link maxKeyLength} code units, well-formed UTF-16
 * (a lone surrogate would not survive the trip through Redis or IPC unchanged).
 *
 * @throws McpPolicyError `ERR_STATE_ENTRY_INVALID`.
 */
export function checkKey(key: string): void {
  if (typeof key !== 'string' || key === '' || key.length > maxKeyLength || !key.isWellFormed())
    invalid(`a key must be a well-formed string of 1 to ${maxKeyLength} characters`)
}

/**
 * The TTL as a whole number of milliseconds, at least 1 and at most {@link maxTtlMs}.
 *
 * @throws McpPolicyError `ERR_STATE_ENTRY_INVALID`.
 */
export function checkTtl(ttlMs: number): number {
  if (typeof ttlMs !== 'number' || !Number.isFinite(ttlMs) || ttlMs < 1 || ttlMs > maxTtlMs)
    invalid(`ttlMs must be a number from 1 to ${maxTtlMs}`)
  return Math.ceil(ttlMs)
}

/**
 * The value as JSON text, at most {@link maxValueBytes} long.
 *
 * @throws McpPolicyError `ERR_STATE_ENTRY_INVALID` for a value JSON cannot hold (`undefined`, a
 *   function, a BigInt, a cycle) or one too large. (Lone surrogates are escaped by JSON.stringify
 *   and come back as they were.)
 */
export function encodeValue(value: unknown): string {
  let json: string | undefined
  try {
    json = JSON.stringify(value)
  } catch (err) {
    invalid(`the value is not JSON: ${(err as Error).message}`)
  }
  if (json === undefined) invalid('the value is not JSON (undefined or a function)')
  if (Buffer.byteLength(json) > maxValueBytes)
    invalid(`the value is larger than ${maxValueBytes} bytes as JSON`)
  return json
}

/**
 * Parses stored JSON text into a deeply frozen value: every watcher of a change sees the same
 * object, so none may change it for the others.
 */
export function decodeValue(json: string): unknown {
  return deepFreeze(JSON.parse(json))
}

/** Freezes a parsed JSON value and everything in it. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value)
    for (const nested of Object.values(value)) deepFreeze(nested)
  }
  return value
}

function invalid(message: string): never {
  throw new McpPolicyError('ERR_STATE_ENTRY_INVALID', `state: ${message}`)
}
