/**
 * The keyv and cache-manager suites run against the originals (Keyv on its Map store,
 * cache-manager 7 on its default Keyv memory store) and against the adapters over an
 * `InMemoryCache`; time is a faked `Date`, which Keyv, cache-manager and the cache's clock all read.
 */
import { createCache } from 'cache-manager'
import { afterEach, beforeEach, vi } from 'vitest'

import { CacheCompatibilityWrapper, InMemoryCache } from '../../../src/index.js'
import { registerCacheManagerContract } from '../../contracts/cache-manager-contract.js'
import { registerKeyvContract } from '../../contracts/keyv-store-contract.js'

const TTL_MS = 1000
const dateClock = { now: () => Date.now() }
const advance = async (ms: number): Promise<void> => {
  vi.setSystemTime(Date.now() + ms)
}

beforeEach(() => {
  vi.useFakeTimers({ toFake: ['Date'] })
})
afterEach(() => {
  vi.useRealTimers()
})

registerKeyvContract('Keyv on its Map store (the original)', {
  ttlMs: TTL_MS,
  advance,
  make: async () => {
    const map = new Map()
    return { store: () => map }
  },
})

registerKeyvContract('Keyv on KeyvStrataStore over InMemoryCache', {
  ttlMs: TTL_MS,
  advance,
  docsOnly: true,
  make: async () => {
    const cache = new InMemoryCache({ clock: dateClock })
    return { store: () => CacheCompatibilityWrapper.keyvStore(cache), cleanup: () => cache.disconnect() }
  },
})

registerCacheManagerContract('cache-manager 7 createCache() (the original)', {
  ttlMs: TTL_MS,
  advance,
  make: async (options) => ({ cache: createCache(options) }),
})

registerCacheManagerContract('CacheCompatibilityWrapper.cacheManager() over InMemoryCache', {
  ttlMs: TTL_MS,
  advance,
  make: async (options) => {
    const cache = new InMemoryCache({ clock: dateClock })
    return { cache: CacheCompatibilityWrapper.cacheManager(cache, options), cleanup: () => cache.disconnect() }
  },
})
