import { McpPolicyError, type McpPolicyErrorCode } from '../errors.js'

/** Why a token was rejected, as `subject.reason` carries it. */
export interface RejectionReason {
  code: McpPolicyErrorCode
  message: string
}

/**
 * Maps whatever token verification threw to a reason: an {@link McpPolicyError} keeps its code,
 * a jose error is mapped by its `code` (and `claim` for claim failures), anything else is a
 * signature failure, so an unexpected error can never read as a pass. jose's messages are fixed
 * strings; the errors' causes (which may carry decoded token content) are never read.
 *
 * @example
 * ```ts
 * try { await jwtVerify(token, keys, options) } catch (err) { subject.reason = rejectionReason(err) }
 * ```
 */
export function rejectionReason(err: unknown): RejectionReason {
  if (err instanceof McpPolicyError) return { code: err.code, message: err.message }
  const { code, claim, reason } = (err ?? {}) as { code?: unknown; claim?: unknown; reason?: unknown }
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return {
        code: 'ERR_IDENTITY_TOKEN_EXPIRED',
        message: 'token is expired ("exp" is past, beyond the clock skew)',
      }
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return claimFailure(String(claim), String(reason), err as Error)
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
    case 'ERR_JOSE_NOT_SUPPORTED':
      return { code: 'ERR_IDENTITY_ALGORITHM_REJECTED', message: 'token "alg" is not allowed for its issuer' }
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return { code: 'ERR_IDENTITY_SIGNATURE_INVALID', message: 'token signature does not verify' }
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return { code: 'ERR_IDENTITY_KEY_UNKNOWN', message: 'no single key in the JWKS matches the token' }
    case 'ERR_JWKS_TIMEOUT':
    case 'ERR_JWKS_INVALID':
      return { code: 'ERR_IDENTITY_JWKS_UNAVAILABLE', message: 'the JWKS cannot be fetched or used' }
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
      return {
        code: 'ERR_IDENTITY_TOKEN_MALFORMED',
        message: `token is not a valid JWS JWT: ${(err as Error).message}`,
      }
    default:
      return {
        code: 'ERR_IDENTITY_SIGNATURE_INVALID',
        message: `token could not be verified: ${err instanceof Error ? err.message : 'unexpected error'}`,
      }
  }
}

function claimFailure(claim: string, reason: string, err: Error): RejectionReason {
  if (claim === 'typ')
    return { code: 'ERR_IDENTITY_TYPE_INVALID', message: 'token "typ" header is not at+jwt (RFC 9068)' }
  if (claim === 'aud')
    return {
      code: 'ERR_IDENTITY_AUDIENCE_MISMATCH',
      message: `token "aud" does not name this server's resource${reason === 'missing' ? ' (no "aud")' : ''}`,
    }
  if (claim === 'iss') return { code: 'ERR_IDENTITY_ISSUER_UNKNOWN', message: 'token "iss" is not trusted' }
  if ((claim === 'nbf' || claim === 'iat') && reason === 'check_failed')
    return {
      code: 'ERR_IDENTITY_TOKEN_NOT_YET_VALID',
      message: `token "${claim}" is in the future, beyond the clock skew`,
    }
  return { code: 'ERR_IDENTITY_CLAIMS_INVALID', message: err.message }
}
