/**
 * The one error type of mcp-policy. Callers switch on `err.code`, never on `instanceof` chains:
 * the code is a closed union, and {@link errorTable} maps each code to the HTTP status a PDP
 * answers with and the exit code the CLI ends with.
 *
 * @example
 * ```ts
 * import { McpPolicyError } from 'mcp-policy'
 * try { await loadBundle('missing.tar.gz') } catch (err) {
 *   if (err instanceof McpPolicyError && err.code === 'ERR_BUNDLE_NOT_FOUND') console.error(err.message)
 * }
 * ```
 */

/** Every error code mcp-policy can produce, by area. Adding one is a decision: document it in docs/error-codes.md. */
export const errorTable = {
  ERR_TOOLCHAIN_OPA_MISSING: {
    status: 500,
    exit: 2,
    summary: 'OPA at the pinned version is neither on PATH nor buildable with Go.',
  },
  ERR_TOOLCHAIN_OPA_FAILED: { status: 500, exit: 2, summary: 'An OPA command failed to run.' },
  ERR_BUILD_FAILED: { status: 500, exit: 2, summary: 'opa build rejected the bundle definition.' },
  ERR_BUILD_UNSUPPORTED_BUILTIN: {
    status: 500,
    exit: 2,
    summary: 'A policy calls a builtin this engine does not implement.',
  },
  ERR_BUNDLE_NOT_FOUND: { status: 503, exit: 2, summary: 'The bundle file does not exist.' },
  ERR_BUNDLE_CORRUPT: {
    status: 503,
    exit: 2,
    summary: 'The bundle is not a valid gzip tar, or lacks policy.wasm, or has unreadable files.',
  },
  ERR_BUNDLE_TOO_LARGE: { status: 503, exit: 2, summary: 'The bundle exceeds the configured size limits.' },
  ERR_BUNDLE_SIGNATURE_MISSING: {
    status: 503,
    exit: 2,
    summary: 'Verification is on and the bundle carries no .signatures.json.',
  },
  ERR_BUNDLE_SIGNATURE_INVALID: {
    status: 503,
    exit: 2,
    summary: 'The bundle signature, key id, scope, file list or a file hash does not verify.',
  },
  ERR_BUNDLE_FETCH_FAILED: {
    status: 503,
    exit: 2,
    summary:
      'The bundle source cannot fetch or read the bundle (network error, timeout, unexpected HTTP status, unreadable file).',
  },
  ERR_BUNDLE_SOURCE_INVALID: {
    status: 500,
    exit: 2,
    summary: 'The bundle source configuration is invalid (URL, scheme, intervals, limits, path).',
  },
  ERR_ENGINE_NO_BUNDLE: { status: 503, exit: 2, summary: 'No bundle is loaded yet.' },
  ERR_ENGINE_INSTANTIATE: {
    status: 503,
    exit: 2,
    summary: 'The policy WebAssembly module failed to compile or instantiate.',
  },
  ERR_ENGINE_ENTRYPOINT_UNKNOWN: { status: 500, exit: 2, summary: 'The bundle has no such entrypoint.' },
  ERR_ENGINE_TRAP: { status: 500, exit: 2, summary: 'The policy aborted or trapped during evaluation.' },
  ERR_ENGINE_BUILTIN_MISSING: {
    status: 500,
    exit: 2,
    summary: 'The policy needs a builtin the engine does not provide.',
  },
  ERR_ENGINE_BUILTIN_FAILED: { status: 500, exit: 2, summary: 'A host builtin failed during evaluation.' },
  ERR_ENGINE_ND_CACHE_MISS: {
    status: 500,
    exit: 2,
    summary: 'Replay asked a non-deterministic builtin the record has no answer for.',
  },
  ERR_ENGINE_DEADLINE: {
    status: 500,
    exit: 2,
    summary:
      'The policy evaluation ran past the evaluation deadline (limits.evaluationDeadlineMs) and was stopped: the message is denied and logged.',
  },
  ERR_DECISION_UNDEFINED: { status: 500, exit: 1, summary: 'The entrypoint produced no result.' },
  ERR_DECISION_MALFORMED: {
    status: 500,
    exit: 1,
    summary: 'The result does not have the decision v1 shape.',
  },
  ERR_INPUT_UNSERIALIZABLE: {
    status: 400,
    exit: 2,
    summary:
      'The input cannot be serialized to JSON (cycle, BigInt, non-finite number), or input text is not JSON.',
  },
  ERR_INPUT_TOO_LARGE: {
    status: 413,
    exit: 2,
    summary: 'The serialized input exceeds the configured limit.',
  },
  ERR_NORMALIZE_JSON_INVALID: {
    status: 400,
    exit: 2,
    summary:
      'The body is not valid JSON, not valid UTF-8, or a string in it or its envelope holds an unpaired UTF-16 surrogate.',
  },
  ERR_NORMALIZE_MESSAGE_INVALID: {
    status: 400,
    exit: 2,
    summary: 'The body is not a JSON-RPC 2.0 request, notification or response.',
  },
  ERR_NORMALIZE_BATCH_UNSUPPORTED: {
    status: 400,
    exit: 2,
    summary: 'A JSON-RPC batch: MCP 2025-06-18 and later forbid batches; decide each message alone.',
  },
  ERR_NORMALIZE_TOO_LARGE: {
    status: 413,
    exit: 2,
    summary: 'The message or its params exceed the size bound.',
  },
  ERR_NORMALIZE_TOO_DEEP: { status: 400, exit: 2, summary: 'The message nests deeper than the depth bound.' },
  ERR_NORMALIZE_DUPLICATE_KEY: {
    status: 400,
    exit: 2,
    summary:
      'An object in the message holds a key twice (compared after JSON unescaping): parsers disagree on which value wins.',
  },
  ERR_NORMALIZE_HEADERS_INVALID: {
    status: 431,
    exit: 2,
    summary: 'Too many headers, a header too large, or a malformed Authorization header.',
  },
  ERR_NORMALIZE_MCP_HEADER_MISMATCH: {
    status: 400,
    exit: 2,
    summary:
      'Mcp-Method, Mcp-Name or MCP-Protocol-Version disagrees with the body (its method, the tool, prompt or resource it names, its _meta protocol version): a proxy routing by header would act on another message than the one judged.',
  },
  ERR_NORMALIZE_MCP_HEADER_DUPLICATE: {
    status: 400,
    exit: 2,
    summary: 'Mcp-Method, Mcp-Name, MCP-Protocol-Version or Mcp-Session-Id was sent more than once.',
  },
  ERR_NORMALIZE_META_INVALID: {
    status: 400,
    exit: 2,
    summary:
      'A reserved _meta member of the request (io.modelcontextprotocol/protocolVersion, clientInfo, clientCapabilities) has the wrong type or form.',
  },
  ERR_NORMALIZE_SESSION_UNEXPECTED: {
    status: 400,
    exit: 2,
    summary:
      'A request of a stateless MCP revision (2026-07-28 or later) carries an Mcp-Session-Id: the revision has no sessions, so the message is not judged as part of one.',
  },
  ERR_NORMALIZE_SERVER_UNKNOWN: {
    status: 404,
    exit: 2,
    summary: 'No configured route names the MCP server.',
  },
  ERR_NORMALIZE_SCHEMA_VIOLATION: {
    status: 500,
    exit: 2,
    summary: 'The normalizer produced a document that fails rego/schemas/input.json (a bug).',
  },
  ERR_IDENTITY_TOKEN_MISSING: { status: 401, exit: 1, summary: 'No bearer token was presented.' },
  ERR_IDENTITY_TOKEN_MALFORMED: { status: 401, exit: 1, summary: 'The token is not a compact JWS JWT.' },
  ERR_IDENTITY_TOKEN_TOO_LARGE: { status: 401, exit: 1, summary: 'The token exceeds the size bound.' },
  ERR_IDENTITY_ISSUER_UNKNOWN: { status: 401, exit: 1, summary: 'The token issuer is not configured.' },
  ERR_IDENTITY_ALGORITHM_REJECTED: {
    status: 401,
    exit: 1,
    summary: "The token's alg is not in the issuer's allowlist (none, HS/RS confusion).",
  },
  ERR_IDENTITY_KEY_UNKNOWN: {
    status: 401,
    exit: 1,
    summary: "No key in the issuer's JWKS matches the token.",
  },
  ERR_IDENTITY_SIGNATURE_INVALID: { status: 401, exit: 1, summary: 'The token signature does not verify.' },
  ERR_IDENTITY_TOKEN_EXPIRED: {
    status: 401,
    exit: 1,
    summary: 'The token is expired (beyond the clock skew).',
  },
  ERR_IDENTITY_TOKEN_NOT_YET_VALID: {
    status: 401,
    exit: 1,
    summary: 'The token nbf or iat is in the future.',
  },
  ERR_IDENTITY_AUDIENCE_MISMATCH: {
    status: 401,
    exit: 1,
    summary: "The token aud does not name this server's resource (RFC 8707).",
  },
  ERR_IDENTITY_TYPE_INVALID: {
    status: 401,
    exit: 1,
    summary: 'The token typ is not at+jwt where RFC 9068 is required.',
  },
  ERR_IDENTITY_CLAIMS_INVALID: {
    status: 401,
    exit: 1,
    summary: 'A required claim is missing or has the wrong type.',
  },
  ERR_IDENTITY_JWKS_UNAVAILABLE: {
    status: 401,
    exit: 1,
    summary: "The issuer's JWKS cannot be fetched or read, and no cached key matches.",
  },
  ERR_IDENTITY_TOKEN_LIFETIME_EXCEEDED: {
    status: 401,
    exit: 1,
    summary: "The token's lifetime (exp − iat) exceeds its issuer's maxTokenLifetime.",
  },
  ERR_IDENTITY_AUTH_AGE_EXCEEDED: {
    status: 401,
    exit: 1,
    summary: "The token's auth_time is older than its issuer's maxAuthAge: the user must sign in again.",
  },
  ERR_IDENTITY_TOKEN_REVOKED: {
    status: 401,
    exit: 1,
    summary:
      'The token, its session (sid) or its subject was revoked, or the issuer reports it inactive (RFC 7662 active: false).',
  },
  ERR_IDENTITY_INTROSPECTION_UNAVAILABLE: {
    status: 401,
    exit: 1,
    summary:
      "The issuer's introspection endpoint failed, timed out or answered malformed, and the issuer does not fall back to local verification.",
  },
  ERR_IDENTITY_REVOCATION_UNAVAILABLE: {
    status: 401,
    exit: 1,
    summary:
      'The shared revocation state cannot be read (store down, not yet loaded) and the issuer has revocation: required.',
  },
  ERR_IDENTITY_CONFIG_INVALID: {
    status: 500,
    exit: 2,
    summary: 'The identity configuration is invalid (issuer, key source, algorithms, bounds, dev key).',
  },
  ERR_STATE_UNAVAILABLE: {
    status: 503,
    exit: 2,
    summary:
      'The shared state store (Redis, or the cluster relay of the in-memory store) did not answer in time or is disconnected.',
  },
  ERR_STATE_CONFIG_INVALID: {
    status: 500,
    exit: 2,
    summary: 'The state store configuration is invalid (backend, Redis URL, key prefix, timeouts).',
  },
  ERR_STATE_ENTRY_INVALID: {
    status: 400,
    exit: 2,
    summary: "A state entry's namespace, key, value or TTL is malformed or out of bounds.",
  },
  ERR_SSF_UNAUTHORIZED: {
    status: 401,
    exit: 1,
    summary:
      "A push to /ssf/events carried no Authorization header, or one that is no configured stream's (RFC 8935 authentication_failed).",
  },
  ERR_SSF_SET_INVALID: {
    status: 400,
    exit: 1,
    summary:
      'The Security Event Token is malformed, unsigned, not typed secevent+jwt, too large or too deep, lacks jti/iat/events, holds more than one event, or is too old or in the future (RFC 8935 invalid_request).',
  },
  ERR_SSF_SIGNATURE_INVALID: {
    status: 400,
    exit: 1,
    summary:
      "The SET's signature does not verify against the transmitter's JWKS, no key matches it, or its alg is not allowed (RFC 8935 invalid_key).",
  },
  ERR_SSF_ISSUER_MISMATCH: {
    status: 400,
    exit: 1,
    summary: "The SET's iss is not the issuer of the stream it came on (RFC 8935 invalid_issuer).",
  },
  ERR_SSF_AUDIENCE_MISMATCH: {
    status: 400,
    exit: 1,
    summary: "The SET's aud does not name this receiver's configured audience (RFC 8935 invalid_audience).",
  },
  ERR_SSF_SET_REPLAYED: {
    status: 400,
    exit: 1,
    summary: 'A SET with this jti was already received from this transmitter: it is not applied again.',
  },
  ERR_SSF_TRANSMITTER_UNAVAILABLE: {
    status: 503,
    exit: 2,
    summary:
      "The transmitter's /.well-known/ssf-configuration, JWKS, stream configuration or poll endpoint cannot be fetched or is malformed: the SET is not acknowledged, so the transmitter delivers it again.",
  },
  ERR_LOGOUT_TOKEN_INVALID: {
    status: 400,
    exit: 1,
    summary:
      'The OIDC back-channel logout_token is missing, malformed, not signed by a configured issuer, not for a configured client (aud), lacks the back-channel-logout event, sid and sub, or jti, carries a nonce, or is too old.',
  },
  ERR_LOGOUT_TOKEN_REPLAYED: {
    status: 400,
    exit: 1,
    summary: 'A logout_token with this jti was already received from this issuer: it is not applied again.',
  },
  ERR_LOG_WRITE_FAILED: {
    status: 503,
    exit: 2,
    summary:
      'The decision log cannot be written or fsynced: in sync mode the decision is denied, never unlogged.',
  },
  ERR_LOG_READ_FAILED: { status: 500, exit: 2, summary: 'A decision log or checkpoint file cannot be read.' },
  ERR_LOG_KEY_INVALID: {
    status: 500,
    exit: 2,
    summary: 'The checkpoint signing or verification key is not a usable Ed25519 key.',
  },
  ERR_LOG_CONFIG_INVALID: {
    status: 500,
    exit: 2,
    summary:
      'A decision log or log shipping option is invalid (rotation, batch size, collector URL, cursor).',
  },
  ERR_LOG_SHIP_FAILED: {
    status: 502,
    exit: 2,
    summary: 'The collector did not accept an upload; the events stay on disk and are retried with backoff.',
  },
  ERR_GATEWAY_CONFIG_INVALID: {
    status: 500,
    exit: 2,
    summary: 'The gateway configuration is unreadable, fails its schema, or names no upstream server.',
  },
  ERR_GATEWAY_UPSTREAM_UNAVAILABLE: {
    status: 502,
    exit: 2,
    summary:
      'The upstream MCP server is not running (starting, restarting after a crash) or did not answer in time.',
  },
  ERR_GATEWAY_WORKER_FAILED: {
    status: 503,
    exit: 2,
    summary:
      'The gateway decision worker holding this message died (it is replaced), or none could start: the message is denied and logged by the main thread.',
  },
  ERR_GATEWAY_OVERLOADED: {
    status: 503,
    exit: 2,
    summary:
      'Every gateway decision worker is busy and the decision queue is full (limits.maxQueuedDecisions): the message is denied and logged; retry later.',
  },
  ERR_PDP_CONFIG_INVALID: {
    status: 500,
    exit: 2,
    summary: 'The PDP configuration file is unreadable or fails its schema.',
  },
  ERR_PDP_INSECURE_BIND: {
    status: 500,
    exit: 2,
    summary: 'A non-loopback listen address was configured without caller authentication.',
  },
  ERR_LISTEN_ADDRESS_IN_USE: {
    status: 500,
    exit: 2,
    summary:
      'serve or gateway cannot listen: another process already holds the port on that address (choose another with --port).',
  },
  ERR_PDP_UNAUTHORIZED: {
    status: 401,
    exit: 1,
    summary: 'The caller presented no valid PDP credential (bearer token or client certificate).',
  },
  ERR_PDP_NOT_FOUND: { status: 404, exit: 2, summary: 'No such PDP endpoint.' },
  ERR_PDP_METHOD_NOT_ALLOWED: {
    status: 405,
    exit: 2,
    summary: 'The endpoint does not accept this HTTP method.',
  },
  ERR_PDP_BODY_TOO_LARGE: {
    status: 413,
    exit: 2,
    summary: 'The request body exceeds the configured size bound.',
  },
  ERR_PDP_BODY_INVALID: {
    status: 400,
    exit: 2,
    summary: 'The request body is not JSON of the expected shape, nests too deep, or is not UTF-8.',
  },
  ERR_PDP_HEADERS_TOO_LARGE: {
    status: 431,
    exit: 2,
    summary: 'The request has more headers, or larger ones, than the configured bounds.',
  },
  ERR_PDP_TIMEOUT: { status: 408, exit: 2, summary: 'The client did not send the request in time.' },
  ERR_PDP_NOT_READY: {
    status: 503,
    exit: 2,
    summary: 'No bundle is loaded yet, or the PDP is shutting down.',
  },
  ERR_POLICY_TEST_INVALID: {
    status: 400,
    exit: 2,
    summary:
      'A policy test path does not exist, or a decision cases file is not valid YAML of the cases schema.',
  },
  ERR_CATALOG_CONNECT_FAILED: {
    status: 502,
    exit: 2,
    summary:
      'catalog import could not start, reach or initialize the MCP server (its stderr tail is in the message).',
  },
  ERR_CATALOG_LIST_INVALID: {
    status: 502,
    exit: 2,
    summary:
      'The MCP server failed a list request, answered one malformed, listed a name twice, or exceeded the page or entry bounds.',
  },
  ERR_CATALOG_DATA_INVALID: {
    status: 400,
    exit: 2,
    summary: 'The bundle data file is not JSON, or mcp_data.servers[server] does not have the catalog shape.',
  },
  ERR_CLI_USAGE: { status: 400, exit: 2, summary: 'The command line is invalid or a file cannot be read.' },
} as const satisfies Record<string, { status: number; exit: 0 | 1 | 2; summary: string }>

