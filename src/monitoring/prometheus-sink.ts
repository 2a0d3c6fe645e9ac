/**
 * The `MonitorSink` behind both exporters. It turns each report into counter increments
 * (`SeriesCounts`, cheap on the hot path), duration observations and circuit state changes; a
 * `MetricBackend` says where the durations and states go (prom-client or an OpenTelemetry meter).
 */
import type { BreakerState } from '../shared/breaker-state.js'
import type {
  AnswerSource,
  CacheOperation,
  ErrorReason,
  InvalidationKind,
  LookupTier,
  MonitorSink,
} from './monitor-sink.js'
import type { ReadHooks, SeriesCounts } from './prometheus-series.js'
import type { CounterKey, HistogramKey } from './prometheus-spec.js'

/** Where a `MetricSink` puts what is not a plain counter. */
export interface MetricBackend {
  /** Running totals of every counter, with label values in the spec's label order. */
  readonly counts: Readonly<Record<CounterKey, SeriesCounts>>
  /** Records one duration, in seconds, with its labels (the histogram spec's label names). */
  duration(histogram: HistogramKey, seconds: number, labels: Readonly<Record<string, string>>): void
  /** Sets the circuit state of `cache`. */
  circuitState(cache: string, state: BreakerState): void
  /** Run before the totals are read; `bind()` adds the monitor's flush here. */
  readonly readHooks: ReadHooks
}

/**
 * Labels are bounded enums plus the cache name, never a key. Amounts a counter cannot take
 * (negative, not finite) and untimed durations (`NaN`: caches time only a sample of L1 answers)
 * are skipped rather than passed on: prom-client would throw, and a sink must not.
 */
export class MetricSink implements Required<MonitorSink> {
  readonly #backend: MetricBackend
  readonly #counts: Readonly<Record<CounterKey, SeriesCounts>>
  /** Caches seen using L2. Their circuit state starts as closed, so a panel shows a value. */
  readonly #l2Caches = new Set<string>()

  constructor(backend: MetricBackend) {
    this.#backend = backend
    this.#counts = backend.counts
  }

  /** Remembers the monitor's flush, run before each scrape or collection reads the totals. */
  bind(flush: () => void): void {
    this.#backend.readHooks.add(flush)
  }

  operation(cache: string, operation: CacheOperation, source: AnswerSource, durationMs: number, count = 1): void {
    if (isCountable(count)) this.#counts.operations.add(count, cache, operation, source)
    const seconds = msToSeconds(durationMs)
    if (seconds !== undefined) this.#backend.duration('operationDuration', seconds, { cache, operation, source })
  }

  lookup(cache: string, tier: LookupTier, hit: boolean, count = 1): void {
    if (isCountable(count)) this.#counts.requests.add(count, cache, tier, hit ? 'hit' : 'miss')
    if (tier === 'l2' && !this.#l2Caches.has(cache)) {
      this.#l2Caches.add(cache)
      this.#backend.circuitState(cache, 'closed')
    }
  }

  compression(cache: string, bytesBefore: number, bytesAfter: number, durationMs: number): void {
    if (isCountable(bytesBefore)) this.#counts.compressionBytes.add(bytesBefore, cache, 'before')
    if (isCountable(bytesAfter)) this.#counts.compressionBytes.add(bytesAfter, cache, 'after')
    const seconds = msToSeconds(durationMs)
    if (seconds !== undefined) this.#backend.duration('compressionDuration', seconds, { cache })
  }

  invalidation(cache: string, kind: InvalidationKind, keysRemoved: number): void {
    this.#counts.invalidations.add(1, cache, kind)
    if (isCountable(keysRemoved)) this.#counts.invalidatedKeys.add(keysRemoved, cache, kind)
  }

  error(cache: string, reason: ErrorReason): void {
    this.#counts.errors.add(1, cache, reason)
  }

  circuit(cache: string, from: BreakerState, to: BreakerState): void {
    this.#counts.circuitTransitions.add(1, cache, from, to)
    this.#l2Caches.add(cache)
    this.#backend.circuitState(cache, to)
  }

  invalidationReceived(cache: string, keys: number, lagMs: number | undefined): void {
    if (isCountable(keys)) this.#counts.coherenceInvalidations.add(keys, cache)
    const seconds = lagMs === undefined ? undefined : msToSeconds(lagMs)
    if (seconds !== undefined) this.#backend.duration('invalidationLag', seconds, { cache })
  }

  keyGeneration(cache: string, durationMs: number): void {
    const seconds = msToSeconds(durationMs)
    if (seconds !== undefined) this.#backend.duration('keyGenerationDuration', seconds, { cache })
  }
}

/** A duration in ms as seconds; `undefined` for a value that is not a finite number. */
function msToSeconds(durationMs: number): number | undefined {
  if (!Number.isFinite(durationMs)) return undefined
  // A negative duration can only come from a clock step; count it as instantaneous.
  return durationMs > 0 ? durationMs / 1000 : 0
}

/** Whether `amount` can be added to a counter (finite and not negative). */
function isCountable(amount: number): boolean {
  return Number.isFinite(amount) && amount >= 0
}
