import { describe } from 'vitest'
import { GenericRedisCache } from '../../../src/core/generic-redis-cache.js'
import { registerCacheContract } from '../../contracts/cache-contract.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()

describe.skipIf(!hasRedis)('GenericRedisCache against a real redis-server', () => {
  const server = useRedisServer()

  for (const l1 of [{ maxEntries: 1000 }, false] as const) {
    registerCacheContract(`GenericRedisCache (L1 ${l1 ? 'on' : 'off'})`, {
      sharedBackend: true,
      make: async ({ namespace, clock }) => {
        const cache = new GenericRedisCache({ redisUrl: server.url, namespace, clock, l1 })
        if (!(await cache.connect())) throw new Error('test Redis did not answer')
        return cache
      },
    })
  }
})
