import { describe, expect, it } from 'vitest'
import { applyRedactions } from '../../src/enforce/apply-redactions.js'
import { policyDenial } from '../../src/enforce/policy-denial.js'
import { POLICY_DENIED_ERROR_CODE } from '../../src/index.js'

describe('applyRedactions', () => {
  const result = {
    content: [
      { type: 'text', text: 'key AKIAIOSFODNN7EXAMPLE' },
      { type: 'text', text: 'fine' },
    ],
    structuredContent: { 'a/b': { '~x': 'secret' } },
  }

  it('replaces the strings at the pointers in a copy, leaving the original alone', () => {
    const redacted = applyRedactions(result, [
      { path: '/content/0/text', replacement: 'key [REDACTED:aws_access_key]' },
      { path: '/structuredContent/a~1b/~0x' },
    ])
    expect(redacted).toEqual({
      content: [
        { type: 'text', text: 'key [REDACTED:aws_access_key]' },
        { type: 'text', text: 'fine' },
      ],
      structuredContent: { 'a/b': { '~x': '[REDACTED]' } },
    })
    expect(result.content[0]!.text).toBe('key AKIAIOSFODNN7EXAMPLE')
  })

  it('returns undefined when any pointer names nothing, so the caller blocks instead of leaking', () => {
    for (const path of [
      '/content/2/text',
      '/content/01/text',
      '/missing',
      'content/0/text',
      '/content/0/text/x',
    ]) {
      expect(applyRedactions(result, [{ path: '/content/1/text' }, { path }]), path).toBeUndefined()
    }
  })

  it('the pointer "" replaces the whole value (a tool result that is a bare string)', () => {
    expect(applyRedactions('key AKIAIOSFODNN7EXAMPLE', [{ path: '', replacement: 'key [REDACTED]' }])).toBe(
      'key [REDACTED]',
    )
    expect(applyRedactions({ a: 1 }, [{ path: '' }])).toBe('[REDACTED]')
  })

  it('returns the value itself when there is nothing to redact', () => {
    expect(applyRedactions(result, [])).toBe(result)
  })
})

describe('policyDenial', () => {
  it('passes policy reasons as written and carries the decision id and status', () => {
    const denial = policyDenial(
      { status: 403, reasons: [{ code: 'not_granted', message: 'no grant allows tool github/x' }] },
      'd-1',
    )
    expect(denial).toEqual({
      code: POLICY_DENIED_ERROR_CODE,
      message: 'no grant allows tool github/x',
      data: {
        reason: 'not_granted',
        reasons: [{ code: 'not_granted', message: 'no grant allows tool github/x' }],
        status: 403,
        decision_id: 'd-1',
      },
    })
  })

  it('replaces the message of an ERR_* reason by the error table summary', () => {
    const denial = policyDenial({
      status: 500,
      reasons: [{ code: 'ERR_ENGINE_TRAP', message: 'wasm trap at policy.wasm:0x1f3 in data.mcp.access' }],
    })
    expect(denial.message).toBe('The policy aborted or trapped during evaluation.')
    expect(JSON.stringify(denial)).not.toContain('wasm')
  })

  it('still denies with a reason when the decision has none', () => {
    expect(policyDenial({ status: 403, reasons: [] }).data.reason).toBe('denied')
  })
})
