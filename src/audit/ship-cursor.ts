import { open, readFile, rename } from 'node:fs/promises'
import { dirname } from 'node:path'
import { McpPolicyError, toMcpPolicyError } from '../errors.js'

/**
 * How far one chain has been shipped: the next byte to send is `offset` in file `file`.
 *
 * @internal
 */
export interface ShipPosition {
  /** File index of the chain (`decisions-<chain>-<file>.jsonl`). */
  file: number
  /** Byte offset in that file just past the last acknowledged line. */
  offset: number
  /** Events acknowledged by the collector so far (for stats). */
  events: number
}

/**
 * The shipper's persisted state: one position per chain.
 *
 * @internal
 */
export interface ShipCursor {
  version: 1
  chains: Record<string, ShipPosition>
}

/**
 * Reads a shipping cursor; a missing file is a fresh start (ship everything).
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_LOG_CONFIG_INVALID` when the file exists but is not a cursor — never
 * guessed at, since a wrong position would either lose or re-send events. Deleting the file re-ships
 * the whole log (at least once).
 * @example
 * ```ts
 * const cursor = await readShipCursor('logs/ship-cursor.json')
 * ```
 */
export async function readShipCursor(path: string): Promise<ShipCursor> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, chains: chainMap({}) }
    throw toMcpPolicyError(err, 'ERR_LOG_READ_FAILED', `cannot read ship cursor ${path}`)
  }
  try {
    const cursor = JSON.parse(text) as ShipCursor
    const valid =
      cursor?.version === 1 &&
      typeof cursor.chains === 'object' &&
      cursor.chains !== null &&
      Object.values(cursor.chains).every(
        (p) =>
          Number.isSafeInteger(p?.file) &&
          p.file > 0 &&
          Number.isSafeInteger(p.offset) &&
          p.offset >= 0 &&
          Number.isSafeInteger(p.events),
      )
    if (!valid) throw new Error('not a version 1 ship cursor')
    return { version: 1, chains: chainMap(cursor.chains) }
  } catch (err) {
    throw new McpPolicyError(
      'ERR_LOG_CONFIG_INVALID',
      `ship cursor ${path} is corrupt (${(err as Error).message}); delete it to re-ship the log from the start`,
      { cause: err },
    )
  }
}

/**
 * Persists a shipping cursor atomically and durably: written to a temporary file, fsynced, renamed
 * over the old one, and the directory fsynced, so a crash leaves either the old or the new cursor.
 *
 * @example
 * ```ts
 * await writeShipCursor('logs/ship-cursor.json', { version: 1, chains: { a: { file: 1, offset: 0, events: 0 } } })
 * ```
 */
export async function writeShipCursor(path: string, cursor: ShipCursor): Promise<void> {
  const temporary = `${path}.tmp`
  const file = await open(temporary, 'w')
  try {
    await file.writeFile(`${JSON.stringify(cursor)}\n`)
    await file.datasync()
  } finally {
    await file.close()
  }
  await rename(temporary, path)
  const dir = await open(dirname(path), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}

// Chain ids come from file names: a prototype-less map keeps any id (even `__proto__`) a member.
function chainMap(chains: Record<string, ShipPosition>): Record<string, ShipPosition> {
  return Object.assign(Object.create(null) as Record<string, ShipPosition>, chains)
}
