import { type TracingChannel, tracingChannel } from 'node:diagnostics_channel'
import type {
  AnswerSource,
  CacheOperation,
  ErrorReason,
  InvalidationKind,
  LookupTier,
  MonitoredCache,
  MonitorSink,
} from '../monitoring/monitor-sink.js'

/** A monitor a cache reports to: a `MonitorSink` that also learns which caches exist. */
export interface CacheMonitor extends MonitorSink {
  attach(cache: MonitoredCache): void
}

/**
 * What a `diagnostics_channel` subscriber receives for one operation, on the tracing channel
 * `strata-cache:<operation>` (events `start`, `end`, `asyncStart`, `asyncEnd`, `error`).
 * `source` and `hit` are filled in before the operation settles.
 */
export interface TraceContext {
  readonly cache: string
  readonly operation: CacheOperation
  /** The key, for single-key operations. */
  readonly key: string | undefined
  /** Where the answer came from, once known. */
  source?: AnswerSource
  /** For reads: whether a value was found. */
  hit?: boolean
  /** Set by diagnostics_channel: the resolved value or the error. */
  result?: unknown
  error?: unknown
}

const OPERATIONS: readonly CacheOperation[] = [
  'get', 'set', 'getOrSet', 'getOrSetMany', 'delete', 'getMany', 'setMany', 'deleteMany',
  'exists', 'getTtl', 'getKeys', 'invalidatePattern', 'invalidateTags', 'clear',
]

/** One tracing channel per operation, created once per process. */
const CHANNELS = new Map<CacheOperation, TracingChannel<object, TraceContext>>(
  OPERATIONS.map((op) => [op, tracingChannel<object, TraceContext>(`strata-cache:${op}`)]),
)

/** With a monitor, one answer in this many from L1 is timed (the rest are only counted). */
const L1_SAMPLE_EVERY = 128

/**
 * Reports a cache's operations to its monitor and to `diagnostics_channel` subscribers. Both
 * cost nothing when absent: no clock read, no allocation. With a monitor, L1 answers (about
 * 100 ns each) are counted every time but timed one in 128, because two clock reads would cost
 * as much as the hit itself; every other answer is timed.
 */
export class Instrumentation {
  readonly name: string
  readonly monitor: CacheMonitor | undefined
  #tick = 0

  constructor(name: string, monitor: CacheMonitor | undefined) {
    this.name = name
    this.monitor = monitor
  }

  /** The tracing channel of `operation` when someone subscribes to it, else `undefined`. */
  channel(operation: CacheOperation): TracingChannel<object, TraceContext> | undefined {
    const channel = CHANNELS.get(operation)
    return channel?.hasSubscribers ? channel : undefined
  }

  /** Start time for an operation that may end in L1: sampled, `NaN` when not timed. */
  startSampled(): number {
    if (this.monitor === undefined) return Number.NaN
    return ++this.#tick % L1_SAMPLE_EVERY === 0 ? performance.now() : Number.NaN
  }

  /** Start time for an operation that goes past L1; `NaN` without a monitor. */
  start(): number {
    return this.monitor === undefined ? Number.NaN : performance.now()
  }

  /** Reports one finished operation (`startedAt` NaN: counted, not timed). */
  end(operation: CacheOperation, source: AnswerSource, startedAt: number): void {
    this.monitor?.operation?.(this.name, operation, source, Number.isNaN(startedAt) ? Number.NaN : performance.now() - startedAt)
  }

  lookup(tier: LookupTier, hit: boolean): void {
    this.monitor?.lookup?.(this.name, tier, hit)
  }

  error(reason: ErrorReason): void {
    this.monitor?.error?.(this.name, reason)
  }

  invalidation(kind: InvalidationKind, keysRemoved: number): void {
    this.monitor?.invalidation?.(this.name, kind, keysRemoved)
  }
}
