import { type ChildProcess, execFile, spawn } from 'node:child_process'
import { accessSync, constants, existsSync } from 'node:fs'
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, symlink } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { delimiter, join, relative, sep } from 'node:path'
import { promisify } from 'node:util'
import { request } from 'undici'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { OPA_VERSION, resolveOpa } from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'

// Issue #14 item 1: the package `npm pack` makes, installed as a user installs it (`npm i -g` of the
// tarball, dependencies from the registry), gives a working `mcp-policy` in an empty directory,
// finds OPA in the per-user cache rather than its own folder, and never writes into that folder.
//
// The tarball is packed with --ignore-scripts from the dist/ that `npm test` (pretest) just built:
// `prepare` would run tsc again over a working tree other test files are reading. The per-user OPA
// cache is seeded with this checkout's pinned OPA, so nothing is built with Go here.

const run = promisify(execFile)
const repo = packageRoot()
const BUDGET_MS = 120_000

interface PackedFile {
  path: string
}

let work: string // holds everything below; removed at the end except the project's decision logs
let packageDir: string // <prefix>/lib/node_modules/mcp-policy
let project: string // the empty directory the user starts in
let cacheDir: string
let env: NodeJS.ProcessEnv
let packed: { filename: string; files: PackedFile[]; size: number }
let packageFilesBefore: string[]
let installOutput: string

/** Every path below `dir` with its size, so a write into the installed package shows as a change. */
async function listing(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true })
  const lines: string[] = []
  for (const entry of entries) {
    const path = join(entry.parentPath, entry.name)
    const size = entry.isFile() ? (await stat(path)).size : '-'
    lines.push(`${relative(dir, path).split(sep).join('/')} ${size}`)
  }
  return lines.sort()
}

/** The installed `mcp-policy`, run in the empty project directory. */
async function mcpPolicy(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(join(work, 'global', 'bin', 'mcp-policy'), args, {
      cwd: project,
      env,
      maxBuffer: 64 * 1024 * 1024,
    })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string }
    return { code: e.code, stdout: e.stdout, stderr: e.stderr }
  }
}

/** The absolute path of the pinned OPA this checkout uses (it may be `opa` on PATH). */
async function pinnedOpaPath(): Promise<string> {
  const opa = await resolveOpa()
  if (opa.includes('/')) return opa
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, opa)
    if (existsSync(candidate)) return candidate
  }
  throw new Error(`cannot locate ${opa} on PATH`)
}

/**
 * PATH without any directory holding an `opa` or a `go`: the installed CLI must use its per-user
 * cache, and a regression that looks elsewhere fails at once instead of building OPA for minutes.
 */
function pathWithoutOpaOrGo(...prepend: string[]): string {
  const executable = (path: string): boolean => {
    try {
      accessSync(path, constants.X_OK)
      return true
    } catch {
      return false
    }
  }
  const keep = (process.env.PATH ?? '')
    .split(delimiter)
    .filter((dir) => dir && !executable(join(dir, 'opa')) && !executable(join(dir, 'go')))
  return [...prepend, ...keep].join(delimiter)
}

beforeAll(async () => {
  if (!existsSync(join(repo, 'dist', 'cli', 'main.js')))
    throw new Error('dist/ is missing: run `npm run build` first (npm test does it in pretest)')
  work = await mkdtemp(join(tmpdir(), 'mcp-policy-package-'))

  const pack = await run(
    'npm',
    ['pack', '--json', '--ignore-scripts', '--pack-destination', work, '--loglevel', 'error'],
    { cwd: repo, maxBuffer: 16 * 1024 * 1024 },
  )
  packed = (JSON.parse(pack.stdout) as (typeof packed)[])[0]!

  const installed = await run(
    'npm',
    [
      'install',
      '--global',
      '--prefix',
      join(work, 'global'),
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      join(work, packed.filename),
    ],
    { cwd: work, maxBuffer: 16 * 1024 * 1024 },
  )
  installOutput = installed.stdout + installed.stderr
  packageDir = join(work, 'global', 'lib', 'node_modules', 'mcp-policy')
  packageFilesBefore = await listing(packageDir)

  // The per-user cache the installed CLI builds OPA into, seeded as a first `go install` would.
  cacheDir = join(work, 'cache')
  await mkdir(join(cacheDir, `opa-${OPA_VERSION}`), { recursive: true })
  await copyFile(await pinnedOpaPath(), join(cacheDir, `opa-${OPA_VERSION}`, 'opa'))

  project = join(work, 'project')
  await mkdir(project)
  // node for the bin's `#!/usr/bin/env node`, on its own: its directory may hold a go or an opa.
  await mkdir(join(work, 'node-bin'))
  await symlink(process.execPath, join(work, 'node-bin', 'node'))
  const home = join(work, 'home')
  await mkdir(home)
  env = {
    ...process.env,
    PATH: pathWithoutOpaOrGo(join(work, 'global', 'bin'), join(work, 'node-bin')),
    HOME: home,
    XDG_CACHE_HOME: join(home, '.cache'),
    MCP_POLICY_CACHE_DIR: cacheDir,
  }
  delete env.MCP_POLICY_OPA
}, BUDGET_MS)

