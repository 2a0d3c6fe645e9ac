import { describe, expect, it } from 'vitest'
import { CachePerformanceMonitor, InMemoryCache } from '../../../src/index.js'
import { FakeClock } from '../../helpers/fake-clock.js'

describe('a cache reporting to CachePerformanceMonitor', () => {
  it('reports exact counts even though L1 answers are batched', async () => {
    const monitor = new CachePerformanceMonitor()
    const cache = new InMemoryCache({ name: 'app', monitor })
    await cache.set('k', 1, { tags: ['t'] })
    for (let i = 0; i < 1_000; i++) await cache.get('k')
    for (let i = 0; i < 300; i++) await cache.getOrSet('k', () => 2)
    await cache.get('missing')
    await cache.getOrSet('loaded', () => 'v')
    await expect(cache.getOrSet('failing', () => Promise.reject(new Error('db')))).rejects.toThrow()
    await cache.invalidateTags(['t'])
    await cache.invalidatePattern('load*')
    await cache.clear()
    const summary = await monitor.getPerformanceSummary()
    const ops = summary.operations.byOperation
    expect(ops.get?.count).toBe(1_001)
    expect(ops.get?.bySource.l1?.count).toBe(1_000)
    expect(ops.get?.bySource.none?.count).toBe(1)
    expect(ops.getOrSet?.bySource.l1?.count).toBe(300)
    expect(ops.getOrSet?.bySource.loader?.count).toBe(2)
    expect(ops.set?.count).toBe(1)
    // Timed: every non-L1 answer, plus one L1 answer in 256 (get and getOrSet share the count).
    expect(ops.get?.bySource.l1?.latency.count).toBe(Math.floor(1_000 / 256))
    expect(summary.lookups.l1).toMatchObject({ hits: 1_300, misses: 3 })
    expect(summary.errors.byReason.loader).toBe(1)
    expect(summary.invalidations.tag).toEqual({ count: 1, keysRemoved: 1 })
    expect(summary.invalidations.pattern).toEqual({ count: 1, keysRemoved: 1 })
    expect(summary.invalidations.clear.count).toBe(1)
    expect(summary.memory).toEqual([
      { name: 'app', backendType: 'memory', l1Entries: 0, l1SizeBytes: 0, redisUsedMemoryBytes: undefined },
    ])
  })

  it('keeps the standard stats without a monitor, with operations per second between reads', async () => {
    const clock = new FakeClock()
    const cache = new InMemoryCache({ clock })
    await cache.set('k', 1)
    for (let i = 0; i < 9; i++) await cache.get('k')
    clock.advance(500)
    expect(cache.getStats().operationsPerSecond).toBe(20)
    clock.advance(500)
    const first = cache.getStats()
    expect(first).toMatchObject({ operations: 10, operationsPerSecond: 10, totalEntries: 1, hitRatio: 1 })
    expect(first.memoryUsageBytes).toBeGreaterThan(0)
    for (let i = 0; i < 30; i++) await cache.get('k')
    clock.advance(2_000)
    expect(cache.getStats().operationsPerSecond).toBe(15)
  })
})
