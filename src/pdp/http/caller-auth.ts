import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingMessage } from 'node:http'
import type { TLSSocket } from 'node:tls'
import { McpPolicyError } from '../../errors.js'
import type { CallerAuthConfig } from '../pdp-config.js'

/**
 * Authenticates PDP callers (gateways): a configured bearer token, compared in constant time over
 * SHA-256 digests (so neither content nor length leaks through timing), or a TLS client
 * certificate the listener verified against `tls.ca`. The token comes in `Authorization` or
 * `X-MCP-Policy-Authorization`. Either one suffices when both are set.
 * With neither configured, every caller is accepted (loopback binds only; see `assertSafeBind`).
 */
export class CallerAuthenticator {
  readonly #digests: Buffer[]
  readonly #clientCertificates: boolean

  constructor(config: CallerAuthConfig) {
    this.#digests = (config.bearerTokens ?? []).map(digest)
    this.#clientCertificates = config.clientCertificates === true
  }

  /** True when callers must authenticate. */
  get required(): boolean {
    return this.#digests.length > 0 || this.#clientCertificates
  }

  /**
   * @throws McpPolicyError `ERR_PDP_UNAUTHORIZED` (the message never says which check failed).
   */
  check(req: IncomingMessage, options: { forwardsUserAuthorization?: boolean } = {}): void {
    if (!this.required) return
    if (this.#clientCertificates && (req.socket as TLSSocket).authorized === true) return
    // A gateway check (ext_authz) forwards the user's own Authorization header, so there the
    // caller's credential can only come in X-MCP-Policy-Authorization.
    const header =
      req.headers['x-mcp-policy-authorization'] ??
      (options.forwardsUserAuthorization ? undefined : req.headers.authorization)
    if (typeof header === 'string' && /^Bearer /i.test(header)) {
      const presented = digest(header.slice(7).trim())
      // Compare against every token, without an early exit, so timing says nothing about which matched.
      let match = false
      for (const known of this.#digests) match = timingSafeEqual(known, presented) || match
      if (match) return
    }
    throw new McpPolicyError('ERR_PDP_UNAUTHORIZED', 'caller authentication required')
  }
}

function digest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest()
}
