/**
 * Builtins the engine leaves out on purpose, each with its reason. A policy calling one fails its
 * build (`ERR_BUILD_UNSUPPORTED_BUILTIN`), never a decision. The compliance runner reports the
 * cases that need them as excluded with this reason rather than as missing, and
 * `docs/builtins.md` lists them (`npm run docs:builtins`).
 */
export const leftOutBuiltins: ReadonlyMap<string, string> = new Map([
  [
    'http.send',
    'no network I/O during a decision: a PDP that calls out during a decision can be steered by a policy or input to reach other hosts, and its decisions cannot be replayed',
  ],
  [
    'providers.aws.sign_req',
    'signs requests for others during a decision: the PDP would hold credentials for outgoing calls, and no network I/O happens during a decision',
  ],
  [
    'net.lookup_ip_addr',
    'non-deterministic DNS: the answer depends on the resolver at that moment, so a decision could not be replayed from the log',
  ],
  ['rego.parse_module', 'compiles code during a decision: policy text is compiled at build time only'],
])

/** The reason when every builtin in `names` is left out on purpose, else undefined. */
export function leftOutReason(names: readonly string[]): string | undefined {
  if (names.length === 0 || !names.every((n) => leftOutBuiltins.has(n))) return undefined
  return names.map((n) => `${n}: ${leftOutBuiltins.get(n)}`).join('; ')
}
