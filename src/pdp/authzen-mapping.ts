import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js'
import { McpPolicyError } from '../errors.js'
import type { InputDocument } from '../normalize/input-document.js'
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
    const { environment, ...attributes } = request.context ?? {}
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

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : []
}

function invalid(message: string): never {
  throw new McpPolicyError('ERR_PDP_BODY_INVALID', `AuthZEN request: ${message}`)
}
