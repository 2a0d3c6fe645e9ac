import type { CoherenceStats } from '../coherence/coherence.js'
import type { CacheEventName, CacheListener } from '../monitoring/events.js'
import type { Duration } from '../shared/duration.js'
import type { GetOrSetPolicy } from '../options/get-or-set-options.js'
import type { BreakerState } from '../shared/breaker-state.js'

/** Per-call options of `set`. */
export interface SetOptions {
  /** Time to live; `0` means never expires. @default the cache's `defaultTtl` */
  ttl?: Duration
  /** Tags for `invalidateTags`. @default [] */
  tags?: readonly string[]
}

/** Per-call options of `getOrSet`; the policy fields default to the cache's own. */
export interface GetOrSetOptions extends SetOptions, GetOrSetPolicy {
  /** Run the loader even when a fresh value is cached (the result is cached as usual). @default false */
  forceFresh?: boolean
}

/** Passed to a loader, to shape the entry it produces. */
export interface LoaderContext<T = unknown> {
  /** The key being loaded. */
  readonly key: string
  /** The expired value kept by grace, if any. */
  readonly staleValue: T | undefined
  /** Sets the ttl of the entry about to be written (for example from the loaded value). */
  setTtl(ttl: Duration): void
  /** Replaces the tags of the entry about to be written. */
  setTags(tags: readonly string[]): void
  /** The value still goes to every caller, but is not cached (for example an empty result). */
  skipCache(): void
}

/** Loads every key of `keys` it can; keys left out of the Map are misses and are not cached. */
export type ManyLoader<T> = (keys: string[]) => Map<string, T> | Promise<Map<string, T>>

/** One write of `setMany`. */
export interface SetManyEntry<T = unknown> extends SetOptions {
  key: string
  /** Never `undefined`. */
  value: T
}

/**
 * Loads a value on a miss. Resolving `undefined` means "nothing to cache": the caller gets
 * `undefined` and nothing is stored (resolve `null` to cache a negative result).
 */
export type Loader<T> = (context: LoaderContext<NoInfer<T>>) => T | Promise<T>

/** Counters of one tier. */
export interface TierStats {
  hits: number
  misses: number
}

/** A snapshot of a cache's counters. */
export interface CacheStats {
  /** Which backend holds the shared data. */
  backendType: 'memory' | 'redis'
  /**
   * Entries held by this process (its L1). Redis-wide counts of a namespace come from
   * `strata stats`, which scans Redis.
   */
  totalEntries: number
  /** Estimated bytes held by this process (its L1). */
  memoryUsageBytes: number
  /** Public operations per second between `getStats()` calls at least 1 s apart (the first: since creation). */
  operationsPerSecond: number
  /** Public operations started since creation. */
  operations: number
  /** Reads answered from any tier. */
  hits: number
  /** Reads that found nothing in any tier. */
  misses: number
  /** hits / (hits + misses); 0 before the first read. */
  hitRatio: number
  sets: number
  deletes: number
  /** Failures reported through `cache:error` (L2 errors and skipped calls, corrupt entries, loaders). */
  errors: number
  l1: (TierStats & { entries: number; sizeBytes: number }) | undefined
  l2:
    | (TierStats & {
        errors: number
        /** Calls skipped because Redis was disconnected or the circuit was open (each a `cache:error`). */
        skipped: number
        /** Corrupt or foreign entries found, counted as misses and deleted. */
        decodeErrors: number
        connected: boolean
        /**
         * Why connecting last failed, while not connected: a Redis error word (`WRONGPASS`, `ERR`
         * for a full server…) or a Node error code (`ECONNREFUSED`, `ERR_TLS_CERT_ALTNAME_INVALID`…).
         */
        lastError: { code: string; message: string } | undefined
        circuit: BreakerState
        /**
         * Invalidations (deletes, patterns, tags, clears) that could not reach Redis and wait,
         * deduplicated, to be applied before any other Redis call once it is back.
         */
        pendingInvalidations: number
        /** Invalidations queued since creation (each also reported through `cache:error`). */
        queuedInvalidations: number
      })
    | undefined
  /**
   * Cross-instance L1 coherence of a Redis cache (`state: 'off'` when turned off or without
   * L1); `undefined` for a memory cache.
   */
  coherence: CoherenceStats | undefined
}

/** What every strata-cache cache offers. `AIResponseCache` and `CachedRepository` take any of them. */
export interface CacheInterface {
  /** Resolves the value, or `undefined` on a miss. */
  get<T = unknown>(key: string): Promise<T | undefined>
  /** Stores a value (never `undefined`; `null` is a value). */
  set<T>(key: string, value: T, options?: SetOptions): Promise<void>
  /**
   * Returns the cached value, or runs `loader` once per key at a time and caches its result.
   * Resolves `T`: `undefined` only when the loader's own type allows it.
   */
  getOrSet<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<T>
  /**
   * `getOrSet` for many keys: an L1 pass, one MGET, then one `loader` call with the keys still
   * missing. Values align with `keys` (`undefined` for keys the loader left out). Keys already
   * being loaded by a concurrent `getOrSet` are awaited, not loaded again.
   */
  getOrSetMany<T>(keys: readonly string[], loader: ManyLoader<T>, options?: GetOrSetOptions): Promise<Array<T | undefined>>
  exists(key: string): Promise<boolean>
  /** Resolves `true` if something was deleted. */
  delete(key: string): Promise<boolean>
  /** Remaining time to live in ms, `Infinity` when the entry never expires, `undefined` when missing. */
  getTtl(key: string): Promise<number | undefined>
  /** Values aligned with `keys`, `undefined` for misses. */
  getMany<T = unknown>(keys: readonly string[]): Promise<Array<T | undefined>>
  setMany(entries: ReadonlyArray<SetManyEntry>): Promise<void>
  /** Resolves how many keys were deleted. */
  deleteMany(keys: readonly string[]): Promise<number>
  /** Keys of this namespace matching a Redis-style glob (`*`, `?`, `[a-z]`, `\` escapes). */
  getKeys(pattern: string): Promise<string[]>
  /** Deletes keys matching a glob; resolves how many. */
  invalidatePattern(pattern: string): Promise<number>
  /** Deletes every key set with any of `tags`; resolves how many. */
  invalidateTags(tags: readonly string[]): Promise<number>
  /** Deletes every key of this namespace, and nothing else. */
  clear(): Promise<void>
  getStats(): CacheStats
  on<E extends CacheEventName>(event: E, listener: CacheListener<E>): this
  off<E extends CacheEventName>(event: E, listener: CacheListener<E>): this
  /** Resolves `false` (never throws) when the backend is unreachable; the cache then runs degraded. */
  connect(): Promise<boolean>
  disconnect(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}
