import type { InMemoryCacheOptions } from '../options/cache-options.js'
import { resolveInMemoryCacheOptions } from '../options/resolve-cache-options.js'
import { TieredCache } from './tiered-cache.js'

/**
 * A cache held in this process only, on `lru-cache`: bounded by `maxEntries` and/or
 * `maxBytes`, with per-entry TTL, tags and Redis-style glob patterns. Values are kept by
 * reference, never serialized.
 *
 * @example
 * const cache = new InMemoryCache({ maxEntries: 10_000, defaultTtl: '10m' })
 * const user = await cache.getOrSet('user:1', () => db.user(1))
 */
export class InMemoryCache extends TieredCache {
  constructor(options: InMemoryCacheOptions = {}) {
    super({ options: resolveInMemoryCacheOptions(options), suppressL2Errors: true })
  }
}
