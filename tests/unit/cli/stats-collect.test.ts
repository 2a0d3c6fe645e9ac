import { describe, expect, it } from 'vitest'
import { KeyTally, classifyKey, escapeGlob, hitRatio, namespaceMatch } from '../../../src/cli/commands/stats-collect.js'
import { globToRegExp } from '../../../src/shared/key.js'

describe('namespaceMatch', () => {
  it('matches entries and internal keys of the namespace, and nothing of a longer namespace', () => {
    const match = globToRegExp(namespaceMatch('app'))
    for (const key of ['app:user:1', 'app#tag:users', 'app#lock:user:1']) expect(match.test(key)).toBe(true)
    for (const key of ['apple:user:1', 'app', 'other:app:1', 'xapp:1']) expect(match.test(key)).toBe(false)
  })

  it('escapes glob characters in the namespace so it matches only itself', () => {
    expect(escapeGlob('a*b?[c]\\')).toBe('a\\*b\\?\\[c\\]\\\\')
    const match = globToRegExp(namespaceMatch('g*'))
    expect(match.test('g*:1')).toBe(true)
    expect(match.test('gg:1')).toBe(false)
  })
})

describe('classifyKey', () => {
  it('tells entries, tag indexes and locks apart by prefix', () => {
    expect(classifyKey('app:user:1', 'app')).toBe('entry')
    expect(classifyKey('app:#tag:x', 'app')).toBe('entry')
    expect(classifyKey('app#tag:users', 'app')).toBe('tag')
    expect(classifyKey('app#lock:user:1', 'app')).toBe('lock')
    expect(classifyKey('app#lock-released', 'app')).toBe('other')
  })
})

describe('KeyTally', () => {
  it('counts each kind and ignores keys SCAN returns twice', () => {
    const tally = new KeyTally('app')
    for (const key of ['app:1', 'app:2', 'app:1', 'app#tag:t', 'app#lock:1', 'app#tag:t']) tally.add(key)
    expect(tally.counts).toEqual({ entry: 2, tag: 1, lock: 1, other: 0 })
    expect(tally.exact).toBe(true)
  })

  it('samples only entry keys, up to the sample limit', () => {
    const tally = new KeyTally('app', { dedupe: 100, sample: 2 })
    for (const key of ['app#tag:t', 'app:1', 'app:2', 'app:3']) tally.add(key)
    expect(tally.sample).toEqual(['app:1', 'app:2'])
    expect(tally.counts.entry).toBe(3)
  })

  it('stops de-duplicating past its memory bound and says the counts are approximate', () => {
    const tally = new KeyTally('app', { dedupe: 2, sample: 10 })
    for (const key of ['app:1', 'app:2', 'app:3', 'app:3']) tally.add(key)
    expect(tally.exact).toBe(false)
    expect(tally.counts.entry).toBe(4)
  })
})

describe('hitRatio', () => {
  it('is hits over lookups, and null before the first lookup or when unknown', () => {
    expect(hitRatio(3, 1)).toBe(0.75)
    expect(hitRatio(0, 0)).toBeNull()
    expect(hitRatio(null, 1)).toBeNull()
  })
})
