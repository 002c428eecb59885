import { request } from 'undici'
import { McpPolicyError } from '../errors.js'
import { describe, readBounded } from '../identity/bounded-response.js'

const loopbackHosts = new Set(['localhost', '127.0.0.1', '[::1]'])

/**
 * A transmitter URL from configuration or from its metadata: https, or http on a loopback host (a
 * sidecar, tests). Keys, stream settings and SETs fetched in clear text could be swapped by anyone
 * on the path.
 *
 * @throws McpPolicyError `errorCode` naming `what` when the URL is malformed or insecure.
 */
export function transmitterUrl(
  value: unknown,
  what: string,
  errorCode: 'ERR_PDP_CONFIG_INVALID' | 'ERR_SSF_TRANSMITTER_UNAVAILABLE',
): URL {
  let url: URL
  try {
    url = new URL(String(value))
  } catch {
    throw new McpPolicyError(errorCode, `${what} is not a URL`)
  }
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopbackHosts.has(url.hostname)))
    throw new McpPolicyError(errorCode, `${what} must be https (http only on a loopback host)`)
  return url
}

/** One exchange with a transmitter: a JSON answer of at most `maxBytes`, within `timeoutMs`. */
export interface TransmitterRequest {
  method: 'GET' | 'POST'
  authorization?: string
  /** Sent as JSON. */
  json?: unknown
  timeoutMs: number
  maxBytes: number
  /** Aborts the request (a poller being stopped). */
  signal?: AbortSignal
}

/**
 * Sends one request to a transmitter and reads its JSON answer, bounded in time and size. Only a
 * 200 with a JSON object is an answer; `what` names the exchange in the error.
 *
 * @throws McpPolicyError `ERR_SSF_TRANSMITTER_UNAVAILABLE` (network failure, timeout, another
 *   status, a body too large or not a JSON object).
 */
export async function requestTransmitter(
  url: URL,
  what: string,
  options: TransmitterRequest,
): Promise<Record<string, unknown>> {
  const signals = [AbortSignal.timeout(options.timeoutMs), ...(options.signal ? [options.signal] : [])]
  let status: number
  let text: string
  try {
    const response = await request(url, {
      method: options.method,
      headers: {
        accept: 'application/json',
        ...(options.authorization !== undefined && { authorization: options.authorization }),
        ...(options.json !== undefined && { 'content-type': 'application/json' }),
      },
      body: options.json === undefined ? undefined : JSON.stringify(options.json),
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      signal: AbortSignal.any(signals),
    })
    status = response.statusCode
    text = await readBounded(response.body, options.maxBytes)
  } catch (err) {
    throw unavailable(`${what} ${describe(err)}`, err)
  }
  if (status !== 200) throw unavailable(`${what} answered HTTP ${status}`)
  let answer: unknown
  try {
    answer = JSON.parse(text)
  } catch {
    throw unavailable(`${what} answered something that is not JSON`)
  }
  if (answer === null || typeof answer !== 'object' || Array.isArray(answer))
    throw unavailable(`${what} answered JSON that is not an object`)
  return answer as Record<string, unknown>
}

function unavailable(message: string, cause?: unknown): McpPolicyError {
  return new McpPolicyError('ERR_SSF_TRANSMITTER_UNAVAILABLE', message, { cause })
}
