import { FactoryError, InvalidOptionsError, type OptionIssue, UndefinedValueError, ValueTooLargeError } from '../errors.js'
import { CacheEventEmitter, type CacheEventName, type CacheListener, cacheEvents } from '../monitoring/events.js'
import { parseDuration } from '../options/duration.js'
import type { ResolvedBaseOptions } from '../options/resolve-cache-options.js'
import type { CacheEntry } from './cache-entry.js'
import type {
  CacheInterface,
  CacheStats,
  GetOrSetOptions,
  Loader,
  SetManyEntry,
  SetOptions,
} from './cache-interface.js'
import { assertValidKey, assertValidPattern, assertValidTags, globToRegExp } from './key.js'
import { LocalTier } from './local-tier.js'
import type { RemoteTier } from './remote-tier.js'
import { SingleFlight } from './single-flight.js'
import { estimateSize } from './size-estimate.js'
import { StatsCounters } from './stats-counters.js'

/** What a concrete cache hands to the engine. */
export interface TieredCacheParams {
  readonly options: ResolvedBaseOptions
  /** Builds the L2 tier once the engine's events and counters exist; omit for memory only. */
  readonly remote?: (events: CacheEventEmitter, stats: StatsCounters) => RemoteTier
}

/**
 * The engine behind every cache: an optional L1 in front of an optional L2. It owns the request
 * flow (read L1, then L2, fill L1; write L2, then L1), single-flight, stats and events.
 * `InMemoryCache` and `GenericRedisCache` only choose the tiers.
 */
export class TieredCache implements CacheInterface {
  readonly #options: ResolvedBaseOptions
  readonly #events = new CacheEventEmitter()
  readonly #stats = new StatsCounters()
  readonly #flights = new SingleFlight()
  readonly #l1: LocalTier | undefined
  readonly #l2: RemoteTier | undefined

  constructor({ options, remote }: TieredCacheParams) {
    this.#options = options
    this.#l1 = options.l1 === false ? undefined : new LocalTier(options.l1, options.clock)
    this.#l2 = remote?.(this.#events, this.#stats)
  }

  /** The namespace that prefixes and isolates this cache's keys. */
  get namespace(): string {
    return this.#options.namespace
  }

  get<T = unknown>(key: string): Promise<T | undefined> {
    assertValidKey(key)
    const local = this.#readLocal(key)
    if (local !== undefined) return Promise.resolve(local.value as T)
    return this.#readRemote(key).then((entry) => entry?.value as T | undefined)
  }

  async set<T>(key: string, value: T, options?: SetOptions): Promise<void> {
    await this.setMany([{ key, value, ...options }])
  }

