import { InvalidOptionsError, type OptionIssue, UndefinedValueError } from '../errors.js'
import type { CacheEventEmitter, CacheEventName, CacheListener } from '../monitoring/events.js'
import { cacheEvents } from '../monitoring/events.js'
import { parseDuration } from '../options/duration.js'
import { resolveCallPolicy } from '../options/get-or-set-options.js'
import type { ResolvedBaseOptions } from '../options/resolve-cache-options.js'
import type { CacheEntry } from './cache-entry.js'
import type {
  CacheInterface,
  CacheStats,
  GetOrSetOptions,
  Loader,
  ManyLoader,
  SetManyEntry,
  SetOptions,
} from './cache-interface.js'
import { CacheStack, isFresh } from './cache-stack.js'
import { GetOrSetHandler } from './get-or-set/get-or-set-handler.js'
import { getOrSetMany } from './get-or-set/get-or-set-many.js'
import { assertValidKey, assertValidPattern, assertValidTags, globToRegExp } from './key.js'
import type { RemoteTier } from './remote-tier.js'
import type { StatsCounters } from './stats-counters.js'

/** What a concrete cache hands to the engine. */
export interface TieredCacheParams {
  readonly options: ResolvedBaseOptions
  /** Builds the L2 tier once the engine's events and counters exist; omit for memory only. */
  readonly remote?: (events: CacheEventEmitter, stats: StatsCounters) => RemoteTier
}

/**
 * The engine behind every cache: an optional L1 in front of an optional L2. The read and write
 * paths live in `CacheStack`, the getOrSet flow in `GetOrSetHandler`; this class validates
 * arguments and keeps the public methods thin. `InMemoryCache` and `GenericRedisCache` only
 * choose the tiers.
 */
export class TieredCache implements CacheInterface {
  readonly #stack: CacheStack
  readonly #handler: GetOrSetHandler

  constructor({ options, remote }: TieredCacheParams) {
    this.#stack = new CacheStack(options, remote)
    this.#handler = new GetOrSetHandler(this.#stack)
  }

  /** The namespace that prefixes and isolates this cache's keys. */
  get namespace(): string {
    return this.#stack.options.namespace
  }

  get<T = unknown>(key: string): Promise<T | undefined> {
    assertValidKey(key)
    const local = this.#stack.readLocal(key)
    if (local !== undefined) return Promise.resolve(local.value as T)
    return this.#freshFromRemote(key).then((entry) => entry?.value as T | undefined)
  }

  async set<T>(key: string, value: T, options?: SetOptions): Promise<void> {
    await this.setMany([{ key, value, ...options }])
  }

  getOrSet<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<T | undefined> {
    assertValidKey(key)
    assertLoader(loader)
    return this.#handler.handle(key, loader, resolveCallPolicy(options, this.#stack.options.policy))
  }

