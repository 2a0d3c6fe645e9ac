import type { BreakerState } from '../shared/breaker-state.js'
import type { LatencySummary } from './latency-histogram.js'
import type { AnswerSource, CacheOperation, ErrorReason, InvalidationKind } from './monitor-sink.js'

export type { LatencySummary } from './latency-histogram.js'

/** How often operations ended one way, and how long the timed ones took. */
export interface SourceSummary {
  /** Operations, timed or not. */
  count: number
  /**
   * Durations of the timed operations. `latency.count` can be below `count`: caches time only a
   * sample of L1 answers, because reading the clock costs as much as the hit.
   */
  latency: LatencySummary
}

/** One public operation, across every cache reporting to the monitor. */
export interface OperationSummary extends SourceSummary {
  /** The same split by where the answer came from; only sources seen are present. */
  bySource: Partial<Record<AnswerSource, SourceSummary>>
}

/** Hits and misses of one tier. */
export interface TierSummary {
  /** Lookups that found a value. */
  hits: number
  /** Lookups that found nothing. */
  misses: number
  /** hits / (hits + misses); `0` before the first lookup. */
  hitRatio: number
}

/**
 * Reads answered by a tier, overall. A read of a cache with L1 starts with one L1 lookup, and an
 * L2 lookup follows only an L1 miss; a cache without L1 starts with its L2 lookup. So for each
 * cache, reads = its L1 lookups if it made any, else its L2 lookups, and hits = L1 hits + L2 hits.
 * The overall figures add these up over the caches.
 */
export interface LookupSummary {
  /** Reads answered by L1 or L2, over every cache. */
  hits: number
  /** Reads answered by no tier, over every cache. */
  misses: number
  /** hits / (hits + misses); `0` before the first lookup. */
  hitRatio: number
  /** L1 lookups over every cache. */
  l1: TierSummary
  /** L2 lookups over every cache (for caches with L1, only after an L1 miss). */
  l2: TierSummary
}

/** Values compressed before being written to L2. */
export interface CompressionSummary {
  /** Values compressed. */
  count: number
  /** Their total size before compression, in bytes. */
  bytesBefore: number
  /** Their total size after compression, in bytes. */
  bytesAfter: number
  /** bytesAfter / bytesBefore (lower is better); `0` before the first compression. */
  ratio: number
  /** Time spent compressing, in ms. */
  totalMs: number
  /** Mean time per timed compression, in ms; `0` before the first. */
  meanMs: number
}

/** Memory of one attached cache, read when the summary is taken. */
export interface CacheMemorySummary {
  /** The cache's name. */
  name: string
  /** Which backend holds the shared data. */
  backendType: 'memory' | 'redis'
  /** Entries in L1; `undefined` without L1. */
  l1Entries: number | undefined
  /** Estimated size of L1, in bytes; `undefined` without L1. */
  l1SizeBytes: number | undefined
  /** Redis `used_memory` from INFO, in bytes; `undefined` when not connected or INFO failed. */
  redisUsedMemoryBytes: number | undefined
}

/** Invalidations of one kind. */
export interface InvalidationSummary {
  /** Invalidations (calls). */
  count: number
  /** Keys they removed. */
  keysRemoved: number
}

/** Failures reported by the caches. */
export interface ErrorSummary {
  /** All failures. */
  total: number
  /** Failures by reason; every reason is present. */
  byReason: Record<ErrorReason, number>
}

/** One change of state of an L2 circuit breaker. */
export interface CircuitTransition {
  /** Name of the cache whose breaker changed. */
  cache: string
  /** State before. */
  from: BreakerState
  /** State after. */
  to: BreakerState
  /** When, in ms from the monitor's `now` (epoch ms by default). */
  at: number
}

/** Circuit-breaker changes of every cache. */
export interface CircuitSummary {
  /** All transitions. */
  transitions: number
  /** Transitions by the state entered; every state is present. */
  byTarget: Record<BreakerState, number>
  /** The latest transition; `undefined` before the first. */
  last: CircuitTransition | undefined
}

/** Counters of one cache name, for labelling by cache. */
export interface CacheCountsSummary {
  /** The cache's name (several caches may share it; their counts add up). */
  name: string
  /** Public operations. */
  operations: number
  /** L1 lookups. */
  l1: TierSummary
  /** L2 lookups. */
  l2: TierSummary
  /** Reads answered by a tier / reads, as in `LookupSummary`; `0` before the first lookup. */
  hitRatio: number
}

/** Public operations over every cache. */
export interface OperationsSummary {
  /** All operations. */
  total: number
  /** Operations per second over the last `windowSeconds` (or since `since`, if later). */
  perSecond: number
  /** Length of the ops/s window, in seconds. */
  windowSeconds: number
  /** By operation; only operations seen are present. */
  byOperation: Partial<Record<CacheOperation, OperationSummary>>
}

/** Everything a `CachePerformanceMonitor` has recorded since it was created or last reset. */
export interface PerformanceSummary {
  /** When the summary was taken, in ms from the monitor's `now` (epoch ms by default). */
  takenAt: number
  /** When recording started (creation or the last `reset()`), in the same time base. */
  since: number
  /** Operation counts, rate and latencies. */
  operations: OperationsSummary
  /** Hits, misses and hit ratios per tier and overall. */
  lookups: LookupSummary
  /** Compression of values written to L2. */
  compression: CompressionSummary
  /** One entry per attached cache, in attach order. */
  memory: CacheMemorySummary[]
  /** Invalidations by kind; every kind is present. */
  invalidations: Record<InvalidationKind, InvalidationSummary>
  /** Failures by reason. */
  errors: ErrorSummary
  /** Circuit-breaker transitions. */
  circuit: CircuitSummary
  /** Time to build AI cache keys (reported by `AIResponseCache`). */
  keyGeneration: LatencySummary
  /**
   * Cross-instance coherence: keys Redis reported as invalidated, and the lag from an own
   * write resolving to its invalidation being applied here.
   */
  coherence: { invalidationsReceived: number; lag: LatencySummary }
  /** Counters per cache name, in order of first report. */
  byCache: CacheCountsSummary[]
}
