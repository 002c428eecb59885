import { access } from 'node:fs/promises'
import type { Argv, CommandModule } from 'yargs'
import { buildBundle, type Decision, PolicyEngine } from '../src/index.js'
import { runCommand } from './run-command.js'

interface DemoArgs {
  bundle: string
  rebuild: boolean
}

// Sample requests in input document v1 shape; identity is assumed verified (normalization is a later milestone).
const developer = { authenticated: true, id: 'alice', roles: ['developer'] }
const support = { authenticated: true, id: 'bob', roles: ['support'] }
const samples: { title: string; input: unknown }[] = [
  { title: 'alice (developer) calls github/create_issue', input: call(developer, 'github', 'create_issue') },
  { title: 'bob (support) calls github/create_issue', input: call(support, 'github', 'create_issue') },
  { title: 'bob (support) calls github/get_issue', input: call(support, 'github', 'get_issue') },
  { title: 'alice calls filesystem/write_file', input: call(developer, 'filesystem', 'write_file') },
  {
    title: 'an anonymous caller calls github/get_issue',
    input: call({ authenticated: false }, 'github', 'get_issue'),
  },
  {
    title: 'bob sends ping',
    input: { mcp: { kind: 'request', method: 'ping' }, subject: support, server: { id: 'github' } },
  },
]

function call(subject: unknown, server: string, tool: string) {
  return {
    mcp: { kind: 'request', method: 'tools/call', tool: { name: tool, arguments: {} } },
    subject,
    server: { id: server },
  }
}

/** `mcp-policy demo`: builds the default bundle if needed and shows decisions on sample MCP requests. */
export const demoCommand: CommandModule<object, DemoArgs> = {
  command: 'demo',
  describe: 'Build the default bundle if needed and print decisions for sample MCP requests',
  builder: (yargs: Argv) =>
    yargs.option('bundle', { type: 'string', default: 'bundles/default.tar.gz' }).option('rebuild', {
      type: 'boolean',
      default: false,
      describe: 'rebuild the bundle from bundles/default and rego/ first',
    }) as Argv<DemoArgs>,
  handler: (args) =>
    runCommand(async () => {
      const exists = await access(args.bundle).then(
        () => true,
        () => false,
      )
      if (!exists || args.rebuild) {
        const built = await buildBundle({ out: args.bundle })
        process.stdout.write(`built ${built.path} (${built.digest})\n`)
      }
      const engine = await PolicyEngine.fromBundleFile(args.bundle)
      process.stdout.write(
        `bundle ${engine.bundle?.name} revision ${engine.bundle?.revision} ${engine.bundle?.digest}\n\n`,
      )
      for (const sample of samples) {
        const { decision } = engine.decide(sample.input)
        process.stdout.write(`${describe(decision, sample.title)}\n`)
      }
      return 0
    }),
}

function describe(decision: Decision, title: string): string {
  if (decision.allow) return `ALLOW ${decision.status}  ${title}`
  const reasons = decision.reasons.map((r) => `${r.code}: ${r.message}`).join('; ')
  return `DENY  ${decision.status}  ${title}  ->  ${reasons}`
}
