import { join } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { replayLog } from '../audit/replay-log.js'
import { verifyLog } from '../audit/verify-log.js'
import { PolicyEnforcingTransport } from '../enforce/policy-enforcing-transport.js'
import { devIssuerConfig, loadOrCreateDevKey, mintDevToken } from '../identity/dev-token.js'
import { TokenVerifier } from '../identity/token-verifier.js'
import { RequestNormalizer } from '../normalize/request-normalizer.js'
import { POLICY_DENIED_ERROR_CODE } from '../pdp/jsonrpc-denial.js'
import { defaultPdpConfig, defaultServerResource, type PdpConfig } from '../pdp/pdp-config.js'
import { type RunningPdp, startPdp } from '../pdp/pdp-server.js'
import { type SampleMcpServer, startSampleMcpServer } from './sample-mcp-server.js'

/** Options for {@link runDemo}. */
export interface DemoOptions {
  /** The bundle the PDP serves. */
  bundle: string
  /** PDP port; when taken, any free port is used instead. Default 8181. */
  port?: number
  /** Where this run's decision log goes. Default `decision-logs/demo-<time>`. */
  logDir?: string
  print?: (line: string) => void
}

/** The demo's running parts, for the caller to stop. */
export interface RunningDemo {
  pdp: RunningPdp
  server: SampleMcpServer
  logDir: string
  close(): Promise<void>
}

interface Caller {
  label: string
  token?: string
}

/**
 * The `npm start` demo, on embedded defaults and loopback only: the PDP (HTTP) with the default
 * bundle and the local dev issuer; a sample GitHub-like MCP server (the real SDK over Streamable
 * HTTP) whose transport enforces through the PDP's engine and decision log; and a scripted agent
 * (the real SDK client, real signed tokens) making allowed and denied calls. Each decision is
 * printed with its reason; then the log is verified and replayed.
 */
export async function runDemo(options: DemoOptions): Promise<RunningDemo> {
  const print = options.print ?? ((line: string) => process.stdout.write(`${line}\n`))
  const logDir =
    options.logDir ?? join('decision-logs', `demo-${new Date().toISOString().replace(/[:.]/g, '-')}`)
  const base = defaultPdpConfig()
  const config: PdpConfig = {
    ...base,
    port: options.port ?? 8181,
    workers: 1,
    bundle: { file: options.bundle },
    log: { dir: logDir, durability: 'batch' },
  }
  const pdp = await startPdp(config).catch(
    (err: NodeJS.ErrnoException & { cause?: NodeJS.ErrnoException }) => {
      if (err.cause?.code !== 'EADDRINUSE') throw err
      print(`port ${config.port} is taken; using a free port`)
      return startPdp({ ...config, port: 0 })
    },
  )
  const key = await loadOrCreateDevKey(config.devKeyDir)
  const normalizer = new RequestNormalizer(
    { ...config.normalize, trustForwardedHeaders: false },
    new TokenVerifier({ issuers: [devIssuerConfig(key)] }),
  )
  const server = await startSampleMcpServer(
    (transport) =>
      new PolicyEnforcingTransport(transport, {
        engine: pdp.service.engine,
        normalizer,
        server: 'github',
        log: pdp.log,
        destination: 'public',
      }),
  )
  print(`PDP         ${pdp.url}  (bundle ${pdp.service.engine.bundle?.digest.slice(0, 19)}…, log ${logDir})`)
  print(`MCP server  ${server.url}  (sample "github" server; every message is decided before it runs)`)
  print('')

  const aud = defaultServerResource('github')
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

  await listTools(server.url, alice, print)
  await listTools(server.url, bob, print)
  await call(server.url, alice, 'get_issue', { number: 42 }, print)
  await call(server.url, alice, 'get_file_contents', { path: 'config/aws.ini' }, print)
  await call(server.url, alice, 'delete_repository', { repo: 'acme/api' }, print)
  await call(server.url, alice, 'run_shell', { command: 'id' }, print)
  await call(server.url, bob, 'create_issue', { title: 'printer on fire' }, print)
  await call(server.url, agent, 'create_issue', { title: 'triaged' }, print)
  await call(server.url, anonymous, 'get_issue', { number: 1 }, print)

  await pdp.log?.flush()
  print('')
  const verification = await verifyLog([logDir])
  const events = verification.chains.reduce((n, c) => n + c.events, 0)
  print(
    verification.intact
      ? `decision log verified: ${events} events, hash chain intact  (npx mcp-policy verify-log ${logDir})`
      : `decision log FAILED verification: ${verification.findings.map((f) => f.kind).join(', ')}`,
  )
  const replay = await replayLog([logDir], { bundleStore: config.bundleStore })
  const replayable = replay.events - replay.rejected - replay.withheld
  print(
    `replayed against the recorded bundle: ${replay.same}/${replayable} decisions reproduced  (npx mcp-policy replay ${logDir})`,
  )
  return {
    pdp,
    server,
    logDir,
    async close() {
      await server.close()
      await pdp.close()
    },
  }
}

async function connect(url: string, caller: Caller): Promise<Client> {
  const client = new Client({ name: 'demo-agent', version: '1.0.0' })
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
    const error = err as { code?: number; message?: string; data?: { reason?: string; status?: number } }
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

/** The SDK prefixes server errors with "MCP error <code>: ". */
function stripPrefix(message: string | undefined): string {
  return (message ?? '').replace(/^MCP error -?\d+: /, '')
}
