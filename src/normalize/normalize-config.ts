/** Maps incoming requests to an MCP server: the first route whose host and longest path prefix match. */
export interface ServerRoute {
  /** Host (without port) the request was addressed to; omitted = any host. */
  host?: string
  /** Path prefix, e.g. `/github/`. */
  pathPrefix: string
  /** Server id policies see as `input.server.id`. */
  server: string
  /** The server's resource URI (RFC 8707): tokens must name it in `aud`. */
  resource: string
}

/** Size and shape bounds on untrusted input. */
export interface NormalizeLimits {
  /** Largest message body, bytes. Default 1 MiB. */
  maxBodyBytes?: number
  /** Deepest nesting of arrays/objects in the message. Default 64. */
  maxDepth?: number
  /** Largest serialized `params`, bytes. Default 256 KiB. */
  maxParamsBytes?: number
  /** Most headers accepted. Default 100. */
  maxHeaders?: number
  /** Largest single header value, bytes. Default 16 KiB (a JWT with many groups fits). */
  maxHeaderBytes?: number
}

/** Configuration of the normalizer. */
export interface NormalizeConfig {
  /** Route table for gateways that forward the original host and path. */
  routes?: ServerRoute[]
  /** Servers addressable by explicit id (`envelope.server`): id → resource URI. */
  servers?: Record<string, { resource: string }>
  /** Server used when no route matches and no id is given; omitted = such requests are rejected. */
  defaultServer?: string
  /** `context.environment`, e.g. `prod`. */
  environment?: string
  /** Take `source_ip`/`host`/`path` from X-Forwarded-* (the PDP sits behind a trusted gateway). Default true. */
  trustForwardedHeaders?: boolean
  limits?: NormalizeLimits
}
