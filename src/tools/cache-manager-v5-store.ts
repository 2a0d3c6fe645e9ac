import type { CacheInterface } from '../index.js'
import { writeEntries } from './compat-writes.js'

/**
 * cache-manager 5's `Store` over a strata cache, kept behind the deprecated `store` property of
 * `CacheCompatibilityWrapper.cacheManager()` for code that called store methods directly. ttls
 * in ms; `ttl(key)` resolves the remaining ms as v5's memory store did (`0` when missing,
 * `Infinity` when it never expires).
 */
export class CacheManagerV5Store {
  /** The store's name, as v5 stores carry one. */
  readonly name = 'strata'
  readonly #cache: CacheInterface
  readonly #defaultTtl: number | undefined

  constructor(cache: CacheInterface, defaultTtl: number | undefined) {
    this.#cache = cache
    this.#defaultTtl = defaultTtl
  }

  get<T>(key: string): Promise<T | undefined> {
    return this.#cache.get<T>(key)
  }

  async set<T>(key: string, data: T, ttl?: number): Promise<void> {
    await writeEntries(this.#cache, [{ key, value: data, ttl: ttl ?? this.#defaultTtl }])
  }

  async del(key: string): Promise<void> {
    await this.#cache.delete(key)
  }

  reset(): Promise<void> {
    return this.#cache.clear()
  }

  /** v5's tuple form: `mset([[key, value], …], ttl)`. */
  async mset(entries: Array<[string, unknown]>, ttl?: number): Promise<void> {
    await writeEntries(
      this.#cache,
      entries.map(([key, value]) => ({ key, value, ttl: ttl ?? this.#defaultTtl })),
    )
  }

  mget(...keys: string[]): Promise<unknown[]> {
    return this.#cache.getMany(keys)
  }

  async mdel(...keys: string[]): Promise<void> {
    await this.#cache.deleteMany(keys)
  }

  /** Keys of the strata namespace matching a Redis glob. @default pattern '*' */
  keys(pattern = '*'): Promise<string[]> {
    return this.#cache.getKeys(pattern)
  }

  async ttl(key: string): Promise<number> {
    return (await this.#cache.getTtl(key)) ?? 0
  }
}
