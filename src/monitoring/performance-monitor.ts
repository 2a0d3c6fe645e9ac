import type { BreakerState } from '../shared/breaker-state.js'
import { InvalidOptionsError, type OptionIssue } from '../errors.js'
import { describe } from '../shared/duration.js'
import { integerIn, isRecord, rejectUnknownKeys } from '../shared/validate.js'
import { MonitorAggregates } from './monitor-aggregates.js'
import type {
  AnswerSource,
  CacheOperation,
  ErrorReason,
  InvalidationKind,
  LookupTier,
  MonitoredCache,
  MonitorSink,
} from './monitor-sink.js'
import type { CacheMemorySummary, PerformanceSummary } from './performance-summary.js'

/** Settings of a `CachePerformanceMonitor`. */
export interface CachePerformanceMonitorOptions {
  /** Length of the window for operations per second, in seconds, from 1 to 3600. @default 60 */
  windowSeconds?: number
  /**
   * Time source, in ms. Timestamps in the summary (`takenAt`, `since`, the last circuit
   * transition's `at`) are in its time base, so the default gives epoch ms. Inject one in tests.
   * @default Date.now
   */
  now?: () => number
}

const KNOWN_OPTIONS = ['windowSeconds', 'now']

/**
 * Collects what any number of caches report: operation counts and latency percentiles per
 * operation and answer source, hits and misses per tier, operations per second, compression,
 * memory, invalidations, errors and circuit-breaker transitions. Pass one instance as the
 * `monitor` option of every cache to watch; read it all with `getPerformanceSummary()`.
 *
 * It is a `MonitorSink` itself, and forwards every report to the sinks added with `addSink()`
 * (the Prometheus and OpenTelemetry exporters). Reports arrive on the caches' hot paths, so
 * recording is O(1) with no allocation, and a sink that throws is ignored: its bug must not fail
 * the cache operation that reported. Memory is bounded: one fixed-size histogram (7.5 KiB) per
 * (operation, source) pair seen (at most 56, 420 KiB) plus one for key generation, and a few
 * counters per cache name.
 */
export class CachePerformanceMonitor implements Required<MonitorSink> {
  readonly #aggregates: MonitorAggregates
  /** Replaced, never mutated, so a sink added or removed during a report does not disturb it. */
  #sinks: readonly MonitorSink[] = []
  readonly #caches = new Set<MonitoredCache>()

  /** @throws InvalidOptionsError listing every invalid option. */
  constructor(options: CachePerformanceMonitorOptions = {}) {
    const { windowSeconds, now } = resolveOptions(options)
    this.#aggregates = new MonitorAggregates(now, windowSeconds)
  }

