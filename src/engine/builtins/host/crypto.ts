import { createHash, createHmac, timingSafeEqual } from 'node:crypto'
import type { HostBuiltin } from '../host-builtin.js'

const digest =
  (algorithm: string) =>
  (x: unknown): string | undefined =>
    typeof x === 'string' ? createHash(algorithm).update(x, 'utf8').digest('hex') : undefined

const hmac =
  (algorithm: string) =>
  (message: unknown, key: unknown): string | undefined =>
    typeof message === 'string' && typeof key === 'string'
      ? createHmac(algorithm, Buffer.from(key, 'utf8')).update(message, 'utf8').digest('hex')
      : undefined

/** Hash and HMAC builtins (OPA `topdown/crypto.go`); X.509 and key parsing are not provided. */
export const cryptoBuiltins: readonly HostBuiltin[] = [
  { name: 'crypto.md5', impl: digest('md5') },
  { name: 'crypto.sha1', impl: digest('sha1') },
  { name: 'crypto.sha256', impl: digest('sha256') },
  { name: 'crypto.hmac.md5', impl: hmac('md5') },
  { name: 'crypto.hmac.sha1', impl: hmac('sha1') },
  { name: 'crypto.hmac.sha256', impl: hmac('sha256') },
  { name: 'crypto.hmac.sha512', impl: hmac('sha512') },
  {
    name: 'crypto.hmac.equal',
    impl: (a, b) => {
      if (typeof a !== 'string' || typeof b !== 'string') return undefined
      const x = Buffer.from(a, 'utf8')
      const y = Buffer.from(b, 'utf8')
      // Constant time in the content, like Go's hmac.Equal; lengths may leak, as there.
      return x.length === y.length && timingSafeEqual(x, y)
    },
  },
]
