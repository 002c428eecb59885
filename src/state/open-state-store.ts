import cluster from 'node:cluster'
import { McpPolicyError } from '../errors.js'
import { stateRelayEnv } from './cluster-state-messages.js'
import { ClusterStateStore } from './cluster-state-store.js'
import { MemoryStateStore } from './memory-state-store.js'
import { RedisStateStore } from './redis-state-store.js'
import type { StateConfig } from './state-config.js'
import type { StateStore } from './state-store.js'

/**
 * Opens (and starts) the store a configuration names. With the memory backend, a worker forked
 * by a primary that relays state (`mcp-policy serve` with several workers) gets the cluster store;
 * any other process gets a store of its own.
 *
 * @throws McpPolicyError `ERR_STATE_CONFIG_INVALID` for an invalid configuration. An unreachable
 *   Redis is no error here: the store starts unavailable and keeps reconnecting.
 * @example
 * ```ts
 * const store = await openStateStore({ backend: 'redis', redis: { url: 'redis://127.0.0.1:6379' } })
 * ```
 */
export async function openStateStore(config: StateConfig = { backend: 'memory' }): Promise<StateStore> {
  let store: StateStore
  if (config.backend === 'redis') {
    if (!config.redis?.url)
      throw new McpPolicyError('ERR_STATE_CONFIG_INVALID', 'state: backend redis needs redis.url')
    store = new RedisStateStore(config.redis)
  } else if (config.backend === 'memory' || config.backend === undefined) {
    store =
      cluster.isWorker && process.env[stateRelayEnv] === '1'
        ? new ClusterStateStore(process)
        : new MemoryStateStore()
  } else {
    throw new McpPolicyError(
      'ERR_STATE_CONFIG_INVALID',
      `state: backend must be memory or redis, not ${JSON.stringify(config.backend)}`,
    )
  }
  await store.start()
  return store
}