  /** Forwards every report to `sink` too, after recording it. Adding a sink twice is a no-op. */
  addSink(sink: MonitorSink): this {
    if (sink === this) {
      throw new InvalidOptionsError([{ path: 'sink', message: 'a monitor cannot be its own sink (reports would loop)' }])
    }
    if (this.#sinks.includes(sink)) return this
    this.#sinks = [...this.#sinks, sink]
    try {
      sink.bind?.(() => this.flush())
    } catch {
      // A sink that cannot bind still receives reports; its totals may lag by one batch.
    }
    return this
  }

  /** Makes every attached cache report what it has batched; summaries and scrapes call it first. */
  flush(): void {
    for (const cache of this.#caches) {
      try {
        cache.flush()
      } catch {
        // A cache that cannot flush must not break a summary.
      }
    }
  }

  /** Monitors are not bound: they flush their own caches. Present to satisfy `MonitorSink`. */
  bind(_flush: () => void): void {}

  /** Stops forwarding to `sink`. */
  removeSink(sink: MonitorSink): this {
    this.#sinks = this.#sinks.filter((s) => s !== sink)
    return this
  }

  /** Called by a cache given this monitor; its memory appears in the summary. Names may repeat. */
  attach(cache: MonitoredCache): void {
    this.#caches.add(cache)
  }

  /** Leaves `cache` out of later summaries (its counts already recorded stay). */
  detach(cache: MonitoredCache): void {
    this.#caches.delete(cache)
  }

  /** Records one finished operation (`durationMs` NaN: counted, not timed), then forwards it. */
  operation(cache: string, operation: CacheOperation, source: AnswerSource, durationMs: number, count = 1): void {
    this.#aggregates.operation(cache, operation, source, durationMs, count)
    const sinks = this.#sinks
    for (let i = 0; i < sinks.length; i++) {
      try {
        sinks[i]?.operation?.(cache, operation, source, durationMs, count)
      } catch {
        // Isolated: see the class docs.
      }
    }
  }

  /** Records one tier lookup, then forwards it. */
  lookup(cache: string, tier: LookupTier, hit: boolean, count = 1): void {
    this.#aggregates.lookup(cache, tier, hit, count)
    const sinks = this.#sinks
    for (let i = 0; i < sinks.length; i++) {
      try {
        sinks[i]?.lookup?.(cache, tier, hit, count)
      } catch {
        // Isolated: see the class docs.
      }
    }
  }

  /** Records one compression, then forwards it. */
  compression(cache: string, bytesBefore: number, bytesAfter: number, durationMs: number): void {
    this.#aggregates.compression(cache, bytesBefore, bytesAfter, durationMs)
    const sinks = this.#sinks
    for (let i = 0; i < sinks.length; i++) {
      try {
        sinks[i]?.compression?.(cache, bytesBefore, bytesAfter, durationMs)
      } catch {
        // Isolated: see the class docs.
      }
    }
  }

  /** Records invalidations received by cross-instance coherence, then forwards them. */
  invalidationReceived(cache: string, keys: number, lagMs: number | undefined): void {
    this.#aggregates.invalidationReceived(cache, keys, lagMs)
    const sinks = this.#sinks
    for (let i = 0; i < sinks.length; i++) {
      try {
        sinks[i]?.invalidationReceived?.(cache, keys, lagMs)
      } catch {
        // Isolated: see the class docs.
      }
    }
  }

  /** Records one invalidation, then forwards it. */
  invalidation(cache: string, kind: InvalidationKind, keysRemoved: number): void {
    this.#aggregates.invalidation(cache, kind, keysRemoved)
    const sinks = this.#sinks
    for (let i = 0; i < sinks.length; i++) {
      try {
        sinks[i]?.invalidation?.(cache, kind, keysRemoved)
      } catch {
        // Isolated: see the class docs.
      }
    }
  }

  /** Records one failure, then forwards it. */
  error(cache: string, reason: ErrorReason): void {
    this.#aggregates.error(cache, reason)
    const sinks = this.#sinks
    for (let i = 0; i < sinks.length; i++) {
      try {
        sinks[i]?.error?.(cache, reason)
      } catch {
        // Isolated: see the class docs.
      }
    }
  }

  /** Records one circuit-breaker transition (stamped with the monitor's clock), then forwards it. */
  circuit(cache: string, from: BreakerState, to: BreakerState): void {
    this.#aggregates.circuit(cache, from, to)
    const sinks = this.#sinks
    for (let i = 0; i < sinks.length; i++) {
      try {
        sinks[i]?.circuit?.(cache, from, to)
      } catch {
        // Isolated: see the class docs.
      }
    }
  }

  /** Records one AI key generation, then forwards it. */
  keyGeneration(cache: string, durationMs: number): void {
    this.#aggregates.keyGeneration(cache, durationMs)
    const sinks = this.#sinks
    for (let i = 0; i < sinks.length; i++) {
      try {
        sinks[i]?.keyGeneration?.(cache, durationMs)
      } catch {
        // Isolated: see the class docs.
      }
    }
  }

  /**
   * Everything recorded since creation or the last `reset()`. Counters are read at the call;
   * memory is then read from every attached cache, Redis `used_memory` concurrently (a cache
   * whose INFO fails reports `undefined` rather than failing the summary).
   */
  async getPerformanceSummary(): Promise<PerformanceSummary> {
    this.flush()
    const counters = this.#aggregates.summarize()
    const memory = await Promise.all([...this.#caches].map(memoryOf))
    return { ...counters, memory }
  }

  /** Clears every recorded figure; attached caches and sinks stay. */
  reset(): void {
    this.#aggregates.reset()
  }
}

async function memoryOf(cache: MonitoredCache): Promise<CacheMemorySummary> {
  let l1: ReturnType<MonitoredCache['l1Usage']>
  let redisUsedMemoryBytes: number | undefined
  // One cache's failure must not hide the others' figures; its unknown figures are undefined.
  try {
    l1 = cache.l1Usage()
  } catch {
    l1 = undefined
  }
  try {
    redisUsedMemoryBytes = await cache.redisUsedMemory()
  } catch {
    redisUsedMemoryBytes = undefined
  }
  return {
    name: cache.name,
    backendType: cache.backendType,
    l1Entries: l1?.entries,
    l1SizeBytes: l1?.sizeBytes,
    redisUsedMemoryBytes,
  }
}

function resolveOptions(raw: unknown): { windowSeconds: number; now: () => number } {
  if (!isRecord(raw)) {
    throw new InvalidOptionsError([{ path: 'options', message: `expected an object; got ${describe(raw)}` }])
  }
  const issues: OptionIssue[] = []
  rejectUnknownKeys(raw, KNOWN_OPTIONS, '', issues)
  const windowSeconds = integerIn(raw.windowSeconds ?? 60, { path: 'windowSeconds', min: 1, max: 3600 }, issues)
  const now = raw.now ?? Date.now
  if (typeof now !== 'function') {
    issues.push({ path: 'now', message: `expected a function returning the time in ms; got ${describe(now)}` })
  }
  if (issues.length > 0 || windowSeconds === undefined || typeof now !== 'function') {
    throw new InvalidOptionsError(issues)
  }
  return { windowSeconds, now: now as () => number }
}
