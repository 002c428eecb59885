import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { opaBinary } from '../../helpers/opa-binary.js'
import { type Call, opaAnswers, ourAnswer } from './opa-answers.js'

/**
 * The X.509 and private-key builtins against a real `opa eval`: a PKI made by openssl for the run
 * (an ECDSA root, an RSA intermediate with a path length, an ECDSA P-384 leaf with every SAN kind,
 * key usages, policies, CRL and AIA URLs; an Ed25519 self-signed certificate; PKCS #1, PKCS #8
 * and SEC 1 keys), every answer compared whole (Go's `x509.Certificate` JSON), and hostile input.
 */
let dir: string
let opa: string
const pem: Record<string, string> = {}

function openssl(...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
}

beforeAll(async () => {
  opa = await opaBinary()
  dir = mkdtempSync(join(tmpdir(), 'x509-'))
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-256',
    '-nodes',
    '-keyout',
    'root.key',
    '-out',
    'root.pem',
    '-days',
    '3650',
    '-subj',
    '/C=GB/O=Test Org/OU=Unit A/OU=Unit B/CN=Test Root',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  )
  openssl(
    'req',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-keyout',
    'int.key',
    '-out',
    'int.csr',
    '-subj',
    '/CN=Test Intermediate/L=Town/ST=Shire/street=1 Road/postalCode=AB1/serialNumber=42',
  )
  writeFileSync(
    join(dir, 'int.ext'),
    'basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,digitalSignature\nsubjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n',
  )
  openssl(
    'x509',
    '-req',
    '-in',
    'int.csr',
    '-CA',
    'root.pem',
    '-CAkey',
    'root.key',
    '-set_serial',
    '1000',
    '-days',
    '3650',
    '-out',
    'int.pem',
    '-extfile',
    'int.ext',
    '-sha256',
  )
  const san =
    'subjectAltName=DNS:leaf.example.com,DNS:*.example.org,IP:10.0.0.1,IP:2001:db8::1,email:a@example.com,URI:spiffe://example.com/ns/x?y=1#f'
  openssl(
    'req',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:P-384',
    '-nodes',
    '-keyout',
    'leaf.key',
    '-out',
    'leaf.csr',
    '-subj',
    '/CN=leaf.example.com',
    '-addext',
    san,
  )
  writeFileSync(
    join(dir, 'leaf.ext'),
    `${san}\nextendedKeyUsage=serverAuth,clientAuth,1.2.3.4\nkeyUsage=critical,digitalSignature,keyAgreement\ncertificatePolicies=1.2.3.4.5\ncrlDistributionPoints=URI:http://crl.example.com/x.crl\nauthorityInfoAccess=OCSP;URI:http://ocsp.example.com,caIssuers;URI:http://ca.example.com/int.crt\nbasicConstraints=CA:FALSE\n`,
  )
  openssl(
    'x509',
    '-req',
    '-in',
    'leaf.csr',
    '-CA',
    'int.pem',
    '-CAkey',
    'int.key',
    '-set_serial',
    '0x0123456789abcdef0123',
    '-days',
    '365',
    '-out',
    'leaf.pem',
    '-extfile',
    'leaf.ext',
    '-sha384',
  )
  openssl(
    'req',
    '-x509',
    '-newkey',
    'ed25519',
    '-nodes',
    '-keyout',
    'ed.key',
    '-out',
    'ed.pem',
    '-days',
    '30',
    '-subj',
    '/CN=ed',
  )
  openssl('genrsa', '-traditional', '-out', 'rsa1.key', '1024')
  openssl('ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', 'ec.key')
  for (const f of [
    'root.pem',
    'int.pem',
    'leaf.pem',
    'ed.pem',
    'int.csr',
    'leaf.csr',
    'int.key',
    'leaf.key',
    'ed.key',
    'rsa1.key',
    'ec.key',
  ])
    pem[f] = readFileSync(join(dir, f), 'utf8')
}, 120_000)

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true })
})

const b64 = (s: string | Buffer): string => Buffer.from(s).toString('base64')
const der = (p: string): Buffer => Buffer.from(p.replace(/-----[^-]+-----/g, '').replace(/\s/g, ''), 'base64')

