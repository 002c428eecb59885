import { cp, mkdtemp, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { packageRoot } from '../../src/package-root.js'
import { runOpa } from '../../src/toolchain/opa.js'
import { opaBinary } from '../helpers/opa-binary.js'

const root = packageRoot()

describe('rego/ against the input schema', () => {
  it('the policies are opa fmt clean and type-check against rego/schemas/input.json', async () => {
    const opa = await opaBinary()
    const { stdout } = await runOpa(opa, ['fmt', '--list', join(root, 'rego')])
    expect(stdout.trim()).toBe('')
    await runOpa(opa, [
      'check',
      '--strict',
      '--schema',
      join(root, 'rego/schemas/input.json'),
      join(root, 'rego/mcp'),
    ])
  })

  it('the schema check catches a policy reading a field the input document does not have', async () => {
    const opa = await opaBinary()
    const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-schema-'))
    await cp(join(root, 'rego/mcp'), join(dir, 'mcp'), { recursive: true })
    await writeFile(join(dir, 'mcp', 'typo.rego'), 'package mcp\n\ntypo if input.mcp.tool.nmae == "x"\n')
    await expect(
      runOpa(opa, ['check', '--strict', '--schema', join(root, 'rego/schemas/input.json'), dir]),
    ).rejects.toThrow(/undefined ref: input\.mcp\.tool\.nmae/)
  })
})
