import type { CacheError } from '../errors.js'
import { CacheEventEmitter, type CoherenceState, cacheEvents } from '../monitoring/events.js'
import type { CacheMonitor, ErrorReason, InvalidationKind } from '../monitoring/monitor-sink.js'
import type { BreakerState } from '../shared/breaker-state.js'
import { Instrumentation } from './instrumentation.js'
import { StatsCounters } from './stats-counters.js'

/**
 * The one place that counts. Every tier outcome the engine sees is reported here exactly once:
 * the counters behind `getStats()`, the `cache:*` events and the monitor. Counting is a field
 * increment; an event payload is built only when someone listens to that event, and the
 * monitor is a no-op when none is attached, so an unobserved cache pays increments only.
 */
export class Recorder {
  readonly stats = new StatsCounters()
  readonly events = new CacheEventEmitter()
  readonly instr: Instrumentation

  constructor(name: string, monitor: CacheMonitor | undefined) {
    this.instr = new Instrumentation(name, monitor, this.stats)
  }

  l1Hit(key: string): void {
    // The monitor reads L1 hits from this counter in batches.
    this.stats.l1Hits++
    if (this.events.has('cache:hit')) this.events.emit(cacheEvents.hit(key, 'l1'))
  }

  l1Miss(): void {
    this.stats.l1Misses++
    this.instr.lookup('l1', false)
  }

  /** A fresh entry found in L2. */
  l2Hit(key: string): void {
    this.stats.l2Hits++
    this.instr.lookup('l2', true)
    if (this.events.has('cache:hit')) this.events.emit(cacheEvents.hit(key, 'l2'))
  }

  /** Nothing fresh in L2 (absent, expired, overtaken or unreadable). */
  l2Miss(key: string): void {
    this.stats.l2Misses++
    this.instr.lookup('l2', false)
    this.miss(key)
  }

  /** A read no tier answered, for a cache without L2. */
  miss(key: string): void {
    if (this.events.has('cache:miss')) this.events.emit(cacheEvents.miss(key))
  }

  wrote(key: string): void {
    this.stats.sets++
    if (this.events.has('cache:set')) this.events.emit(cacheEvents.set(key))
  }

  deleted(kind: InvalidationKind, keys: readonly string[], count: number): void {
    this.instr.invalidation(kind, count)
    if (kind !== 'clear') this.stats.deletes += count
    if (this.events.has('cache:delete')) for (const key of keys) this.events.emit(cacheEvents.delete(key))
  }

  /** A failure that reaches `cache:error`: an L2 error, a skipped L2 call, a corrupt entry, a loader. */
  failure(error: CacheError, reason: ErrorReason, operation: string, key?: string): void {
    this.stats.errors++
    if (reason === 'decode') this.stats.decodeErrors++
    else if (reason === 'skipped') this.stats.l2Skipped++
    else if (reason !== 'loader') this.stats.l2Errors++
    this.instr.error(reason)
    if (this.events.has('cache:error')) this.events.emit(cacheEvents.error(error, operation, key))
  }

  /** An invalidation that could not reach Redis and waits to be applied when it is back. */
  queued(): void {
    this.stats.queuedInvalidations++
  }

  circuit(from: BreakerState, to: BreakerState): void {
    this.instr.monitor?.circuit?.(this.instr.name, from, to)
    this.events.emit(cacheEvents.circuit(from, to))
  }

  connection(connected: boolean): void {
    this.events.emit(cacheEvents.connection(connected))
  }

  coherence(from: CoherenceState, to: CoherenceState, reason: string): void {
    this.events.emit(cacheEvents.coherence(from, to, reason))
  }

  /** Keys another writer changed, applied to L1; `lagMs` when the write was this instance's own. */
  invalidationReceived(keys: number, lagMs: number | undefined): void {
    this.instr.monitor?.invalidationReceived?.(this.instr.name, keys, lagMs)
  }
}
