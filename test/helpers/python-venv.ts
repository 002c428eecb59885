import { execFile } from 'node:child_process'
import { createHash, randomUUID } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { packageRoot } from '../../src/package-root.js'

const run = promisify(execFile)

/** A Python MCP server from PyPI, pinned to an exact version, and the console script it installs. */
export interface PythonPackage {
  /** A pip requirement pinned with `==`, e.g. `mcp-server-git==2026.10.19`. */
  spec: string
  /** The console script the package installs in the venv's `bin/`, e.g. `mcp-server-git`. */
  executable: string
  /** A module the package provides: importing it proves a cached venv still works. */
  module: string
}

/** The reference Python MCP server: the official git server, pinned. */
export const mcpServerGit: PythonPackage = {
  spec: 'mcp-server-git==2026.10.19',
  executable: 'mcp-server-git',
  module: 'mcp_server_git',
}

/** Where venvs are kept between runs: under node_modules, so `npm ci` starts afresh. */
export const venvCacheDir = join(packageRoot(), 'node_modules', '.cache', 'mcp-policy-venvs')

/** Options for {@link installPythonPackage}. */
export interface InstallOptions {
  /** The interpreter the venv is made from. Default `$MCP_POLICY_PYTHON`, else `python3`. */
  python?: string
  /** Upper bound on venv creation plus `pip install`. Default 4 minutes. */
  timeoutMs?: number
  /** Cache root. Default {@link venvCacheDir}. */
  cacheDir?: string
}

interface CacheEntry {
  spec: string
  interpreter: string
  venv: string
}

/**
 * A venv holding `pkg` (installed with pip from PyPI) and the absolute path of its console
 * script. Venvs are cached under {@link venvCacheDir}, keyed by the spec and the interpreter, and
 * reused while they still import the package. A venv is not relocatable (its scripts name its
 * own path), so each install goes to a fresh directory and a small pointer file is then renamed
 * into place: runs racing to install never see a half-built venv.
 *
 * @throws Error naming the step that failed (no interpreter, no venv module, PyPI unreachable,
 *   version not found) with the tool's own last lines of output.
 */
export async function installPythonPackage(
  pkg: PythonPackage,
  options: InstallOptions = {},
): Promise<string> {
  if (!/^[A-Za-z0-9._-]+==[A-Za-z0-9.+!-]+$/.test(pkg.spec))
    throw new Error(`${pkg.spec}: pin an exact version (name==version)`)
  const python = options.python ?? process.env.MCP_POLICY_PYTHON ?? 'python3'
  const deadline = Date.now() + (options.timeoutMs ?? 240_000)
  const left = () => Math.max(1_000, deadline - Date.now())
  const cacheDir = options.cacheDir ?? venvCacheDir

  const interpreter = await step(`find the Python interpreter '${python}'`, () =>
    run(python, ['-c', 'import sys; print(sys.executable, sys.version.split()[0])'], { timeout: 30_000 }),
  )
  const key = `${pkg.spec.replace(/[^A-Za-z0-9.-]/g, '_')}-${createHash('sha256')
    .update(`${pkg.spec}\n${interpreter.stdout.trim()}`)
    .digest('hex')
    .slice(0, 12)}`
  const pointer = join(cacheDir, `${key}.json`)

  const cached = await readPointer(pointer)
  if (cached && (await works(cached.venv, pkg))) return join(cached.venv, 'bin', pkg.executable)

  await mkdir(cacheDir, { recursive: true })
  const venv = join(cacheDir, `${key}.${randomUUID().slice(0, 8)}`)
  try {
    await step(`create a venv with ${python} -m venv (Debian: apt-get install python3-venv)`, () =>
      run(python, ['-m', 'venv', venv], { timeout: left() }),
    )
    await step(`pip install ${pkg.spec} from PyPI (is https://pypi.org reachable from this machine?)`, () =>
      run(
        join(venv, 'bin', 'python'),
        [
          '-m',
          'pip',
          'install',
          '--disable-pip-version-check',
          '--no-input',
          '--quiet',
          '--timeout',
          '20',
          '--retries',
          '2',
          pkg.spec,
        ],
        { timeout: left(), maxBuffer: 16 * 1024 * 1024 },
      ),
    )
    const script = join(venv, 'bin', pkg.executable)
    if (!existsSync(script))
      throw new Error(
        `pip installed ${pkg.spec} but ${script} is missing: is '${pkg.executable}' its script?`,
      )
    if (!(await works(venv, pkg)))
      throw new Error(`${pkg.spec} is installed but 'import ${pkg.module}' fails`)
  } catch (err) {
    await rm(venv, { recursive: true, force: true })
    throw err
  }
  const entry: CacheEntry = { spec: pkg.spec, interpreter: interpreter.stdout.trim(), venv }
  const aside = `${pointer}.${process.pid}.${randomUUID()}`
  await writeFile(aside, `${JSON.stringify(entry, null, 2)}\n`)
  await rename(aside, pointer)
  return join(venv, 'bin', pkg.executable)
}

async function readPointer(pointer: string): Promise<CacheEntry | undefined> {
  try {
    return JSON.parse(await readFile(pointer, 'utf8')) as CacheEntry
  } catch {
    return undefined
  }
}

/** The venv's own interpreter still runs and imports the package (the base interpreter may have gone). */
async function works(venv: string, pkg: PythonPackage): Promise<boolean> {
  if (!existsSync(join(venv, 'bin', pkg.executable))) return false
  try {
    await run(join(venv, 'bin', 'python'), ['-c', `import ${pkg.module}`], { timeout: 60_000 })
    return true
  } catch {
    return false
  }
}

async function step<T>(what: string, action: () => Promise<T>): Promise<T> {
  try {
    return await action()
  } catch (err) {
    const e = err as { killed?: boolean; code?: unknown; stderr?: string; stdout?: string; message: string }
    const output = `${e.stderr ?? ''}${e.stdout ?? ''}`.trim().split('\n').slice(-8).join('\n')
    const cause = e.killed ? 'timed out' : e.code === 'ENOENT' ? 'command not found' : `exit ${e.code}`
    throw new Error(`cannot ${what}: ${cause}${output ? `\n${output}` : ''}`, { cause: err })
  }
}
