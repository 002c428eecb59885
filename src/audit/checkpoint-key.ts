import {
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  type KeyObject,
  randomUUID,
} from 'node:crypto'
import { link, lstat, mkdir, open, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { DEFAULT_CHECKPOINT_KEY_DIR } from '../defaults.js'
import { McpPolicyError } from '../errors.js'

/** The PKCS#8 PEM private key file in a checkpoint key directory (mode 0600). */
export const CHECKPOINT_PRIVATE_KEY_FILE = 'checkpoint-ed25519.pem'

/** The SPKI PEM public key file beside it: what verifiers get (`mcp-policy verify-log --key`). */
export const CHECKPOINT_PUBLIC_KEY_FILE = 'checkpoint-ed25519.pub.pem'

/** An Ed25519 key pair that signs decision-log checkpoints, and where its files are. */
export interface CheckpointKey {
  /** The signing key (`DecisionLogOptions.signingKey`). */
  privateKey: KeyObject
  /** SPKI PEM of the public key, for verifiers. */
  publicKeyPem: string
  /** PKCS#8 PEM, mode 0600 (`log.signingKeyFile` accepts it). */
  privateKeyPath: string
  /** SPKI PEM. */
  publicKeyPath: string
  /** True when this call generated the key; false when it was already there. */
  created: boolean
}

/**
 * Loads the checkpoint key kept in `dir` (default `.checkpoint-keys`), creating it on first use:
 * an Ed25519 private key (PKCS#8 PEM, mode 0600, in a directory of mode 0700) and its public key
 * (SPKI PEM) beside it. Processes racing to create it (PDP workers, a gateway started alongside)
 * end up with one key: each file is written aside and linked into place, and link fails when the
 * file exists, so the loser reads the winner's complete file, never a half-written one. A public
 * key file that is missing is written again from the private key; one that names another key is
 * refused (verifiers would be handed the wrong key).
 *
 * @throws McpPolicyError `ERR_LOG_KEY_INVALID` when a key file is not an Ed25519 key, or the two do
 * not match.
 * @example
 * ```ts
 * const key = await loadOrCreateCheckpointKey()
 * const log = await DecisionLog.open({ dir: 'decision-logs', durability: 'batch', signingKey: key.privateKey })
 * // verifiers: mcp-policy verify-log decision-logs --key .checkpoint-keys/checkpoint-ed25519.pub.pem
 * ```
 */
export async function loadOrCreateCheckpointKey(dir = DEFAULT_CHECKPOINT_KEY_DIR): Promise<CheckpointKey> {
  const privateKeyPath = join(dir, CHECKPOINT_PRIVATE_KEY_FILE)
  const existing = await readPrivateKey(privateKeyPath)
  if (existing) return withPublicKeyFile(dir, existing, false)
  const publicKeyPath = join(dir, CHECKPOINT_PUBLIC_KEY_FILE)
  if (await exists(publicKeyPath)) {
    // Written after the private key, so either another process has just created both, or the
    // private key was removed: a new one would not match the public key verifiers were given.
    const justCreated = await readPrivateKey(privateKeyPath)
    if (justCreated) return withPublicKeyFile(dir, justCreated, false)
    throw new McpPolicyError(
      'ERR_LOG_KEY_INVALID',
      `${publicKeyPath} exists without its private key ${privateKeyPath}: restore the private key, or remove the public key to have a new pair created`,
    )
  }
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const privateKey = generateKeyPairSync('ed25519').privateKey
  if (await linkNew(privateKeyPath, pkcs8Pem(privateKey), 0o600))
    return withPublicKeyFile(dir, privateKey, true)
  // Another process created it first: use the winner's key.
  const winner = await readPrivateKey(privateKeyPath)
  if (!winner) throw new McpPolicyError('ERR_LOG_KEY_INVALID', `${privateKeyPath} vanished while being read`)
  return withPublicKeyFile(dir, winner, false)
}

/**
 * Writes a new checkpoint key pair into `dir` (created with mode 0700 when missing), as
 * `mcp-policy keygen` does. Never overwrites: a key that signed checkpoints must stay available to
 * verify them.
 *
 * @throws McpPolicyError `ERR_CLI_USAGE` when either key file already exists.
 * @example
 * ```ts
 * const { privateKeyPath, publicKeyPath } = await createCheckpointKey('keys')
 * ```
 */
export async function createCheckpointKey(dir: string): Promise<CheckpointKey> {
  const privateKeyPath = join(dir, CHECKPOINT_PRIVATE_KEY_FILE)
  const publicKeyPath = join(dir, CHECKPOINT_PUBLIC_KEY_FILE)
  const refuse = (path: string) =>
    new McpPolicyError(
      'ERR_CLI_USAGE',
      `${path} exists: refusing to overwrite a checkpoint key (logs it signed could no longer be verified); choose another directory`,
    )
  for (const path of [privateKeyPath, publicKeyPath]) if (await exists(path)) throw refuse(path)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const publicKeyPem = spkiPem(publicKey)
  if (!(await linkNew(privateKeyPath, pkcs8Pem(privateKey), 0o600))) throw refuse(privateKeyPath)
  if (!(await linkNew(publicKeyPath, publicKeyPem, 0o644))) {
    // Created between the check and now: leave no private key without its public key.
    await rm(privateKeyPath, { force: true })
    throw refuse(publicKeyPath)
  }
  return { privateKey, publicKeyPem, privateKeyPath, publicKeyPath, created: true }
}

/**
 * The checkpoint members of a decision-log configuration: what {@link defaultCheckpointSigning}
 * reads. The PDP's and the gateway's `log` configuration (`PdpLogConfig`) extends it.
 */
export interface CheckpointLogConfig {
  /** Directory of the log files. Default `decision-logs` (`DEFAULT_LOG_DIR`). */
  dir: string
  /**
   * PKCS#8 PEM Ed25519 key signing checkpoints. Omitted, the CLIs (`serve`, `gateway`, `demo`) sign
   * with a key they create on first run in `.checkpoint-keys/` (`defaultCheckpointSigning`);
   * `startPdp` and `openDecisionCore` themselves sign only with the key named here.
   */
  signingKeyFile?: string
  /**
   * `false` turns checkpoint signing off (then `verify-log` cannot detect deleted last lines or
   * forged events); it cannot be combined with `signingKeyFile`. Default: on.
   */
  checkpoints?: boolean
}

/** The outcome of {@link defaultCheckpointSigning}. */
export interface CheckpointSigning<L extends CheckpointLogConfig> {
  /** The log configuration to run with: `signingKeyFile` set when the default key signs. */
  log: L | false
  /** The default key, when it is the one signing. */
  key?: CheckpointKey
  /**
   * Lines for the operator: the default key's paths with the production warning, or that signing
   * is off. Empty when a configured `signingKeyFile` signs or the log is off.
   */
  notice: string[]
}

/**
 * Tamper evidence on by default, for the CLIs that write a decision log (`serve`, `gateway`,
 * `demo`): when the log is on, `checkpoints` is not `false` and no `signingKeyFile` is configured,
 * loads or creates the key in `options.dir` (default `.checkpoint-keys`) and returns the log
 * configuration with `signingKeyFile` pointing at it, and the lines to print. Safe to call from
 * every worker process of one service: the key is created once.
 *
 * @throws McpPolicyError `ERR_LOG_CONFIG_INVALID` for `checkpoints: false` together with a
 * `signingKeyFile`; `ERR_LOG_KEY_INVALID` as {@link loadOrCreateCheckpointKey}.
 * @example
 * ```ts
 * const signing = await defaultCheckpointSigning(config.log)
 * config.log = signing.log
 * for (const line of signing.notice) console.log(line)
 * ```
 */
export async function defaultCheckpointSigning<L extends CheckpointLogConfig>(
  log: L | false,
  options: { dir?: string } = {},
): Promise<CheckpointSigning<L>> {
  if (!log) return { log, notice: [] }
  if (log.checkpoints === false) {
    if (log.signingKeyFile)
      throw new McpPolicyError(
        'ERR_LOG_CONFIG_INVALID',
        'log.checkpoints is false but log.signingKeyFile is set: remove one of them',
      )
    return {
      log,
      notice: [
        'checkpoints: off (log.checkpoints: false): verify-log cannot detect deleted last lines of the decision log or forged events',
      ],
    }
  }
  if (log.signingKeyFile) return { log, notice: [] }
  const key = await loadOrCreateCheckpointKey(options.dir)
  return {
    log: { ...log, signingKeyFile: key.privateKeyPath },
    key,
    notice: [
      `checkpoint key: ${key.created ? 'created ' : ''}${key.privateKeyPath} signs the decision-log checkpoints (no log.signingKeyFile configured)`,
      '  in production keep the private key elsewhere (log.signingKeyFile) and give verifiers the public key:',
      `  npx mcp-policy verify-log ${log.dir} --key ${key.publicKeyPath}`,
    ],
  }
}

async function readPrivateKey(path: string): Promise<KeyObject | undefined> {
  let pem: string
  try {
    pem = await readFile(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new McpPolicyError('ERR_LOG_KEY_INVALID', `cannot read checkpoint key ${path}`, { cause: err })
  }
  let key: KeyObject
  try {
    key = createPrivateKey(pem)
  } catch (err) {
    throw new McpPolicyError('ERR_LOG_KEY_INVALID', `${path} is not a PEM private key`, { cause: err })
  }
  if (key.asymmetricKeyType !== 'ed25519')
    throw new McpPolicyError(
      'ERR_LOG_KEY_INVALID',
      `${path} is a ${key.asymmetricKeyType} key; checkpoints are signed with Ed25519`,
    )
  return key
}

/** Completes a key with its public key file, writing the file when it is missing. */
async function withPublicKeyFile(
  dir: string,
  privateKey: KeyObject,
  created: boolean,
): Promise<CheckpointKey> {
  const privateKeyPath = join(dir, CHECKPOINT_PRIVATE_KEY_FILE)
  const publicKeyPath = join(dir, CHECKPOINT_PUBLIC_KEY_FILE)
  const publicKeyPem = spkiPem(createPublicKey(privateKey))
  if (!(await linkNew(publicKeyPath, publicKeyPem, 0o644))) {
    let found: string
    try {
      found = spkiPem(createPublicKey(await readFile(publicKeyPath, 'utf8')))
    } catch (err) {
      throw new McpPolicyError('ERR_LOG_KEY_INVALID', `${publicKeyPath} is not a PEM public key`, {
        cause: err,
      })
    }
    if (found !== publicKeyPem)
      throw new McpPolicyError(
        'ERR_LOG_KEY_INVALID',
        `${publicKeyPath} is not the public key of ${privateKeyPath}: verifiers would be given the wrong key (remove it to have it written again)`,
      )
  }
  return { privateKey, publicKeyPem, privateKeyPath, publicKeyPath, created }
}

/**
 * Writes `text` to a file beside `path`, fsyncs it, and links it into place. False when `path`
 * exists: link never replaces a file, so of racing writers exactly one wins, and a reader sees
 * either no file or the whole of it.
 */
async function linkNew(path: string, text: string, mode: number): Promise<boolean> {
  const aside = `${path}.${process.pid}.${randomUUID()}`
  try {
    const handle = await open(aside, 'wx', mode)
    try {
      await handle.writeFile(text)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await link(aside, path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw new McpPolicyError('ERR_LOG_KEY_INVALID', `cannot write checkpoint key file ${path}`, {
      cause: err,
    })
  } finally {
    await rm(aside, { force: true })
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw new McpPolicyError('ERR_LOG_KEY_INVALID', `cannot read checkpoint key file ${path}`, { cause: err })
  }
}

function pkcs8Pem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string
}

function spkiPem(key: KeyObject): string {
  return key.export({ type: 'spki', format: 'pem' }) as string
}
