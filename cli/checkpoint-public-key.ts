import { createPublicKey, type KeyObject } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { McpPolicyError } from '../src/index.js'

/**
 * Reads the Ed25519 public key that signs a decision log's checkpoints (PEM, or a JWK as JSON), as
 * `verify-log --key` and `replay --key` take it.
 *
 * @throws McpPolicyError `ERR_CLI_USAGE` when the file cannot be read, `ERR_LOG_KEY_INVALID` when
 *   it holds no Ed25519 public key.
 */
export async function readCheckpointPublicKey(path: string): Promise<KeyObject> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    throw new McpPolicyError('ERR_CLI_USAGE', `cannot read key ${path}`, { cause: err })
  }
  try {
    const key = text.trim().startsWith('{')
      ? createPublicKey({ key: JSON.parse(text), format: 'jwk' })
      : createPublicKey(text)
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key`)
    return key
  } catch (err) {
    throw new McpPolicyError(
      'ERR_LOG_KEY_INVALID',
      `${path} is not an Ed25519 public key: ${(err as Error).message}`,
      { cause: err },
    )
  }
}
