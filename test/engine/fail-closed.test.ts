import { readFile } from 'node:fs/promises'
import { describe, expect, it } from 'vitest'
import { CanonicalText } from '../../src/canonical-json.js'
import { loadBundle, type McpPolicyErrorCode, PolicyEngine } from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'
import { opaBinary } from '../helpers/opa-binary.js'
import { repackBundle } from '../helpers/repack.js'

const input = { mcp: { method: 'tools/call', tool: { name: 'x' } }, subject: { authenticated: true } }

function expectFailClosed(engine: PolicyEngine, value: unknown, code: McpPolicyErrorCode) {
  const outcome = engine.decide(value)
  expect(outcome.error?.code).toBe(code)
  expect(outcome.decision.allow).toBe(false)
  expect(outcome.decision.status).toBeGreaterThanOrEqual(400)
  expect(outcome.decision.reasons).toEqual([{ code, message: expect.any(String) }])
  return outcome
}

async function engineFor(rego: string, data: unknown = {}) {
  const built = await buildPolicy({ rego: { 'policy.rego': rego }, data })
  return PolicyEngine.fromBundleFile(built.path)
}

describe('fail closed: every failure is a deny with its own code', () => {
  it('no bundle loaded', () => {
    expectFailClosed(new PolicyEngine(), input, 'ERR_ENGINE_NO_BUNDLE')
  })

  it('undefined decision', async () => {
    const engine = await engineFor(
      'package mcp\n\ndecision := {"allow": true, "reasons": []} if input.never\n',
    )
    expectFailClosed(engine, input, 'ERR_DECISION_UNDEFINED')
  })

  it.each([
    ['not an object', '"yes"'],
    ['allow is not boolean', '{"allow": "true", "reasons": []}'],
    ['deny without a reason', '{"allow": false, "reasons": []}'],
    ['reason without a code', '{"allow": false, "reasons": [{"message": "m"}]}'],
    ['allow with an error status', '{"allow": true, "status": 403, "reasons": []}'],
    [
      'deny with a success status',
      '{"allow": false, "status": 200, "reasons": [{"code": "c", "message": "m"}]}',
    ],
    [
      'obligation headers not strings',
      '{"allow": true, "reasons": [], "obligations": {"headers": {"a": 1}}}',
    ],
  ])('malformed decision: %s', async (_name, value) => {
    const engine = await engineFor(`package mcp\n\ndecision := ${value}\n`)
    expectFailClosed(engine, input, 'ERR_DECISION_MALFORMED')
  })

  it('a trap during evaluation (conflicting complete rule values), then recovers on a fresh instance', async () => {
    const engine = await engineFor(
      'package mcp\n\ndecision := {"allow": true, "reasons": []} if input.a\n\ndecision := {"allow": false, "reasons": [{"code": "c", "message": "m"}]} if input.b\n\ndefault decision := {"allow": false, "reasons": [{"code": "default", "message": "m"}]}\n',
    )
    expectFailClosed(engine, { a: true, b: true }, 'ERR_ENGINE_TRAP')
    expect(engine.decide({ a: true }).decision.allow).toBe(true)
    expect(engine.decide({}).decision.reasons[0]?.code).toBe('default')
  })

  it('a builtin the engine does not provide (bundle built without our capabilities)', async () => {
    const built = await buildPolicy({
      rego: { 'policy.rego': 'package mcp\n\ndecision := {"allow": true, "reasons": []}\n' },
    })
    // Compile a policy calling a builtin outside the table, bypassing the capabilities check,
    // to prove the engine still fails closed if such a bundle reaches it.
    const opa = await opaBinary()
    const { runOpa } = await import('../../src/toolchain/opa.js')
    const { mkdtemp, writeFile } = await import('node:fs/promises')
    const { join } = await import('node:path')
    const dir = await mkdtemp(join(built.dir, 'raw-'))
    await writeFile(
      join(dir, 'p.rego'),
      'package mcp\n\ndecision := {"allow": true, "reasons": [], "obligations": {"x": net.lookup_ip_addr(input.pem)}}\n',
    )
    await runOpa(opa, ['build', '-t', 'wasm', '-e', 'mcp/decision', '-o', join(dir, 'b.tar.gz'), 'p.rego'], {
      cwd: dir,
    })
    const engine = await PolicyEngine.fromBundleFile(join(dir, 'b.tar.gz'))
    expectFailClosed(engine, { pem: 'x' }, 'ERR_ENGINE_BUILTIN_MISSING')
  })

  it('input that cannot be serialized', async () => {
    const engine = await engineFor('package mcp\n\ndecision := {"allow": true, "reasons": []}\n')
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expectFailClosed(engine, cyclic, 'ERR_INPUT_UNSERIALIZABLE')
    expectFailClosed(engine, { n: 10n }, 'ERR_INPUT_UNSERIALIZABLE')
    expectFailClosed(engine, () => 1, 'ERR_INPUT_UNSERIALIZABLE')
  })

  it('input text that is not JSON, which the module would evaluate as no input at all', async () => {
    const engine = await engineFor(`package mcp

decision := {"allow": true, "status": 200, "reasons": [], "obligations": {}} if not input.blocked

default decision := {"allow": false, "status": 403, "reasons": [{"code": "blocked", "message": "blocked"}], "obligations": {}}
`)
    expect(engine.decideJson('{"blocked":true}').decision.allow).toBe(false)
    for (const text of ['{"blocked":true,}', '{"blocked":tru}', '{"blocked":true} junk', '']) {
      const outcome = engine.decideJson(text)
      expect(outcome.error?.code).toBe('ERR_INPUT_UNSERIALIZABLE')
      expect(outcome.decision.allow).toBe(false)
    }
    // Canonical text (made by canonicalJson, so JSON) is evaluated as it is.
    expect(engine.decideJson(CanonicalText.of({ blocked: true })).decision.allow).toBe(false)
    expect(engine.decideJson(CanonicalText.of({ blocked: false })).decision.allow).toBe(true)
  })

  it('input over the size limit', async () => {
    const built = await buildPolicy({
      rego: { 'policy.rego': 'package mcp\n\ndecision := {"allow": true, "reasons": []}\n' },
    })
    const engine = await PolicyEngine.fromBundleFile(built.path, { maxInputBytes: 1024 })
    expect(engine.decide({ s: 'a'.repeat(900) }).decision.allow).toBe(true)
    expectFailClosed(engine, { s: 'a'.repeat(1100) }, 'ERR_INPUT_TOO_LARGE')
    // Multi-byte characters count as bytes, not UTF-16 units.
    expectFailClosed(engine, { s: '€'.repeat(400) }, 'ERR_INPUT_TOO_LARGE')
  })

  it('a runaway policy hits the memory ceiling and traps instead of eating the host', async () => {
    const built = await buildPolicy({
      rego: {
        'policy.rego':
          'package mcp\n\nbig := [x | some x in numbers.range(1, input.n)]\n\ndecision := {"allow": count(big) > 0, "reasons": [{"code": "c", "message": "m"}]}\n',
      },
    })
    const engine = await PolicyEngine.fromBundleFile(built.path, { memory: { maxPages: 64 } })
    expectFailClosed(engine, { n: 5_000_000 }, 'ERR_ENGINE_TRAP')
    expect(engine.decide({ n: 10 }).error).toBeUndefined()
  })
})

