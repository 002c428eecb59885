import { decodeValue } from './entry-bounds.js'
import type { WireChange } from './entry-table.js'
import type { StateAvailabilityListener, StateChange, StateChangeListener } from './state-store.js'

/**
 * The watchers of a store: change listeners per namespace and availability listeners. A listener
 * that throws is skipped, never allowed to break the write or the other listeners.
 *
 * @example
 * ```ts
 * const feed = new ChangeFeed(true)
 * feed.watch('revocation', (change) => view.apply(change))
 * feed.emit({ op: 'delete', namespace: 'revocation', key: 'k' })
 * ```
 */
export class ChangeFeed {
  readonly #watchers = new Map<string, Set<StateChangeListener>>()
  readonly #availability = new Set<StateAvailabilityListener>()
  #available: boolean

  constructor(available: boolean) {
    this.#available = available
  }

  get available(): boolean {
    return this.#available
  }

  watch(namespace: string, listener: StateChangeListener): () => void {
    let set = this.#watchers.get(namespace)
    if (set === undefined) {
      set = new Set()
      this.#watchers.set(namespace, set)
    }
    // A wrapper per call, so the same function watched twice is unwatched once per returned stop.
    const entry: StateChangeListener = (change) => listener(change)
    set.add(entry)
    return () => {
      set.delete(entry)
    }
  }

  onAvailability(listener: StateAvailabilityListener): () => void {
    const entry: StateAvailabilityListener = (available) => listener(available)
    this.#availability.add(entry)
    return () => {
      this.#availability.delete(entry)
    }
  }

  /** Tells the namespace's watchers of a change (its JSON decoded once, frozen, for all of them). */
  emit(change: WireChange): void {
    const listeners = this.#watchers.get(change.namespace)
    if (!listeners || listeners.size === 0) return
    let decoded: StateChange
    try {
      decoded =
        change.op === 'set'
          ? {
              op: 'set',
              namespace: change.namespace,
              key: change.key,
              value: decodeValue(change.json),
              expiresAt: change.expiresAt,
            }
          : { op: 'delete', namespace: change.namespace, key: change.key }
    } catch {
      return
    }
    for (const listener of [...listeners]) {
      try {
        listener(decoded)
      } catch {
        // A watcher's bug must not stop the others from learning of the change.
      }
    }
  }

  /** Records availability and tells the listeners when it changed. */
  setAvailable(available: boolean): void {
    if (available === this.#available) return
    this.#available = available
    for (const listener of [...this.#availability]) {
      try {
        listener(available)
      } catch {
        // As above.
      }
    }
  }
}
