import { chmod, mkdir, mkdtemp, writeFile } from 'node:fs/promises'
import { homedir, tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { OPA_VERSION, resolveOpa } from '../../src/index.js'
import { packageRoot } from '../../src/package-root.js'
import { opaToolsDir } from '../../src/toolchain/opa.js'

const savedPath = process.env.PATH
const savedOpa = process.env.MCP_POLICY_OPA
afterEach(() => {
  process.env.PATH = savedPath
  if (savedOpa === undefined) delete process.env.MCP_POLICY_OPA
  else process.env.MCP_POLICY_OPA = savedOpa
})

async function fakeOpa(version: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-fake-opa-'))
  await writeFile(join(dir, 'opa'), `#!/bin/sh\necho "Version: ${version}"\n`)
  await chmod(join(dir, 'opa'), 0o755)
  return dir
}

describe('OPA toolchain resolution', () => {
  it('uses the pinned OPA (found on PATH, in .tools/bin or built)', async () => {
    const opa = await resolveOpa()
    const { execFileSync } = await import('node:child_process')
    expect(execFileSync(opa, ['version'], { encoding: 'utf8' })).toContain(`Version: ${OPA_VERSION}`)
  })

  it('accepts an opa on PATH only at the pinned version', async () => {
    const pinned = await fakeOpa(OPA_VERSION)
    process.env.PATH = pinned
    delete process.env.MCP_POLICY_OPA
    await expect(resolveOpa({ install: false, toolsDir: join(pinned, 'none') })).resolves.toBe('opa')
  })

  it('ignores an opa of another version and says how to install the pinned one', async () => {
    const wrong = await fakeOpa('0.70.0')
    process.env.PATH = wrong
    delete process.env.MCP_POLICY_OPA
    const failure = resolveOpa({ install: true, toolsDir: join(wrong, 'none'), log: () => {} })
    await expect(failure).rejects.toMatchObject({ code: 'ERR_TOOLCHAIN_OPA_MISSING' })
    await expect(failure).rejects.toThrow(/opa is 0\.70\.0/)
    await expect(failure).rejects.toThrow(
      new RegExp(`go install github.com/open-policy-agent/opa@v${OPA_VERSION}`),
    )
  })
})

describe('where OPA is built when it is not on PATH', () => {
  /** A package folder as npm installs it: package.json, no `.git`. */
  async function installedPackage(): Promise<string> {
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-installed-'))
    await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'mcp-policy', version: '0.0.0' }))
    return dir
  }

  it('is .tools/bin in a git checkout, whatever the cache variables say', async () => {
    const checkout = await installedPackage()
    await mkdir(join(checkout, '.git'))
    expect(opaToolsDir(checkout, { MCP_POLICY_CACHE_DIR: '/elsewhere' })).toBe(
      join(checkout, '.tools', 'bin'),
    )
    // A worktree's .git is a file.
    const worktree = await installedPackage()
    await writeFile(join(worktree, '.git'), 'gitdir: /repo/.git/worktrees/x\n')
    expect(opaToolsDir(worktree, {})).toBe(join(worktree, '.tools', 'bin'))
  })

  it("is this repository's .tools/bin when the tests run from its checkout", () => {
    expect(opaToolsDir()).toBe(join(packageRoot(), '.tools', 'bin'))
  })

  it('is the per-user cache, never the package folder, in an installed package', async () => {
    const pkg = await installedPackage()
    const versioned = `opa-${OPA_VERSION}`
    expect(opaToolsDir(pkg, { MCP_POLICY_CACHE_DIR: '/tmp/c', XDG_CACHE_HOME: '/x' })).toBe(
      join('/tmp/c', versioned),
    )
    expect(opaToolsDir(pkg, { XDG_CACHE_HOME: '/x' })).toBe(join('/x', 'mcp-policy', versioned))
    // A relative XDG_CACHE_HOME is invalid (XDG Base Directory specification) and ignored.
    const fallback = opaToolsDir(pkg, { XDG_CACHE_HOME: 'relative' })
    expect(fallback.startsWith(homedir())).toBe(true)
    expect(fallback.endsWith(join('mcp-policy', versioned))).toBe(true)
    if (process.platform === 'linux')
      expect(fallback).toBe(join(homedir(), '.cache', 'mcp-policy', versioned))
    expect(fallback.startsWith(pkg)).toBe(false)
  })

  it('builds OPA with go install into a cache directory it creates', async () => {
    // A stand-in for go: `go version` answers, `go install` needs GOBIN to exist and puts an opa
    // at the pinned version there.
    const bin = await mkdtemp(join(tmpdir(), 'mcp-policy-fake-go-'))
    await writeFile(
      join(bin, 'go'),
      [
        '#!/bin/sh',
        '[ "$1" = version ] && { echo "go version go0.0 fake"; exit 0; }',
        '[ -d "$GOBIN" ] || { echo "GOBIN $GOBIN missing" >&2; exit 1; }',
        `printf '#!/bin/sh\\necho "Version: ${OPA_VERSION}"\\n' > "$GOBIN/opa"`,
        '/bin/chmod 755 "$GOBIN/opa"',
        '',
      ].join('\n'),
    )
    await chmod(join(bin, 'go'), 0o755)
    process.env.PATH = bin
    delete process.env.MCP_POLICY_OPA
    const cache = opaToolsDir(await installedPackage(), {
      MCP_POLICY_CACHE_DIR: join(bin, 'cache', 'nested'),
    })
    const lines: string[] = []
    await expect(resolveOpa({ toolsDir: cache, log: (line) => lines.push(line) })).resolves.toBe(
      join(cache, 'opa'),
    )
    expect(lines.join('\n')).toContain(`into ${cache} with go install`)
  })

  it('names the per-user cache in the install instructions of an installed package', async () => {
    const wrong = await fakeOpa('0.70.0')
    process.env.PATH = wrong
    delete process.env.MCP_POLICY_OPA
    const cache = opaToolsDir(await installedPackage(), { MCP_POLICY_CACHE_DIR: join(wrong, 'cache') })
    const failure = resolveOpa({ install: false, toolsDir: cache })
    await expect(failure).rejects.toThrow(`GOBIN=${cache} go install`)
  })
})
