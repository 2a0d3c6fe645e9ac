/**
 * The OpenTelemetry instruments (see `prometheus-spec.ts`) and the sink that records into them.
 * The meter is passed in (see `opentelemetry.ts`); this module only imports types of the peer.
 */
import type { Histogram, Meter, ObservableResult } from '@opentelemetry/api'
import type { BreakerState } from '../shared/breaker-state.js'
import type { MonitorSink } from './monitor-sink.js'
import { ReadHooks, SeriesCounts } from './prometheus-series.js'
import { MetricSink } from './prometheus-sink.js'
import {
  CIRCUIT_STATE,
  CIRCUIT_STATE_VALUE,
  COUNTERS,
  type CounterKey,
  HISTOGRAMS,
  type HistogramKey,
  mapSpecs,
} from './prometheus-spec.js'

/** Every instrument of the exporter, with the state its observable instruments report. */
export interface OtelInstruments {
  /** Running totals, read by the observable counters at each collection. */
  readonly counts: Readonly<Record<CounterKey, SeriesCounts>>
  readonly histograms: Readonly<Record<HistogramKey, Histogram>>
  /** Circuit state per cache, read by the `circuit.state` observable gauge. */
  readonly circuitStates: Map<string, BreakerState>
  /** Run before a collection reads the totals. */
  readonly readHooks: ReadHooks
  /** Unregisters every observable callback. */
  readonly close: () => void
}

/**
 * Creates the instruments. Names follow the OpenTelemetry conventions (dotted namespaces, no
 * `_total` suffix, UCUM units, durations in seconds). Counters are observable: the sink keeps
 * running totals (cheap on the hot path) and the SDK reads them when it collects.
 */
export function createInstruments(meter: Meter, prefix: string, buckets: readonly number[]): OtelInstruments {
  const closers: Array<() => void> = []
  const readHooks = new ReadHooks()
  const counts = mapSpecs(COUNTERS, ({ otel, unit, help, labels }) => {
    const series = new SeriesCounts(labels)
    const instrument = meter.createObservableCounter(prefix + otel, { unit, description: help })
    const observe = (result: ObservableResult): void => {
      readHooks.run()
      for (const cell of series.cells) result.observe(cell.total, cell.labels)
    }
    instrument.addCallback(observe)
    closers.push(() => instrument.removeCallback(observe))
    return series
  })
  const histograms = mapSpecs(HISTOGRAMS, ({ otel, help }) =>
    meter.createHistogram(prefix + otel, {
      unit: 's',
      description: help,
      advice: { explicitBucketBoundaries: [...buckets] },
    }),
  )
  const circuitStates = new Map<string, BreakerState>()
  closers.push(observeCircuit(meter, prefix, circuitStates))
  return { counts, histograms, circuitStates, readHooks, close: () => closers.forEach((close) => close()) }
}

/** The circuit state gauge, read from `states`; returns its unregistration. */
function observeCircuit(meter: Meter, prefix: string, states: Map<string, BreakerState>): () => void {
  const gauge = meter.createObservableGauge(prefix + CIRCUIT_STATE.otel, {
    unit: CIRCUIT_STATE.unit,
    description: CIRCUIT_STATE.help,
  })
  const observe = (result: ObservableResult): void => {
    for (const [cache, state] of states) result.observe(CIRCUIT_STATE_VALUE[state], { cache })
  }
  gauge.addCallback(observe)
  return () => gauge.removeCallback(observe)
}

/** The sink. Attribute names and values equal the Prometheus exporter's labels. */
export function createOtelSink({ counts, histograms, circuitStates, readHooks }: OtelInstruments): MonitorSink {
  return new MetricSink({
    counts,
    readHooks,
    duration: (histogram, seconds, labels) => histograms[histogram].record(seconds, labels),
    circuitState: (cache, state) => circuitStates.set(cache, state),
  })
}
