import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { DecisionLog } from '../audit/decision-log.js'
import { buildBundle } from '../bundle/build-bundle.js'
import { DEFAULT_BUNDLE_DIR, DEFAULT_REGO_DIR } from '../defaults.js'
import { PolicyEngine } from '../engine/policy-engine.js'
import { McpPolicyError } from '../errors.js'
import { createDevKey, type DevKey, devIssuerConfig } from '../identity/dev-token.js'
import { TokenVerifier } from '../identity/token-verifier.js'
import { type RequestEnvelope, RequestNormalizer } from '../normalize/request-normalizer.js'
import { DecisionService } from '../pdp/decision-service.js'
import { defaultPdpConfig } from '../pdp/pdp-config.js'
import { caseRequest } from '../policy-test/case-request.js'
import { type DecisionCase, findCaseFiles, readCaseFile } from '../policy-test/decision-cases.js'

/**
 * Where {@link recordSampleLog} writes, relative to a policy repository.
 *
 * @internal
 */
export const SAMPLE_LOG_DIR = 'samples/decisions'

/**
 * The chain id of a recorded sample log (its files are `decisions-sample-*.jsonl`).
 *
 * @internal
 */
export const SAMPLE_LOG_CHAIN = 'sample'

/**
 * Options for {@link recordSampleLog}.
 *
 * @internal
 */
export interface RecordSampleLogOptions {
  /** Bundle definition directory (`.manifest`, `data.json`). Default `<dir>/bundles/default`. */
  bundleDir?: string
  /** Rego sources. Default `<dir>/rego`. */
  regoDir?: string
  /** Decision cases (`*.cases.yaml`) to replay as traffic. Default `<bundleDir>/cases`. */
  casesDir?: string
  /** The log directory. Default `<dir>/samples/decisions`. */
  out?: string
  /** OPA binary; resolved as `mcp-policy build` does when omitted. */
  opa?: string
}

/**
 * What {@link recordSampleLog} wrote.
 *
 * @internal
 */
export interface RecordedSampleLog {
  /** The log directory. */
  dir: string
  /** Events written: one per decision case. */
  events: number
  /** `sha256:` digest of the bundle the decisions were made with. */
  digest: string
}

/**
 * Records a small, real decision log for a policy repository: builds its bundle as `mcp-policy
 * build` does, then sends every decision case through the path production takes — a token signed
 * with a key made for the run, `TokenVerifier`, `RequestNormalizer`, `DecisionService` — with a
 * {@link DecisionLog} attached, so each case leaves the event the PDP would write, masked as the
 * PDP masks it. `mcp-policy replay SAMPLES --against CANDIDATE` then shows which of those
 * decisions a policy change moves (the `init` CI template's what-if gate). Any earlier sample log
 * in the directory is replaced; the bundle itself is not kept.
 *
 * @internal
 *
 * @throws McpPolicyError from the build (`ERR_BUILD_*`, `ERR_TOOLCHAIN_*`), an invalid cases file
 *   or case (`ERR_POLICY_TEST_INVALID`) or the log (`ERR_LOG_WRITE_FAILED`).
 * @example
 * ```ts
 * const sample = await recordSampleLog('my-policy')
 * console.log(`${sample.events} decisions in ${sample.dir}`)
 * ```
 */
export async function recordSampleLog(
  dir: string,
  options: RecordSampleLogOptions = {},
): Promise<RecordedSampleLog> {
  const root = resolve(dir)
  const bundleDir = resolve(root, options.bundleDir ?? DEFAULT_BUNDLE_DIR)
  const out = resolve(root, options.out ?? SAMPLE_LOG_DIR)
  const work = await mkdtemp(join(tmpdir(), 'mcp-policy-sample-'))
  try {
    const built = await buildBundle({
      bundleDir,
      regoDir: resolve(root, options.regoDir ?? DEFAULT_REGO_DIR),
      out: join(work, 'bundle.tar.gz'),
      bundleStore: join(work, 'store'),
      opa: options.opa,
    })
    const engine = await PolicyEngine.fromBundleFile(built.path)
    const caseFiles = await Promise.all(
      (await findCaseFiles([resolve(root, options.casesDir ?? join(bundleDir, 'cases'))])).map(readCaseFile),
    )
    await mkdir(out, { recursive: true })
    // Only this chain's files go: a real log copied in beside it stays.
    for (const name of await readdir(out))
      if (
        name.startsWith(`decisions-${SAMPLE_LOG_CHAIN}-`) ||
        name === `decisions-${SAMPLE_LOG_CHAIN}.checkpoints`
      )
        await rm(join(out, name))
    const log = await DecisionLog.open({ dir: out, chain: SAMPLE_LOG_CHAIN, durability: 'batch' })
    const keys = { signingKey: await createDevKey(), forgingKey: await createDevKey() }
    const verifier = new TokenVerifier({ issuers: [devIssuerConfig(keys.signingKey)] })
    let events = 0
    try {
      for (const file of caseFiles) {
        const servers = file.servers ?? defaultPdpConfig().normalize.servers ?? {}
        const services = new Map<string | undefined, DecisionService>()
        for (const testCase of file.cases) {
          let service = services.get(testCase.environment)
          if (!service) {
            const normalizer = new RequestNormalizer(
              { servers, environment: testCase.environment, trustForwardedHeaders: true },
              verifier,
            )
            service = new DecisionService({ engine, normalizer, log })
            services.set(testCase.environment, service)
          }
          await recordCase(testCase, servers, service, keys)
          events++
        }
      }
    } finally {
      await log.close()
    }
    return { dir: out, events, digest: built.digest }
  } finally {
    await rm(work, { recursive: true, force: true })
  }
}

// The request a decision case describes, as `mcp-policy test` sends it (src/policy-test/run-decision-cases.ts).
async function recordCase(
  testCase: DecisionCase,
  servers: Record<string, { resource: string }>,
  service: DecisionService,
  keys: { signingKey: DevKey; forgingKey: DevKey },
): Promise<void> {
  let facts: RequestEnvelope
  try {
    facts = await caseRequest(testCase, servers, keys)
  } catch (err) {
    throw new McpPolicyError('ERR_POLICY_TEST_INVALID', `${testCase.file}: ${(err as Error).message}`)
  }
  if (testCase.result !== undefined)
    await service.judgeResponse({ facts, result: testCase.result, destination: testCase.destination })
  else await service.decideMcp(facts)
}
