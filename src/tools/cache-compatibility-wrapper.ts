import type { CacheInterface } from '../index.js'
import { CacheManagerAdapter, type CacheManagerAdapterOptions } from './cache-manager-adapter.js'
import { KeyvStrataStore } from './keyv-store.js'

/**
 * Adapters that let code written for keyv or cache-manager run on a strata cache unchanged, during
 * a move to strata's own API (see "Moving from keyv or cache-manager" in the README).
 *
 * ```ts
 * const keyv = new Keyv({ store: CacheCompatibilityWrapper.keyvStore(cache) })
 * const cacheManager = CacheCompatibilityWrapper.cacheManager(cache, { ttl: 60_000 })
 * ```
 */
export class CacheCompatibilityWrapper {
  private constructor() {}

  /** A Keyv 5 storage adapter over `cache`, for `new Keyv({ store })` (or cache-manager 7's `stores`). */
  static keyvStore(cache: CacheInterface): KeyvStrataStore {
    return new KeyvStrataStore(cache)
  }

  /** An object with cache-manager 7's `Cache` API over `cache`, for NestJS's `CACHE_MANAGER` and other cache-manager code. */
  static cacheManager(cache: CacheInterface, options?: CacheManagerAdapterOptions): CacheManagerAdapter {
    return new CacheManagerAdapter(cache, options)
  }
}