describe('fail closed: bad bundles are rejected with their own code', async () => {
  const built = await buildPolicy({
    rego: { 'policy.rego': 'package mcp\n\ndecision := {"allow": true, "reasons": []}\n' },
  })
  const archive = await readFile(built.path)

  const rejects = (source: string | Uint8Array, code: McpPolicyErrorCode) =>
    expect(loadBundle(source)).rejects.toMatchObject({ code })

  it('missing file', () => rejects('/nonexistent/bundle.tar.gz', 'ERR_BUNDLE_NOT_FOUND'))
  it('truncated gzip', () => rejects(archive.subarray(0, archive.length / 2), 'ERR_BUNDLE_CORRUPT'))
  it('not gzip at all', () => rejects(Buffer.from('hello world, not a bundle'), 'ERR_BUNDLE_CORRUPT'))
  it('gzip of garbage that is not tar', async () => {
    const { gzipSync } = await import('node:zlib')
    await rejects(gzipSync(Buffer.alloc(4096, 7)), 'ERR_BUNDLE_CORRUPT')
  })
  it('gzip bomb over the unpacked limit', async () => {
    const { gzipSync } = await import('node:zlib')
    await expect(
      loadBundle(gzipSync(Buffer.alloc(8 * 1024 * 1024)), { maxUnpackedBytes: 1024 * 1024 }),
    ).rejects.toMatchObject({
      code: 'ERR_BUNDLE_TOO_LARGE',
    })
  })
  it('no policy.wasm', async () =>
    rejects(await repackBundle(archive, (f) => f.delete('policy.wasm')), 'ERR_BUNDLE_CORRUPT'))
  it('data.json that is not JSON', async () =>
    rejects(
      await repackBundle(archive, (f) => f.set('data.json', Buffer.from('{oops'))),
      'ERR_BUNDLE_CORRUPT',
    ))

  it('policy.wasm that does not compile', async () => {
    const bundle = await loadBundle(
      await repackBundle(archive, (f) => f.set('policy.wasm', Buffer.from('\0asm garbage'))),
    )
    await expect(new PolicyEngine().load(bundle)).rejects.toMatchObject({ code: 'ERR_ENGINE_INSTANTIATE' })
  })

  it('a failed load leaves the previous bundle serving', async () => {
    const engine = await PolicyEngine.fromBundleFile(built.path)
    const broken = await loadBundle(
      await repackBundle(archive, (f) => f.set('policy.wasm', Buffer.from('\0asm garbage'))),
    )
    await expect(engine.load(broken)).rejects.toMatchObject({ code: 'ERR_ENGINE_INSTANTIATE' })
    expect(engine.bundle?.digest).toBe(built.digest)
    expect(engine.decide(input).decision.allow).toBe(true)
  })
})
