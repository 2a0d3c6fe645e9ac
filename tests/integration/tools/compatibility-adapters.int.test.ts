/**
 * The keyv and cache-manager suites (see tests/unit/tools/compatibility-adapters.test.ts for the
 * originals) against the adapters over a `GenericRedisCache` on a private redis-server, with and
 * without L1, where Redis' own expiry is what ends an entry: time is real, ttls are short.
 */
import { setTimeout as sleep } from 'node:timers/promises'

import { describe } from 'vitest'

import { CacheCompatibilityWrapper, GenericRedisCache } from '../../../src/index.js'
import { registerCacheManagerContract } from '../../contracts/cache-manager-contract.js'
import { registerKeyvContract } from '../../contracts/keyv-store-contract.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()
const TTL_MS = 200
const advance = (ms: number) => sleep(ms)

describe.skipIf(!hasRedis)('compatibility adapters over GenericRedisCache', () => {
  const server = useRedisServer()
  const connect = async (l1: false | { maxEntries: number }) => {
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace: uniqueNamespace('compat'), l1 })
    if (!(await cache.connect())) throw new Error('test Redis did not answer')
    return cache
  }

  for (const l1 of [{ maxEntries: 1000 }, false] as const) {
    const label = `GenericRedisCache (L1 ${l1 ? 'on' : 'off'})`
    registerKeyvContract(`Keyv on KeyvStrataStore over ${label}`, {
      ttlMs: TTL_MS,
      advance,
      docsOnly: true,
      make: async () => {
        const cache = await connect(l1)
        return { store: () => CacheCompatibilityWrapper.keyvStore(cache), cleanup: () => cache.disconnect() }
      },
    })
    registerCacheManagerContract(`CacheCompatibilityWrapper.cacheManager() over ${label}`, {
      ttlMs: TTL_MS,
      advance,
      make: async (options) => {
        const cache = await connect(l1)
        return { cache: CacheCompatibilityWrapper.cacheManager(cache, options), cleanup: () => cache.disconnect() }
      },
    })
  }
})
