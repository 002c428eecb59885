import { readFile } from 'node:fs/promises'
import { availableParallelism } from 'node:os'
import { basename } from 'node:path'
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js'
import { parse as parseYaml } from 'yaml'
import {
  DEFAULT_BUNDLE_POLL_SECONDS,
  DEFAULT_GATEWAY_PORT,
  DEFAULT_HOST,
  DEFAULT_LOG_DIR,
} from '../defaults.js'
import { McpPolicyError } from '../errors.js'
import type { IdentityConfig } from '../identity/identity-config.js'
import type { DecisionCoreConfig } from '../pdp/decision-core.js'
import { pdpConfigSchema } from '../pdp/load-pdp-config.js'
import { type BundleSourceConfig, defaultPdpConfig, type PdpLogConfig } from '../pdp/pdp-config.js'
import type { IdentityAssertionConfig } from './identity-assertion.js'

/** An MCP server the gateway spawns and talks to over stdio. */
export interface StdioUpstreamConfig {
  command: string
  args?: string[]
  /** Extra environment variables; the child gets only these and a safe default set (PATH, HOME…). */
  env?: Record<string, string>
  cwd?: string
  /**
   * `shared` (default): one process for every client session, the gateway multiplexing them (it
   * initializes the process once and rewrites request ids). `per-client`: one process per client
   * session, for servers that keep per-session state or must never mix users.
   */
  sessions?: 'shared' | 'per-client'
  /** A request this server leaves unanswered this long is answered with an error. Default `limits.upstreamTimeoutMs`. */
  timeoutMs?: number
}

/** An MCP server the gateway reaches over HTTP. */
export interface HttpUpstreamConfig {
  url: string
  /** `streamable-http` (default) or the legacy `sse` (HTTP+SSE, 2024-11-05). */
  transport?: 'streamable-http' | 'sse'
  /**
   * Headers sent on every upstream request: the gateway's own credential for that server. The
   * client's token is never forwarded unless `forwardClientToken` is set.
   */
  headers?: Record<string, string>
  /**
   * Opt-in token passthrough: forward the client's `Authorization` header upstream. Off by
   * default — a token minted for the gateway is not a credential for what lies behind it.
   */
  forwardClientToken?: boolean
  /**
   * Send each request a short-lived JWT signed by the gateway, naming the verified subject, its
   * actor chain and the decision (header `MCP-Policy-Identity`; keys at `/.well-known/jwks.json`).
   */
  identityAssertion?: boolean
}

/** One upstream server behind the gateway, reached at `/mcp/<id>`. */
export type UpstreamConfig = (StdioUpstreamConfig | HttpUpstreamConfig) & {
  /** The resource URI (RFC 8707/9728) tokens must name in `aud`. Default `<publicUrl>/mcp/<id>`. */
  resource?: string
  /** Where tool results go, for `mcp/response` (`input.destination.model`). Default: the policy's. */
  destination?: string
}

/** Bounds on what crosses the gateway. */
export interface GatewayLimits {
  /** Largest client message (a POST body). Default 1 MiB. */
  maxRequestBytes: number
  /** Largest upstream message the gateway judges and relays (a tool result). Default 16 MiB. */
  maxResultBytes: number
  /** An upstream request unanswered this long is answered with an error. Default 5 min. */
  upstreamTimeoutMs: number
  /** Client sessions idle this long are closed. Default 30 min. */
  sessionIdleMs: number
  /**
   * Most client sessions open at once (each may hold an upstream session or process). Beyond it a
   * new `initialize` is answered `ERR_GATEWAY_UPSTREAM_UNAVAILABLE` (HTTP 503). Default 256.
   */
  maxSessions: number
  /**
   * With decision workers (`workers` ≥ 2): messages waiting for a worker once every worker holds
   * its share. Beyond it a message is denied `ERR_GATEWAY_OVERLOADED` (logged). Default 1024.
   */
  maxQueuedDecisions: number
  /**
   * Longest one policy evaluation may run, in ms. Past it the decision worker is terminated and
   * replaced (with `workers` < 2 the instrumented evaluation stops itself, as in `serve`), and the
   * message is denied `ERR_ENGINE_DEADLINE` (logged). It grows by 1 s per MiB of input (a large
   * tool result is scanned in time that grows with its size). 0: no deadline. Default 500.
   */
  evaluationDeadlineMs: number
}

