import type { BreakerState } from '../shared/breaker-state.js'

/** Public operations a cache reports. */
export type CacheOperation =
  | 'get'
  | 'set'
  | 'getOrSet'
  | 'getOrSetMany'
  | 'delete'
  | 'getMany'
  | 'setMany'
  | 'deleteMany'
  | 'exists'
  | 'getTtl'
  | 'getKeys'
  | 'invalidatePattern'
  | 'invalidateTags'
  | 'clear'

/** Where an operation's answer came from: a tier, the loader, or nowhere (a miss or a write). */
export type AnswerSource = 'l1' | 'l2' | 'loader' | 'none'

/** Lookup tiers, for hit and miss counts. */
export type LookupTier = 'l1' | 'l2'

/** Why something failed, for error counts. */
/** `skipped`: an L2 call not sent because Redis was disconnected or the circuit open. */
export type ErrorReason = 'deadline' | 'connection' | 'skipped' | 'decode' | 'loader' | 'other'

/** How keys were invalidated. */
export type InvalidationKind = 'delete' | 'pattern' | 'tag' | 'clear'

/**
 * Receives what caches record. `CachePerformanceMonitor` is one; the Prometheus and
 * OpenTelemetry exporters are others, attached to a monitor with `monitor.addSink()`. Every
 * method is called synchronously on the cache's hot path: keep them cheap and never throw.
 * `cache` is the cache's name (its `name` option, else its namespace).
 */
export interface MonitorSink {
  /**
   * `count` public operations (default 1) finished, successfully or not; `durationMs` is how long
   * one of them took, or `NaN` when none was timed. Caches report L1 answers in batches: they
   * count each one and time one in 256, so an L1 hit costs an increment, not a report.
   */
  operation?(cache: string, operation: CacheOperation, source: AnswerSource, durationMs: number, count?: number): void
  /** `count` tier lookups (default 1) with the same outcome: hits or misses. */
  lookup?(cache: string, tier: LookupTier, hit: boolean, count?: number): void
  /**
   * Called once when the sink is added to a monitor, with a function that makes every attached
   * cache report what it has batched. A sink that reads its totals on demand (a scrape) calls it
   * first, so the totals are exact at that moment.
   */
  bind?(flush: () => void): void
  /** One value compressed: sizes in bytes and the time it took. */
  compression?(cache: string, bytesBefore: number, bytesAfter: number, durationMs: number): void
  /** Keys removed by one invalidation. */
  invalidation?(cache: string, kind: InvalidationKind, keysRemoved: number): void
  /** One failure. */
  error?(cache: string, reason: ErrorReason): void
  /** The L2 circuit breaker changed state. */
  circuit?(cache: string, from: BreakerState, to: BreakerState): void
  /**
   * Cross-instance coherence applied `keys` invalidated keys reported by Redis (a flush of the
   * whole database counts 1). `lagMs` is set when the write was this instance's own, so
   * both ends are known: the time from the write resolving to its invalidation being applied.
   */
  invalidationReceived?(cache: string, keys: number, lagMs: number | undefined): void
  /** One AI cache key was generated, taking `durationMs` (reported by `AIResponseCache`). */
  keyGeneration?(cache: string, durationMs: number): void
}

/** What a cache offers a monitor about itself, read when a summary is taken. */
export interface MonitoredCache {
  readonly name: string
  readonly backendType: 'memory' | 'redis'
  /** L1 entries and estimated bytes; `undefined` without L1. */
  l1Usage(): { entries: number; sizeBytes: number } | undefined
  /** Redis `used_memory` from INFO, or `undefined` when Redis is not connected. */
  redisUsedMemory(): Promise<number | undefined>
  /** Reports what the cache has batched (counted but not yet reported L1 answers). */
  flush(): void
}

/** A monitor a cache reports to: a `MonitorSink` that also learns which caches exist. */
export interface CacheMonitor extends MonitorSink {
  attach(cache: MonitoredCache): void
}
