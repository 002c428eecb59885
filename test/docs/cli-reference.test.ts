import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { beforeAll, describe, expect, it } from 'vitest'
import { packageRoot } from '../../src/package-root.js'
import { mcpPolicy } from '../helpers/run-cli.js'

const table = readFileSync(join(packageRoot(), 'docs', 'cli.md'), 'utf8')
  .split('\n')
  .filter((line) => line.startsWith('| `mcp-policy '))

/** The commands a `--help` lists (for `mcp-policy catalog <command>`, prefix `catalog `). */
function commandsIn(help: string, prefix: string): string[] {
  const section = help.split(/^Commands:$/m)[1]?.split(/^Options:$/m)[0] ?? ''
  return [...section.matchAll(new RegExp(`^ {2}mcp-policy ${prefix}([a-z][\\w-]*)`, 'gm'))].map((m) => m[1]!)
}

/** The long options a `--help` lists, without yargs' own. */
function optionsIn(help: string): string[] {
  const section = help.split(/^Options:$/m)[1] ?? ''
  // An option starts within the first columns; wrapped descriptions are indented further.
  const names = [...section.matchAll(/^ {2,6}(?:-\w, )?(--[a-z][\w-]*)/gm)].map((m) => m[1]!)
  return [...new Set(names)].filter((name) => name !== '--help' && name !== '--version')
}

/** Every runnable command with its `--help`, found by walking `mcp-policy --help` and each group's. */
async function commandHelp(prefix = ''): Promise<Map<string, string>> {
  const words = prefix.split(' ').filter(Boolean)
  const { stdout } = await mcpPolicy([...words, '--help'])
  const found = new Map<string, string>()
  const names = commandsIn(stdout, prefix)
  // Each --help is a fresh node process; asking them all at once keeps the test to a few seconds.
  const helps = await Promise.all(names.map((name) => mcpPolicy([...words, name, '--help'])))
  for (const [i, name] of names.entries()) {
    const help = helps[i]!.stdout
    if (/^Commands:$/m.test(help))
      for (const entry of await commandHelp(`${prefix}${name} `)) found.set(...entry)
    else found.set(`${prefix}${name}`, help)
  }
  return found
}

describe('docs/cli.md against the CLI', () => {
  let commands: Map<string, string>
  beforeAll(async () => {
    commands = await commandHelp()
  })

  it('finds the commands', () => {
    expect([...commands.keys()]).toEqual(
      expect.arrayContaining(['build', 'catalog import', 'serve', 'gateway']),
    )
  })

  it('has one row per command, and each row names every option the command takes', () => {
    const missing: string[] = []
    for (const [command, help] of commands) {
      const row = table.find((line) => new RegExp(`^\\| \`mcp-policy ${command}[ \`]`).test(line))
      if (!row) {
        missing.push(`mcp-policy ${command}: no row`)
        continue
      }
      const usage = row.split(' | ')[0]!
      for (const option of optionsIn(help))
        if (!new RegExp(`${option}(?![\\w-])`).test(usage)) missing.push(`mcp-policy ${command}: ${option}`)
    }
    expect(missing).toEqual([])
  })

  it('documents no command the CLI does not have', () => {
    const documented = table.map((line) => /^\| `mcp-policy ([a-z][a-z-]*(?: [a-z][a-z-]*)?)/.exec(line)![1]!)
    expect(documented.filter((command) => !commands.has(command))).toEqual([])
  })
})
