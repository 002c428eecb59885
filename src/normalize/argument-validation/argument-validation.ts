/**
 * `input.mcp.tool.validation`: whether a `tools/call`'s arguments match the tool's declared
 * `inputSchema` (bundle data `mcp_data.servers[server].tools[tool].input_schema`). Absent when the
 * tool declares none. The reference policy refuses a call whose validation is not `valid: true`
 * (`arguments_invalid`).
 */
export interface ArgumentValidation {
  valid: boolean
  /** Why not (only when `valid` is false): the first failures the validator met, at most {@link MAX_VALIDATION_ERRORS}. */
  errors?: ArgumentValidationError[]
}

/** One failure of {@link ArgumentValidation}. */
export interface ArgumentValidationError {
  /**
   * JSON pointer (RFC 6901) into the arguments to the value that failed (`""`: the arguments
   * object, or the schema itself for `schema` and `budget`). Credentials in it are masked.
   */
  pointer: string
  /**
   * The JSON Schema keyword that failed (`type`, `required`, `maximum`, …), or: `schema` (the
   * declared schema cannot be used: too large, a remote `$ref`, a pattern that is not RE2
   * syntax…), `budget` (validating took more steps or time than allowed), `error` (the validator
   * failed).
   */
  keyword: string
  /** Ajv's message, or what made the schema unusable; at most 256 characters. */
  message: string
}

/** Most errors recorded per validation. */
export const MAX_VALIDATION_ERRORS = 4
