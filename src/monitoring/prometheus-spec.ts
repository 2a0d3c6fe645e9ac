/**
 * The metric set, written once for both exporters: each metric's Prometheus name, its
 * OpenTelemetry instrument name and unit, its labels (attributes) and its help text. The
 * OpenTelemetry names are chosen so that the OpenTelemetry Prometheus exporter derives the
 * Prometheus names from them (dots to `_`, `_seconds` for unit `s`, `_total` for counters).
 */
import type { BreakerState } from '../shared/breaker-state.js'

/** Value of the circuit state gauge: 0 closed, 1 half-open, 2 open (higher is worse). */
export const CIRCUIT_STATE_VALUE: Readonly<Record<BreakerState, number>> = Object.freeze({
  closed: 0,
  'half-open': 1,
  open: 2,
})

/** A counter: a running total per label set. */
export interface CounterSpec {
  readonly prometheus: string
  readonly otel: string
  /** UCUM unit of the OpenTelemetry instrument (`{annotation}` for counts of things). */
  readonly unit: string
  readonly labels: readonly string[]
  readonly help: string
}

/** A duration histogram, in seconds in both exporters. */
export interface HistogramSpec {
  readonly prometheus: string
  readonly otel: string
  readonly labels: readonly string[]
  readonly help: string
}

/** Every counter, by the key the sink uses. */
export const COUNTERS = {
  requests: {
    prometheus: 'requests_total',
    otel: 'requests',
    unit: '{request}',
    labels: ['cache', 'tier', 'result'],
    help: 'Tier lookups by tier (l1, l2) and result (hit, miss).',
  },
  operations: {
    prometheus: 'operations_total',
    otel: 'operations',
    unit: '{operation}',
    labels: ['cache', 'operation', 'source'],
    help: 'Public cache operations by operation and answer source (l1, l2, loader, none).',
  },
  errors: {
    prometheus: 'errors_total',
    otel: 'errors',
    unit: '{error}',
    labels: ['cache', 'reason'],
    help: 'Failures by reason (deadline, connection, skipped, decode, loader, other).',
  },
  invalidations: {
    prometheus: 'invalidations_total',
    otel: 'invalidations',
    unit: '{invalidation}',
    labels: ['cache', 'kind'],
    help: 'Invalidations by kind (delete, pattern, tag, clear).',
  },
  invalidatedKeys: {
    prometheus: 'invalidated_keys_total',
    otel: 'invalidated_keys',
    unit: '{key}',
    labels: ['cache', 'kind'],
    help: 'Keys removed by invalidations, by kind.',
  },
  coherenceInvalidations: {
    prometheus: 'coherence_invalidations_received_total',
    otel: 'coherence.invalidations_received',
    unit: '{key}',
    labels: ['cache'],
    help: 'Keys Redis reported as changed to this instance (a database flush counts 1), applied to its L1.',
  },
  compressionBytes: {
    prometheus: 'compression_bytes_total',
    otel: 'compression.bytes',
    unit: 'By',
    labels: ['cache', 'stage'],
    help: 'Bytes of compressed values before and after compression, by stage.',
  },
  circuitTransitions: {
    prometheus: 'circuit_transitions_total',
    otel: 'circuit.transitions',
    unit: '{transition}',
    labels: ['cache', 'from', 'to'],
    help: 'L2 circuit breaker state changes.',
  },
} as const satisfies Record<string, CounterSpec>

/** Every histogram, by the key the sink uses. */
export const HISTOGRAMS = {
  operationDuration: {
    prometheus: 'operation_duration_seconds',
    otel: 'operation.duration',
    labels: ['cache', 'operation', 'source'],
    help: 'Duration of timed public cache operations (every L2, loader or miss answer; a sample of L1 answers).',
  },
  compressionDuration: {
    prometheus: 'compression_duration_seconds',
    otel: 'compression.duration',
    labels: ['cache'],
    help: 'Time spent compressing one value.',
  },
  invalidationLag: {
    prometheus: 'coherence_invalidation_lag_seconds',
    otel: 'coherence.invalidation_lag',
    labels: ['cache'],
    help: 'Time from an own write resolving to its invalidation being applied to L1 (where both ends are known).',
  },
  keyGenerationDuration: {
    prometheus: 'ai_key_generation_duration_seconds',
    otel: 'ai.key_generation.duration',
    labels: ['cache'],
    help: 'Time spent generating one AI cache key.',
  },
} as const satisfies Record<string, HistogramSpec>

/** The circuit state gauge. */
export const CIRCUIT_STATE = {
  prometheus: 'circuit_state',
  otel: 'circuit.state',
  unit: '1',
  labels: ['cache'],
  help: 'L2 circuit breaker state: 0 closed, 1 half-open, 2 open.',
} as const

/** Key of a counter in {@link COUNTERS}. */
export type CounterKey = keyof typeof COUNTERS

/** Key of a histogram in {@link HISTOGRAMS}. */
export type HistogramKey = keyof typeof HISTOGRAMS

/** `build` applied to every entry of `table`, keyed alike. */
export function mapSpecs<K extends string, S, T>(table: Record<K, S>, build: (spec: S) => T): Record<K, T> {
  const out = {} as Record<K, T>
  for (const key of Object.keys(table) as K[]) out[key] = build(table[key])
  return out
}
