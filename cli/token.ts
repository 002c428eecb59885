import type { Argv, CommandModule } from 'yargs'
import {
  DEFAULT_DEV_CLIENT_ID,
  DEFAULT_DEV_KEY_DIR,
  DEFAULT_DEV_TOKEN_LIFETIME,
  devIssuer,
  loadOrCreateDevKey,
  McpPolicyError,
  mintDevToken,
} from '../src/index.js'
import { runCommand } from './run-command.js'

interface TokenArgs {
  sub: string
  aud: string[]
  groups?: string
  roles?: string
  scopes?: string
  act?: string
  iss: string
  'client-id'?: string
  'key-dir': string
  'expires-in': string
}

/** `mcp-policy token`: mint a signed dev access token from the local dev key, for demos and tests. */
export const tokenCommand: CommandModule<object, TokenArgs> = {
  command: 'token',
  describe: 'Mint a dev access token (at+jwt, ES256) signed with the local dev key',
  builder: (yargs: Argv) =>
    yargs
      .option('sub', { type: 'string', demandOption: true, describe: 'subject (the user)' })
      .option('aud', {
        type: 'string',
        array: true,
        demandOption: true,
        describe: "the MCP server's resource URI (RFC 8707); repeat for several",
      })
      .option('groups', { type: 'string', describe: 'comma-separated groups' })
      .option('roles', { type: 'string', describe: 'comma-separated roles' })
      .option('scopes', { type: 'string', describe: 'comma- or space-separated scopes' })
      .option('act', { type: 'string', describe: 'the agent acting for the subject (RFC 8693 act.sub)' })
      .option('iss', { type: 'string', default: devIssuer, describe: 'issuer' })
      .option('client-id', { type: 'string', describe: `client_id claim (default ${DEFAULT_DEV_CLIENT_ID})` })
      .option('key-dir', {
        type: 'string',
        default: DEFAULT_DEV_KEY_DIR,
        describe: 'directory of the dev signing key (created on first use)',
      })
      .option('expires-in', {
        type: 'string',
        default: DEFAULT_DEV_TOKEN_LIFETIME,
        describe: 'lifetime: seconds or 90s, 15m, 1h, 7d',
      }) as Argv<TokenArgs>,
  handler: (args) =>
    runCommand(async () => {
      let token: string
      try {
        const key = await loadOrCreateDevKey(args['key-dir'])
        token = await mintDevToken(key, {
          sub: args.sub,
          aud: args.aud.length === 1 ? args.aud[0]! : args.aud,
          groups: list(args.groups, /,/),
          roles: list(args.roles, /,/),
          scopes: list(args.scopes, /[\s,]+/),
          act: args.act,
          iss: args.iss,
          clientId: args['client-id'],
          expiresIn: args['expires-in'],
        })
      } catch (err) {
        // A bad --expires-in, or a key file that is not a dev key: the user's to fix.
        const usage =
          err instanceof SyntaxError ||
          (err instanceof McpPolicyError && err.code === 'ERR_IDENTITY_CONFIG_INVALID')
        if (usage) throw new McpPolicyError('ERR_CLI_USAGE', (err as Error).message, { cause: err })
        throw err
      }
      process.stdout.write(`${token}\n`)
      return 0
    }),
}

// Group and role names may contain spaces (directory display names); scopes never do.
function list(value: string | undefined, separator: RegExp): string[] | undefined {
  if (value === undefined) return undefined
  return value
    .split(separator)
    .map((item) => item.trim())
    .filter((item) => item !== '')
}
