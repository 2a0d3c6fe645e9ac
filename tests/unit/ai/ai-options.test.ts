import { describe, expect, it } from 'vitest'

import { AIResponseCache, CacheKeyGenerator, DEFAULT_OPERATION_TTLS, DEFAULT_TEXT_SIZE_TIERS } from '../../../src/ai/index.js'
import { CachePerformanceMonitor, InMemoryCache, errors } from '../../../src/index.js'

function issuesOf(build: () => unknown): string[] {
  try {
    build()
  } catch (error) {
    if (error instanceof errors.E_INVALID_OPTIONS) return error.issues.map((issue) => issue.path)
    throw error
  }
  return []
}

describe('AIResponseCache options', () => {
  it('has the defaults of the original design', () => {
    expect(DEFAULT_OPERATION_TTLS).toEqual({ summarize: '2h', sentiment: '24h', key_points: '2h', questions: '1h', qa: '30m' })
    expect(DEFAULT_TEXT_SIZE_TIERS).toEqual({ small: 500, medium: 5000, large: 50_000 })
  })

  it('reports every invalid option at once, with its path', () => {
    const paths = issuesOf(
      () =>
        new AIResponseCache(new InMemoryCache(), {
          operationTtls: { summarize: '2 hours' as never },
          defaultTtl: -1,
          textSizeTiers: { small: 600, medium: 500 },
          shouldCache: 'yes' as never,
          sampledOperations: 'summarize' as never,
          prices: { m: { inputPerMillion: -1, outputPerMillion: 1 } },
          textHashThreshold: 10_000,
          tenant: 'a|b',
          clock: {} as never,
        }),
    )
    expect(paths).toEqual([
      'operationTtls.summarize',
      'defaultTtl',
      'textSizeTiers',
      'shouldCache',
      'sampledOperations',
      'prices.m',
      'clock',
      'textHashThreshold',
      'tenant',
    ])
  })

  it('refuses a threshold given beside a key generator, and a cache that is not one', () => {
    expect(issuesOf(() => new AIResponseCache(new InMemoryCache(), { keyGenerator: new CacheKeyGenerator(), textHashThreshold: 10 }))).toEqual([
      'textHashThreshold',
    ])
    expect(issuesOf(() => new AIResponseCache({} as never))).toEqual(['cache'])
  })

  it('binds an instance to a tenant given as an option', async () => {
    const cache = new InMemoryCache()
    const ai = new AIResponseCache(cache, { tenant: 'acme' })
    expect(ai.tenant).toBe('acme')
    await ai.cacheResponse('t', 'qa', { model: 'm' }, 'a')
    expect(await ai.forTenant('acme').getCachedResponse('t', 'qa', { model: 'm' })).toBe('a')
    expect(await new AIResponseCache(cache).getCachedResponse('t', 'qa', { model: 'm' })).toBeUndefined()
  })

  it('reports every key generation to a CachePerformanceMonitor', async () => {
    const monitor = new CachePerformanceMonitor()
    const ai = new AIResponseCache(new InMemoryCache(), { monitor, monitorName: 'llm' })
    await ai.cacheResponse('t', 'qa', { model: 'm' }, 'a')
    await ai.getCachedResponse('t', 'qa', { model: 'm' })
    expect((await monitor.getPerformanceSummary()).keyGeneration.count).toBe(2)
    expect(issuesOf(() => new AIResponseCache(new InMemoryCache(), { monitor, keyGenerator: new CacheKeyGenerator() }))).toEqual(['monitor'])
  })
})
