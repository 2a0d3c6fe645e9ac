import { LRUCache } from 'lru-cache'
import type { ResolvedL1Options } from '../options/resolve-cache-options.js'
import type { CacheEntry } from '../shared/cache-entry.js'
import { type Clock, systemClock } from '../shared/clock.js'
import { estimateSize } from './size-estimate.js'

/**
 * The in-process L1 tier: values are kept as they are (no serialization), so a hit costs one
 * map lookup and no promise. Bounded by entries and/or estimated bytes, with per-entry TTL
 * taken from the entry's logical expiry. Keeps a tag → keys index for tag invalidation.
 *
 * Values are shared by reference: a caller that mutates a value it got back mutates the
 * cached copy too. That is the price of allocation-free hits.
 */
export class LocalTier {
  #lru: LRUCache<string, CacheEntry>
  readonly #clock: Clock
  #tagIndex = new Map<string, Set<string>>()
  readonly #create: () => LRUCache<string, CacheEntry>

  constructor(options: ResolvedL1Options, clock: Clock) {
    this.#clock = clock
    const lruOptions: LRUCache.Options<string, CacheEntry, unknown> = {
      ...(options.maxEntries === undefined ? {} : { max: options.maxEntries }),
      ...(options.maxBytes === undefined ? {} : { maxSize: options.maxBytes }),
      // Setting an entry-size cap turns on lru-cache's byte accounting, which getStats() reports.
      maxEntrySize: options.maxBytes ?? Number.MAX_SAFE_INTEGER,
      // With the system clock, lru-cache reads time at most once per ms (ttlResolution 1): an
      // entry may be served up to 1 ms past its expiry, and a hit costs no clock read. An
      // injected clock is read on every check, so tests see time move at once.
      ...(clock === systemClock ? {} : { perf: clock, ttlResolution: 0 }),
      dispose: (entry, key) => this.#unindex(key, entry),
    } as LRUCache.Options<string, CacheEntry, unknown>
    this.#create = () => new LRUCache(lruOptions)
    this.#lru = this.#create()
  }

  /**
   * The entry, or `undefined` when missing or past its expiry and grace. lru-cache checks that
   * (each entry's lru TTL is its remaining lifetime), so a hit reads no clock of its own. An
   * entry with `staleUntil` may be past its ttl: callers check freshness.
   */
  get(key: string): CacheEntry | undefined {
    return this.#lru.get(key)
  }

  /** Stores an entry until the end of its grace (or its expiry). An entry past both is dropped. */
  set(key: string, entry: CacheEntry): void {
    const until = entry.staleUntil ?? entry.expiresAt
    const ttl = until === undefined ? 0 : until - this.#clock.now()
    if (until !== undefined && ttl <= 0) {
      this.#lru.delete(key)
      return
    }
    // lru-cache treats an entry as live while its age is at most its ttl; ours ends at `until`
    // itself, so the ttl stops half a millisecond short (integer clocks: gone at `until`).
    this.#lru.set(key, entry, { ttl: until === undefined ? 0 : ttl - 0.5, size: Math.max(1, estimateSize(entry.value)) })
    // A value too large for maxBytes is refused by lru-cache; only index what was kept.
    if (entry.tags.length > 0 && this.#lru.peek(key) === entry) this.#index(key, entry.tags)
  }

  delete(key: string): boolean {
    return this.#lru.delete(key)
  }

  /** Keys of fresh entries (with `includeStale`, also those kept for grace), most recent first. */
  *keys(includeStale = false): IterableIterator<string> {
    const now = this.#clock.now()
    for (const [key, entry] of this.#lru.entries()) {
      if (includeStale || entry.expiresAt === undefined || entry.expiresAt > now) yield key
    }
  }

  /** Keys currently tagged with `tag`. */
  keysWithTag(tag: string): string[] {
    return [...(this.#tagIndex.get(tag) ?? [])]
  }

  clear(): void {
    this.#lru.clear()
    this.#tagIndex.clear()
  }

  /** Empties the tier in O(1): a new store and index replace the old ones, left to the collector. */
  reset(): void {
    this.#lru = this.#create()
    this.#tagIndex = new Map()
  }

  /** Number of entries held, including expired ones not yet evicted. */
  get size(): number {
    return this.#lru.size
  }

  /** Estimated bytes held. */
  get sizeBytes(): number {
    return this.#lru.calculatedSize
  }

  #index(key: string, tags: readonly string[]): void {
    for (const tag of tags) {
      let keys = this.#tagIndex.get(tag)
      if (!keys) this.#tagIndex.set(tag, (keys = new Set()))
      keys.add(key)
    }
  }

  #unindex(key: string, entry: CacheEntry): void {
    for (const tag of entry.tags) {
      const keys = this.#tagIndex.get(tag)
      if (!keys) continue
      keys.delete(key)
      if (keys.size === 0) this.#tagIndex.delete(tag)
    }
  }
}
