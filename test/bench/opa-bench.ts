import { execFileSync } from 'node:child_process'
import { join } from 'node:path'
import { packageRoot } from '../../src/package-root.js'

/** What `opa bench` measured: the median run by ns/op, with OPA's own eval-time percentiles. */
export interface OpaBenchResult {
  perSecond: number
  p50: number
  p99: number
  n: number
}

/**
 * Runs `opa bench` on the reference policy's modules (the bundle leaves `*_test.rego` out, so does
 * this) with the given data and input, `count` times, and returns the median run.
 */
export function opaBench(
  opa: string,
  options: { query: string; dataFile: string; inputFile: string; count?: number },
): OpaBenchResult {
  const out = execFileSync(
    opa,
    [
      'bench',
      '--format',
      'json',
      '--count',
      String(options.count ?? 5),
      '--ignore',
      '*_test.rego',
      '-d',
      join(packageRoot(), 'rego/mcp'),
      '-d',
      options.dataFile,
      '--input',
      options.inputFile,
      options.query,
    ],
    { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  )
  // --count N prints one JSON object per run.
  const runs = out
    .trim()
    .split(/\n(?=\{)/)
    .map((text) => JSON.parse(text) as { N: number; T: number; Extra?: Record<string, number> })
    .map((run) => ({ ...run, nsPerOp: run.T / run.N }))
    .sort((a, b) => a.nsPerOp - b.nsPerOp)
  const median = runs[Math.floor(runs.length / 2)]!
  return {
    perSecond: 1e9 / median.nsPerOp,
    p50: (median.Extra?.histogram_timer_rego_query_eval_ns_median ?? Number.NaN) / 1000,
    p99: (median.Extra?.['histogram_timer_rego_query_eval_ns_99%'] ?? Number.NaN) / 1000,
    n: median.N,
  }
}
