import { McpPolicyError, type McpPolicyErrorCode } from './errors.js'

/**
 * The error a listening socket's `'error'` event becomes: a port already in use is its own code,
 * `ERR_LISTEN_ADDRESS_IN_USE`, with a message that says what to do (the common case: a second
 * `serve` or `gateway`, or another program, on the same port); anything else — an address this
 * host does not have, a privileged port — is the caller's configuration error. Internal: not
 * exported from the package.
 *
 * @example
 * ```ts
 * server.once('error', (err) => reject(listenError(err, config.host, config.port, 'ERR_PDP_CONFIG_INVALID')))
 * ```
 */
export function listenError(
  err: NodeJS.ErrnoException,
  host: string,
  port: number,
  otherwise: McpPolicyErrorCode,
): McpPolicyError {
  if (err.code === 'EADDRINUSE')
    return new McpPolicyError(
      'ERR_LISTEN_ADDRESS_IN_USE',
      `port ${port} on ${host} is already in use; stop what holds it, or choose another with --port (port: in the configuration)`,
      { cause: err },
    )
  return new McpPolicyError(otherwise, `cannot listen on ${host}:${port}: ${err.message}`, { cause: err })
}
