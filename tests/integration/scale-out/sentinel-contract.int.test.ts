/**
 * The cache contract on a Sentinel set (1 master, 1 replica, 3 sentinels): the cache finds the
 * master through the sentinels and behaves exactly as on a standalone server, with and without L1.
 * Then how it asks the sentinels: past one that does not answer, and with a reason when none does.
 */
import { describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/core/generic-redis-cache.js'
import { registerCacheContract } from '../../contracts/cache-contract.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { freePort, requireRedis } from '../../helpers/redis-server.js'
import { useRedisSentinel } from '../../helpers/redis-sentinel.js'

const hasRedis = requireRedis()

describe.skipIf(!hasRedis)('GenericRedisCache on a Sentinel set', () => {
  const set = useRedisSentinel()

  for (const l1 of [{ maxEntries: 1000 }, false] as const) {
    registerCacheContract(`GenericRedisCache via Sentinel (L1 ${l1 ? 'on' : 'off'})`, {
      sharedBackend: true,
      make: async ({ namespace, clock }) => {
        const sentinel = { name: set.masterName, sentinels: set.sentinelNodes }
        const cache = new GenericRedisCache({ sentinel, namespace, clock, l1 })
        if (!(await cache.connect())) throw new Error('the Sentinel set did not answer')
        return cache
      },
    })
  }

  it('skips a sentinel that does not answer for the next one in the list', async () => {
    const dead = { host: '127.0.0.1', port: await freePort() }
    const sentinel = { name: set.masterName, sentinels: [dead, ...set.sentinelNodes] }
    const cache = new GenericRedisCache({ sentinel, namespace: uniqueNamespace('skip'), redis: { connectTimeout: 300 } })
    try {
      expect(await cache.connect()).toBe(true)
      await cache.set('k', 1)
      expect(await cache.get('k')).toBe(1)
    } finally {
      await cache.disconnect()
    }
  })

  it('gives the reason when no sentinel answers, or none knows the master name, and never connects elsewhere', async () => {
    const dead = { host: '127.0.0.1', port: await freePort() }
    const caches = [
      new GenericRedisCache({ sentinel: { name: set.masterName, sentinels: [dead] }, connectTimeout: 1000, redis: { connectTimeout: 200 } }),
      new GenericRedisCache({ sentinel: { name: 'nosuchmaster', sentinels: set.sentinelNodes }, connectTimeout: 1000 }),
    ]
    try {
      const [unreachable, unknown] = caches as [GenericRedisCache, GenericRedisCache]
      expect(await unreachable.connect()).toBe(false)
      expect(unreachable.getStats().l2?.lastError?.code).toBe('ECONNREFUSED')
      expect(await unknown.connect()).toBe(false)
      expect(unknown.getStats().l2?.lastError?.message).toMatch(/no sentinel master named nosuchmaster/)
      // Reads are misses and writes are skipped, as with any Redis that cannot be reached.
      expect(await unknown.get('k')).toBeUndefined()
      await expect(unknown.set('k', 1)).resolves.toBeUndefined()
    } finally {
      for (const cache of caches) await cache.disconnect()
    }
  })
})
