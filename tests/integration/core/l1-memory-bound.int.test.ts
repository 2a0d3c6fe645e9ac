/**
 * `maxBytes` is a memory bound: DESIGN promises L1 "bounded by bytes as configured, within
 * 10%". Each mix fills an L1 with far more than fits, in a child process run with
 * `--expose-gc`, and compares the live heap the L1 holds (heapUsed + external after full GCs,
 * after the fill less before it) with maxBytes. The L1 is the one an `InMemoryCache` or a
 * `GenericRedisCache` builds (resolved options, `LocalTier`, entries from `buildEntry`), without
 * the rest of the engine, whose bounded bookkeeping (some 20,000 recent keys) is not L1's.
 *
 * The other tests are in-process: the default entry cap holds with maxBytes, and the tier's
 * own figure (`sizeBytes`) stays within maxBytes whatever is written.
 */
import { execFile } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { InMemoryCache } from '../../../src/core/in-memory-cache.js'
import { LocalTier } from '../../../src/core/local-tier.js'
import { resolveInMemoryCacheOptions, resolveRedisCacheOptions } from '../../../src/options/resolve-cache-options.js'
import type { CacheEntry } from '../../../src/shared/cache-entry.js'
import { systemClock } from '../../../src/shared/clock.js'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
const MAX_BYTES = 24 * 1024 * 1024
/** Explicit and far above what fits, so the byte bound is what binds. */
const MAX_ENTRIES = 1_000_000

/**
 * The child: argv is [root, mix, maxBytes, maxEntries, writes]; prints one JSON line. Every
 * value is created by the fill and referenced by the L1 only, so what the fill leaves live is
 * what the L1 holds. A warm-up fill of another tier first (then dropped) keeps JIT code and
 * V8's number-to-string cache out of the figure.
 */
const CHILD = `
import { pathToFileURL } from 'node:url'
const [root, mix, maxBytesArg, maxEntriesArg, writesArg] = process.argv.slice(1)
const load = (path) => import(pathToFileURL(root + path).href)
const { LocalTier } = await load('src/core/local-tier.ts')
const { buildEntry } = await load('src/core/entry-builder.ts')
const { resolveInMemoryCacheOptions } = await load('src/options/resolve-cache-options.ts')
const maxBytes = Number(maxBytesArg)
const maxEntries = Number(maxEntriesArg)
const writes = Number(writesArg)
const LETTERS = Buffer.from('abcdefghijklmnopqrstuvwxyz')
function ascii1k(i) {
  // Buffer.toString gives a flat string (one built with + or repeat() would be a rope).
  const bytes = Buffer.allocUnsafeSlow(1024)
  for (let j = 0; j < 1024; j++) bytes[j] = LETTERS[(i * 7 + j * 13 + (j >> 3)) % 26]
  bytes.write(String(i), 0, 'latin1')
  return bytes.toString('latin1')
}
function mixed(i) {
  switch (i % 9) {
    case 0: return i
    case 1: return i + 0.25
    case 2: return 's' + i
    case 3: return { id: i, name: 'user' + i, active: true }
    case 4: return [i, i + 1, i + 2]
    case 5: return Buffer.from('pooled-' + i)
    case 6: return new Date(1_700_000_000_000 + i)
    case 7: return new Map([['a', i], ['b', 'x' + i]])
    default: return { tags: ['t' + i], score: i / 3 }
  }
}
const MIXES = {
  numbers: (i) => i,
  buffers: (i) => { const buffer = Buffer.alloc(16); buffer.writeUInt32LE(i); return buffer },
  objects: (i) => ({ id: i, name: 'user' + i, active: true }),
  mixed,
  ascii1k,
}
const make = MIXES[mix]
function fill(bound, count, prefix) {
  const options = resolveInMemoryCacheOptions(bound)
  const tier = new LocalTier(options.l1, options.clock)
  for (let i = 0; i < count; i++) {
    const key = prefix + i
    tier.set(key, buildEntry({ key, value: make(i), shape: options.policy, options, memoryOnly: true }))
  }
  return tier
}
function liveBytes() {
  for (let i = 0; i < 3; i++) globalThis.gc()
  const usage = process.memoryUsage()
  return usage.heapUsed + usage.external
}
fill({ maxBytes: 1 << 20, maxEntries }, 200_000, 'w')
const before = liveBytes()
globalThis.tier = fill({ maxBytes, maxEntries }, writes, 'k')
const after = liveBytes()
const tier = globalThis.tier
console.log(JSON.stringify({ ratio: (after - before) / maxBytes, entries: tier.size, sizeBytes: tier.sizeBytes }))
`

interface Measure {
  ratio: number
  entries: number
  sizeBytes: number
}

async function measure(mix: string, writes: number): Promise<Measure> {
  const args = ['--expose-gc', '--import', 'tsx', '--input-type=module', '--eval', CHILD, ROOT, mix, String(MAX_BYTES), String(MAX_ENTRIES), String(writes)]
  const { stdout } = await promisify(execFile)(process.execPath, args, { cwd: ROOT, maxBuffer: 1 << 20 })
  return JSON.parse(stdout.trim().split('\n').at(-1) as string) as Measure
}

