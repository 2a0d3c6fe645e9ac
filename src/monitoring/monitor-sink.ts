import type { BreakerState } from '../core/circuit-breaker.js'

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
export type ErrorReason = 'deadline' | 'connection' | 'decode' | 'loader' | 'other'

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
   * One public operation finished (successfully or not), taking `durationMs`. `durationMs` is
   * `NaN` when the operation was counted but not timed (caches time one L1 answer in 128).
   */
  operation?(cache: string, operation: CacheOperation, source: AnswerSource, durationMs: number): void
  /** One tier lookup: a hit or a miss. */
  lookup?(cache: string, tier: LookupTier, hit: boolean): void
  /** One value compressed: sizes in bytes and the time it took. */
  compression?(cache: string, bytesBefore: number, bytesAfter: number, durationMs: number): void
  /** Keys removed by one invalidation. */
  invalidation?(cache: string, kind: InvalidationKind, keysRemoved: number): void
  /** One failure. */
  error?(cache: string, reason: ErrorReason): void
  /** The L2 circuit breaker changed state. */
  circuit?(cache: string, from: BreakerState, to: BreakerState): void
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
}
