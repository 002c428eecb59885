import { chmod, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { OPA_VERSION, resolveOpa } from '../../src/index.js'

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
