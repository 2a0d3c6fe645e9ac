import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { msgpackSerializer } from '../../../src/codecs/msgpack-serializer.js'
import { entryHeapSize } from '../../../src/core/local-tier.js'
import { estimateHeapSize, numberHeapSize, stringHeapSize } from '../../../src/core/size-estimate.js'
import { storableSize } from '../../../src/core/value-size.js'

// The figures are V8's layouts on 64-bit Node (no pointer compression), as measured with
// `global.gc()` and process.memoryUsage(); tests/integration/core/l1-memory-bound.int.test.ts
// checks them against the live heap.

describe('stringHeapSize', () => {
  it('counts a 16-byte header and 1 byte a Latin-1 character, padded to 8', () => {
    expect(stringHeapSize('')).toBe(16)
    expect(stringHeapSize('abc')).toBe(24)
    expect(stringHeapSize('abcdefgh')).toBe(24)
    expect(stringHeapSize('abcdefghi')).toBe(32)
    expect(stringHeapSize('é'.repeat(8))).toBe(24)
    expect(stringHeapSize('a'.repeat(1024))).toBe(1040)
  })

  it('counts 2 bytes a character once any character is outside Latin-1', () => {
    expect(stringHeapSize('€'.repeat(8))).toBe(32)
    expect(stringHeapSize('abc€')).toBe(24)
    expect(stringHeapSize('😀')).toBe(24)
  })

  it('checks a string over 64K characters on slices: its start, middle and end', () => {
    const length = 200_000
    const at = (i: number) => 'a'.repeat(i) + '€' + 'a'.repeat(length - i - 1)
    const wide = 16 + length * 2
    expect(stringHeapSize('a'.repeat(length))).toBe(16 + length)
    expect(stringHeapSize(at(10))).toBe(wide)
    expect(stringHeapSize(at(length / 2))).toBe(wide)
    expect(stringHeapSize(at(length - 1))).toBe(wide)
  })
})

