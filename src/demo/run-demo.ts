import { createPublicKey } from 'node:crypto'
import { join } from 'node:path'
import { Client, SdkHttpError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { defaultCheckpointSigning } from '../audit/checkpoint-key.js'
import { replayLog } from '../audit/replay-log.js'
import { verifyLog } from '../audit/verify-log.js'
import { DEFAULT_GATEWAY_PORT, DEFAULT_LOG_DIR } from '../defaults.js'
import { defaultGatewayConfig, type GatewayConfig } from '../gateway/gateway-config.js'
import { type RunningGateway, startGateway } from '../gateway/mcp-gateway.js'
import { loadOrCreateDevKey, mintDevToken } from '../identity/dev-token.js'
import { POLICY_DENIED_ERROR_CODE } from '../pdp/jsonrpc-denial.js'
import { type SampleMcpServer, startSampleMcpServer } from './sample-mcp-server.js'

/**
 * Options for {@link runDemo}.
 *
 * @internal
 */
export interface DemoOptions {
  /** The bundle the gateway decides with. */
  bundle: string
  /** Gateway port; when taken, any free port is used instead. Default 8080. */
  port?: number
  /** Where this run's decision log goes. Default `decision-logs/demo-<time>`. */
  logDir?: string
  print?: (line: string) => void
}

/**
 * The demo's running parts, for the caller to stop.
 *
 * @internal
 */
export interface RunningDemo {
  gateway: RunningGateway
  server: SampleMcpServer
  logDir: string
  close(): Promise<void>
}

interface Caller {
  label: string
  token?: string
}

/**
 * The `npm start` demo, on embedded defaults and loopback only: a sample GitHub-like MCP server
 * (the real SDK over Streamable HTTP, MCP up to 2025-11-25, no policy code of its own) protected by
 * `mcp-policy gateway` with the default bundle and the local dev issuer, and a scripted agent (the
 * real MCP SDK v2 client speaking the current revision, 2026-07-28; real signed tokens) making
 * allowed and denied calls through the gateway, which bridges the revisions. Each call is printed
 * with its decision and reason; then the gateway's decision log is verified and replayed.
 *
 * @internal
 */
export async function runDemo(options: DemoOptions): Promise<RunningDemo> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`))
  const logDir =
    options.logDir ?? join(DEFAULT_LOG_DIR, `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  // The upstream knows nothing of the policy: the gateway in front of it is the enforcement point.
  const server = await startSampleMcpServer()
  const config: GatewayConfig = {
    ...defaultGatewayConfig(),
    port: options.port ?? DEFAULT_GATEWAY_PORT,
    bundle: { file: options.bundle },
    log: { dir: logDir, durability: 'batch' },
    servers: { github: { url: server.url, destination: 'public' } },
  }
  // Checkpoints are signed, as every logging command does by default, so the check below is a real one.
  const signing = await defaultCheckpointSigning(config.log)
  config.log = signing.log
  const gatewayPrint = (line: string) => print(`gateway     ${line}`)
  const gateway = await startGateway(config, { print: gatewayPrint }).catch(
    (err: NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException }) => {
      if (err.cause?.code !== 'EADDRINUSE') throw err
      print(`port ${config.port} is taken; using a free port`)
      return startGateway({ ...config, port: 0 }, { print: gatewayPrint })
    },
  )
  const key = await loadOrCreateDevKey(config.devKeyDir)
  const endpoint = gateway.endpoints.github!
  const digest = gateway.core.service.engine.bundle?.digest.slice(0, 19)
  print(`gateway     ${endpoint}  (bundle ${digest}…, log ${logDir})`)
  print(
    `MCP server  ${server.url}  (sample "github" server, no policy code: the gateway decides every message)`,
  )
  print(
    `agent       MCP ${DEMO_PROTOCOL_VERSION} (SDK v2 client: no initialize, no session; the gateway bridges to the server's 2025-11-25)`,
  )
  print('')

  const aud = gateway.resources.github!
  const alice: Caller = {
    label: 'alice (developer)',
    token: await mintDevToken(key, { sub: 'alice', roles: ['developer'], aud }),
  }
  const bob: Caller = {
    label: 'bob (support)',
    token: await mintDevToken(key, { sub: 'bob', roles: ['support'], aud }),
  }
  const agent: Caller = {
    label: 'triage-agent for alice',
    token: await mintDevToken(key, {
      sub: 'alice',
      roles: ['developer'],
      aud,
      act: { sub: 'triage-agent', client_id: 'triage-agent' },
    }),
  }
  const anonymous: Caller = { label: 'anonymous' }

  await listTools(endpoint, alice, print)
  await listTools(endpoint, bob, print)
  await call(endpoint, alice, 'get_issue', { number: 42 }, print)
  await call(endpoint, alice, 'get_file_contents', { path: 'config/aws.ini' }, print)
  await call(endpoint, alice, 'delete_repository', { repo: 'acme/api' }, print)
  await call(endpoint, alice, 'run_shell', { command: 'id' }, print)
  await call(endpoint, bob, 'create_issue', { title: 'printer on fire' }, print)
  await call(endpoint, agent, 'create_issue', { title: 'triaged' }, print)
  await call(endpoint, anonymous, 'get_issue', { number: 1 }, print)

  await gateway.flushLogs()
  print('')
  const verification = await verifyLog([logDir], {
    key: signing.key ? createPublicKey(signing.key.publicKeyPem) : undefined,
  })
  const events = verification.chains.reduce((n, c) => n + c.events, 0)
  print(
    verification.intact
      ? `decision log verified: ${events} events, hash chain intact${verification.verified ? ', checkpoints signed' : ''}  (npx mcp-policy verify-log ${logDir}${signing.key ? ` --key ${signing.key.publicKeyPath}` : ''})`
      : `decision log FAILED verification: ${verification.findings.map((f) => f.kind).join(', ')}`,
  )
  const replay = await replayLog([logDir], { bundleStore: config.bundleStore })
  const replayable = replay.events - replay.rejected - replay.withheld
  print(
    `replayed against the recorded bundle: ${replay.same}/${replayable} decisions reproduced  (npx mcp-policy replay ${logDir})`,
  )
  return {
    gateway,
    server,
    logDir,
    async close() {
      await gateway.close()
      await server.close()
    },
  }
}

