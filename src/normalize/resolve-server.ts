import { McpPolicyError } from '../errors.js'
import type { NormalizeConfig } from './normalize-config.js'

/**
 * Finds the MCP server a request is for: an explicit server id, else the route with the longest
 * matching path prefix (host-specific routes before host-less ones), else the default server.
 *
 * @throws McpPolicyError `ERR_NORMALIZE_SERVER_UNKNOWN`.
 * @example
 * ```ts
 * resolveServer({ routes: [{ pathPrefix: '/github/', server: 'github', resource: 'https://mcp.example.com/github' }] },
 *   { host: 'mcp.example.com', path: '/github/mcp' }) // { id: 'github', resource: 'https://mcp.example.com/github' }
 * ```
 */
export function resolveServer(
  config: NormalizeConfig,
  request: { explicitId?: string; host?: string; path?: string },
): { id: string; resource: string } {
  if (request.explicitId !== undefined) return byId(config, request.explicitId)
  const path = request.path ?? '/'
  let best: { id: string; resource: string; score: number } | undefined
  for (const route of config.routes ?? []) {
    if (route.host !== undefined && route.host.toLowerCase() !== request.host?.toLowerCase()) continue
    if (!path.startsWith(route.pathPrefix)) continue
    const score = route.pathPrefix.length * 2 + (route.host === undefined ? 0 : 1)
    if (!best || score > best.score) best = { id: route.server, resource: route.resource, score }
  }
  if (best) return { id: best.id, resource: best.resource }
  if (config.defaultServer !== undefined) return byId(config, config.defaultServer)
  throw new McpPolicyError(
    'ERR_NORMALIZE_SERVER_UNKNOWN',
    `no route for host ${request.host ?? '?'} path ${path}`,
  )
}

function byId(config: NormalizeConfig, id: string): { id: string; resource: string } {
  const servers = config.servers ?? {}
  const fromServers = Object.hasOwn(servers, id) ? servers[id] : undefined
  const resource = fromServers?.resource ?? config.routes?.find((r) => r.server === id)?.resource
  if (resource === undefined)
    throw new McpPolicyError('ERR_NORMALIZE_SERVER_UNKNOWN', `unknown server id ${id}`)
  return { id, resource }
}
