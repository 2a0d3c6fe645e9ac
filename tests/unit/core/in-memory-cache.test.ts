import { describe, expect, it } from 'vitest'
import { InMemoryCache } from '../../../src/core/in-memory-cache.js'
import { errors } from '../../../src/errors.js'
import { registerCacheContract } from '../../contracts/cache-contract.js'

registerCacheContract('InMemoryCache', {
  sharedBackend: false,
  make: async ({ namespace, clock }) => new InMemoryCache({ namespace, clock }),
})

describe('InMemoryCache', () => {
  it('reports every invalid option at once', () => {
    let caught: unknown
    try {
      new InMemoryCache({ maxEntries: 0, defaultTtl: 'soon' as never, namespace: 'a:b', bogus: 1 } as never)
    } catch (error) {
      caught = error
    }
    expect(caught).toBeInstanceOf(errors.E_INVALID_OPTIONS)
    const paths = (caught as InstanceType<typeof errors.E_INVALID_OPTIONS>).issues.map((i) => i.path).sort()
    expect(paths).toEqual(['bogus', 'defaultTtl', 'maxEntries', 'namespace'])
  })

  it('evicts the least recently used entry past maxEntries', async () => {
    const cache = new InMemoryCache({ maxEntries: 2 })
    await cache.set('a', 1)
    await cache.set('b', 2)
    await cache.get('a')
    await cache.set('c', 3)
    expect(await cache.getMany(['a', 'b', 'c'])).toEqual([1, undefined, 3])
  })

  it('keeps estimated bytes under maxBytes', async () => {
    const maxBytes = 100_000
    const cache = new InMemoryCache({ maxBytes })
    for (let i = 0; i < 200; i++) await cache.set(`k${i}`, 'x'.repeat(1000))
    const stats = cache.getStats()
    expect(stats.l1?.sizeBytes).toBeLessThanOrEqual(maxBytes)
    expect(stats.l1?.sizeBytes).toBeGreaterThan(maxBytes * 0.9)
    expect(await cache.get('k199')).toBe('x'.repeat(1000))
    expect(await cache.get('k0')).toBeUndefined()
  })

  it('refuses a value over maxValueBytes with E_VALUE_TOO_LARGE', async () => {
    const cache = new InMemoryCache({ maxValueBytes: 1000 })
    await expect(cache.set('big', 'x'.repeat(1000))).rejects.toBeInstanceOf(errors.E_VALUE_TOO_LARGE)
    expect(await cache.exists('big')).toBe(false)
  })

  it('returns values by reference on a hit (no serialization in memory)', async () => {
    const cache = new InMemoryCache()
    const value = { n: 1 }
    await cache.set('ref', value)
    expect(await cache.get('ref')).toBe(value)
  })

  it('reports backend memory, and await using disposes the cache at the end of its block', async () => {
    let stats
    let disposed: InMemoryCache | undefined
    {
      await using cache = new InMemoryCache()
      disposed = cache
      await cache.set('k', 1)
      stats = cache.getStats()
    }
    expect(stats.backendType).toBe('memory')
    expect(stats.l2).toBeUndefined()
    expect(stats.l1?.entries).toBe(1)
    // Disposal ran disconnect(), which drops L1: an empty asyncDispose would leave the entry.
    expect(disposed.getStats().totalEntries).toBe(0)
    expect(await disposed.get('k')).toBeUndefined()
  })
})