describe('estimateHeapSize', () => {
  it('counts small integers as free (they live in the slot) and other numbers as 16-byte boxes', () => {
    expect(estimateHeapSize(0)).toBe(0)
    expect(estimateHeapSize(-(2 ** 31))).toBe(0)
    expect(estimateHeapSize(2 ** 31)).toBe(16)
    expect(estimateHeapSize(1.5)).toBe(16)
    expect(estimateHeapSize(Date.now())).toBe(16)
    expect(numberHeapSize(Number.NaN)).toBe(16)
  })

  it('counts shared constants as free, and bigints and functions by their objects', () => {
    for (const value of [true, false, null, undefined, Symbol.for('s')]) expect(estimateHeapSize(value)).toBe(0)
    expect(estimateHeapSize(10n)).toBe(24)
    expect(estimateHeapSize(-(2n ** 64n))).toBe(32)
    expect(estimateHeapSize(() => 1)).toBe(64)
  })

  it('counts an object as a 24-byte header and a slot a property, not its property names', () => {
    expect(estimateHeapSize({ id: 1, name: 'user1', active: true })).toBe(24 + 3 * 8 + 24)
    expect(estimateHeapSize({ aVeryLongPropertyNameSharedByEveryObjectOfThisShape: 1 })).toBe(32)
    expect(estimateHeapSize({ price: 9.99 })).toBe(32 + 16)
  })

  it('counts an object with many properties as a hash table, with its keys', () => {
    const wide = Object.fromEntries(Array.from({ length: 1_000 }, (_, i) => [`key${i}`, i]))
    expect(estimateHeapSize(wide)).toBeGreaterThanOrEqual(24 + 1_000 * (56 + 16))
  })

  it('counts arrays by their slots, with doubles unboxed in an array of numbers only', () => {
    expect(estimateHeapSize([])).toBe(32)
    expect(estimateHeapSize([1, 2, 3])).toBe(32 + 16 + 3 * 8)
    expect(estimateHeapSize([1.5, 2.5])).toBe(32 + 16 + 2 * 8)
    expect(estimateHeapSize([1.5, 'ab'])).toBe(32 + 16 + 2 * 8 + 16 + 24)
  })

  it('counts Maps and Sets by their hash table capacity, and Dates at 96 bytes', () => {
    expect(estimateHeapSize(new Map())).toBe(184)
    expect(estimateHeapSize(new Map([['a', 1]]))).toBe(184 + 24)
    expect(estimateHeapSize(new Set([1, 2, 3, 4, 5]))).toBe(72 + 8 * 20)
    expect(estimateHeapSize(new Date())).toBe(96)
  })

  it('counts binary data by its bytes and the objects around them', () => {
    expect(estimateHeapSize(Buffer.alloc(16))).toBe(216)
    expect(estimateHeapSize(new Float64Array(4))).toBe(200 + 32)
    expect(estimateHeapSize(Buffer.alloc(100))).toBe(184 + 104)
    expect(estimateHeapSize(new DataView(new ArrayBuffer(100)))).toBe(184 + 104)
    expect(estimateHeapSize(new ArrayBuffer(16))).toBe(88 + 16)
    // A view into a larger buffer (a pooled Buffer, a subarray) counts its own bytes only.
    expect(estimateHeapSize(Buffer.alloc(1_000).subarray(10, 20))).toBe(96 + 10)
    expect(estimateHeapSize(Buffer.alloc(1_000).subarray(0, 100))).toBe(96 + 100)
  })

  it('counts shared and cyclic references once', () => {
    const shared = { a: 1 }
    expect(estimateHeapSize([shared, shared])).toBe(32 + 16 + 16 + 32)
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(estimateHeapSize(cyclic)).toBe(32)
  })

  it('measures a large container on a sample and scales it up', () => {
    let reads = 0
    const items = Array.from({ length: 10_000 }, () => ({
      get v() {
        reads++
        return 1
      },
    }))
    expect(estimateHeapSize(items)).toBe(32 + 16 + 10_000 * 8 + 10_000 * 32)
    expect(reads).toBe(32)
    const map = new Map(Array.from({ length: 1_000 }, (_, i) => [i, { n: i }]))
    expect(estimateHeapSize(map)).toBe(72 + 28 * 1_024 + 1_000 * 32)
  })

  it('stops walking after 2,048 objects and extrapolates from what it measured', () => {
    let reads = 0
    const leaf = () => ({
      get v() {
        reads++
        return 1
      },
    })
    const side = 70
    const cube = Array.from({ length: side }, () => Array.from({ length: side }, () => Array.from({ length: side }, leaf)))
    const shell = 32 + 16 + side * 8
    expect(estimateHeapSize(cube)).toBe(shell + side * (shell + side * (shell + side * 32)))
    expect(reads).toBeLessThanOrEqual(2_048)
  })

  it('survives nesting deeper than the stack, counting shells past depth 32', () => {
    let list: Record<string, unknown> = { end: true }
    for (let i = 0; i < 100_000; i++) list = { next: list }
    expect(estimateHeapSize(list)).toBe(33 * 32)
  })
})

describe('entryHeapSize', () => {
  const now = Date.now()

  it('counts the key, the entry object and its boxed times, the key Map share and the value', () => {
    const entry = { value: 1, createdAt: now, expiresAt: now + 1_000, tags: [] }
    // key Map 84, key 24, entry 24 + 4 slots, createdAt and expiresAt 16 each, value 0.
    expect(entryHeapSize('k1', entry)).toBe(84 + 24 + 24 + 32 + 16 + 16)
    expect(entryHeapSize('k1', { ...entry, expiresAt: undefined })).toBe(84 + 24 + 24 + 32 + 16)
    expect(entryHeapSize('k1', { ...entry, staleUntil: now + 2_000 })).toBe(84 + 24 + 24 + 40 + 16 + 16 + 16)
    expect(entryHeapSize('k1', { ...entry, value: 'user1' })).toBe(84 + 24 + 24 + 32 + 16 + 16 + 24)
  })

  it('counts a tags array and each tag in the tag index', () => {
    const entry = { value: 1, createdAt: 0, expiresAt: undefined, tags: ['a', 'b'] }
    expect(entryHeapSize('k1', entry)).toBe(84 + 24 + 24 + 32 + 48 + 2 * (8 + 56))
  })
})

describe('storableSize (the maxValueBytes pre-check)', () => {
  it('stays at least half of the msgpack size, property names included', () => {
    const rows = Array.from({ length: 100 }, (_, i) => ({ aLongPropertyName: i, anotherLongPropertyName: 'x', yetAnotherOne: 1.5 }))
    expect(storableSize('k', rows) * 2 + 64).toBeGreaterThanOrEqual(msgpackSerializer.serialize(rows).byteLength)
    fc.assert(
      fc.property(fc.jsonValue(), (value) => storableSize('k', value) * 2 + 64 >= msgpackSerializer.serialize(value).byteLength),
      { numRuns: 300 },
    )
  })
})