  getOrSet<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<T | undefined> {
    assertValidKey(key)
    if (typeof loader !== 'function') {
      throw new InvalidOptionsError([{ path: 'loader', message: 'getOrSet needs a function that loads the value' }])
    }
    const ttlMs = this.#ttlOf(options)
    const local = this.#readLocal(key)
    if (local !== undefined) return Promise.resolve(local.value as T)
    return this.#flights.run<T | undefined>(key, async (flight) => {
      // Re-check both tiers: another caller (or process) may have written while this one waited.
      const cached = this.#l1?.get(key) ?? (await this.#readRemote(key))
      if (cached !== undefined) return cached.value as T
      let value: T | undefined
      try {
        value = await loader()
      } catch (error) {
        throw new FactoryError(key, error)
      }
      if (value !== undefined && !flight.invalidated) {
        await this.#write([{ key, entry: this.#entry(key, value, ttlMs, options?.tags) }])
      }
      return value
    })
  }

  async exists(key: string): Promise<boolean> {
    return (await this.#lookup(key)) !== undefined
  }

  async getTtl(key: string): Promise<number | undefined> {
    const entry = await this.#lookup(key)
    if (entry === undefined) return undefined
    return entry.expiresAt === undefined ? Infinity : Math.max(0, entry.expiresAt - this.#options.clock.now())
  }

  async delete(key: string): Promise<boolean> {
    return (await this.deleteMany([key])) > 0
  }

  async getMany<T = unknown>(keys: readonly string[]): Promise<Array<T | undefined>> {
    keys.forEach((key) => assertValidKey(key))
    const results: Array<T | undefined> = keys.map((key) => this.#readLocal(key)?.value as T | undefined)
    const missing = keys.flatMap((_key, i) => (results[i] === undefined ? [i] : []))
    if (missing.length === 0) return results
    const entries = (await this.#l2?.readMany(missing.map((i) => keys[i] as string))) ?? []
    missing.forEach((index, j) => {
      const entry = entries[j]
      this.#afterRemoteRead(keys[index] as string, entry)
      results[index] = entry?.value as T | undefined
    })
    return results
  }

  async setMany(entries: ReadonlyArray<SetManyEntry>): Promise<void> {
    // Validate everything before any write, so a bad entry never leaves a half-applied batch.
    const writes = entries.map(({ key, value, ...options }) => {
      assertValidKey(key)
      if (value === undefined) throw new UndefinedValueError(key)
      return { key, entry: this.#entry(key, value, this.#ttlOf(options), options.tags) }
    })
    if (writes.length > 0) await this.#write(writes)
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    keys.forEach((key) => assertValidKey(key))
    keys.forEach((key) => this.#flights.invalidate(key))
    const remote = await this.#l2?.deleteMany(keys)
    let local = 0
    for (const key of keys) if (this.#l1?.delete(key)) local++
    return this.#deleted(keys, remote ?? local)
  }

  async getKeys(pattern: string): Promise<string[]> {
    assertValidPattern(pattern)
    if (this.#l2 !== undefined) return this.#l2.keys(pattern)
    const regex = globToRegExp(pattern)
    return [...(this.#l1?.keys() ?? [])].filter((key) => regex.test(key))
  }

  async invalidatePattern(pattern: string): Promise<number> {
    assertValidPattern(pattern)
    const regex = globToRegExp(pattern)
    this.#flights.invalidateWhere((key) => regex.test(key))
    const remote = await this.#l2?.deletePattern(pattern)
    const localKeys = [...(this.#l1?.keys() ?? [])].filter((key) => regex.test(key))
    localKeys.forEach((key) => this.#l1?.delete(key))
    return this.#deleted(localKeys, remote ?? localKeys.length)
  }

  async invalidateTags(tags: readonly string[]): Promise<number> {
    assertValidTags(tags)
    const remote = await this.#l2?.deleteTags(tags)
    const keys = new Set<string>(remote?.keys)
    for (const tag of tags) for (const key of this.#l1?.keysWithTag(tag) ?? []) keys.add(key)
    let local = 0
    for (const key of keys) {
      this.#flights.invalidate(key)
      if (this.#l1?.delete(key)) local++
    }
    return this.#deleted([...keys], remote?.removed ?? local)
  }

  async clear(): Promise<void> {
    this.#flights.invalidateWhere()
    await this.#l2?.deletePattern('*', true)
    this.#l1?.clear()
  }

  getStats(): CacheStats {
    const s = this.#stats
    const l1 = this.#l1
    const l2 = this.#l2
    const hits = s.l1Hits + s.l2Hits
    // A request is a miss when no tier answered it: L1 misses that L2 did not fill.
    const misses = l1 ? s.l1Misses - s.l2Hits : s.l2Misses
    return {
      backendType: l2 ? 'redis' : 'memory',
      hits,
      misses,
      hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
      sets: s.sets,
      deletes: s.deletes,
      errors: s.errors,
      l1: l1 && { hits: s.l1Hits, misses: s.l1Misses, entries: l1.size, sizeBytes: l1.sizeBytes },
      l2: l2 && {
        hits: s.l2Hits,
        misses: s.l2Misses,
        errors: s.l2Errors,
        skipped: s.l2Skipped,
        decodeErrors: s.decodeErrors,
        connected: l2.store.isReady,
        circuit: l2.breaker.state,
      },
    }
  }

  on<E extends CacheEventName>(event: E, listener: CacheListener<E>): this {
    this.#events.on(event, listener)
    return this
  }

  off<E extends CacheEventName>(event: E, listener: CacheListener<E>): this {
    this.#events.off(event, listener)
    return this
  }

  /** Memory needs no connection: resolves `true`. */
  connect(): Promise<boolean> {
    return Promise.resolve(true)
  }

  /** Drops L1; a Redis-backed cache also closes its connection. */
  disconnect(): Promise<void> {
    this.#l1?.clear()
    return Promise.resolve()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect()
  }

  /** L1 lookup with hit/miss accounting. */
  #readLocal(key: string): CacheEntry | undefined {
    if (this.#l1 === undefined) return undefined
    const entry = this.#l1.get(key)
    if (entry === undefined) {
      this.#stats.l1Misses++
      return undefined
    }
    this.#stats.l1Hits++
    if (this.#events.has('cache:hit')) this.#events.emit(cacheEvents.hit(key, 'l1'))
    return entry
  }

  /** The L2 half of a read: fetch, then fill L1 with the entry's remaining lifetime. */
  async #readRemote(key: string): Promise<CacheEntry | undefined> {
    const entry = this.#l2 === undefined ? undefined : await this.#l2.read(key)
    return this.#afterRemoteRead(key, entry)
  }

  #afterRemoteRead(key: string, entry: CacheEntry | undefined): CacheEntry | undefined {
    if (entry !== undefined && (entry.expiresAt === undefined || entry.expiresAt > this.#options.clock.now())) {
      if (this.#l2 !== undefined) this.#stats.l2Hits++
      this.#l1?.set(key, entry)
      if (this.#events.has('cache:hit')) this.#events.emit(cacheEvents.hit(key, 'l2'))
      return entry
    }
    if (this.#l2 !== undefined) this.#stats.l2Misses++
    if (this.#events.has('cache:miss')) this.#events.emit(cacheEvents.miss(key))
    return undefined
  }

  /** A read for `exists`/`getTtl`: same tiers, same L1 fill. */
  #lookup(key: string): Promise<CacheEntry | undefined> {
    assertValidKey(key)
    const local = this.#readLocal(key)
    return local !== undefined ? Promise.resolve(local) : this.#readRemote(key)
  }

  /** Writes L2 first (so L1 never holds what L2 refused to encode), then L1, then events. */
  async #write(writes: ReadonlyArray<{ key: string; entry: CacheEntry }>): Promise<void> {
    await this.#l2?.write(writes)
    for (const { key, entry } of writes) {
      this.#l1?.set(key, entry)
      this.#stats.sets++
      if (this.#events.has('cache:set')) this.#events.emit(cacheEvents.set(key))
    }
  }

  #entry(key: string, value: unknown, ttlMs: number, tags: readonly string[] | undefined): CacheEntry {
    if (tags !== undefined) assertValidTags(tags)
    if (this.#l2 === undefined) {
      // Memory-only caches never encode, so the size bound applies to the estimated size.
      const size = estimateSize(value)
      if (size > this.#options.maxValueBytes) throw new ValueTooLargeError(key, size, this.#options.maxValueBytes)
    }
    const now = this.#options.clock.now()
    return { value, createdAt: now, expiresAt: ttlMs > 0 ? now + ttlMs : undefined, tags: tags ?? [] }
  }

  #ttlOf(options: SetOptions | undefined): number {
    const ttl = options?.ttl
    if (ttl === undefined) return this.#options.defaultTtlMs
    if (typeof ttl === 'number' && ttl >= 0 && Number.isFinite(ttl)) return ttl
    const issues: OptionIssue[] = []
    const ms = parseDuration(ttl, 'ttl', issues)
    if (ms === undefined) throw new InvalidOptionsError(issues)
    return ms
  }

  #deleted(keys: readonly string[], count: number): number {
    this.#stats.deletes += count
    if (this.#events.has('cache:delete')) for (const key of keys) this.#events.emit(cacheEvents.delete(key))
    return count
  }
}
