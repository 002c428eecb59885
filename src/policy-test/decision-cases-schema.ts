/**
 * JSON Schema (draft 2020-12) of a `*.cases.yaml` file: decision cases run through the full
 * normalize → decide path by `mcp-policy test`. See "Decision cases" in docs/policy-authoring.md.
 *
 * @internal
 */
export const decisionCasesSchema = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  $id: 'https://mcp-policy.dev/schemas/decision-cases/v1',
  type: 'object',
  required: ['cases'],
  additionalProperties: false,
  properties: {
    servers: {
      description: 'Server id → resource URI (token audience). Default: the PDP default servers.',
      type: 'object',
      additionalProperties: {
        type: 'object',
        required: ['resource'],
        additionalProperties: false,
        properties: { resource: { type: 'string', minLength: 1 } },
      },
    },
    defaults: {
      type: 'object',
      $ref: '#/$defs/caseFields',
      unevaluatedProperties: false,
      description:
        'Merged under every case (the case wins). Only the case fields above, so a typo is an error.',
    },
    cases: { type: 'array', minItems: 1, items: { $ref: '#/$defs/case' } },
  },
  $defs: {
    identity: {
      description: 'Claims the harness signs into a real token with a per-run key; null = no token.',
      type: ['object', 'null'],
      additionalProperties: false,
      properties: {
        sub: { type: 'string', minLength: 1 },
        roles: { type: 'array', items: { type: 'string' } },
        groups: { type: 'array', items: { type: 'string' } },
        scopes: { type: 'array', items: { type: 'string' } },
        client_id: { type: 'string' },
        act: { type: 'object', description: 'RFC 8693 act claim: {sub?, client_id?, act?}' },
        auth_age_s: { type: 'integer', minimum: 0, description: 'auth_time this many seconds before now' },
        acr: { type: 'string' },
        amr: { type: 'array', items: { type: 'string' } },
        claims: { type: 'object', description: 'More claims, as they are.' },
        token: {
          enum: ['valid', 'expired', 'wrong_audience', 'forged'],
          description: 'A token that fails verification the named way. Default valid.',
        },
      },
    },
    caseFields: {
      type: 'object',
      properties: {
        server: { type: 'string', minLength: 1 },
        identity: { $ref: '#/$defs/identity' },
        now: {
          type: 'string',
          // RFC 3339 with a zone: a local time would make time-window cases depend on the machine.
          pattern: '^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?(Z|[+-]\\d{2}:\\d{2})$',
          description:
            'RFC 3339 time of the request, with Z or an offset. Default 2025-11-24T10:00:00Z (a Monday).',
        },
        environment: { type: 'string' },
        headers: {
          type: 'object',
          additionalProperties: {
            anyOf: [{ type: 'string' }, { type: 'array', items: { type: 'string' } }],
          },
          description: 'HTTP headers of the request; a list is one header sent that many times.',
        },
        attributes: { type: 'object' },
      },
    },
    case: {
      allOf: [{ $ref: '#/$defs/caseFields' }],
      type: 'object',
      required: ['name', 'message', 'expect'],
      unevaluatedProperties: false,
      properties: {
        name: { type: 'string', minLength: 1 },
        message: { description: 'The MCP JSON-RPC message: an object, or raw body text.' },
        direction: {
          enum: ['server_to_client'],
          description:
            'server_to_client: the message is one the MCP server sends to the client (sampling, elicitation, roots), as a gateway deciding both directions sees it.',
        },
        result: { type: 'object', description: 'A tool result: the case judges it at mcp/response.' },
        destination: { type: 'object', description: 'Where the result goes (mcp/response input).' },
        expect: {
          type: 'object',
          required: ['allow'],
          additionalProperties: false,
          properties: {
            allow: { type: 'boolean' },
            status: { type: 'integer' },
            reasons: {
              type: 'array',
              items: { type: 'string' },
              description:
                'Exactly these reason codes. Omitted: not compared, but an ERR_* reason (a fail-closed error) still makes the case an error.',
            },
            obligations: {
              type: 'object',
              additionalProperties: false,
              properties: {
                visible_tools: { type: 'array', items: { type: 'string' } },
                redact: { type: 'array', items: { type: 'string' } },
                require_approval: { type: 'boolean' },
                headers: { type: 'object' },
              },
            },
            redactions: {
              type: 'array',
              items: { type: 'string' },
              description: 'mcp/response: exactly these redacted paths.',
            },
          },
        },
      },
    },
  },
} as const