/** The whole `mcp-policy gateway` configuration. */
export interface GatewayConfig {
  host: string
  port: number
  /** The URL clients reach the gateway at (resource URIs and metadata URLs derive from it). Default `http://<host>:<port>`. */
  publicUrl?: string
  servers: Record<string, UpstreamConfig>
  bundle: BundleSourceConfig
  /** Omitted: the dev issuer of `mcp-policy token` (its key in `devKeyDir`). */
  identity?: IdentityConfig
  devKeyDir: string
  log: PdpLogConfig | false
  limits: GatewayLimits
  bundleStore: string
  /** `context.environment` policies see, e.g. `prod`. */
  environment?: string
  /** How identity assertions are signed (for servers with `identityAssertion: true`). */
  identityAssertion?: IdentityAssertionConfig
  /**
   * Decision worker threads: each normalizes, decides and logs (its own engine and log chain)
   * what the gateway's one I/O thread hands it. 0 or 1: decisions are made in that thread.
   * Default: one per core (`os.availableParallelism()`), as `serve`'s workers.
   */
  workers: number
}

const SERVER_ID = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'

const stringMap = { type: 'object', additionalProperties: { type: 'string' } } as const

/** JSON Schema (draft 2020-12) of the `mcp-policy gateway --config` file. */
export const gatewayConfigSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  type: 'object',
  additionalProperties: false,
  properties: {
    host: { type: 'string', minLength: 1 },
    port: { type: 'integer', minimum: 0, maximum: 65535 },
    publicUrl: { type: 'string', pattern: '^https?://[^/]+$' },
    servers: {
      type: 'object',
      propertyNames: { pattern: SERVER_ID },
      additionalProperties: {
        type: 'object',
        oneOf: [{ required: ['command'] }, { required: ['url'] }],
        additionalProperties: false,
        properties: {
          command: { type: 'string', minLength: 1 },
          args: { type: 'array', items: { type: 'string' } },
          env: stringMap,
          cwd: { type: 'string' },
          sessions: { enum: ['shared', 'per-client'] },
          timeoutMs: { type: 'integer', minimum: 1 },
          url: { type: 'string', pattern: '^https?://' },
          transport: { enum: ['streamable-http', 'sse'] },
          headers: stringMap,
          forwardClientToken: { type: 'boolean' },
          identityAssertion: { type: 'boolean' },
          resource: { type: 'string', minLength: 1 },
          destination: { type: 'string' },
        },
      },
    },
    bundle: pdpConfigSchema.properties.bundle,
    identity: pdpConfigSchema.properties.identity,
    devKeyDir: { type: 'string' },
    log: pdpConfigSchema.properties.log,
    limits: {
      type: 'object',
      additionalProperties: false,
      properties: {
        maxRequestBytes: { type: 'integer', minimum: 1024 },
        maxResultBytes: { type: 'integer', minimum: 1024 },
        upstreamTimeoutMs: { type: 'integer', minimum: 1 },
        sessionIdleMs: { type: 'integer', minimum: 1000 },
        maxSessions: { type: 'integer', minimum: 1 },
        maxQueuedDecisions: { type: 'integer', minimum: 0 },
        evaluationDeadlineMs: { type: 'integer', minimum: 0, maximum: 3_600_000 },
      },
    },
    bundleStore: { type: 'string' },
    environment: { type: 'string' },
    workers: { type: 'integer', minimum: 0, maximum: 256 },
    identityAssertion: {
      type: 'object',
      additionalProperties: false,
      properties: {
        keyFile: { type: 'string', minLength: 1 },
        ttlSeconds: { type: 'integer', minimum: 1, maximum: 3600 },
      },
    },
  },
} as const

const validate = new Ajv2020({ allErrors: true, strict: false }).compile(gatewayConfigSchema)