afterAll(async () => {
  if (!work) return
  // The project's decision logs stay for the suite's log scan (test/log-secrets.setup.ts).
  for (const name of await readdir(work))
    if (name !== 'project') await rm(join(work, name), { recursive: true, force: true })
})

describe('the npm package, installed from its tarball', () => {
  it('holds what runs and nothing dev-only', () => {
    const paths = packed.files.map((f) => f.path)
    for (const required of [
      'package.json',
      'README.md',
      'docs/README.md',
      'docs/error-codes.md',
      'dist/cli/main.js',
      'dist/src/index.js',
      'dist/src/index.d.ts',
      'rego/mcp/decision.rego',
      'rego/mcp/decision_test.rego',
      'rego/schemas/input.json',
      'bundles/default/.manifest',
      'bundles/default/data.json',
      'bundles/default/cases/tools-grants.cases.yaml',
      'src/gateway/nginx/nginx.conf',
      'src/gateway/nginx/mcp-authz.js',
    ])
      expect(paths).toContain(required)
    const devOnly = paths.filter(
      (p) =>
        /^(dist\/test|test|\.tools|\.ci|node_modules|\.bundle-store|\.dev-keys|\.checkpoint-keys|decision-logs)\//.test(
          p,
        ) ||
        p.endsWith('.map') ||
        p.endsWith('.tar.gz') ||
        (p.startsWith('src/') && !p.startsWith('src/gateway/nginx/')),
    )
    expect(devOnly).toEqual([])
    expect(packed.size).toBeLessThan(1024 * 1024)
  })

  it('installs without running prepare (no TypeScript compiler in the package)', async () => {
    // npm (11.16+) may list `prepare` among install scripts of a non-registry source; it does not
    // run it for a tarball: were it run, tsc (a devDependency, not installed) would fail the install.
    expect(installOutput).not.toMatch(/tsc: not found|ERR!/)
    expect(existsSync(join(packageDir, 'node_modules', 'typescript'))).toBe(false)
    const manifest = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as {
      version: string
    }
    expect((await mcpPolicy(['--version'])).stdout.trim()).toBe(manifest.version)
  })

  it(
    'runs init → check → test → build → serve in an empty directory, never writing into its own folder',
    async () => {
      // OPA from the per-user cache, not from the package folder.
      const toolchain = await mcpPolicy(['toolchain'])
      expect(toolchain.stdout, toolchain.stderr).toBe(`${join(cacheDir, `opa-${OPA_VERSION}`, 'opa')}\n`)

      const init = await mcpPolicy(['init', '.'])
      expect(init.code, init.stderr).toBe(0)
      expect(existsSync(join(project, 'rego', 'mcp', 'decision.rego'))).toBe(true)
      expect(await readFile(join(project, '.github', 'workflows', 'policy.yml'), 'utf8')).toContain(
        `mcp-policy@${JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')).version}`,
      )

      const check = await mcpPolicy(['check'])
      expect(check.code, check.stdout + check.stderr).toBe(0)
      const test = await mcpPolicy(['test'])
      expect(test.code, test.stdout + test.stderr).toBe(0)
      expect(test.stdout).toMatch(/\d+ passed, 0 failed/)
      const build = await mcpPolicy(['build'])
      expect(build.code, build.stderr).toBe(0)
      expect(build.stdout).toContain(join(project, 'bundles', 'default.tar.gz'))

      const token = await mcpPolicy([
        'token',
        '--sub',
        'alice',
        '--roles',
        'developer',
        '--aud',
        'https://localhost/mcp/github',
      ])
      expect(token.code, token.stderr).toBe(0)

      const server: ChildProcess = spawn(
        join(work, 'global', 'bin', 'mcp-policy'),
        ['serve', '--port', '0', '--workers', '1'],
        { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let output = ''
      const exited = new Promise<number | null>((resolve) => server.on('exit', resolve))
      try {
        const url = await new Promise<string>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`serve did not start:\n${output}`)), 60_000)
          const onData = (data: Buffer) => {
            output += data.toString()
            const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output)
            if (match) {
              clearTimeout(timer)
              resolve(match[1]!)
            }
          }
          server.stdout!.on('data', onData)
          server.stderr!.on('data', onData)
          void exited.then((code) => reject(new Error(`serve exited ${code}:\n${output}`)))
        })
        const res = await request(`${url}/v1/mcp/decide`, {
          method: 'POST',
          body: JSON.stringify({
            server: 'github',
            headers: { authorization: `Bearer ${token.stdout.trim()}` },
            message: {
              jsonrpc: '2.0',
              id: 1,
              method: 'tools/call',
              params: { name: 'get_issue', arguments: { owner: 'acme', repo: 'api', issue_number: 1 } },
            },
          }),
        })
        expect(res.statusCode).toBe(200)
        expect(await res.body.json()).toMatchObject({ allow: true, status: 200 })
      } finally {
        server.kill('SIGTERM')
      }
      expect(await exited, output).toBe(0)

      // Everything the run made is in the project directory; the package folder is as installed.
      expect(await readdir(project)).toEqual(
        expect.arrayContaining(['rego', 'bundles', '.dev-keys', '.checkpoint-keys', 'decision-logs']),
      )
      expect(await listing(packageDir)).toEqual(packageFilesBefore)
    },
    BUDGET_MS,
  )
})
