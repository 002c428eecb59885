import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  buildBundle,
  createDevKey,
  type DevKey,
  defaultPdpConfig,
  defaultServerResource,
  devIssuerConfig,
  mintDevToken,
  type PdpConfig,
  type RunningPdp,
  startPdp,
} from '../../src/index.js'

/** Builds the reference policy (bundles/default + rego/) with the real OPA into a temp dir. */
export async function buildReferenceBundle(): Promise<{ path: string; dir: string; digest: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-pdp-'))
  const built = await buildBundle({ out: join(dir, 'default.tar.gz'), bundleStore: join(dir, 'store') })
  return { path: built.path, dir, digest: built.digest }
}

/** A PDP on an ephemeral loopback port with the reference bundle, a fresh dev issuer and temp log dir. */
export interface TestPdp extends RunningPdp {
  config: PdpConfig
  key: DevKey
  logDir: string
  /** A dev token for `sub` with `roles`, audience the default server resource of `server`. */
  token(
    sub: string,
    roles: string[],
    server?: string,
    extra?: { clientId?: string; act?: string },
  ): Promise<string>
}

/** Starts an in-process PDP for a test; override any configuration member. */
export async function startTestPdp(bundlePath: string, overrides: Partial<PdpConfig> = {}): Promise<TestPdp> {
  const dir = await mkdtemp(join(tmpdir(), 'mcp-policy-pdp-run-'))
  const key = await createDevKey()
  const logDir = join(dir, 'logs')
  const config: PdpConfig = {
    ...defaultPdpConfig(),
    port: 0,
    workers: 1,
    bundle: { file: bundlePath },
    identity: { issuers: [devIssuerConfig(key)] },
    log: { dir: logDir, durability: 'batch' },
    bundleStore: join(dir, 'store'),
    ...overrides,
  }
  const pdp = await startPdp(config)
  return Object.assign(pdp, {
    config,
    key,
    logDir,
    token: (
      sub: string,
      roles: string[],
      server = 'github',
      extra: { clientId?: string; act?: string } = {},
    ) => mintDevToken(key, { sub, roles, aud: defaultServerResource(server), ...extra }),
  })
}

/** A tools/call JSON-RPC request. */
export function toolCall(name: string, args: Record<string, unknown> = {}, id: number | string = 1) {
  return { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args } }
}