/**
 * The embedded defaults: loopback port 8080, the default bundle, the dev issuer, a batch-mode log,
 * one decision worker per core, no servers.
 */
export function defaultGatewayConfig(): GatewayConfig {
  const pdp = defaultPdpConfig()
  return {
    host: DEFAULT_HOST,
    port: DEFAULT_GATEWAY_PORT,
    servers: {},
    bundle: pdp.bundle,
    devKeyDir: pdp.devKeyDir,
    log: { dir: DEFAULT_LOG_DIR, durability: 'batch' },
    limits: {
      maxRequestBytes: 1024 * 1024,
      maxResultBytes: 16 * 1024 * 1024,
      upstreamTimeoutMs: 5 * 60_000,
      sessionIdleMs: 30 * 60_000,
      maxSessions: 256,
      maxQueuedDecisions: 1024,
      evaluationDeadlineMs: 500,
    },
    bundleStore: pdp.bundleStore,
    workers: availableParallelism(),
  }
}

/**
 * Checks a parsed configuration object and fills every omitted member from {@link defaultGatewayConfig}.
 *
 * @throws McpPolicyError `ERR_GATEWAY_CONFIG_INVALID` naming each schema violation.
 */
export function resolveGatewayConfig(raw: unknown): GatewayConfig {
  if (!validate(raw)) {
    const problems = (validate.errors ?? []).map(describeSchemaError).join('; ')
    throw new McpPolicyError('ERR_GATEWAY_CONFIG_INVALID', `invalid gateway configuration: ${problems}`)
  }
  const given = raw as Partial<GatewayConfig>
  const defaults = defaultGatewayConfig()
  return {
    ...defaults,
    ...given,
    bundle: given.bundle
      ? { pollIntervalSeconds: DEFAULT_BUNDLE_POLL_SECONDS, ...given.bundle }
      : defaults.bundle,
    log: given.log === false ? false : { ...(defaults.log as PdpLogConfig), ...given.log },
    limits: { ...defaults.limits, ...given.limits },
    servers: given.servers ?? {},
  }
}

/** One schema violation, naming the member it is about (ajv leaves an unknown key's name in params). */
function describeSchemaError(error: ErrorObject): string {
  const params = error.params as { additionalProperty?: string; propertyName?: string }
  const member = params.additionalProperty ?? params.propertyName
  const where = error.instancePath || '/'
  if (error.keyword === 'additionalProperties') return `${where} has an unknown member "${member}"`
  if (error.keyword === 'propertyNames')
    return `${where} has a member named "${member}", which is not allowed`
  return `${where} ${error.message ?? 'is invalid'}`
}

/**
 * Reads a JSON or YAML gateway configuration file.
 *
 * @throws McpPolicyError `ERR_GATEWAY_CONFIG_INVALID` when unreadable, unparsable or invalid.
 */
export async function loadGatewayConfig(path: string): Promise<GatewayConfig> {
  let raw: unknown
  try {
    raw = parseYaml(await readFile(path, 'utf8'), { maxAliasCount: 100 })
  } catch (err) {
    throw new McpPolicyError('ERR_GATEWAY_CONFIG_INVALID', `${path}: ${(err as Error).message}`, {
      cause: err,
    })
  }
  return resolveGatewayConfig(raw ?? {})
}

/** The gateway's public base URL: `publicUrl`, else the listen address. */
export function gatewayBaseUrl(config: GatewayConfig, port: number): string {
  if (config.publicUrl) return config.publicUrl
  const host = config.host.includes(':') ? `[${config.host}]` : config.host
  return `http://${host}:${port}`
}

/** The resource URI of server `id`: what its tokens must name in `aud`. */
export function upstreamResource(config: GatewayConfig, id: string, port: number): string {
  return config.servers[id]?.resource ?? `${gatewayBaseUrl(config, port)}/mcp/${id}`
}

