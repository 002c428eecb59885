import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { access, constants, mkdir } from 'node:fs/promises'
import { homedir } from 'node:os'
import { isAbsolute, join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { McpPolicyError } from '../errors.js'
import { packageRoot } from '../package-root.js'
import { OPA_GO_MODULE, OPA_VERSION } from './opa-version.js'

const execFileAsync = promisify(execFile)

const OPA_BINARY = process.platform === 'win32' ? 'opa.exe' : 'opa'

/** Options for {@link resolveOpa}. */
export interface ResolveOpaOptions {
  /** Build OPA with `go install` when no binary at the pinned version is found. Default true. */
  install?: boolean
  /** Where progress lines go (the Go build takes minutes the first time). Default: stderr. */
  log?: (line: string) => void
  /** Directory of the locally built OPA. Default {@link opaToolsDir}. */
  toolsDir?: string
}

/**
 * Finds the OPA binary at the pinned {@link OPA_VERSION}: `$MCP_POLICY_OPA`, then `opa` on PATH,
 * then the one built earlier in {@link opaToolsDir}, else builds it there with `go install`
 * (reused later). An `opa` at another version is never used: policy compiled by a different OPA
 * is a different artifact than the one CI tested.
 *
 * @throws McpPolicyError `ERR_TOOLCHAIN_OPA_MISSING` with install instructions.
 * @example
 * ```ts
 * const opa = await resolveOpa()
 * const { stdout } = await runOpa(opa, ['version'])
 * ```
 */
export async function resolveOpa(options: ResolveOpaOptions = {}): Promise<string> {
  const log = options.log ?? ((line: string) => process.stderr.write(`${line}\n`))
  const toolsBin = options.toolsDir ?? opaToolsDir()
  const local = join(toolsBin, OPA_BINARY)
  const candidates = [process.env.MCP_POLICY_OPA, 'opa', local].filter((c): c is string => Boolean(c))
  const seen: string[] = []
  for (const candidate of candidates) {
    const version = await opaVersionOf(candidate)
    if (version === OPA_VERSION) return candidate
    if (version) seen.push(`${candidate} is ${version}`)
  }
  if (options.install !== false && (await hasGo())) {
    log(`mcp-policy: building OPA v${OPA_VERSION} into ${toolsBin} with go install (first run only)…`)
    try {
      await mkdir(toolsBin, { recursive: true })
      await execFileAsync('go', ['install', `${OPA_GO_MODULE}@v${OPA_VERSION}`], {
        env: { ...process.env, GOBIN: toolsBin, CGO_ENABLED: process.env.CGO_ENABLED ?? '0' },
        maxBuffer: 16 * 1024 * 1024,
      })
    } catch (err) {
      throw new McpPolicyError(
        'ERR_TOOLCHAIN_OPA_MISSING',
        `go install of OPA v${OPA_VERSION} into ${toolsBin} failed: ${stderrOf(err)}` +
          (options.toolsDir === undefined && !isSourceCheckout(packageRoot())
            ? ' (set MCP_POLICY_CACHE_DIR to a writable directory to build it elsewhere)'
            : ''),
        { cause: err },
      )
    }
    if ((await opaVersionOf(local)) === OPA_VERSION) return local
  }
  throw new McpPolicyError(
    'ERR_TOOLCHAIN_OPA_MISSING',
    `OPA v${OPA_VERSION} not found${seen.length ? ` (${seen.join('; ')})` : ''}. Install it with ` +
      `\`GOBIN=${toolsBin} go install ${OPA_GO_MODULE}@v${OPA_VERSION}\`, or put opa v${OPA_VERSION} on PATH, ` +
      'or set MCP_POLICY_OPA to its path.',
  )
}

/**
 * The directory OPA is built into (and looked for) when it is not on PATH. In a git checkout of
 * mcp-policy — a `.git` next to its package.json, the development workflow and CI — that is
 * `<checkout>/.tools/bin`. An installed package (`npm i -g`, a project dependency) never writes
 * into its own folder, which may be read-only or shared: there it is the per-user cache,
 * `<cache>/opa-<version>`, where `<cache>` is `$MCP_POLICY_CACHE_DIR`, else
 * `$XDG_CACHE_HOME/mcp-policy`, else the platform's user cache (`~/.cache/mcp-policy` on Linux,
 * `~/Library/Caches/mcp-policy` on macOS, `%LOCALAPPDATA%\mcp-policy` on Windows).
 *
 * @example
 * ```ts
 * opaToolsDir() // '/home/alice/.cache/mcp-policy/opa-1.22.4' when installed from npm
 * ```
 */
export function opaToolsDir(root: string = packageRoot(), env: NodeJS.ProcessEnv = process.env): string {
  if (isSourceCheckout(root)) return join(root, '.tools', 'bin')
  return join(userCacheDir(env), `opa-${OPA_VERSION}`)
}

/** A git checkout (or worktree: `.git` is then a file) rather than an installed package. */
function isSourceCheckout(root: string): boolean {
  return existsSync(join(root, '.git'))
}

function userCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.MCP_POLICY_CACHE_DIR) return resolve(env.MCP_POLICY_CACHE_DIR)
  // The XDG Base Directory specification says a relative path is invalid and must be ignored.
  if (env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME)) return join(env.XDG_CACHE_HOME, 'mcp-policy')
  if (process.platform === 'win32' && env.LOCALAPPDATA) return join(env.LOCALAPPDATA, 'mcp-policy')
  if (process.platform === 'darwin') return join(homedir(), 'Library', 'Caches', 'mcp-policy')
  return join(homedir(), '.cache', 'mcp-policy')
}

/**
 * Runs OPA with arguments and returns its output.
 *
 * @internal
 *
 * @throws McpPolicyError `ERR_TOOLCHAIN_OPA_FAILED` carrying OPA's stderr when it exits non-zero.
 * @example
 * ```ts
 * const { stdout } = await runOpa(await resolveOpa(), ['capabilities', '--current'])
 * ```
 */
export async function runOpa(
  opa: string,
  args: readonly string[],
  options: { cwd?: string } = {},
): Promise<{ stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(opa, args, {
      cwd: options.cwd,
      maxBuffer: 256 * 1024 * 1024,
    })
    return { stdout, stderr }
  } catch (err) {
    throw new McpPolicyError('ERR_TOOLCHAIN_OPA_FAILED', `opa ${args[0] ?? ''} failed: ${stderrOf(err)}`, {
      cause: err,
    })
  }
}

async function opaVersionOf(binary: string): Promise<string | undefined> {
  if (binary.includes('/')) {
    try {
      await access(binary, constants.X_OK)
    } catch {
      return undefined
    }
  }
  try {
    const { stdout } = await execFileAsync(binary, ['version'], { timeout: 30_000 })
    return /^Version:\s*v?(\S+)/m.exec(stdout)?.[1]
  } catch {
    return undefined
  }
}

async function hasGo(): Promise<boolean> {
  try {
    await execFileAsync('go', ['version'], { timeout: 30_000 })
    return true
  } catch {
    return false
  }
}

function stderrOf(err: unknown): string {
  if (err && typeof err === 'object') {
    const stderr = 'stderr' in err ? String(err.stderr).trim() : ''
    const stdout = 'stdout' in err ? String(err.stdout).trim() : ''
    if (stderr || stdout) return [stderr, stdout].filter(Boolean).join('\n')
    if ('message' in err) return String(err.message)
  }
  return String(err)
}
