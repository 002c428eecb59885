import type { McpPolicyErrorCode } from '../errors.js'

/**
 * The RFC 8935 / RFC 8936 error code (`err`) of a refusal, or undefined for a failure that is not
 * the SET's fault (the transmitter should deliver it again).
 *
 * @example
 * ```ts
 * setErrorCode('ERR_SSF_AUDIENCE_MISMATCH') // 'invalid_audience'
 * ```
 */
export function setErrorCode(code: McpPolicyErrorCode): string | undefined {
  switch (code) {
    case 'ERR_SSF_SET_INVALID':
    case 'ERR_SSF_SET_REPLAYED':
    case 'ERR_STATE_ENTRY_INVALID':
      return 'invalid_request'
    case 'ERR_SSF_SIGNATURE_INVALID':
      return 'invalid_key'
    case 'ERR_SSF_ISSUER_MISMATCH':
      return 'invalid_issuer'
    case 'ERR_SSF_AUDIENCE_MISMATCH':
      return 'invalid_audience'
    case 'ERR_SSF_UNAUTHORIZED':
      return 'authentication_failed'
    default:
      return undefined
  }
}