/** The revision the demo's agent speaks: the current one. */
const DEMO_PROTOCOL_VERSION = '2026-07-28'

/**
 * The agent's client: the MCP SDK v2 client pinned to the current revision — no `initialize`, no
 * session, its revision and client info in every request's `_meta`, `Mcp-Method`/`Mcp-Name`
 * headers. Connecting asks the gateway `server/discover` (itself a decision); the sample server
 * behind it speaks only earlier revisions, which the gateway bridges.
 */
async function connect(url: string, caller: Caller): Promise<Client> {
  const client = new Client(
    { name: 'demo-agent', version: '1.0.0' },
    { versionNegotiation: { mode: { pin: DEMO_PROTOCOL_VERSION } } },
  )
  const headers: Record<string, string> = caller.token ? { authorization: `Bearer ${caller.token}` } : {}
  await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }))
  return client
}

async function listTools(url: string, caller: Caller, print: (line: string) => void): Promise<void> {
  const client = await connect(url, caller)
  try {
    const { tools } = await client.listTools()
    print(`LIST   ${caller.label} sees tools: ${tools.map((t) => t.name).join(', ') || '(none)'}`)
  } finally {
    await client.close()
  }
}

async function call(
  url: string,
  caller: Caller,
  tool: string,
  args: Record<string, unknown>,
  print: (line: string) => void,
): Promise<void> {
  let client: Client | undefined
  try {
    client = await connect(url, caller)
    const result = (await client.callTool({ name: tool, arguments: args })) as {
      content?: { type: string; text?: string }[]
    }
    const text = (result.content ?? [])
      .map((c) => c.text ?? '')
      .join(' ')
      .replace(/\s+/g, ' ')
    print(`ALLOW  ${caller.label} → github/${tool}: ${text.slice(0, 90)}`)
  } catch (err) {
    const error =
      challengeOf(err) ??
      (err as { code?: number; message?: string; data?: { reason?: string; status?: number } })
    if (error.code === POLICY_DENIED_ERROR_CODE && error.data?.reason) {
      print(
        `DENY   ${caller.label} → github/${tool}: ${error.data.status ?? ''} ${error.data.reason}: ${stripPrefix(error.message)}`,
      )
    } else {
      print(`DENY   ${caller.label} → github/${tool}: ${error.message ?? String(err)}`)
    }
  } finally {
    await client?.close().catch(() => {})
  }
}

/**
 * The gateway answers a request without a valid token at the HTTP level (401 and a
 * `WWW-Authenticate` challenge, so OAuth clients can sign in); the SDK client without an auth
 * provider raises it as an HTTP error (already at `server/discover`, when it connects) carrying
 * the gateway's JSON-RPC body.
 */
function challengeOf(
  err: unknown,
): { code?: number; message?: string; data?: { reason?: string; status?: number } } | undefined {
  if (!(err instanceof SdkHttpError) || typeof err.data.text !== 'string') return undefined
  try {
    return (
      JSON.parse(err.data.text) as {
        error?: { code?: number; message?: string; data?: { reason?: string; status?: number } }
      }
    ).error
  } catch {
    return undefined
  }
}

/** The SDK prefixes server errors with "MCP error <code>: ". */
function stripPrefix(message: string | undefined): string {
  return (message ?? '').replace(/^MCP error -?\d+: /, '')
}
