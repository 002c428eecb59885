import { randomUUID } from 'node:crypto'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import { McpPolicyError } from '../errors.js'
import type { Subject } from '../identity/subject.js'
import { readSchema } from '../schemas.js'
import type { AnalysisDeclarations } from './argument-analysis/analysis-declarations.js'
import { analyzeTool } from './argument-analysis/analyze-arguments.js'
import { type ToolInputSchemas, validateTool } from './argument-validation/tool-input-schemas.js'
import {
  maskCredentialText,
  maskCredentialTree,
  maskCredentialUrl,
  maskMetaMembers,
} from './credential-mask.js'
import { type HeaderBag, type HttpFacts, presentedCredentials, readHttpFacts } from './http-envelope.js'
import type { InputDocument, McpFacts } from './input-document.js'
import type { McpMessage } from './mcp-message.js'
import { compileMcpMessageValidators, type McpMessageValidators } from './mcp-message-validators.js'
import type { NormalizeConfig } from './normalize-config.js'
import { checkValueDepth, parseMessageBody } from './parse-message.js'
import {
  isStatelessRevision,
  PROTOCOL_VERSION_META_KEY,
  readRequestMeta,
  withoutEnvelope,
} from './request-meta.js'
import { resolveServer } from './resolve-server.js'
import { checkRoutingHeaders } from './routing-headers.js'
import { TimeContext } from './time-context.js'
import { readTraceContext, type TraceContext } from './trace-context.js'
import { checkWellFormed } from './well-formed.js'

/** Verifies a bearer token for a server's resource URI; `TokenVerifier` is one. */
export interface SubjectResolver {
  verify(token: string | undefined, audience: string, now?: Date): Promise<Subject>
  /** The subject without waiting when the token was verified before, else `undefined`. */
  cached?(token: string | undefined, audience: string, now?: Date): Subject | undefined
}

/** What a gateway or MCP server hands the normalizer for one message. */
export interface RequestEnvelope {
  /** The JSON-RPC message: raw body text or bytes (untrusted), or an already-parsed value. */
  message: string | Uint8Array | unknown
  /** HTTP request headers. */
  headers?: HeaderBag
  /** Explicit server id; otherwise resolved from routes by host and path. */
  server?: string
  /** Host and path when the caller knows them directly (not from X-Forwarded-*). */
  host?: string
  path?: string
  /** The peer address of the connection. */
  sourceIp?: string
  /** Gateway-provided facts for `context.attributes`. */
  attributes?: Record<string, unknown>
  /** Time of the request. Default: now. */
  now?: Date
  /**
   * `server_to_client` for a message the MCP server sends to the client (a gateway decides both
   * directions); omitted for a client message. Only the enforcement point sets it, never a body.
   */
  direction?: 'server_to_client'
}

/** How one message is normalized beyond its envelope. */
export interface NormalizeOptions {
  /**
   * Which tool arguments to analyse (`input.mcp.tool.analysis`), as the bundle deciding the
   * message declares them (`analysisDeclarations(bundle.data)`). `DecisionService` passes its
   * engine's; omitted, no argument is analysed.
   */
  analysis?: AnalysisDeclarations
  /**
   * The tools' declared input schemas (`toolInputSchemas(bundle.data)`) a `tools/call`'s arguments
   * are validated against (`input.mcp.tool.validation`). `DecisionService` passes its engine's;
   * omitted, no arguments are validated.
   */
  validation?: ToolInputSchemas
}

const RESOURCE_METHODS = new Set(['resources/read', 'resources/subscribe', 'resources/unsubscribe'])

/**
 * Turns an MCP JSON-RPC message plus HTTP envelope into input document v1, with identity from a
 * verified token only. Every document it returns validates against `rego/schemas/input.json`;
 * anything it cannot normalize is an {@link McpPolicyError}, never another throw.
 *
 * JSON-RPC batches (arrays) are rejected: MCP 2025-06-18 and later forbid them, and for 2025-03-26
 * a gateway must split a batch and ask once per message, so each gets its own decision and log record.
 *
 * @example
 * ```ts
 * const normalizer = new RequestNormalizer({ servers: { github: { resource: 'https://mcp.example.com/github' } } }, verifier)
 * const input = await normalizer.normalize({ message: body, headers, server: 'github' })
 * ```
 */
