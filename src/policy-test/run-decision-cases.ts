import { isDeepStrictEqual } from 'node:util'
import type { PolicyEngine } from '../engine/policy-engine.js'
import { createDevKey, type DevKey, devIssuerConfig } from '../identity/dev-token.js'
import { TokenVerifier } from '../identity/token-verifier.js'
import type { NormalizeConfig } from '../normalize/normalize-config.js'
import { RequestNormalizer } from '../normalize/request-normalizer.js'
import { DecisionService } from '../pdp/decision-service.js'
import { defaultPdpConfig } from '../pdp/pdp-config.js'
import { caseRequest } from './case-request.js'
import type { CaseExpectation, DecisionCase, DecisionCaseFile } from './decision-cases.js'
import type { PolicyTestResult } from './policy-test-result.js'

/**
 * Runs decision cases through the path production takes — a token signed with a per-run key and
 * verified by `TokenVerifier`, `RequestNormalizer`, then `DecisionService` on the built bundle —
 * and compares each decision with what the case expects.
 *
 * @internal
 *
 * @example
 * ```ts
 * const engine = await PolicyEngine.fromBundleFile(built.path)
 * const results = await runDecisionCases([await readCaseFile('bundles/default/cases/tools.cases.yaml')], engine)
 * ```
 */
export async function runDecisionCases(
  files: readonly DecisionCaseFile[],
  engine: PolicyEngine,
): Promise<PolicyTestResult[]> {
  const signingKey = await createDevKey()
  const forgingKey = await createDevKey()
  const verifier = new TokenVerifier({ issuers: [devIssuerConfig(signingKey)] })
  const results: PolicyTestResult[] = []
  for (const file of files) {
    const base = defaultPdpConfig().normalize
    const servers = file.servers ?? base.servers ?? {}
    // One normalizer per environment (it is normalizer configuration); undefined and '' differ.
    const services = new Map<string | undefined, DecisionService>()
    const serviceFor = (environment: string | undefined): DecisionService => {
      let service = services.get(environment)
      if (!service) {
        const config: NormalizeConfig = { servers, environment, trustForwardedHeaders: true }
        service = new DecisionService({ engine, normalizer: new RequestNormalizer(config, verifier) })
        services.set(environment, service)
      }
      return service
    }
    for (const testCase of file.cases) {
      const started = process.hrtime.bigint()
      const result = {
        kind: 'case' as const,
        name: `${file.file}: ${testCase.name}`,
        suite: file.file,
        file: file.file,
        line: testCase.line,
      }
      try {
        const mismatches = await runCase(
          testCase,
          servers,
          serviceFor(testCase.environment),
          { signingKey, forgingKey },
          file.serversLine,
        )
        const durationMs = Number(process.hrtime.bigint() - started) / 1e6
        results.push(
          mismatches.length === 0
            ? { ...result, outcome: 'pass', durationMs }
            : { ...result, outcome: 'fail', message: mismatches.join('\n'), durationMs },
        )
      } catch (err) {
        results.push({
          ...result,
          outcome: 'error',
          message: (err as Error).message ?? String(err),
          durationMs: Number(process.hrtime.bigint() - started) / 1e6,
        })
      }
    }
  }
  return results
}

async function runCase(
  testCase: DecisionCase,
  servers: Record<string, { resource: string }>,
  service: DecisionService,
  keys: { signingKey: DevKey; forgingKey: DevKey },
  serversLine: number | undefined,
): Promise<string[]> {
  const facts = await caseRequest(testCase, servers, keys, { serversLine })
  if (testCase.result !== undefined) {
    const judged = await service.judgeResponse({
      facts,
      result: testCase.result,
      destination: testCase.destination,
    })
    failedClosed(testCase.expect, judged.reasons)
    return compare(testCase.expect, {
      allow: judged.allow,
      reasons: judged.reasons.map((r) => r.code),
      redactions: judged.redactions.map((r) => r.path),
    })
  }
  const decision = await service.decideMcp(facts)
  failedClosed(testCase.expect, decision.reasons)
  return compare(testCase.expect, {
    allow: decision.allow,
    status: decision.status,
    reasons: decision.reasons.map((r) => r.code),
    obligations: decision.obligations as Record<string, unknown>,
  })
}

/**
 * A fail-closed deny the case did not ask for (normalization, token, engine or decision-shape
 * error) is an error, not a pass: `expect: {allow: false}` must not be met by a broken policy.
 */
function failedClosed(expect: CaseExpectation, reasons: readonly { code: string; message: string }[]): void {
  const unexpected = reasons.find((r) => r.code.startsWith('ERR_') && !expect.reasons?.includes(r.code))
  if (unexpected) throw new Error(`the decision failed closed with ${unexpected.code}: ${unexpected.message}`)
}

/** What a decision or judgement came out as, in the terms a case expects. */
interface Actual {
  allow: boolean
  status?: number
  reasons: string[]
  obligations?: Record<string, unknown>
  redactions?: string[]
}

function compare(expect: CaseExpectation, actual: Actual): string[] {
  const mismatches: string[] = []
  const differ = (what: string, expected: unknown, got: unknown) =>
    mismatches.push(`${what}: expected ${JSON.stringify(expected)}, got ${JSON.stringify(got)}`)
  if (expect.allow !== actual.allow) differ('allow', expect.allow, actual.allow)
  if (expect.status !== undefined && expect.status !== actual.status)
    differ('status', expect.status, actual.status)
  if (expect.reasons && !sameSet(expect.reasons, actual.reasons))
    differ('reasons', sorted(expect.reasons), sorted(actual.reasons))
  if (expect.redactions && !sameSet(expect.redactions, actual.redactions ?? []))
    differ('redactions', sorted(expect.redactions), sorted(actual.redactions ?? []))
  const obligations = actual.obligations ?? {}
  for (const [name, expected] of Object.entries(expect.obligations ?? {})) {
    const got = obligations[name]
    if (name === 'require_approval') {
      if (expected !== (got !== undefined)) differ('obligations.require_approval present', expected, got)
    } else if (Array.isArray(expected)) {
      // An absent list obligation shows or masks nothing: the same as an empty list.
      const list = got ?? []
      if (!Array.isArray(list) || !sameSet(expected as string[], list as string[]))
        differ(
          `obligations.${name}`,
          sorted(expected as string[]),
          Array.isArray(got) ? sorted(got as string[]) : got,
        )
    } else if (!isDeepStrictEqual(expected, got)) differ(`obligations.${name}`, expected, got)
  }
  return mismatches
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const left = new Set(a)
  const right = new Set(b)
  return left.size === right.size && [...left].every((x) => right.has(x))
}

function sorted(values: readonly string[]): string[] {
  return [...new Set(values)].sort()
}