function calls(): Call[] {
  const chain = pem['root.pem']! + pem['int.pem']! + pem['leaf.pem']!
  const c = (name: string, ...args: unknown[]): Call => ({ name: `crypto.${name}`, args })
  return [
    ...['root.pem', 'int.pem', 'leaf.pem', 'ed.pem'].map((f) => c('x509.parse_certificates', pem[f])),
    c('x509.parse_certificates', chain),
    c('x509.parse_certificates', b64(chain)),
    c('x509.parse_certificates', b64(Buffer.concat([der(pem['root.pem']!), der(pem['leaf.pem']!)]))),
    c('x509.parse_certificates', ''),
    c('x509.parse_certificates', 'YmFkc3RyaW5n'),
    c('x509.parse_certificates', 'not base64'),
    c('x509.parse_certificates', pem['leaf.key']),
    c('x509.parse_certificates', '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'),
    c('x509.parse_certificates', 42),
    c('x509.parse_and_verify_certificates', chain),
    c('x509.parse_and_verify_certificates', pem['root.pem']! + pem['leaf.pem']!),
    c('x509.parse_and_verify_certificates', pem['leaf.pem']! + pem['int.pem']! + pem['root.pem']!),
    c('x509.parse_and_verify_certificates', pem['leaf.pem']),
    c('x509.parse_and_verify_certificates', pem['ed.pem']! + pem['ed.pem']!),
    c('x509.parse_and_verify_certificates', 'garbage'),
    ...[
      { DNSName: 'leaf.example.com' },
      { DNSName: 'x.example.org' },
      { DNSName: 'nope.example.com' },
      { DNSName: '10.0.0.1' },
      { KeyUsages: ['KeyUsageClientAuth'] },
      { KeyUsages: ['KeyUsageCodeSigning'] },
      { KeyUsages: ['KeyUsageAny'] },
      { KeyUsages: ['NoSuchUsage'] },
      { CurrentTime: 0 },
      { CurrentTime: 4_000_000_000_000_000_000 },
      { MaxConstraintComparisons: 10 },
      { Unknown: 1 },
      {},
    ].map((o) => c('x509.parse_and_verify_certificates_with_options', chain, o)),
    c('x509.parse_certificate_request', pem['leaf.csr']),
    c('x509.parse_certificate_request', pem['int.csr']),
    c('x509.parse_certificate_request', b64(der(pem['leaf.csr']!))),
    c('x509.parse_certificate_request', b64(pem['int.csr']!)),
    c('x509.parse_certificate_request', pem['leaf.pem']),
    c('x509.parse_certificate_request', 'YmFkc3RyaW5n'),
    c('x509.parse_keypair', pem['leaf.pem'], pem['leaf.key']),
    c('x509.parse_keypair', pem['int.pem'], pem['int.key']),
    c('x509.parse_keypair', b64(pem['ed.pem']!), b64(pem['ed.key']!)),
    c('x509.parse_keypair', pem['int.pem'], pem['leaf.key']),
    c('x509.parse_keypair', pem['leaf.pem'], 'garbage'),
    ...['rsa1.key', 'int.key', 'ec.key', 'leaf.key', 'ed.key'].map((f) =>
      c('x509.parse_rsa_private_key', pem[f]),
    ),
    c('x509.parse_rsa_private_key', b64(pem['rsa1.key']!)),
    c('x509.parse_rsa_private_key', ''),
    c('x509.parse_rsa_private_key', 'invalid'),
    c('x509.parse_rsa_private_key', pem['leaf.pem']),
    c(
      'parse_private_keys',
      pem['rsa1.key']! + pem['int.key']! + pem['ec.key']! + pem['ed.key']! + pem['leaf.pem']!,
    ),
    c('parse_private_keys', b64(pem['leaf.key']!)),
    c('parse_private_keys', ''),
    c('parse_private_keys', 'garbage'),
    c('parse_private_keys', '-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n'),
  ]
}

describe('crypto.x509.* and crypto.parse_private_keys agree with opa eval', () => {
  it('on certificates, chains, requests, key pairs and keys, good and bad', () => {
    const cs = calls()
    const expected = opaAnswers(opa, cs)
    const diffs = cs.flatMap((c, i) => {
      const actual = ourAnswer(c)
      try {
        expect(actual).toEqual(expected[i])
        return []
      } catch {
        return [
          `case ${i} ${c.name}: ours ${JSON.stringify(actual, bigText).slice(0, 600)}\n  opa ${JSON.stringify(expected[i], bigText).slice(0, 600)}`,
        ]
      }
    })
    expect(diffs).toEqual([])
  }, 60_000)

  it('stays linear on hostile input: a huge PEM of BEGIN lines, thousands of certificates', () => {
    const begins = '-----BEGIN CERTIFICATE-----\n'.repeat(200_000)
    const many = b64(Buffer.concat(Array.from({ length: 2_000 }, () => der(pem['root.pem']!))))
    const keys = `${'-----BEGIN RSA PRIVATE KEY-----\n'.repeat(100_000)}-----END RSA PRIVATE KEY-----\n`
    const small: Call[] = [
      { name: 'crypto.x509.parse_certificates', args: ['-----BEGIN CERTIFICATE-----\n'.repeat(1_000)] },
      { name: 'crypto.parse_private_keys', args: ['-----BEGIN RSA PRIVATE KEY-----\n'.repeat(1_000)] },
    ]
    expect(small.map(ourAnswer)).toEqual(opaAnswers(opa, small))
    for (const [name, arg, check] of [
      ['crypto.x509.parse_certificates', begins, (a: unknown[]) => expect(a).toEqual([[]])],
      [
        'crypto.x509.parse_certificates',
        many,
        (a: unknown[]) => expect((a[0] as unknown[]).length).toBe(2_000),
      ],
      ['crypto.parse_private_keys', keys, (a: unknown[]) => expect(a.length).toBeLessThanOrEqual(1)],
      [
        'crypto.x509.parse_and_verify_certificates',
        many, // Root and leaf are the same certificate: Go's Verify answers the one-certificate chain.
        (a: unknown[]) => expect((a[0] as [boolean, unknown[]])[1].length).toBe(1),
      ],
    ] as const) {
      const start = performance.now()
      const answer = ourAnswer({ name, args: [arg] })
      const ms = performance.now() - start
      check(answer)
      expect(ms, `${name} on ${arg.length} characters took ${ms.toFixed(0)} ms`).toBeLessThan(5_000)
    }
  }, 60_000)
})

function bigText(_k: string, v: unknown): unknown {
  return typeof v === 'bigint' ? `${v}n` : v
}
