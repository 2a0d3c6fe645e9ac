import type { CoherenceStats } from '../coherence/coherence.js'
import type { CacheStats } from './cache-interface.js'
import type { Engine } from './engine.js'

/** What the statistics read: the counters, the tiers and the invalidation queue. */
export type StatsSource = Pick<Engine, 'recorder' | 'l1' | 'l2' | 'now' | 'pendingInvalidations' | 'coherence'>

const COHERENCE_OFF: CoherenceStats = Object.freeze({
  state: 'off',
  maxStalenessMs: 0,
  offline: 'serve',
  invalidationsReceived: 0,
  fences: 0,
  lastBarrierAgeMs: undefined,
})

/** Operations per second, measured between `getStats()` calls at least this far apart. */
const RATE_INTERVAL_MS = 1000

/**
 * Builds `getStats()` from the engine's counters. Operations per second come from the counter
 * delta between two calls at least a second apart (the first second: since creation), so
 * counting an operation costs one increment and no clock read.
 */
export class StatsSnapshot {
  readonly #source: StatsSource
  #markAt: number
  #markOps = 0
  #rate = 0

  constructor(source: StatsSource) {
    this.#source = source
    this.#markAt = source.now()
  }

  take(): CacheStats {
    const { recorder, l1, l2 } = this.#source
    const s = recorder.stats
    const hits = s.l1Hits + s.l2Hits
    // A request is a miss when no tier answered it: L1 misses that L2 did not fill.
    const misses = l1 ? s.l1Misses - s.l2Hits : s.l2Misses
    return {
      backendType: l2 ? 'redis' : 'memory',
      totalEntries: l1?.size ?? 0,
      memoryUsageBytes: l1?.sizeBytes ?? 0,
      operationsPerSecond: this.#operationsPerSecond(),
      hits,
      misses,
      hitRatio: hits + misses === 0 ? 0 : hits / (hits + misses),
      operations: s.operations,
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
        lastError: l2.store.lastError,
        circuit: l2.breaker.state,
        pendingInvalidations: this.#source.pendingInvalidations,
        queuedInvalidations: s.queuedInvalidations,
      },
      coherence: l2 && (this.#source.coherence?.stats() ?? COHERENCE_OFF),
    }
  }

  #operationsPerSecond(): number {
    const now = this.#source.now()
    const elapsed = now - this.#markAt
    const ops = this.#source.recorder.stats.operations
    if (elapsed >= RATE_INTERVAL_MS) {
      this.#rate = ((ops - this.#markOps) * 1000) / elapsed
      this.#markAt = now
      this.#markOps = ops
    } else if (this.#markOps === 0 && elapsed > 0) {
      this.#rate = (ops * 1000) / elapsed
    }
    return this.#rate
  }
}
