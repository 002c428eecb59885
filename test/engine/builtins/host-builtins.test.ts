import { generateKeyPairSync, sign as nodeSign } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { hostBuiltins } from '../../../src/engine/builtins/host/index.js'
import { parseBytes } from '../../../src/engine/builtins/host/units.js'
import { wasmNativeBuiltinNames } from '../../../src/engine/builtins/native.js'
import { RegoNumber } from '../../../src/engine/builtins/rego-value.js'

const impl = (name: string): ((...args: unknown[]) => unknown) => {
  const b = hostBuiltins.find((x) => x.name === name)
  if (b === undefined) throw new Error(`no host builtin ${name}`)
  return b.impl
}

describe('host builtin table', () => {
  it('has unique names that never shadow a native builtin', () => {
    const names = hostBuiltins.map((b) => b.name)
    expect(new Set(names).size).toBe(names.length)
    for (const name of names) {
      expect(wasmNativeBuiltinNames).not.toContain(name)
    }
  })

  it('marks exactly the nondeterministic builtins', () => {
    const nd = hostBuiltins.filter((b) => b.nondeterministic).map((b) => b.name)
    // The JWT signers are randomised for ECDSA and RSA-PSS: OPA marks them nondeterministic too.
    expect(nd.sort()).toEqual([
      'io.jwt.encode_sign',
      'io.jwt.encode_sign_raw',
      'rand.intn',
      'time.now_ns',
      'uuid.rfc4122',
    ])
    // io.jwt.decode_verify reads the evaluation's clock (recorded as time.now_ns), as OPA reads the
    // query time; X.509 chain verification checks validity at it, where OPA reads the wall clock.
    expect(hostBuiltins.filter((b) => b.clock).map((b) => b.name)).toEqual([
      'crypto.x509.parse_and_verify_certificates',
      'crypto.x509.parse_and_verify_certificates_with_options',
      'io.jwt.decode_verify',
    ])
  })
})

describe('nondeterministic builtins', () => {
  it('time.now_ns is the current time in nanoseconds', () => {
    const before = Date.now() * 1e6
    const now = impl('time.now_ns')() as number
    const after = Date.now() * 1e6
    expect(Number.isInteger(now)).toBe(true)
    expect(now).toBeGreaterThanOrEqual(before)
    expect(now).toBeLessThanOrEqual(after)
  })

  it('uuid.rfc4122 returns a fresh version 4, RFC 4122 variant UUID', () => {
    const uuid = impl('uuid.rfc4122')
    const a = uuid('k') as string
    const b = uuid('k') as string
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(a).not.toBe(b)
    expect(impl('uuid.parse')(a)).toEqual({ version: 4, variant: 'RFC4122' })
    expect(uuid(1)).toBeUndefined()
  })

  it('rand.intn stays in [0, |n|) and answers 0 for n = 0', () => {
    const intn = impl('rand.intn')
    fc.assert(
      fc.property(fc.string(), fc.integer({ min: -1000, max: 1000 }), (key, n) => {
        const r = intn(key, n) as number
        expect(Number.isInteger(r)).toBe(true)
        if (n === 0) expect(r).toBe(0)
        else expect(r >= 0 && r < Math.abs(n)).toBe(true)
      }),
    )
    expect(intn('k', 1.5)).toBeUndefined()
    expect(intn(1, 5)).toBeUndefined()
  })
})

describe('properties', () => {
  const semverCompare = impl('semver.compare')
  const semverIsValid = impl('semver.is_valid')
  const version = fc
    .tuple(
      fc.nat(20),
      fc.nat(20),
      fc.nat(20),
      fc.option(
        fc.array(fc.oneof(fc.nat(30).map(String), fc.stringMatching(/^[a-z-][0-9a-z-]{0,4}$/)), {
          minLength: 1,
          maxLength: 3,
        }),
      ),
      fc.option(fc.stringMatching(/^[0-9a-z]{1,4}$/)),
    )
    .map(([a, b, c, pre, meta]) => `${a}.${b}.${c}${pre ? `-${pre.join('.')}` : ''}${meta ? `+${meta}` : ''}`)

  it('units.parse_bytes never throws and answers an integer or undefined', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string(), fc.stringMatching(/^[0-9.eE+-]{0,8}[kmgtpeKMGTPEiIbB]{0,3}$/)),
        (s) => {
          const r = parseBytes(s)
          expect(r === undefined || typeof r === 'bigint').toBe(true)
        },
      ),
    )
  })

  it('units.parse_bytes scales by its unit', () => {
    fc.assert(
      fc.property(fc.nat(1_000_000), (n) => {
        expect(parseBytes(`${n}`)).toBe(BigInt(n))
        expect(parseBytes(`${n}kb`)).toBe(BigInt(n) * 1000n)
        expect(parseBytes(`${n}KiB`)).toBe(BigInt(n) * 1024n)
      }),
    )
  })

  it('semver.compare never throws, and is undefined exactly on invalid input', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), version), fc.oneof(fc.string(), version), (a, b) => {
        const r = semverCompare(a, b)
        const valid = semverIsValid(a) === true && semverIsValid(b) === true
        expect(r === undefined).toBe(!valid)
      }),
    )
  })

  it('semver.compare is reflexive, antisymmetric and transitive on valid versions', () => {
    fc.assert(
      fc.property(version, version, version, (a, b, c) => {
        expect(semverIsValid(a)).toBe(true)
        expect(semverCompare(a, a)).toBe(0)
        const ab = semverCompare(a, b) as number
        expect(semverCompare(b, a)).toBe(-ab)
        const bc = semverCompare(b, c) as number
        if (ab <= 0 && bc <= 0) expect(semverCompare(a, c) as number).toBeLessThanOrEqual(0)
      }),
    )
  })

  it('time.format and time.parse_rfc3339_ns round-trip any int64 nanosecond instant exactly', () => {
    const format = impl('time.format')
    const parse = impl('time.parse_rfc3339_ns')
    fc.assert(
      fc.property(fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }), (ns) => {
        // time.format takes exact Rego values (values: 'rego'), as the engine hands them over.
        expect(parse(format(new RegoNumber(String(ns))))).toBe(ns)
      }),
    )
    // OPA's own case: the nanoseconds survive (a double would print .141828864).
    expect(format(new RegoNumber('1707133113141828752'))).toBe('2024-02-05T11:38:33.141828752Z')
  })
})

describe('io.jwt verification keys', () => {
  const verify = impl('io.jwt.verify_rs256')
  const b64 = (s: string): string => Buffer.from(s).toString('base64url')
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 })
  const signingInput = `${b64('{"alg":"RS256"}')}.${b64('{"sub":"x"}')}`
  const token = `${signingInput}.${nodeSign('sha256', Buffer.from(signingInput), privateKey).toString('base64url')}`
  const pem = publicKey.export({ type: 'spki', format: 'pem' }) as string

  it('verifies with a PEM public key, and rejects extra data after the block', () => {
    expect(verify(token, pem)).toBe(true)
    expect(verify(token, `${pem}x`)).toBeUndefined()
    expect(verify(token, `${pem}${pem}`)).toBeUndefined()
  })

  it('answers in linear time on many BEGIN lines without an END', () => {
    // A regex for BEGIN…END retries from every BEGIN line: quadratic, seconds on this input.
    const key = '-----BEGIN A-----\n'.repeat(Math.ceil(2 ** 20 / 18))
    const start = performance.now()
    const answer = verify(token, key)
    expect(performance.now() - start).toBeLessThan(500)
    expect(answer === undefined || answer === false).toBe(true)
  })
})