  getOrSetMany<T>(keys: readonly string[], loader: ManyLoader<T>, options?: GetOrSetOptions): Promise<Array<T | undefined>> {
    keys.forEach((key) => assertValidKey(key))
    assertLoader(loader)
    const policy = resolveCallPolicy(options, this.#stack.options.policy)
    return getOrSetMany({ stack: this.#stack, flights: this.#handler.flights, keys, loader, policy })
  }

  async exists(key: string): Promise<boolean> {
    return (await this.#lookup(key)) !== undefined
  }

  async getTtl(key: string): Promise<number | undefined> {
    const entry = await this.#lookup(key)
    if (entry?.expiresAt === undefined) return entry && Infinity
    return Math.max(0, entry.expiresAt - this.#stack.now())
  }

  async delete(key: string): Promise<boolean> {
    return (await this.deleteMany([key])) > 0
  }

  async getMany<T = unknown>(keys: readonly string[]): Promise<Array<T | undefined>> {
    keys.forEach((key) => assertValidKey(key))
    const stack = this.#stack
    const results: Array<T | undefined> = keys.map((key) => stack.readLocal(key)?.value as T | undefined)
    const missing = keys.flatMap((_key, i) => (results[i] === undefined ? [i] : []))
    if (missing.length === 0) return results
    const entries = (await stack.l2?.readMany(missing.map((i) => keys[i] as string))) ?? []
    const now = stack.now()
    missing.forEach((index, j) => {
      const entry = stack.afterRemoteRead(keys[index] as string, entries[j])
      if (entry !== undefined && isFresh(entry, now)) results[index] = entry.value as T
    })
    return results
  }

  async setMany(entries: ReadonlyArray<SetManyEntry>): Promise<void> {
    const defaults = this.#stack.options.policy
    // Validate everything before any write, so a bad entry never leaves a half-applied batch.
    const writes = entries.map(({ key, value, ttl, tags }) => {
      assertValidKey(key)
      if (value === undefined) throw new UndefinedValueError(key)
      if (tags !== undefined) assertValidTags(tags)
      const shape = { ...defaults, ttlMs: ttl === undefined ? defaults.ttlMs : ttlMs(ttl), tags: tags ?? [] }
      return { key, entry: this.#stack.entry(key, value, shape) }
    })
    if (writes.length > 0) await this.#stack.write(writes)
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    keys.forEach((key) => assertValidKey(key))
    keys.forEach((key) => this.#handler.flights.invalidate(key))
    const remote = await this.#stack.l2?.deleteMany(keys)
    let local = 0
    for (const key of keys) if (this.#stack.l1?.delete(key)) local++
    return this.#deleted(keys, remote ?? local)
  }

  async getKeys(pattern: string): Promise<string[]> {
    assertValidPattern(pattern)
    if (this.#stack.l2 !== undefined) return this.#stack.l2.keys(pattern)
    const regex = globToRegExp(pattern)
    return [...(this.#stack.l1?.keys() ?? [])].filter((key) => regex.test(key))
  }

  async invalidatePattern(pattern: string): Promise<number> {
    assertValidPattern(pattern)
    const regex = globToRegExp(pattern)
    this.#handler.flights.invalidateWhere((key) => regex.test(key))
    const remote = await this.#stack.l2?.deletePattern(pattern)
    // Stale entries kept for grace go too: an invalidated value must never come back as a fallback.
    const localKeys = [...(this.#stack.l1?.keys(true) ?? [])].filter((key) => regex.test(key))
    localKeys.forEach((key) => this.#stack.l1?.delete(key))
    return this.#deleted(localKeys, remote ?? localKeys.length)
  }

  async invalidateTags(tags: readonly string[]): Promise<number> {
    assertValidTags(tags)
    const remote = await this.#stack.l2?.deleteTags(tags)
    const keys = new Set<string>(remote?.keys)
    for (const tag of tags) for (const key of this.#stack.l1?.keysWithTag(tag) ?? []) keys.add(key)
    let local = 0
    for (const key of keys) {
      this.#handler.flights.invalidate(key)
      if (this.#stack.l1?.delete(key)) local++
    }
    return this.#deleted([...keys], remote?.removed ?? local)
  }

  async clear(): Promise<void> {
    this.#handler.flights.invalidateWhere()
    await this.#stack.l2?.deletePattern('*', true)
    this.#stack.l1?.clear()
  }

  getStats(): CacheStats {
    const { stats: s, l1, l2 } = this.#stack
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
    this.#stack.events.on(event, listener)
    return this
  }

  off<E extends CacheEventName>(event: E, listener: CacheListener<E>): this {
    this.#stack.events.off(event, listener)
    return this
  }

  /** Memory needs no connection: resolves `true`. */
  connect(): Promise<boolean> {
    return Promise.resolve(true)
  }

  /** Drops L1; a Redis-backed cache also closes its connection. */
  disconnect(): Promise<void> {
    this.#stack.l1?.clear()
    return Promise.resolve()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect()
  }

  /** L2 read that answers only fresh entries (a stale one still fills L1 for getOrSet fallbacks). */
  async #freshFromRemote(key: string): Promise<CacheEntry | undefined> {
    const entry = await this.#stack.readRemote(key)
    return entry !== undefined && isFresh(entry, this.#stack.now()) ? entry : undefined
  }

  /** A read for `exists`/`getTtl`: same tiers, same L1 fill. */
  #lookup(key: string): Promise<CacheEntry | undefined> {
    assertValidKey(key)
    const local = this.#stack.readLocal(key)
    return local !== undefined ? Promise.resolve(local) : this.#freshFromRemote(key)
  }

  #deleted(keys: readonly string[], count: number): number {
    const { stats, events } = this.#stack
    stats.deletes += count
    if (events.has('cache:delete')) for (const key of keys) events.emit(cacheEvents.delete(key))
    return count
  }
}

function assertLoader(loader: unknown): void {
  if (typeof loader !== 'function') {
    throw new InvalidOptionsError([{ path: 'loader', message: 'expected a function that loads the value' }])
  }
}

function ttlMs(ttl: unknown): number {
  if (typeof ttl === 'number' && ttl >= 0 && Number.isFinite(ttl)) return ttl
  const issues: OptionIssue[] = []
  const ms = parseDuration(ttl, 'ttl', issues)
  if (ms === undefined) throw new InvalidOptionsError(issues)
  return ms
}
