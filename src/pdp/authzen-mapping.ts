import { isDeepStrictEqual } from 'node:util'
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import { McpPolicyError } from '../errors.js'
import type { InputDocument } from '../normalize/input-document.js'
import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  readRequestMeta,
} from '../normalize/request-meta.js'
import { parseResourceUri } from '../normalize/request-normalizer.js'
import { TimeContext } from '../normalize/time-context.js'
import { readSchema } from '../schemas.js'

/** One OpenID AuthZEN Access Evaluation request (subject, action, resource, context). */
export interface AuthzenEvaluation {
  subject?: { type?: string; id?: string; properties?: Record<string, unknown> }
  action?: { name?: string; properties?: Record<string, unknown> }
  resource?: { type?: string; id?: string; properties?: Record<string, unknown> }
  context?: Record<string, unknown>
}

/**
 * Maps AuthZEN requests onto input document v1, so the same `mcp/decision` policy answers them:
 *
 * - `subject.id` → `subject.id`; `subject.properties.groups|roles|scopes|client_id|email` → the same
 *   members. The PEP asserts the subject (AuthZEN has no token), so the PDP must only accept
 *   AuthZEN calls from authenticated callers it trusts.
 * - `action.name` → `mcp.method` (an MCP method such as `tools/call`).
 * - `resource.type` `tool` | `resource` | `prompt` with `resource.id` → `mcp.tool.name`,
 *   `mcp.resource.uri`, `mcp.prompt.name`; `resource.properties.arguments` → their arguments;
 *   `resource.properties.server` → `server.id` (required).
 * - The MCP revision the described request is governed by, and its client, in `context`, in
 *   either of two spellings (the same facts, the same input document): as a 2026-07-28 request
 *   carries them in its `_meta` (`io.modelcontextprotocol/protocolVersion`, `…/clientInfo`,
 *   `…/clientCapabilities`, copied as they are), or as a PEP of an earlier revision knows them
 *   from `initialize` (`protocol_version`, `client_info`, `client_capabilities`) → `mcp.protocol_version`,
 *   `mcp.client_info`, `mcp.client_capabilities`, checked as the normalizer checks a message's.
 *   The revision is recorded, so the policy judges it (`protocol_version_unknown`) and the log shows it.
 * - `context.environment` → `context.environment`; anything else in `context` → `context.attributes`.
 */
export class AuthzenMapper {
  readonly #validate: ValidateFunction
  readonly #time = new TimeContext()
  readonly #servers: Record<string, { resource: string }>
  readonly #environment: string | undefined

  constructor(options: { servers?: Record<string, { resource: string }>; environment?: string }) {
    const ajv = new Ajv2020({ strict: false, allErrors: false })
    this.#validate = ajv.compile(readSchema('input'))
    this.#servers = options.servers ?? {}
    this.#environment = options.environment
  }

  /**
   * @throws McpPolicyError `ERR_PDP_BODY_INVALID` when the request does not map onto a valid document.
   */
  toInput(request: AuthzenEvaluation, now: Date = new Date()): InputDocument {
    const props = request.subject?.properties ?? {}
    const serverId = request.resource?.properties?.server
    if (typeof request.subject?.id !== 'string') invalid('subject.id is required')
    if (typeof request.action?.name !== 'string') invalid('action.name (an MCP method) is required')
    if (typeof serverId !== 'string') invalid('resource.properties.server (a server id) is required')
    const method = request.action.name
    const args = request.resource?.properties?.arguments ?? {}
    const mcp: InputDocument['mcp'] = { kind: 'request', method }
    const id = request.resource?.id
    switch (request.resource?.type) {
      case 'tool':
        mcp.tool = { name: String(id ?? ''), arguments: args as Record<string, unknown> }
        break
      case 'resource':
        mcp.resource = parseResourceUri(String(id ?? ''))
        break
      case 'prompt':
        mcp.prompt = { name: String(id ?? ''), arguments: args as Record<string, unknown> }
        break
    }
    const { environment, ...rest } = request.context ?? {}
    const { revision, attributes } = revisionFacts(rest)
    Object.assign(mcp, revision)
    const document: InputDocument = {
      schema: 'mcp-policy/input/v1',
      mcp,
      subject: {
        authenticated: true,
        id: request.subject.id,
        groups: strings(props.groups),
        roles: strings(props.roles),
        scopes: strings(props.scopes),
        ...(typeof props.client_id === 'string' ? { client_id: props.client_id } : {}),
        ...(typeof props.email === 'string' ? { email: props.email } : {}),
        actor: null,
        claims: {},
      },
      server: {
        id: serverId,
        resource: this.#servers[serverId]?.resource ?? `urn:mcp-policy:server:${serverId}`,
      },
      context: {
        time: this.#time.at(now),
        request: {},
        attributes,
        ...(typeof environment === 'string'
          ? { environment }
          : this.#environment
            ? { environment: this.#environment }
            : {}),
      },
    }
    if (!this.#validate(document)) {
      const first = this.#validate.errors?.[0]
      invalid(`maps to an invalid input document: ${first?.instancePath ?? ''} ${first?.message ?? ''}`)
    }
    return document
  }
}

/** `context` spellings of the revision facts: the 2026-07-28 `_meta` key and the earlier PEP's name. */
const REVISION_FACTS = [
  { meta: PROTOCOL_VERSION_META_KEY, name: 'protocol_version' },
  { meta: CLIENT_INFO_META_KEY, name: 'client_info' },
  { meta: CLIENT_CAPABILITIES_META_KEY, name: 'client_capabilities' },
] as const

/**
 * The revision, client info and capabilities an AuthZEN `context` states, in either spelling, and
 * the rest of the context (the attributes). Both spellings of one fact must agree: a PEP that
 * copies `_meta` and adds what it learnt elsewhere must not leave the policy to pick one.
 */
function revisionFacts(context: Record<string, unknown>): {
  revision: Pick<InputDocument['mcp'], 'protocol_version' | 'client_info' | 'client_capabilities'>
  attributes: Record<string, unknown>
} {
  const attributes = { ...context }
  const meta: Record<string, unknown> = {}
  for (const { meta: key, name } of REVISION_FACTS) {
    const stated = [key, name].filter((k) => Object.hasOwn(context, k))
    if (stated.length === 2 && !isDeepStrictEqual(context[key], context[name]))
      invalid(`context.${name} and context["${key}"] disagree`)
    if (stated.length > 0) meta[key] = context[stated[0]!]
    delete attributes[key]
    delete attributes[name]
  }
  let read: ReturnType<typeof readRequestMeta>
  try {
    // The checks a message's _meta gets: a revision identifier, client info fields as strings.
    read = readRequestMeta({ _meta: meta })
  } catch (err) {
    invalid(`context: ${(err as Error).message}`)
  }
  return {
    revision: {
      ...(read.protocolVersion !== undefined ? { protocol_version: read.protocolVersion } : {}),
      ...(read.clientInfo !== undefined ? { client_info: read.clientInfo } : {}),
      ...(read.clientCapabilities !== undefined ? { client_capabilities: read.clientCapabilities } : {}),
    },
    attributes,
  }
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}

function invalid(message: string): never {
  throw new McpPolicyError('ERR_PDP_BODY_INVALID', `AuthZEN request: ${message}`)
}
