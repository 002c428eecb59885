import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { diffObligations } from '../../src/audit/obligation-diff.js'

const LISTS = ['visible_tools', 'redact', 'log_redact', 'redactions', 'x_policy_list'] as const
const entry = fc.oneof(
  fc.string({ maxLength: 6 }),
  fc.record({ path: fc.string({ maxLength: 4 }), replacement: fc.string({ maxLength: 3 }) }),
)
const list = fc.array(entry, { maxLength: 8 })
const key = (value: unknown) => JSON.stringify(value, Object.keys(value ?? {}).sort())
const asSet = (values: readonly unknown[]) => new Set(values.map(key))

/** A decision (obligations) or a tool-result judgement (top-level lists) holding `values` under `name`. */
function holding(name: (typeof LISTS)[number], values: unknown[] | undefined): unknown {
  const judgement = name === 'redactions' || name === 'log_redact'
  if (judgement) return { allow: true, reasons: [], ...(values ? { [name]: values } : {}) }
  return { allow: true, reasons: [], obligations: values ? { [name]: values } : {} }
}

describe('diffObligations', () => {
  it('the +/− entries turn the recorded list into the replayed one, each entry once, and nothing else', () => {
    fc.assert(
      fc.property(fc.constantFrom(...LISTS), list, list, (name, before, after) => {
        const changes = diffObligations(holding(name, before), holding(name, after))
        const same =
          asSet(before).size === asSet(after).size && [...asSet(before)].every((e) => asSet(after).has(e))
        if (same) {
          expect(changes).toEqual([])
          return
        }
        expect(changes).toHaveLength(1)
        const [change] = changes
        expect(change!.key).toBe(name)
        const result = new Set([...asSet(before), ...asSet(change!.added)])
        for (const removed of asSet(change!.removed)) result.delete(removed)
        expect(result).toEqual(asSet(after))
        // Only what changed is listed, each entry once.
        for (const added of change!.added) expect(asSet(before).has(key(added))).toBe(false)
        for (const removed of change!.removed) expect(asSet(after).has(key(removed))).toBe(false)
        expect(asSet(change!.added).size).toBe(change!.added.length)
        expect(asSet(change!.removed).size).toBe(change!.removed.length)
        // A grant gained widens; a restriction lost widens; the reverse narrows.
        if (name === 'visible_tools')
          expect(change!.effect).toBe(change!.added.length > 0 ? 'widens' : 'narrows')
        else if (name !== 'x_policy_list')
          expect(change!.effect).toBe(change!.removed.length > 0 ? 'widens' : 'narrows')
      }),
    )
  })

  it('key order inside an entry is no change', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 4 }), fc.integer()), (object) => {
        const reversed = Object.fromEntries(Object.entries(object).reverse())
        expect(diffObligations(holding('redactions', [object]), holding('redactions', [reversed]))).toEqual(
          [],
        )
      }),
    )
  })

  it('a single-valued obligation: dropped widens, added narrows, altered is a change', () => {
    const approval = (reason?: string) => ({
      allow: true,
      reasons: [],
      obligations: reason === undefined ? {} : { require_approval: { reason } },
    })
    expect(diffObligations(approval('a write'), approval())).toEqual([
      { key: 'require_approval', added: [], removed: [{ reason: 'a write' }], effect: 'widens' },
    ])
    expect(diffObligations(approval(), approval('a write'))).toEqual([
      { key: 'require_approval', added: [{ reason: 'a write' }], removed: [], effect: 'narrows' },
    ])
    expect(diffObligations(approval('a write'), approval('two people'))).toEqual([
      {
        key: 'require_approval',
        added: [{ reason: 'two people' }],
        removed: [{ reason: 'a write' }],
        effect: 'changes',
      },
    ])
  })

  it('identity headers are diffed name by name and move no access; a policy’s own obligation dropped widens', () => {
    const recorded = {
      allow: true,
      obligations: { headers: { 'x-user': 'alice', 'x-team': 'a' }, watermark: true },
    }
    const replayed = { allow: true, obligations: { headers: { 'x-user': 'alice', 'x-team': 'b' } } }
    expect(diffObligations(recorded, replayed)).toEqual([
      { key: 'headers', added: [{ 'x-team': 'b' }], removed: [{ 'x-team': 'a' }], effect: 'changes' },
      { key: 'watermark', added: [], removed: [true], effect: 'widens' },
    ])
  })

  it('reads obligations only where they are: not reasons, status or allow; nothing of a value that is no decision', () => {
    expect(
      diffObligations(
        { allow: true, status: 200, reasons: [], obligations: { visible_tools: ['a'] } },
        { allow: false, status: 403, reasons: [{ code: 'x' }], obligations: { visible_tools: ['a'] } },
      ),
    ).toEqual([])
    expect(diffObligations('denied', { error: 'ERR_ENGINE_TRAP' })).toEqual([])
    expect(diffObligations(undefined, { allow: true, obligations: { visible_tools: ['a'] } })).toEqual([
      { key: 'visible_tools', added: ['a'], removed: [], effect: 'widens' },
    ])
  })
})
