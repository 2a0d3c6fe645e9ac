import type { BreakerState } from '../shared/breaker-state.js'
import { LatencyHistogram } from './latency-histogram.js'
import type {
  AnswerSource,
  CacheOperation,
  ErrorReason,
  InvalidationKind,
  LookupTier,
  MonitorSink,
} from './monitor-sink.js'
import type {
  CacheCountsSummary,
  CircuitSummary,
  CompressionSummary,
  InvalidationSummary,
  LookupSummary,
  OperationsSummary,
  OperationSummary,
  PerformanceSummary,
  SourceSummary,
  TierSummary,
} from './performance-summary.js'
import { RateWindow } from './rate-window.js'

// Dense indexes so an aggregate sits in a flat array. They are Records, so adding an operation or
// a source to the unions fails to compile until it is listed here.
const OPERATION_INDEX: Record<CacheOperation, number> = {
  get: 0,
  set: 1,
  getOrSet: 2,
  getOrSetMany: 3,
  delete: 4,
  getMany: 5,
  setMany: 6,
  deleteMany: 7,
  exists: 8,
  getTtl: 9,
  getKeys: 10,
  invalidatePattern: 11,
  invalidateTags: 12,
  clear: 13,
}
const OPERATIONS = Object.keys(OPERATION_INDEX) as CacheOperation[]
const SOURCE_INDEX: Record<AnswerSource, number> = { l1: 0, l2: 1, loader: 2, none: 3 }
const SOURCES = Object.keys(SOURCE_INDEX) as AnswerSource[]
// A constant, not SOURCES.length at each use: the optimizer folds a constant but reloads a length.
const SOURCE_COUNT = SOURCES.length

/** Operations that ended one way: a count, and a histogram of the timed ones. */
class SourceAggregate {
  count = 0
  readonly latency = new LatencyHistogram()
}

/** Counters of one cache name. */
class CacheCounters {
  operations = 0
  l1Hits = 0
  l1Misses = 0
  l2Hits = 0
  l2Misses = 0
  constructor(readonly name: string) {}
}

const zeroErrors = (): Record<ErrorReason, number> => ({ deadline: 0, connection: 0, skipped: 0, decode: 0, loader: 0, other: 0 })
const zeroTargets = (): Record<BreakerState, number> => ({ closed: 0, open: 0, 'half-open': 0 })
const zeroInvalidations = (): Record<InvalidationKind, InvalidationSummary> => ({
  delete: { count: 0, keysRemoved: 0 },
  pattern: { count: 0, keysRemoved: 0 },
  tag: { count: 0, keysRemoved: 0 },
  clear: { count: 0, keysRemoved: 0 },
})

/**
 * The counters behind `CachePerformanceMonitor`, without its sinks and caches. `operation()` and
 * `lookup()` run on every cache call: O(1), no allocation once an (operation, source) pair and a
 * cache name have been seen, and no clock read except the rate window's batched one.
 */
export class MonitorAggregates implements Required<MonitorSink> {
  readonly #now: () => number
  readonly #rate: RateWindow
  #since: number
  /** At OPERATION_INDEX × SOURCE_COUNT + SOURCE_INDEX, created on first use (7.5 KiB each). */
  #slots: Array<SourceAggregate | undefined>
  readonly #caches = new Map<string, CacheCounters>()
  /** The last cache reported: most monitors serve one cache, which then skips the Map. */
  #lastCache: CacheCounters | undefined
  // The last (operation, source) and its aggregate. L1 hits come in runs of the same pair, which
  // then cost two pointer comparisons: the index lookup goes megamorphic over 14 names and would
  // double the cost of an L1 hit's report. A change of pair (after an L2 or loader answer, which
  // takes far longer itself) pays the lookup. A switch instead of the lookup made the miss
  // cheaper but, inlined into this hot path, the hit dearer.
  #lastOperation: CacheOperation | undefined
  #lastSource: AnswerSource | undefined
  #lastSlot: SourceAggregate | undefined
  #compression = { count: 0, bytesBefore: 0, bytesAfter: 0, totalMs: 0, timed: 0 }
  #invalidations = zeroInvalidations()
  #errors = zeroErrors()
  #circuit: CircuitSummary = { transitions: 0, byTarget: zeroTargets(), last: undefined }
  readonly #keyGeneration = new LatencyHistogram()
  #coherenceReceived = 0
  readonly #coherenceLag = new LatencyHistogram()