/** What the decision core needs, from the gateway configuration (the normalizer knows every server by id). */
export function decisionCoreConfig(config: GatewayConfig, port: number): DecisionCoreConfig {
  const pdp = defaultPdpConfig()
  const servers = Object.fromEntries(
    Object.keys(config.servers).map((id) => [id, { resource: upstreamResource(config, id, port) }]),
  )
  return {
    bundle: config.bundle,
    identity: config.identity,
    devKeyDir: config.devKeyDir,
    log: config.log,
    bundleStore: config.bundleStore,
    // A tool result is judged whole: the engine takes inputs up to the largest relayed message.
    limits: {
      ...pdp.limits,
      maxBodyBytes: Math.max(config.limits.maxResultBytes, config.limits.maxRequestBytes),
      // With decision workers their pool enforces it (the main thread evaluates nothing then).
      evaluationDeadlineMs: config.workers >= 2 ? 0 : config.limits.evaluationDeadlineMs,
    },
    normalize: {
      servers,
      // The gateway is the edge: X-Forwarded-* from a client is not trusted.
      trustForwardedHeaders: false,
      environment: config.environment,
      limits: { maxBodyBytes: config.limits.maxRequestBytes },
    },
  }
}

/**
 * The server id the shorthand `mcp-policy gateway -- COMMAND…` gives a stdio server: its package
 * name without scope, version and the usual `mcp-server-` / `server-` / `-mcp` affixes
 * (`npx -y @modelcontextprotocol/server-filesystem /srv` → `filesystem`, `uvx mcp-server-git` →
 * `git`), else the command's own name.
 *
 * @internal
 */
export function serverIdFromCommand(command: string, args: readonly string[]): string {
  const name = basename(command)
  if (!LAUNCHERS.has(name)) return serverIdFromName(name)
  return serverIdFromName(packageArgument(name, args) ?? name)
}

const LAUNCHERS = new Set(['npx', 'uvx', 'pipx', 'node', 'python', 'python3', 'bunx', 'deno', 'docker', 'uv'])

// Options of the launchers that take a value, so the value is not taken for the package.
const OPTIONS_WITH_VALUES = new Set([
  '-p',
  '--package',
  '--python',
  '--with',
  '--index-url',
  '-e',
  '--env',
  '--env-file',
  '-v',
  '--volume',
  '--mount',
  '--name',
  '--network',
  '--publish',
  '-w',
  '--workdir',
  '-u',
  '--user',
  '--entrypoint',
  '-l',
  '--label',
  '--platform',
])

/** The argument naming what a launcher runs: `uvx --from PKG`'s PKG, else the first plain argument. */
function packageArgument(launcher: string, args: readonly string[]): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    if (arg === '--from') return args[i + 1]
    if (arg.startsWith('-')) {
      if (!arg.includes('=') && OPTIONS_WITH_VALUES.has(arg)) i++
      continue
    }
    if ((launcher === 'docker' || launcher === 'uv') && (arg === 'run' || arg === 'tool')) continue
    return arg
  }
  return undefined
}

function serverIdFromName(name: string): string {
  let id: string
  const installed = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(name)
  if (installed) id = installed[1]!
  else if (name.includes('/') && !name.startsWith('@')) {
    // A script path: its file name, or its package folder for index.js, dist/main.py and the like.
    const parts = name
      .split('/')
      .filter((p) => p && !['dist', 'build', 'src', 'bin', 'lib', '.', '..'].includes(p))
    const file = (parts.pop() ?? name).replace(/\.(m?[jt]s|py)$/, '')
    id = ['index', 'main', 'server', 'cli', '__main__'].includes(file) ? (parts.pop() ?? file) : file
  } else id = name
  // Versions and tags: npm's @1.2, PyPI's ==1.2 or [extra], an image's :tag.
  id = id
    .replace(/^@[^/]+\//, '')
    .replace(/(@|==|~=|>=|\[|:).*$/, '')
    .replace(/_/g, '-')
  id = id.replace(/^(mcp-server-|server-|mcp-)/, '').replace(/(-mcp-server|-mcp|-server)$/, '')
  id = id.replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 64)
  return /^[A-Za-z0-9]/.test(id) ? id : 'upstream'
}
