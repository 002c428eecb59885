/** One event of an `opa test --explain` trace, as its JSON report has it. */
export interface TraceEvent {
  Op: string
  QueryID: number
  Location?: { file?: string; row?: number }
  Message?: string
}

/**
 * One test in the JSON report of `opa test --format json`, as both the comparison with OPA and the
 * explanation of failures read it: one type, so a member read by one is read the same by the other.
 */
export interface OpaTestResult {
  package: string
  name: string
  fail?: boolean
  skip?: boolean
  /** OPA's error object (`{message, …}`) when the test could not be evaluated. */
  error?: { message?: string } | unknown
  /** With `--explain`: the evaluation trace. */
  trace?: TraceEvent[]
}