  constructor(now: () => number, windowSeconds: number) {
    this.#now = now
    this.#rate = new RateWindow({ now, windowSeconds })
    this.#since = now()
    this.#slots = new Array<SourceAggregate | undefined>(OPERATIONS.length * SOURCE_COUNT).fill(undefined)
  }

  operation(cache: string, operation: CacheOperation, source: AnswerSource, durationMs: number, count = 1): void {
    this.#rate.add(count)
    this.#counters(cache).operations += count
    let slot = this.#lastSlot
    if (slot === undefined || operation !== this.#lastOperation || source !== this.#lastSource) {
      slot = this.#slot(operation, source)
    }
    slot.count += count
    // NaN (counted, not timed) is ignored by the histogram.
    slot.latency.record(durationMs)
  }

  lookup(cache: string, tier: LookupTier, hit: boolean, count = 1): void {
    const counters = this.#counters(cache)
    if (tier === 'l1') {
      if (hit) counters.l1Hits += count
      else counters.l1Misses += count
    } else if (hit) counters.l2Hits += count
    else counters.l2Misses += count
  }

  /** Aggregates are filled by the monitor; nothing to bind. */
  bind(_flush: () => void): void {}

  compression(_cache: string, bytesBefore: number, bytesAfter: number, durationMs: number): void {
    const c = this.#compression
    c.count++
    c.bytesBefore += bytesBefore
    c.bytesAfter += bytesAfter
    // An untimed compression (NaN) still counts its bytes but not in the mean time.
    if (durationMs >= 0 && durationMs < Infinity) {
      c.totalMs += durationMs
      c.timed++
    }
  }

  invalidation(_cache: string, kind: InvalidationKind, keysRemoved: number): void {
    const entry = this.#invalidations[kind]
    entry.count++
    entry.keysRemoved += keysRemoved
  }

  error(_cache: string, reason: ErrorReason): void {
    this.#errors[reason]++
  }

  circuit(cache: string, from: BreakerState, to: BreakerState): void {
    this.#circuit.transitions++
    this.#circuit.byTarget[to]++
    this.#circuit.last = { cache, from, to, at: this.#now() }
  }

  keyGeneration(_cache: string, durationMs: number): void {
    this.#keyGeneration.record(durationMs)
  }

  invalidationReceived(_cache: string, keys: number, lagMs: number | undefined): void {
    this.#coherenceReceived += keys
    if (lagMs !== undefined) this.#coherenceLag.record(lagMs)
  }

