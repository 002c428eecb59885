import { availableParallelism } from 'node:os'
import type { Durability } from '../audit/decision-log.js'
import type { IdentityConfig } from '../identity/identity-config.js'
import type { NormalizeConfig } from '../normalize/normalize-config.js'
import type { BackchannelLogoutConfig } from '../signals/backchannel-logout-config.js'
import type { SsfConfig } from '../signals/ssf-config.js'
import type { StateConfig } from '../state/state-config.js'

/** Where the PDP gets its policy bundle. */
export interface BundleSourceConfig {
  /** A bundle `.tar.gz` on disk; watched and reloaded when it changes. */
  file?: string
  /** An OPA bundle service URL, polled with ETag/If-None-Match. */
  url?: string
  /** Poll interval for `url`. Default 30 s. */
  pollIntervalSeconds?: number
  /** Bearer token sent to the bundle service. */
  token?: string
  /** Accept `http:` off loopback (only with `verificationKeys`: a signature then vouches for the bytes). */
  allowPlainHttp?: boolean
  /** Public keys (PEM files) that must have signed the bundle; when set, unsigned bundles are refused. */
  verificationKeys?: { keyId: string; file: string; algorithm?: 'RS256' | 'ES256' }[]
}

/** How callers of the PDP authenticate. Without any, only a loopback address may be bound. */
export interface CallerAuthConfig {
  /** Accepted bearer tokens (compared in constant time). */
  bearerTokens?: string[]
  /** Require a TLS client certificate signed by `tls.ca`. */
  clientCertificates?: boolean
}

/** TLS for the listener (node:https). */
export interface TlsConfig {
  /** PEM certificate chain file. */
  cert: string
  /** PEM private key file. */
  key: string
  /** PEM CA bundle that client certificates must chain to (with `callerAuth.clientCertificates`). */
  ca?: string
}

/** The decision log the PDP writes (one chain per worker). */
export interface PdpLogConfig {
  /** Directory of the log files. Default `decision-logs`. */
  dir: string
  /** Default `batch`. */
  durability: Durability
  /**
   * PKCS#8 PEM Ed25519 key signing checkpoints. Omitted, the CLIs (`serve`, `gateway`, `demo`) sign
   * with a key they create on first run in `.checkpoint-keys/` (`defaultCheckpointSigning`);
   * `startPdp` and `openDecisionCore` themselves sign only with the key named here.
   */
  signingKeyFile?: string
  /**
   * `false` turns checkpoint signing off (then `verify-log` cannot detect deleted last lines or
   * forged events); it cannot be combined with `signingKeyFile`. Default: on.
   */
  checkpoints?: boolean
  /** Rotate files beyond this many bytes. Default 64 MiB. */
  rotateBytes?: number
  /**
   * Ship the log to a collector in OPA's decision-log upload format (gzip JSON arrays POSTed to
   * `<url>/logs`), tailing the files with a persisted cursor: nothing is lost while it is down.
   */
  ship?: { url: string; token?: string; pollIntervalMs?: number; maxBatchEvents?: number }
}

/** Bounds that keep slow, large or hostile clients from exhausting the service. */
export interface PdpLimits {
  /** Largest request body. Default 1 MiB. */
  maxBodyBytes: number
  /** Deepest JSON nesting of a request body. Default 64. */
  maxDepth: number
  /** Most request headers. Default 100. */
  maxHeaders: number
  /** Largest total header size, bytes (node's `maxHeaderSize`). Default 16 KiB. */
  maxHeaderBytes: number
  /** Whole request (headers and body) must arrive within this. Default 10 s. */
  requestTimeoutMs: number
  /** Headers must arrive within this (slowloris). Default 5 s. */
  headersTimeoutMs: number
  /** Idle keep-alive connections are closed after this. Default 5 s. */
  keepAliveTimeoutMs: number
  /** Requests served on one connection before it is closed. Default 10 000. */
  maxRequestsPerSocket: number
}

/** The whole `mcp-policy serve` configuration; every member has a default. */
export interface PdpConfig {
  host: string
  port: number
  /** Worker processes, each with its own engine and log chain. Default: the number of cores. */
  workers: number
  bundle: BundleSourceConfig
  /** Omitted: the dev issuer of `mcp-policy token` (its key in `devKeyDir`). */
  identity?: IdentityConfig
  devKeyDir: string
  normalize: NormalizeConfig
  /** `false` turns the decision log off (not recommended in production). */
  log: PdpLogConfig | false
  callerAuth: CallerAuthConfig
  tls?: TlsConfig
  limits: PdpLimits
  /** Where loaded bundles are kept by digest for replay. Default `.bundle-store`. */
  bundleStore: string
  /**
   * Where state shared across decisions lives (revocations). Default `{ backend: 'memory' }`: in
   * the process, shared by `serve`'s workers through the cluster primary, lost on restart.
   */
  state?: StateConfig
  /**
   * The OpenID Shared Signals receiver: Security Event Tokens pushed to `POST /ssf/events` or
   * polled from each transmitter revoke subjects, sessions and tokens. Omitted: off.
   */
  ssf?: SsfConfig
  /** OIDC Back-Channel Logout at `POST /oidc/backchannel-logout`. Omitted: off. */
  backchannelLogout?: BackchannelLogoutConfig
}

/** The reference policy's servers, reachable by id with the dev issuer's audience convention. */
export const DEFAULT_SERVERS = ['github', 'filesystem', 'postgres', 'fetch', 'docs'] as const

/** The resource URI (token audience) of a default server. */
export function defaultServerResource(id: string): string {
  return `https://localhost/mcp/${id}`
}

/** The embedded defaults: loopback, the default bundle, the dev issuer, a batch-mode log. */
export function defaultPdpConfig(): PdpConfig {
  return {
    host: '127.0.0.1',
    port: 8181,
    workers: availableParallelism(),
    bundle: { file: 'bundles/default.tar.gz', pollIntervalSeconds: 30 },
    devKeyDir: '.dev-keys',
    normalize: {
      servers: Object.fromEntries(DEFAULT_SERVERS.map((id) => [id, { resource: defaultServerResource(id) }])),
      // Gateways that forward the original path (ext_authz, nginx) reach server <id> at /mcp/<id>.
      routes: DEFAULT_SERVERS.map((id) => ({
        pathPrefix: `/mcp/${id}`,
        server: id,
        resource: defaultServerResource(id),
      })),
      trustForwardedHeaders: true,
    },
    log: { dir: 'decision-logs', durability: 'batch' },
    callerAuth: {},
    limits: {
      maxBodyBytes: 1024 * 1024,
      maxDepth: 64,
      maxHeaders: 100,
      maxHeaderBytes: 16 * 1024,
      requestTimeoutMs: 10_000,
      headersTimeoutMs: 5_000,
      keepAliveTimeoutMs: 5_000,
      maxRequestsPerSocket: 10_000,
    },
    bundleStore: '.bundle-store',
  }
}