export class RequestNormalizer {
  readonly #config: NormalizeConfig
  readonly #identity: SubjectResolver | undefined
  readonly #validate: ValidateFunction
  readonly #mcpSchemas: McpMessageValidators
  readonly #limits: Required<NonNullable<NormalizeConfig['limits']>>
  readonly #time = new TimeContext()

  constructor(config: NormalizeConfig, identity?: SubjectResolver) {
    this.#config = config
    this.#identity = identity
    this.#limits = {
      maxBodyBytes: 1024 * 1024,
      maxDepth: 64,
      maxParamsBytes: 256 * 1024,
      maxHeaders: 100,
      maxHeaderBytes: 16 * 1024,
      ...config.limits,
    }
    // One ajv for the input document and the SDK's message shapes.
    const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: false })
    this.#validate = ajv.compile(readSchema('input'))
    this.#mcpSchemas = compileMcpMessageValidators(ajv)
  }

  /**
   * Normalizes one message.
   *
   * @throws McpPolicyError `ERR_NORMALIZE_*` for messages and envelopes that cannot be normalized.
   */
  async normalize(envelope: RequestEnvelope, options: NormalizeOptions = {}): Promise<InputDocument> {
    return (await this.normalizeMessage(envelope, options)).input
  }

  /**
   * As {@link normalize}, and hands back the JSON-RPC message it parsed (and checked: one object,
   * no duplicate keys, within the bounds), so an enforcement point forwards what was decided
   * without parsing the body a second time.
   *
   * @throws McpPolicyError `ERR_NORMALIZE_*` for messages and envelopes that cannot be normalized.
   */
  async normalizeMessage(
    envelope: RequestEnvelope,
    options: NormalizeOptions = {},
  ): Promise<{ input: InputDocument; message: McpMessage }> {
    const limits = this.#limits
    const fromText = typeof envelope.message === 'string' || envelope.message instanceof Uint8Array
    const message = this.#parse(envelope.message)
    const http = readHttpFacts(envelope.headers ?? {}, {
      maxHeaders: limits.maxHeaders,
      maxHeaderBytes: limits.maxHeaderBytes,
      trustForwarded: this.#config.trustForwardedHeaders !== false,
    })
    // Credentials in metadata never reach the document: the ones the headers present, and any by
    // name or by value in the path, the query, `_meta`, header-derived fields and attributes.
    const known = presentedCredentials(envelope.headers)
    const rawHost = envelope.host ?? http.host
    const rawPath = envelope.path ?? http.path
    const host = rawHost === undefined ? undefined : maskCredentialText(rawHost, known)
    const path = rawPath === undefined ? undefined : maskCredentialUrl(rawPath, known)
    const server = resolveServer(this.#config, { explicitId: envelope.server, host, path })
    const now = envelope.now ?? new Date()
    const raw = envelope.message
    const bodyBytesAtMost =
      typeof raw === 'string'
        ? raw.length * 3
        : raw instanceof Uint8Array
          ? raw.byteLength
          : Number.POSITIVE_INFINITY
    const fromServer = envelope.direction === 'server_to_client'
    const { mcp, trace } = this.#mcpFacts(
      message,
      http,
      fromText,
      bodyBytesAtMost,
      known,
      mayHoldMeta(raw),
      fromServer,
    )
    if (fromServer) mcp.direction = 'server_to_client'
    // Analysis reads the arguments as the policy will see them, and becomes part of the input:
    // the log keeps it, so replay judges the same analysis whatever parser it runs with.
    if (mcp.tool && options.analysis) await analyzeTool(options.analysis, server.id, mcp.tool)
    // Validation against the declared schema, as analysis, is part of the input: the log keeps it,
    // so replay judges the same verdict whatever validator it runs with.
    if (mcp.tool && options.validation) validateTool(options.validation, server.id, mcp.tool)
    // A session's repeat token is answered from the verifier's cache without a promise to wait on.
    const subject =
      (http.bearerToken !== undefined && this.#identity?.cached?.(http.bearerToken, server.resource, now)) ||
      (await this.#subject(http, server.resource, now))

    const request: InputDocument['context']['request'] = {
      id: http.requestId === undefined ? randomUUID() : maskCredentialText(http.requestId, known),
    }
    const sourceIp = http.sourceIp ?? envelope.sourceIp
    if (sourceIp !== undefined) request.source_ip = maskCredentialText(sourceIp, known)
    if (http.userAgent !== undefined) request.user_agent = maskCredentialText(http.userAgent, known)
    if (host !== undefined) request.host = host
    if (path !== undefined) request.path = path
    const document: InputDocument = {
      schema: 'mcp-policy/input/v1',
      mcp,
      subject,
      server,
      context: {
        time: this.#time.at(now),
        request,
        attributes:
          envelope.attributes === undefined
            ? {}
            : (maskCredentialTree(copyObject(envelope.attributes), known) as Record<string, unknown>),
      },
    }
    // The envelope's text must be Unicode too (HTTP headers cannot hold a lone surrogate; the JSON
    // a gateway sends the PDP can): one has no UTF-8 form to evaluate or log.
    checkWellFormed(document.context, 'ERR_NORMALIZE_JSON_INVALID', 'the request context')
    checkWellFormed(document.server, 'ERR_NORMALIZE_JSON_INVALID', 'the server id')
    if (mcp.session_id !== undefined)
      checkWellFormed(mcp.session_id, 'ERR_NORMALIZE_JSON_INVALID', 'the session id')
    if (mcp.protocol_version !== undefined)
      checkWellFormed(mcp.protocol_version, 'ERR_NORMALIZE_JSON_INVALID', 'the protocol version')
    if (this.#config.environment !== undefined) document.context.environment = this.#config.environment
    if (trace !== undefined) {
      document.context.trace_id = trace.trace_id
      if (trace.tracestate !== undefined) trace.tracestate = maskCredentialText(trace.tracestate, known)
      document.context.trace = trace
    }
    if (!this.#validate(document)) {
      const [first] = this.#validate.errors ?? []
      throw new McpPolicyError(
        'ERR_NORMALIZE_SCHEMA_VIOLATION',
        `normalized document fails the input schema at ${first?.instancePath || '/'}: ${first?.message ?? 'invalid'}`,
      )
    }
    return { input: document, message }
  }

  #parse(raw: unknown): Record<string, unknown> {
    const limits = this.#limits
    let message: unknown
    if (typeof raw === 'string' || raw instanceof Uint8Array) {
      message = parseMessageBody(raw, { maxBytes: limits.maxBodyBytes, maxDepth: limits.maxDepth })
    } else {
      checkValueDepth(raw, limits.maxDepth)
      checkWellFormed(raw, 'ERR_NORMALIZE_JSON_INVALID', 'the message')
      message = raw
    }
    if (Array.isArray(message)) {
      throw new McpPolicyError(
        'ERR_NORMALIZE_BATCH_UNSUPPORTED',
        'JSON-RPC batches are not decided as a whole: split the batch and decide each message',
      )
    }
    if (message === null || typeof message !== 'object') {
      throw new McpPolicyError('ERR_NORMALIZE_MESSAGE_INVALID', 'a JSON-RPC message must be an object')
    }
    if (!this.#mcpSchemas.message(message)) {
      throw new McpPolicyError(
        'ERR_NORMALIZE_MESSAGE_INVALID',
        'not a JSON-RPC 2.0 request, notification or response',
      )
    }
    return message as McpMessage
  }

  #mcpFacts(
    message: Record<string, unknown>,
    http: HttpFacts,
    ownedByUs: boolean,
    bodyBytesAtMost: number,
    known: readonly string[],
    metaMayHide: boolean,
    fromServer: boolean,
  ): { mcp: McpFacts; trace: TraceContext | undefined } {
    const hasMethod = typeof message.method === 'string'
    const hasId = message.id !== undefined
    const mcp: McpFacts = { kind: hasMethod ? (hasId ? 'request' : 'notification') : 'response' }
    if (hasMethod) mcp.method = maskCredentialText(message.method as string, known)
    if (hasId)
      mcp.id = typeof message.id === 'string' ? maskCredentialText(message.id, known) : (message.id as number)
    if (http.sessionId !== undefined) mcp.session_id = maskCredentialText(http.sessionId, known)
    const params = message.params
    if (params !== undefined) {
      if (params === null || typeof params !== 'object' || Array.isArray(params)) {
        throw new McpPolicyError('ERR_NORMALIZE_MESSAGE_INVALID', 'MCP params must be an object')
      }
      if (ownedByUs && bodyBytesAtMost <= this.#limits.maxParamsBytes) {
        // Parsed from a body no larger than the params bound: already a fresh tree of plain data.
        mcp.params = params as Record<string, unknown>
      } else {
        const serialized = JSON.stringify(params)
        const size = Buffer.byteLength(serialized, 'utf8')
        if (size > this.#limits.maxParamsBytes) {
          throw new McpPolicyError(
            'ERR_NORMALIZE_TOO_LARGE',
            `params are ${size} bytes, limit ${this.#limits.maxParamsBytes}`,
          )
        }
        // A detached copy: a caller's object (or its getters) cannot change what the policy sees.
        mcp.params = (ownedByUs ? params : JSON.parse(serialized)) as Record<string, unknown>
      }
    }
    // Params are ours here (parsed from our text, or a detached copy): masked in place.
    if (mcp.params !== undefined && metaMayHide) maskMetaMembers(mcp.params, known)
    const p = (mcp.params ?? {}) as Record<string, unknown>
    // MCP 2026-07-28 carries the revision, the client's info and capabilities in every request's
    // `_meta` (read after masking: a credential there reaches neither field).
    const meta = readRequestMeta(mcp.params)
    if (!fromServer) {
      // The headers describe the client's message; a server's message is decided under the
      // headers of the client's latest request, which describe another one.
      if (
        meta.protocolVersion !== undefined &&
        http.protocolVersion !== undefined &&
        meta.protocolVersion !== http.protocolVersion
      )
        throw new McpPolicyError(
          'ERR_NORMALIZE_MCP_HEADER_MISMATCH',
          `MCP-Protocol-Version names another revision than ${PROTOCOL_VERSION_META_KEY} in params._meta`,
        )
      checkRoutingHeaders(message, http)
    }
    // The request's own claim, then the transport header; initialize carries the version the
    // client asks for. An unknown (future) revision is recorded as it is: policy decides.
    const protocolVersion =
      meta.protocolVersion ??
      http.protocolVersion ??
      (mcp.method === 'initialize' && typeof p.protocolVersion === 'string' ? p.protocolVersion : undefined)
    if (protocolVersion !== undefined) mcp.protocol_version = maskCredentialText(protocolVersion, known)
    if (protocolVersion !== undefined && isStatelessRevision(protocolVersion) && !fromServer) {
      // A stateless revision has no session: one named anyway would be routed (by a gateway, a
      // sticky load balancer) to a session the policy does not judge this request as part of.
      if (mcp.session_id !== undefined)
        throw new McpPolicyError(
          'ERR_NORMALIZE_SESSION_UNEXPECTED',
          `a ${protocolVersion} request carries Mcp-Session-Id: that revision has no sessions`,
        )
    }
    if (meta.clientInfo !== undefined) mcp.client_info = meta.clientInfo
    if (meta.clientCapabilities !== undefined) mcp.client_capabilities = meta.clientCapabilities

    if (mcp.method === 'tools/call') {
      requireParams(this.#mcpSchemas.toolCall(p), mcp.method)
      mcp.tool = { name: p.name as string, arguments: objectOrEmpty(p.arguments) }
    } else if (mcp.method !== undefined && RESOURCE_METHODS.has(mcp.method)) {
      requireParams(this.#mcpSchemas.resource(p), mcp.method)
      // A resource URI is a URL: its query and userinfo may carry a credential (masked in the
      // params too, which the log also holds).
      const uri = maskCredentialUrl(p.uri as string, known)
      if (uri !== p.uri) p.uri = uri
      mcp.resource = parseResourceUri(uri)
    } else if (mcp.method === 'prompts/get') {
      requireParams(this.#mcpSchemas.prompt(p), mcp.method)
      mcp.prompt = { name: p.name as string, arguments: objectOrEmpty(p.arguments) }
    } else if (mcp.method === 'initialize') {
      // Earlier revisions say it once, here; a `_meta` claim on the same message wins.
      if (mcp.client_info === undefined && isObject(p.clientInfo))
        mcp.client_info = lenientClientInfo(p.clientInfo)
      if (mcp.client_capabilities === undefined && isObject(p.capabilities))
        mcp.client_capabilities = p.capabilities
    }
    const error = message.error as { code?: unknown; message?: unknown } | undefined
    if (
      mcp.kind === 'response' &&
      error &&
      Number.isInteger(error.code) &&
      typeof error.message === 'string'
    ) {
      mcp.error = { code: error.code as number, message: error.message }
    }
    // Lifted, the envelope leaves params: a 2026-07-28 request's params then read as its earlier
    // form's do, and the policy gets (and the log keeps) one copy, not two. Last, so what was
    // masked in params above (a resource URI) is in the copy; the message keeps its envelope.
    if (mcp.params !== undefined && meta.envelope) mcp.params = withoutEnvelope(mcp.params)
    const trace =
      readTraceContext(http.traceparent, http.tracestate, 'header') ??
      readTraceContext(meta.traceparent, meta.tracestate, 'meta')
    return { mcp, trace }
  }

  async #subject(http: HttpFacts, audience: string, now: Date): Promise<Subject> {
    const unauthenticated = (
      code: 'ERR_IDENTITY_TOKEN_MISSING' | 'ERR_IDENTITY_TOKEN_MALFORMED' | 'ERR_IDENTITY_ISSUER_UNKNOWN',
      message: string,
    ): Subject => ({
      authenticated: false,
      groups: [],
      roles: [],
      scopes: [],
      actor: null,
      claims: {},
      reason: { code, message },
    })
    if (http.malformedAuthorization)
      return unauthenticated('ERR_IDENTITY_TOKEN_MALFORMED', 'Authorization is not a Bearer token')
    if (http.bearerToken === undefined)
      return unauthenticated('ERR_IDENTITY_TOKEN_MISSING', 'no bearer token')
    if (!this.#identity)
      return unauthenticated('ERR_IDENTITY_ISSUER_UNKNOWN', 'no token issuer is configured')
    return this.#identity.verify(http.bearerToken, audience, now)
  }
}

/**
 * Parses a resource URI into scheme, host and path (WHATWG URL). An unparsable URI keeps only
 * `uri`, so a policy matching on scheme or host cannot match it by accident.
 *
 * @internal
 */
export function parseResourceUri(uri: string): NonNullable<McpFacts['resource']> {
  let url: URL
  try {
    url = new URL(uri)
  } catch {
    return { uri }
  }
  return { uri, scheme: url.protocol.replace(/:$/, ''), host: url.hostname, path: decodePath(url.pathname) }
}

// Policies compare paths as text: decode %XX once, so `%2e%2e` cannot hide a `..` from them.
function decodePath(path: string): string {
  try {
    return decodeURIComponent(path)
  } catch {
    return path
  }
}

function requireParams(valid: boolean, method: string): void {
  if (!valid)
    throw new McpPolicyError(
      'ERR_NORMALIZE_MESSAGE_INVALID',
      `params of ${method} do not match the MCP schema`,
    )
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
}

// initialize's clientInfo as earlier revisions judged it: the string members only (the server
// validates the rest of the handshake).
function lenientClientInfo(info: Record<string, unknown>): NonNullable<McpFacts['client_info']> {
  const out: NonNullable<McpFacts['client_info']> = {}
  for (const field of ['name', 'version', 'title'] as const)
    if (typeof info[field] === 'string') out[field] = info[field] as string
  return out
}

function objectOrEmpty(value: unknown): Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value)
    ? (value as Record<string, unknown>)
    : {}
}

// Whether a message may hold a `_meta` member. Text that spells neither `_meta` nor a `\u` escape
// (which could spell it) has none, so the common request skips the walk over its params.
function mayHoldMeta(raw: unknown): boolean {
  if (typeof raw === 'string') return raw.includes('_meta') || raw.includes('\\u')
  if (raw instanceof Uint8Array) {
    const bytes = Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)
    return bytes.includes('_meta') || bytes.includes('\\u')
  }
  return true
}

// A copy whose keys are all own data properties on a null-prototype-free plain object: a
// `__proto__` key stays an ordinary key and can never become a prototype.
function copyObject(value: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(JSON.stringify(value))
}