  /** Everything recorded, except memory (which needs the caches). */
  summarize(): Omit<PerformanceSummary, 'memory'> {
    const byCache = [...this.#caches.values()].map(cacheCounts)
    const errors = { ...this.#errors }
    return {
      takenAt: this.#now(),
      since: this.#since,
      operations: this.#operations(),
      lookups: lookupSummary(byCache),
      compression: this.#compressionSummary(),
      invalidations: structuredClone(this.#invalidations),
      errors: { total: Object.values(errors).reduce((a, b) => a + b, 0), byReason: errors },
      circuit: { ...this.#circuit, byTarget: { ...this.#circuit.byTarget } },
      keyGeneration: this.#keyGeneration.summary(),
      coherence: { invalidationsReceived: this.#coherenceReceived, lag: this.#coherenceLag.summary() },
      byCache,
    }
  }

  /** Forgets everything recorded and starts a new `since`. */
  reset(): void {
    this.#rate.reset()
    this.#since = this.#now()
    this.#slots.fill(undefined)
    this.#lastSlot = undefined
    this.#caches.clear()
    this.#lastCache = undefined
    this.#compression = { count: 0, bytesBefore: 0, bytesAfter: 0, totalMs: 0, timed: 0 }
    this.#invalidations = zeroInvalidations()
    this.#errors = zeroErrors()
    this.#circuit = { transitions: 0, byTarget: zeroTargets(), last: undefined }
    this.#keyGeneration.reset()
    this.#coherenceReceived = 0
    this.#coherenceLag.reset()
  }

  /** The aggregate of (operation, source), created on first use and remembered for the next call. */
  #slot(operation: CacheOperation, source: AnswerSource): SourceAggregate {
    const i = OPERATION_INDEX[operation] * SOURCE_COUNT + SOURCE_INDEX[source]
    const slot = this.#slots[i] ?? (this.#slots[i] = new SourceAggregate())
    this.#lastOperation = operation
    this.#lastSource = source
    return (this.#lastSlot = slot)
  }

  #counters(cache: string): CacheCounters {
    const last = this.#lastCache
    if (last !== undefined && last.name === cache) return last
    let counters = this.#caches.get(cache)
    if (counters === undefined) this.#caches.set(cache, (counters = new CacheCounters(cache)))
    return (this.#lastCache = counters)
  }

  #operations(): OperationsSummary {
    const byOperation: OperationsSummary['byOperation'] = {}
    let total = 0
    for (const operation of OPERATIONS) {
      const summary = this.#operationSummary(operation)
      if (summary === undefined) continue
      byOperation[operation] = summary
      total += summary.count
    }
    return { total, perSecond: this.#rate.perSecond(), windowSeconds: this.#rate.windowSeconds, byOperation }
  }

  /** One operation's summary; its latency merges the per-source histograms. */
  #operationSummary(operation: CacheOperation): OperationSummary | undefined {
    const all = new LatencyHistogram()
    const bySource: OperationSummary['bySource'] = {}
    let count = 0
    for (const source of SOURCES) {
      const slot = this.#slots[OPERATION_INDEX[operation] * SOURCE_COUNT + SOURCE_INDEX[source]]
      if (slot === undefined) continue
      bySource[source] = { count: slot.count, latency: slot.latency.summary() } satisfies SourceSummary
      all.merge(slot.latency)
      count += slot.count
    }
    return count === 0 ? undefined : { count, latency: all.summary(), bySource }
  }

  #compressionSummary(): CompressionSummary {
    const { count, bytesBefore, bytesAfter, totalMs, timed } = this.#compression
    return {
      count,
      bytesBefore,
      bytesAfter,
      ratio: bytesBefore === 0 ? 0 : bytesAfter / bytesBefore,
      totalMs,
      meanMs: timed === 0 ? 0 : totalMs / timed,
    }
  }
}

function tier(hits: number, misses: number): TierSummary {
  return { hits, misses, hitRatio: ratio(hits, hits + misses) }
}

function ratio(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole
}

/** Reads of a cache: its L1 lookups if it made any, else its L2 lookups (see `LookupSummary`). */
function reads(l1: TierSummary, l2: TierSummary): number {
  const l1Lookups = l1.hits + l1.misses
  return l1Lookups > 0 ? l1Lookups : l2.hits + l2.misses
}

function cacheCounts(c: CacheCounters): CacheCountsSummary {
  const l1 = tier(c.l1Hits, c.l1Misses)
  const l2 = tier(c.l2Hits, c.l2Misses)
  return { name: c.name, operations: c.operations, l1, l2, hitRatio: ratio(l1.hits + l2.hits, reads(l1, l2)) }
}

function lookupSummary(byCache: readonly CacheCountsSummary[]): LookupSummary {
  let hits = 0
  let total = 0
  const sum = { l1Hits: 0, l1Misses: 0, l2Hits: 0, l2Misses: 0 }
  for (const c of byCache) {
    hits += c.l1.hits + c.l2.hits
    total += reads(c.l1, c.l2)
    sum.l1Hits += c.l1.hits
    sum.l1Misses += c.l1.misses
    sum.l2Hits += c.l2.hits
    sum.l2Misses += c.l2.misses
  }
  return {
    hits,
    misses: total - hits,
    hitRatio: ratio(hits, total),
    l1: tier(sum.l1Hits, sum.l1Misses),
    l2: tier(sum.l2Hits, sum.l2Misses),
  }
}
