import { describe, expect, it } from 'vitest'
import { CachePerformanceMonitor, InMemoryCache } from '../../../src/index.js'

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

  it('costs nothing without a monitor: stats still count every operation', async () => {
    const cache = new InMemoryCache()
    await cache.set('k', 1)
    for (let i = 0; i < 10; i++) await cache.get('k')
    const stats = cache.getStats()
    expect(stats.operations).toBe(11)
    expect(stats.totalEntries).toBe(1)
    expect(stats.memoryUsageBytes).toBeGreaterThan(0)
    expect(stats.operationsPerSecond).toBeGreaterThanOrEqual(0)
  })
})
