import { describe, expect, it } from 'vitest'

import { matchesEverything } from '../../../src/cli/commands/invalidate-rules.js'
import { batchSizeFor, createPacer, parseRate } from '../../../src/cli/rate-pacer.js'
import { toTaggedJson } from '../../../src/cli/tagged-json.js'

describe('matchesEverything', () => {
  it('is true for patterns without a literal character', () => {
    for (const pattern of ['*', '**', '?', '?*', '[a-z]*', '[abc]']) expect(matchesEverything(pattern), pattern).toBe(true)
  })

  it('is false as soon as one character is literal, escaped ones included', () => {
    for (const pattern of ['user:*', 'a', '*a', '\\*', '[a-z', 'x?']) expect(matchesEverything(pattern), pattern).toBe(false)
  })
})

describe('rate pacing', () => {
  it('accepts positive rates and refuses the rest with E_INVALID_OPTIONS', () => {
    expect(parseRate(undefined)).toBeUndefined()
    expect(parseRate('2.5')).toBe(2.5)
    for (const bad of ['0', '-3', 'fast', '', 'Infinity', '2000000']) expect(() => parseRate(bad), bad).toThrow(/--rate/)
  })

  it('batches a tenth of a second of work, at least one key', () => {
    expect(batchSizeFor(undefined, 500)).toBe(500)
    expect(batchSizeFor(1, 500)).toBe(1)
    expect(batchSizeFor(2000, 500)).toBe(200)
    expect(batchSizeFor(1e6, 500)).toBe(500)
  })

  it('waits until the work done fits the rate', async () => {
    let now = 0
    const pace = createPacer(100, () => now)
    const startedAt = performance.now()
    now = 0
    await pace(5) // due at 50 ms, fake time 0: waits about 50 ms of real time
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(40)
    now = 1000
    const second = performance.now()
    await pace(5) // due at 100 ms, fake time 1000: no wait
    expect(performance.now() - second).toBeLessThan(30)
  })
})

describe('toTaggedJson', () => {
  it('writes JSON types as they are and tags the others', () => {
    const value = [1, 'a', null, true, { x: [2] }, new Date(0), new Map([[1, new Set(['s'])]]), 10n, new Uint8Array([1, 2]), undefined, Number.NaN, -0, Infinity]
    expect(JSON.parse(toTaggedJson(value))).toEqual([
      1, 'a', null, true, { x: [2] },
      { $date: '1970-01-01T00:00:00.000Z' },
      { $map: [[1, { $set: ['s'] }]] },
      { $bigint: '10' },
      { $bytes: 'AQI=' },
      { $undefined: true },
      { $number: 'NaN' },
      { $number: '-0' },
      { $number: 'Infinity' },
    ])
  })

  it('escapes a plain object that looks like a tag', () => {
    expect(JSON.parse(toTaggedJson({ $date: 'not a date' }))).toEqual({ $object: { $date: 'not a date' } })
    expect(JSON.parse(toTaggedJson({ $date: 1, other: 2 }))).toEqual({ $date: 1, other: 2 })
  })
})
