import type { HostBuiltin } from '../host-builtin.js'

interface Version {
  readonly major: bigint
  readonly minor: bigint
  readonly patch: bigint
  readonly preRelease: string
}

const metaIdentifier = /^[0-9A-Za-z-]+(\.[0-9A-Za-z-]+)*$/
const allDecimals = (s: string): boolean => /^[0-9]+$/.test(s)
const maxInt64 = 2n ** 63n - 1n

function parseNumeric(s: string): bigint | undefined {
  if (!/^(?:0|[1-9][0-9]*)$/.test(s)) return undefined
  const n = BigInt(s)
  return n > maxInt64 ? undefined : n
}

/** OPA's `internal/semver.Parse` (SemVer 2.0.0; a leading "v" is tolerated, as in OPA). */
export function parseSemver(input: string): Version | undefined {
  let version = input.startsWith('v') ? input.slice(1) : input
  const plus = version.indexOf('+')
  if (plus >= 0) {
    if (!metaIdentifier.test(version.slice(plus + 1))) return undefined
    version = version.slice(0, plus)
  }
  let preRelease = ''
  const dash = version.indexOf('-')
  if (dash >= 0) {
    preRelease = version.slice(dash + 1)
    version = version.slice(0, dash)
    if (!metaIdentifier.test(preRelease)) return undefined
    if (preRelease.split('.').some((id) => id.length > 1 && id[0] === '0' && allDecimals(id)))
      return undefined
  }
  const parts = version.split('.')
  if (parts.length !== 3) return undefined
  const [major, minor, patch] = parts.map(parseNumeric)
  if (major === undefined || minor === undefined || patch === undefined) return undefined
  return { major, minor, patch, preRelease }
}

const cmp = (a: bigint | string, b: bigint | string): number => (a > b ? 1 : a < b ? -1 : 0)

/** Go's `strconv.Atoi` as OPA uses it: an out-of-range identifier compares as 0. */
const atoi = (s: string): bigint => {
  const n = BigInt(s)
  return n > maxInt64 ? 0n : n
}

/** OPA's `Version.Compare`: -1, 0 or 1. */
export function compareSemver(a: Version, b: Version): number {
  const c = cmp(a.major, b.major) || cmp(a.minor, b.minor) || cmp(a.patch, b.patch)
  if (c !== 0) return c
  if (a.preRelease === b.preRelease) return 0
  if (a.preRelease === '') return 1
  if (b.preRelease === '') return -1
  const as = a.preRelease.split('.')
  const bs = b.preRelease.split('.')
  for (let i = 0; ; i++) {
    const x = as[i] ?? ''
    const y = bs[i] ?? ''
    if (x === '' && y !== '') return -1
    if (x !== '' && y === '') return 1
    const xi = allDecimals(x)
    const yi = allDecimals(y)
    if (xi && !yi) return -1
    if (!xi && yi) return 1
    const r = xi && yi ? cmp(atoi(x), atoi(y)) : cmp(x, y)
    if (r !== 0) return r
    const moreA = i + 1 < as.length
    const moreB = i + 1 < bs.length
    if (moreA && !moreB) return 1
    if (!moreA && moreB) return -1
    if (!moreA && !moreB) return 0
  }
}

/** `semver.*` builtins (OPA `topdown/semver.go`). */
export const semverBuiltins: readonly HostBuiltin[] = [
  {
    name: 'semver.is_valid',
    impl: (x) => typeof x === 'string' && parseSemver(x) !== undefined,
  },
  {
    name: 'semver.compare',
    impl: (a, b) => {
      if (typeof a !== 'string' || typeof b !== 'string') return undefined
      const va = parseSemver(a)
      const vb = parseSemver(b)
      return va === undefined || vb === undefined ? undefined : compareSemver(va, vb)
    },
  },
]
