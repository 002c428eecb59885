/**
 * The one place defaults live. Every command (`serve`, `gateway`, `normalize`, `token`, `demo`,
 * `build`, `test`, `replay`, `catalog`, `keygen`) and every embedded configuration
 * (`defaultPdpConfig`, `defaultGatewayConfig`) takes its paths, ports and default servers from
 * here, so what one command prints as a hint the next one accepts: a token minted for
 * `defaultServerResource('github')`, the audience `serve` suggests, is accepted by `serve`,
 * `normalize` and `test` alike. (The gateway is a resource server of its own: its servers' audience
 * is `<publicUrl>/mcp/<id>`, derived from where it listens.)
 *
 * Paths are relative to the working directory: a policy repository made by `mcp-policy init`.
 */

/** The address `serve` and `gateway` bind when none is configured: loopback only. */
export const DEFAULT_HOST = '127.0.0.1'

/** The PDP's port (`serve`), OPA's own default port. */
export const DEFAULT_PDP_PORT = 8181

/** The gateway's port (`gateway`, `demo`). */
export const DEFAULT_GATEWAY_PORT = 8080

/** The bundle definition (`.manifest`, `data.json`, `cases/`) that `build` and `test` read. */
export const DEFAULT_BUNDLE_DIR = 'bundles/default'

/** The built bundle `build` writes and `serve`, `gateway` and `demo` load. */
export const DEFAULT_BUNDLE_FILE = 'bundles/default.tar.gz'

/** The bundle's data file, where `catalog import` merges tool catalogs. */
export const DEFAULT_BUNDLE_DATA_FILE = `${DEFAULT_BUNDLE_DIR}/data.json`

/** The Rego policy directory that `build`, `check` and `test` read. */
export const DEFAULT_REGO_DIR = 'rego'

/** How often `serve` and `gateway` look for a new bundle file, in seconds. */
export const DEFAULT_BUNDLE_POLL_SECONDS = 30

/** Where `serve`, `gateway` and `demo` write the decision log. */
export const DEFAULT_LOG_DIR = 'decision-logs'

/** Where built and loaded bundles are kept by digest, so a replay finds the exact policy. */
export const DEFAULT_BUNDLE_STORE = '.bundle-store'

/** Where `serve`, the gateway and the demo keep the checkpoint key they create on first run. */
export const DEFAULT_CHECKPOINT_KEY_DIR = '.checkpoint-keys'

/** Where the local dev issuer's signing key lives (`token` signs with it, `serve` trusts it). */
export const DEFAULT_DEV_KEY_DIR = '.dev-keys'

/** The lifetime of a dev token (`token --expires-in`). */
export const DEFAULT_DEV_TOKEN_LIFETIME = '1h'

/** The `client_id` claim of a dev token (`token --client-id`). */
export const DEFAULT_DEV_CLIENT_ID = 'mcp-policy-dev'

/** The reference policy's servers, reachable by id with the dev issuer's audience convention. */
export const DEFAULT_SERVERS = ['github', 'filesystem', 'postgres', 'fetch', 'docs'] as const

/** The server a message is decided for when none is named (`normalize --server`). */
export const DEFAULT_SERVER: (typeof DEFAULT_SERVERS)[number] = 'github'

/**
 * The resource URI (token audience, RFC 8707) of default server `id`: `https://localhost/mcp/<id>`,
 * the path at which gateways that forward the original path reach it.
 *
 * @example
 * ```ts
 * defaultServerResource('github') // 'https://localhost/mcp/github'
 * ```
 */
export function defaultServerResource(id: string): string {
  return `https://localhost/mcp/${id}`
}
