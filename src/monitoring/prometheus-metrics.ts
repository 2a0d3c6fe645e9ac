/**
 * The Prometheus metrics (see `prometheus-spec.ts`) and the sink that feeds them. prom-client is
 * passed in (see `prometheus.ts`), so this module has no runtime import of the peer.
 */
import type * as PromClient from 'prom-client'
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

/** The parts of the `prom-client` module the exporter uses. */
export type PromClientModule = Pick<typeof PromClient, 'Counter' | 'Gauge' | 'Histogram' | 'Registry'>

/** A prom-client registry of either exposition format. */
export type PromRegistry =
  PromClient.Registry<PromClient.PrometheusContentType> | PromClient.Registry<PromClient.OpenMetricsContentType>

/** Every metric of the exporter. Counter totals live in `counts` and reach prom-client on collect. */
export interface PrometheusMetrics {
  readonly counts: Readonly<Record<CounterKey, SeriesCounts>>
  readonly histograms: Readonly<Record<HistogramKey, PromClient.Histogram>>
  readonly circuitState: PromClient.Gauge
  /** Run before a scrape reads the totals. */
  readonly readHooks: ReadHooks
  /** The prom-client metrics, registered nowhere yet, with their full names. */
  readonly all: readonly { readonly name: string; readonly metric: PromClient.Metric }[]
}

/** Builds every metric with the given name prefix and duration buckets, registered nowhere yet. */
export function buildMetrics(client: PromClientModule, prefix: string, buckets: readonly number[]): PrometheusMetrics {
  const all: { name: string; metric: PromClient.Metric }[] = []
  const readHooks = new ReadHooks()
  const counts = mapSpecs(COUNTERS, ({ prometheus, help, labels }) => {
    const series = new SeriesCounts(labels)
    const name = prefix + prometheus
    const metric: PromClient.Counter = new client.Counter({
      name,
      help,
      labelNames: labels,
      registers: [],
      collect: () => {
        readHooks.run()
        exportCounts(series, metric)
      },
    })
    all.push({ name, metric })
    return series
  })
  const histograms = mapSpecs(HISTOGRAMS, ({ prometheus, help, labels }) => {
    const name = prefix + prometheus
    const metric = new client.Histogram({ name, help, labelNames: labels, buckets: [...buckets], registers: [] })
    all.push({ name, metric })
    return metric
  })
  const { prometheus, help, labels } = CIRCUIT_STATE
  const circuitState = new client.Gauge({ name: prefix + prometheus, help, labelNames: labels, registers: [] })
  all.push({ name: prefix + prometheus, metric: circuitState })
  return { counts, histograms, circuitState, all, readHooks }
}

/** Adds to `metric` what `series` gained since the last collection (zero series appear too). */
function exportCounts(series: SeriesCounts, metric: PromClient.Counter): void {
  for (const cell of series.cells) {
    const delta = cell.total - cell.exported
    if (delta > 0 || cell.total === 0) metric.inc(cell.labels, delta)
    cell.exported = cell.total
  }
}

/** Registers every metric in `registry`. */
export function registerAll(metrics: PrometheusMetrics, registry: PromRegistry): void {
  for (const { metric } of metrics.all) registry.registerMetric(metric)
}

/**
 * The sink. Counting costs a few `Map` lookups (see `SeriesCounts`); prom-client is touched only
 * by a timed operation (one histogram observation) and by a circuit change.
 */
export function createPrometheusSink({ counts, histograms, circuitState, readHooks }: PrometheusMetrics): MonitorSink {
  return new MetricSink({
    counts,
    readHooks,
    duration: (histogram, seconds, labels) => histograms[histogram].observe(labels, seconds),
    circuitState: (cache, state) => circuitState.set({ cache }, CIRCUIT_STATE_VALUE[state]),
  })
}
