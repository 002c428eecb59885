/** An entry as held in memory and sent between processes: JSON text, not a live object. */
export interface StoredEntry {
  json: string
  expiresAt: number
}

/** A change as it travels between processes (the cluster relay): the value as JSON text. */
export type WireChange =
  | { op: 'set'; namespace: string; key: string; json: string; expiresAt: number }
  | { op: 'delete'; namespace: string; key: string }

/** One entry of a namespace, as a snapshot lists it. */
export interface WireEntry {
  namespace: string
  key: string
  json: string
  expiresAt: number
}

/**
 * The in-memory entries of every namespace, with expiry. An expired entry is never returned: it
 * is dropped when looked up, and {@link sweep} drops the ones nobody looks up.
 *
 * @example
 * ```ts
 * const table = new EntryTable()
 * table.apply({ op: 'set', namespace: 'jti', key: 'a', json: 'true', expiresAt: Date.now() + 1000 })
 * table.get('jti', 'a', Date.now()) // { json: 'true', expiresAt: … }
 * ```
 */
export class EntryTable {
  readonly #namespaces = new Map<string, Map<string, StoredEntry>>()

  /** The live entry, or `undefined` (an expired one is removed). */
  get(namespace: string, key: string, now: number): StoredEntry | undefined {
    const entries = this.#namespaces.get(namespace)
    const entry = entries?.get(key)
    if (entry === undefined) return undefined
    if (entry.expiresAt <= now) {
      entries!.delete(key)
      return undefined
    }
    return entry
  }

  /**
   * Applies a change. Returns `false` when it changed nothing (the same value and expiry were
   * already there, or a delete of a missing key), so a change echoed back is not announced twice.
   */
  apply(change: WireChange, now: number): boolean {
    if (change.op === 'delete') {
      const entries = this.#namespaces.get(change.namespace)
      const had = entries?.get(change.key)
      if (had === undefined) return false
      entries!.delete(change.key)
      return had.expiresAt > now
    }
    if (change.expiresAt <= now)
      return this.apply({ op: 'delete', namespace: change.namespace, key: change.key }, now)
    let entries = this.#namespaces.get(change.namespace)
    if (entries === undefined) {
      entries = new Map()
      this.#namespaces.set(change.namespace, entries)
    }
    const had = entries.get(change.key)
    if (had !== undefined && had.json === change.json && had.expiresAt === change.expiresAt) return false
    entries.set(change.key, { json: change.json, expiresAt: change.expiresAt })
    return true
  }

  /** Live entries of one namespace. */
  scan(namespace: string, now: number): { key: string; entry: StoredEntry }[] {
    const out: { key: string; entry: StoredEntry }[] = []
    for (const [key, entry] of this.#namespaces.get(namespace) ?? []) {
      if (entry.expiresAt > now) out.push({ key, entry })
    }
    return out
  }

  /** Live entries of every namespace (a snapshot for a starting worker). */
  snapshot(now: number): WireEntry[] {
    const out: WireEntry[] = []
    for (const [namespace, entries] of this.#namespaces)
      for (const [key, entry] of entries)
        if (entry.expiresAt > now) out.push({ namespace, key, json: entry.json, expiresAt: entry.expiresAt })
    return out
  }

  /** Replaces every entry with a snapshot's. */
  replace(entries: readonly WireEntry[], now: number): void {
    this.#namespaces.clear()
    for (const e of entries)
      this.apply({ op: 'set', namespace: e.namespace, key: e.key, json: e.json, expiresAt: e.expiresAt }, now)
  }

  /** Drops expired entries; returns how many. */
  sweep(now: number): number {
    let dropped = 0
    for (const [namespace, entries] of this.#namespaces) {
      for (const [key, entry] of entries) {
        if (entry.expiresAt <= now) {
          entries.delete(key)
          dropped++
        }
      }
      if (entries.size === 0) this.#namespaces.delete(namespace)
    }
    return dropped
  }

  /** Live and not-yet-swept entries, for status. */
  get size(): number {
    let size = 0
    for (const entries of this.#namespaces.values()) size += entries.size
    return size
  }
}
