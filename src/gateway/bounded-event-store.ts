import type { EventId, EventStore, StreamId } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js'

/**
 * The SSE events of one client session, kept so a client that lost its stream can resume it with
 * `Last-Event-ID` (the SDK transport replays what follows). In memory and bounded: the oldest
 * events go first once `maxEvents` or `maxBytes` is passed, so a client resuming after that gets
 * what is left, never an unbounded buffer. Event ids are `<sequence>_<stream id>`.
 */
export class BoundedEventStore implements EventStore {
  readonly #events: { id: EventId; streamId: StreamId; message: JSONRPCMessage; bytes: number }[] = []
  readonly #maxEvents: number
  readonly #maxBytes: number
  #bytes = 0
  #sequence = 0

  constructor(options: { maxEvents?: number; maxBytes?: number } = {}) {
    this.#maxEvents = options.maxEvents ?? 1000
    this.#maxBytes = options.maxBytes ?? 32 * 1024 * 1024
  }

  async storeEvent(streamId: StreamId, message: JSONRPCMessage): Promise<EventId> {
    const id = `${++this.#sequence}_${streamId}`
    // A priming event has no message worth keeping; its size is its id's.
    const bytes = message ? JSON.stringify(message).length : id.length
    this.#events.push({ id, streamId, message, bytes })
    this.#bytes += bytes
    while (
      this.#events.length > this.#maxEvents ||
      (this.#bytes > this.#maxBytes && this.#events.length > 1)
    ) {
      this.#bytes -= this.#events.shift()!.bytes
    }
    return id
  }

  async getStreamIdForEventId(eventId: EventId): Promise<StreamId | undefined> {
    return this.#events.find((e) => e.id === eventId)?.streamId
  }

  async replayEventsAfter(
    lastEventId: EventId,
    { send }: { send: (eventId: EventId, message: JSONRPCMessage) => Promise<void> },
  ): Promise<StreamId> {
    const at = this.#events.findIndex((e) => e.id === lastEventId)
    if (at < 0) return ''
    const streamId = this.#events[at]!.streamId
    for (const event of this.#events.slice(at + 1)) {
      if (event.streamId === streamId && event.message) await send(event.id, event.message)
    }
    return streamId
  }
}