/** The closed union of error codes. */
export type McpPolicyErrorCode = keyof typeof errorTable

/** All error codes, in table order. */
export const errorCodes = Object.keys(errorTable) as McpPolicyErrorCode[]

/**
 * The single error class. `code` is stable API; `message` is for humans and may change.
 *
 * @example
 * ```ts
 * throw new McpPolicyError('ERR_BUNDLE_CORRUPT', 'policy.wasm missing', { cause: err })
 * ```
 */
export class McpPolicyError extends Error {
  /** Stable machine-readable code. */
  readonly code: McpPolicyErrorCode

  constructor(code: McpPolicyErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.code = code
    this.name = new.target.name
  }

  /** HTTP status a service answers with for this error. */
  get status(): number {
    return errorTable[this.code].status
  }

  /** Exit code the CLI ends with for this error. */
  get exitCode(): 0 | 1 | 2 {
    return errorTable[this.code].exit
  }
}

/**
 * Wraps anything thrown (the opa-wasm SDK throws bare strings and plain objects) into a
 * {@link McpPolicyError} with the given code, keeping an existing McpPolicyError as it is.
 *
 * @example
 * ```ts
 * try { policy.evaluate(input) } catch (err) { throw toMcpPolicyError(err, 'ERR_ENGINE_TRAP') }
 * ```
 */
export function toMcpPolicyError(err: unknown, code: McpPolicyErrorCode, context?: string): McpPolicyError {
  if (err instanceof McpPolicyError) return err
  const detail = describeThrown(err)
  return new McpPolicyError(code, context ? `${context}: ${detail}` : detail, { cause: err })
}

function describeThrown(err: unknown): string {
  if (err instanceof Error) return err.message
  if (typeof err === 'string') return err
  if (err && typeof err === 'object' && 'message' in err && typeof err.message === 'string')
    return err.message
  try {
    return JSON.stringify(err) ?? String(err)
  } catch {
    return String(err)
  }
}
