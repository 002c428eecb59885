import { availableParallelism } from 'node:os'
import type { CheckpointLogConfig } from '../audit/checkpoint-key.js'
import type { Durability } from '../audit/decision-log.js'
import {
  DEFAULT_BUNDLE_FILE,
  DEFAULT_BUNDLE_POLL_SECONDS,
  DEFAULT_BUNDLE_STORE,
  DEFAULT_DEV_KEY_DIR,
  DEFAULT_HOST,
  DEFAULT_LOG_DIR,
  DEFAULT_PDP_PORT,
  DEFAULT_SERVERS,
  defaultServerResource,
} from '../defaults.js'
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
export interface PdpLogConfig extends CheckpointLogConfig {
  /** Default `batch`. */
  durability: Durability
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
  /**
   * Longest one policy evaluation may run, in ms, plus 1 s per MiB of its input: past it the
   * evaluation is stopped and the request denied `ERR_ENGINE_DEADLINE` (500, logged). The bundle's
   * module is instrumented at load to count its loop iterations (`PolicyEngine` `deadlineMs`).
   * 0: no deadline. Default 500.
   */
  evaluationDeadlineMs: number
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

/** The embedded defaults: loopback, the default bundle, the dev issuer, a batch-mode log. */
export function defaultPdpConfig(): PdpConfig {
  return {
    host: DEFAULT_HOST,
    port: DEFAULT_PDP_PORT,
    workers: availableParallelism(),
    bundle: { file: DEFAULT_BUNDLE_FILE, pollIntervalSeconds: DEFAULT_BUNDLE_POLL_SECONDS },
    devKeyDir: DEFAULT_DEV_KEY_DIR,
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
    log: { dir: DEFAULT_LOG_DIR, durability: 'batch' },
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
      evaluationDeadlineMs: 500,
    },
    bundleStore: DEFAULT_BUNDLE_STORE,
  }
}
