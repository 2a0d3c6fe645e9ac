/**
 * The cache contract on a Sentinel set (1 master, 1 replica, 3 sentinels): the cache finds the
 * master through the sentinels and behaves exactly as on a standalone server, with and without L1.
 */
import { describe } from 'vitest'
import { GenericRedisCache } from '../../../src/core/generic-redis-cache.js'
import { registerCacheContract } from '../../contracts/cache-contract.js'
import { requireRedis } from '../../helpers/redis-server.js'
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
})