describe('L1 maxBytes bounds the live heap within 10%', () => {
  // [mix, writes]: some 4x what fits at 24 MiB (entries cost ~250 to ~1,300 bytes).
  it.each([
    ['numbers', 400_000], // (a) small integers
    ['buffers', 200_000], // (b) 16-byte Buffers
    ['objects', 300_000], // (c) { id, name: 'user' + id, active: true }
    ['mixed', 300_000], // (d) numbers, doubles, short strings, objects, arrays, pooled Buffers, Dates, Maps
    ['ascii1k', 80_000], // (e) 1 KB ASCII strings
  ])('%s: heap held is 0.9x to 1.1x of maxBytes once full', { timeout: 120_000 }, async (mix, writes) => {
    const { ratio, entries, sizeBytes } = await measure(mix, writes)
    expect(ratio, `live heap / maxBytes for ${mix} (${entries} entries)`).toBeGreaterThanOrEqual(0.9)
    expect(ratio, `live heap / maxBytes for ${mix} (${entries} entries)`).toBeLessThanOrEqual(1.1)
    // Full, and bound by bytes: far fewer entries than written (or than maxEntries).
    expect(entries).toBeLessThan(writes / 2)
    expect(sizeBytes).toBeLessThanOrEqual(MAX_BYTES)
    expect(sizeBytes).toBeGreaterThan(MAX_BYTES * 0.98)
  })
})

describe('L1 entry cap with maxBytes', () => {
  it('keeps the default 10,000-entry cap when only maxBytes is given', async () => {
    expect(resolveInMemoryCacheOptions({ maxBytes: 1 << 26 }).l1).toEqual({ maxEntries: 10_000, maxBytes: 1 << 26 })
    expect(resolveRedisCacheOptions({ l1: { maxBytes: 1 << 26 } }).l1).toEqual({ maxEntries: 10_000, maxBytes: 1 << 26 })
    const cache = new InMemoryCache({ maxBytes: 1 << 26 })
    for (let i = 0; i < 10_050; i++) await cache.set(`k${i}`, i)
    expect(cache.getStats().l1?.entries).toBe(10_000)
    expect(await cache.get('k0')).toBeUndefined()
    expect(await cache.get('k10049')).toBe(10_049)
  })

  it('takes an explicit maxEntries beside maxBytes, and evicts the least recently used past it', async () => {
    expect(resolveInMemoryCacheOptions({ maxBytes: 1 << 26, maxEntries: 50_000 }).l1).toEqual({ maxEntries: 50_000, maxBytes: 1 << 26 })
    const cache = new InMemoryCache({ maxBytes: 1 << 26, maxEntries: 3 })
    await cache.set('a', 1)
    await cache.set('b', 2)
    await cache.set('c', 3)
    await cache.get('a')
    await cache.set('d', 4)
    expect(await cache.getMany(['a', 'b', 'c', 'd'])).toEqual([1, undefined, 3, 4])
  })
})

describe('LocalTier under maxBytes', () => {
  const now = Date.now()
  const entry = (value: unknown, tags: readonly string[] = []): CacheEntry => ({ value, createdAt: now, expiresAt: now + 3_600_000, tags })

  it('keeps its estimate (entries and slot arrays) within maxBytes through growth and churn', () => {
    const maxBytes = 2_000_000
    const tier = new LocalTier({ maxEntries: Number.MAX_SAFE_INTEGER, maxBytes }, systemClock)
    let peak = 0
    for (let i = 0; i < 60_000; i++) {
      // Sizes change over time: many small entries first, then fewer large ones.
      tier.set(`k${i}`, entry(i < 30_000 ? i : 'x'.repeat(2_000) + i))
      peak = Math.max(peak, tier.sizeBytes)
    }
    expect(peak).toBeLessThanOrEqual(maxBytes)
    expect(tier.sizeBytes).toBeGreaterThan(maxBytes * 0.95)
    expect(tier.get('k59999')?.value).toBe('x'.repeat(2_000) + 59_999)
    expect(tier.get('k0')).toBeUndefined()
  })

  it('refuses an entry that cannot fit even alone, and drops the key it replaced', () => {
    const tier = new LocalTier({ maxEntries: Number.MAX_SAFE_INTEGER, maxBytes: 10_000 }, systemClock)
    tier.set('big', entry('small'))
    expect(tier.get('big')?.value).toBe('small')
    tier.set('big', entry('x'.repeat(10_000)))
    expect(tier.get('big')).toBeUndefined()
    expect(tier.size).toBe(0)
  })

  it('unindexes the tags of entries it evicts for bytes', () => {
    const tier = new LocalTier({ maxEntries: Number.MAX_SAFE_INTEGER, maxBytes: 50_000 }, systemClock)
    for (let i = 0; i < 500; i++) tier.set(`k${i}`, entry('v'.repeat(100), ['all', `own${i}`]))
    const kept = tier.keysWithTag('all')
    expect(kept.length).toBe(tier.size)
    expect(kept.length).toBeLessThan(500)
    expect(tier.keysWithTag('own0')).toEqual([])
    expect(tier.keysWithTag('own499')).toEqual(['k499'])
  })

  it('updates a key in place without taking a slot, and starts over after reset()', () => {
    const tier = new LocalTier({ maxEntries: 10, maxBytes: 1_000_000 }, systemClock)
    for (let i = 0; i < 100; i++) tier.set('same', entry(i))
    const oneEntry = tier.sizeBytes
    for (let i = 0; i < 100; i++) tier.set(`k${i}`, entry(i))
    expect(tier.size).toBe(10)
    tier.reset()
    expect(tier.size).toBe(0)
    tier.set('same', entry(1))
    expect(tier.sizeBytes).toBe(oneEntry)
  })
})
