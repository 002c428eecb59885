import { describe, expect, it } from 'vitest'
import { loadBundle, McpPolicyError } from '../../src/index.js'
import { buildPolicy } from '../helpers/build-policy.js'

const rego = {
  'policy.rego':
    'package mcp\n\ndecision := {"allow": true, "status": 200, "reasons": [], "obligations": {}}\n',
}

describe('mcp-policy build records when a bundle was built', () => {
  it('writes metadata.build_time into the manifest (RFC 3339, UTC, whole seconds) and keeps the manifest’s own metadata', async () => {
    const before = Math.floor(Date.now() / 1000) * 1000
    const built = await buildPolicy({ rego, manifest: { metadata: { name: 'team-a' } }, revision: 'r1' })
    const after = Date.now()
    expect(built.buildTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/)
    expect(Date.parse(built.buildTime)).toBeGreaterThanOrEqual(before)
    expect(Date.parse(built.buildTime)).toBeLessThanOrEqual(after)
    const bundle = await loadBundle(built.path)
    expect(bundle.manifest.metadata).toMatchObject({ name: 'team-a', build_time: built.buildTime })
    expect(bundle).toMatchObject({ name: 'team-a', revision: 'r1' })
  })

  it('SOURCE_DATE_EPOCH pins it, so two builds of the same sources are byte-identical; a malformed one is refused', async () => {
    const saved = process.env.SOURCE_DATE_EPOCH
    try {
      process.env.SOURCE_DATE_EPOCH = '1700000000'
      const first = await buildPolicy({ rego, revision: 'r1' })
      const second = await buildPolicy({ rego, revision: 'r1' })
      expect(first.buildTime).toBe('2023-11-14T22:13:20Z')
      expect(second.digest).toBe(first.digest)
      process.env.SOURCE_DATE_EPOCH = 'yesterday'
      const refused = await buildPolicy({ rego, revision: 'r1' }).catch((err: unknown) => err)
      expect(refused).toBeInstanceOf(McpPolicyError)
      expect(refused).toMatchObject({
        code: 'ERR_BUILD_FAILED',
        message: expect.stringContaining('SOURCE_DATE_EPOCH'),
      })
    } finally {
      if (saved === undefined) delete process.env.SOURCE_DATE_EPOCH
      else process.env.SOURCE_DATE_EPOCH = saved
    }
  })
})
