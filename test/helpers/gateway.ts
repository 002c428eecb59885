import { cp, mkdtemp, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import type { ClientCapabilities } from '@modelcontextprotocol/sdk/types.js'
import {
  buildBundle,
  createDevKey,
  type DevKey,
  defaultGatewayConfig,
  devIssuerConfig,
  type GatewayConfig,
  mintDevToken,
  type RunningGateway,
  startGateway,
} from '../../src/index.js'

/** The stock servers' entry points, installed as devDependencies. */
export const stockServers = {
  filesystem: resolve('node_modules/@modelcontextprotocol/server-filesystem/dist/index.js'),
  everything: resolve('node_modules/@modelcontextprotocol/server-everything/dist/index.js'),
}

/** The misbehaving fixture server, as compiled by `npm run build` (tests run after it). */
export const faultyServer = resolve('dist/test/fixtures/servers/faulty-mcp-server.js')

/**
 * Builds the reference policy (rego/) with the reference data changed by `patch`, with the real
 * OPA, into a temp dir.
 */
export async function buildReferenceBundleWith(
  // biome-ignore lint/suspicious/noExplicitAny: tests patch the reference data freely
  patch: (mcpData: Record<string, any>) => void,
): Promise<{ path: string; dir: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-gw-bundle-'))
  const bundleDir = join(dir, 'bundle')
  await cp('bundles/default', bundleDir, { recursive: true })
  const data = JSON.parse(await readFile(join(bundleDir, 'data.json'), 'utf8'))
  patch(data.mcp_data)
  await writeFile(join(bundleDir, 'data.json'), JSON.stringify(data))
  const built = await buildBundle({
    bundleDir,
    regoDir: 'rego',
    out: join(dir, 'bundle.tar.gz'),
    bundleStore: join(dir, 'store'),
  })
  return { path: built.path, dir }
}

/** A gateway on an ephemeral loopback port with its own dev issuer and temp log. */
export interface TestGateway extends RunningGateway {
  key: DevKey
  logDir: string
  /** Lines the gateway printed (upstream stderr, restarts). */
  printed: string[]
  /** A dev token for `sub` with `roles`, audience the resource of `server`. */
  token(
    sub: string,
    roles: string[],
    server: string,
    extra?: { scopes?: string[]; expiresIn?: number },
  ): Promise<string>
}

/** Starts `startGateway` in-process for a test. */
export async function startTestGateway(
  bundlePath: string,
  servers: GatewayConfig['servers'],
  overrides: Partial<GatewayConfig> = {},
): Promise<TestGateway> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-gw-run-'))
  const key = await createDevKey()
  const logDir = join(dir, 'logs')
  const printed: string[] = []
  const gateway = await startGateway(
    {
      ...defaultGatewayConfig(),
      port: 0,
      servers,
      bundle: { file: bundlePath },
      identity: { issuers: [devIssuerConfig(key)] },
      log: { dir: logDir, durability: 'batch' },
      bundleStore: join(dir, 'store'),
      ...overrides,
    },
    { print: (line) => printed.push(line) },
  )
  return Object.assign(gateway, {
    key,
    logDir,
    printed,
    token: (
      sub: string,
      roles: string[],
      server: string,
      extra: { scopes?: string[]; expiresIn?: number } = {},
    ) =>
      mintDevToken(key, { sub, roles, aud: gateway.resources[server]!, clientId: 'gateway-test', ...extra }),
  })
}

/** The real SDK client connected to `endpoint` with a bearer token. */
export async function connectClient(
  endpoint: string,
  token: string | undefined,
  capabilities: ClientCapabilities = {},
): Promise<Client> {
  const client = new Client({ name: 'gateway-test', version: '1.0.0' }, { capabilities })
  const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {}
  await client.connect(new StreamableHTTPClientTransport(new URL(endpoint), { requestInit: { headers } }))
  return client
}

/** Polls `check` until it resolves without throwing, or rethrows its last error after `ms`. */
export async function eventually<T>(check: () => Promise<T>, ms = 20_000): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    try {
      return await check()
    } catch (err) {
      if (Date.now() > until) throw err
      await new Promise((r) => setTimeout(r, 200))
    }
  }
}
