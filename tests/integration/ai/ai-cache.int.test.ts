import { describe } from 'vitest'

import { GenericRedisCache } from '../../../src/index.js'
import { registerAICacheContract } from '../../contracts/ai-cache-contract.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()

describe.skipIf(!hasRedis)('AIResponseCache on GenericRedisCache against a real redis-server', () => {
  const server = useRedisServer()

  // L1 on is the production shape; L1 off makes every read decode the entry Redis returned.
  for (const l1 of [{ maxEntries: 1000 }, false] as const) {
    registerAICacheContract(`GenericRedisCache (L1 ${l1 ? 'on' : 'off'})`, {
      make: async ({ namespace, clock }) => {
        const cache = new GenericRedisCache({ redisUrl: server.url, namespace, clock, l1 })
        if (!(await cache.connect())) throw new Error('test Redis did not answer')
        return cache
      },
    })
  }
})
