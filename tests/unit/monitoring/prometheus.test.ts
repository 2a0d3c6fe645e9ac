import {
  AggregationTemporality,
  DataPointType,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics'
import { describe, expect, it } from 'vitest'
import type { MonitorSink } from '../../../src/monitoring/monitor-sink.js'
import { createOpenTelemetryExporter } from '../../../src/monitoring/opentelemetry.js'
import { createPrometheusExporter } from '../../../src/monitoring/prometheus.js'
import { serveMetrics } from '../../helpers/metrics-server.js'

/** One sample line of the Prometheus text format. */
interface Sample {
  name: string
  labels: Record<string, string>
  value: number
}

/** Parses the Prometheus text exposition format (0.0.4): TYPE comments and sample lines. */
function parsePrometheusText(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>()
  const samples: Sample[] = []
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    const type = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (type) types.set(type[1]!, type[2]!)
    if (line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+-?\d+)?$/.exec(line)
    if (!match) throw new Error(`not a sample line: ${line}`)
    samples.push({ name: match[1]!, labels: parseLabels(match[2] ?? ''), value: parseValue(match[3]!) })
  }
  return { types, samples }
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {}
  const pattern = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(?:,|$)/gy
  let match: RegExpExecArray | null
  while (pattern.lastIndex < text.length && (match = pattern.exec(text)) !== null) {
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c))
  }
  if (pattern.lastIndex !== text.length && text.trim() !== '') throw new Error(`bad labels: {${text}}`)
  return labels
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity
  if (text === '-Inf') return -Infinity
  return Number(text)
}

/** The value of the one sample with exactly these labels; `undefined` when there is none. */
function valueOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const wanted = JSON.stringify(Object.entries(labels).sort())
  const found = samples.filter((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === wanted)
  if (found.length > 1) throw new Error(`${found.length} samples for ${name} ${wanted}`)
  return found[0]?.value
}

/**
 * A fixed sequence of sink calls; `EXPECTED` holds what it must produce. Shared with the
 * OpenTelemetry comparison below.
 */
function playScript(sink: MonitorSink): void {
  for (let i = 0; i < 3; i++) sink.lookup?.('users', 'l1', false)
  for (let i = 0; i < 8; i++) sink.lookup?.('users', 'l1', true)
  for (let i = 0; i < 2; i++) sink.lookup?.('users', 'l2', true)
  sink.lookup?.('users', 'l2', false)
  for (let i = 0; i < 5; i++) sink.operation?.('users', 'get', 'l1', 0.05)
  // L1 answers are timed one in many: the others are reported with NaN, counted but not timed.
  for (let i = 0; i < 3; i++) sink.operation?.('users', 'get', 'l1', Number.NaN)
  for (let i = 0; i < 2; i++) sink.operation?.('users', 'get', 'l2', 2)
  sink.operation?.('users', 'get', 'none', 3)
  for (let i = 0; i < 4; i++) sink.operation?.('users', 'set', 'none', 1.5)
  sink.operation?.('users', 'getOrSet', 'loader', 40)
  sink.error?.('users', 'deadline')
  sink.error?.('users', 'deadline')
  sink.error?.('users', 'decode')
  sink.invalidation?.('users', 'delete', 1)
  sink.invalidation?.('users', 'delete', 1)
  sink.invalidation?.('users', 'pattern', 7)
  sink.invalidation?.('users', 'tag', 0)
  sink.invalidation?.('users', 'clear', 12)
  sink.compression?.('users', 1000, 300, 0.2)
  sink.compression?.('users', 2000, 500, 0.2)
  sink.circuit?.('users', 'closed', 'open')
  sink.circuit?.('users', 'open', 'half-open')
  sink.circuit?.('users', 'half-open', 'closed')
  sink.circuit?.('users', 'closed', 'open')
  for (let i = 0; i < 3; i++) sink.keyGeneration?.('ai', 0.03)
  // Coherence: another instance's write (no lag known), then two own writes (lag known).
  sink.invalidationReceived?.('users', 3, undefined)
  sink.invalidationReceived?.('users', 1, 2)
  sink.invalidationReceived?.('users', 1, 30)
  sink.lookup?.('sessions', 'l1', true)
  sink.lookup?.('sessions', 'l1', true)
  sink.operation?.('sessions', 'get', 'l1', 0.01)
  sink.operation?.('sessions', 'get', 'l1', 0.01)
}

type Expectation = [name: string, labels: Record<string, string>, value: number]

const EXPECTED: Expectation[] = [
  ['strata_cache_requests_total', { cache: 'users', tier: 'l1', result: 'miss' }, 3],
  ['strata_cache_requests_total', { cache: 'users', tier: 'l1', result: 'hit' }, 8],
  ['strata_cache_requests_total', { cache: 'users', tier: 'l2', result: 'hit' }, 2],
  ['strata_cache_requests_total', { cache: 'users', tier: 'l2', result: 'miss' }, 1],
  ['strata_cache_requests_total', { cache: 'sessions', tier: 'l1', result: 'hit' }, 2],
  ['strata_cache_operations_total', { cache: 'users', operation: 'get', source: 'l1' }, 8],
  ['strata_cache_operations_total', { cache: 'users', operation: 'get', source: 'l2' }, 2],
  ['strata_cache_operations_total', { cache: 'users', operation: 'get', source: 'none' }, 1],
  ['strata_cache_operations_total', { cache: 'users', operation: 'set', source: 'none' }, 4],
  ['strata_cache_operations_total', { cache: 'users', operation: 'getOrSet', source: 'loader' }, 1],
  ['strata_cache_operations_total', { cache: 'sessions', operation: 'get', source: 'l1' }, 2],
  ['strata_cache_operation_duration_seconds_count', { cache: 'users', operation: 'get', source: 'l1' }, 5],
  [
    'strata_cache_operation_duration_seconds_bucket',
    { cache: 'users', operation: 'get', source: 'l1', le: '0.0001' },
    5,
  ],
  [
    'strata_cache_operation_duration_seconds_bucket',
    { cache: 'users', operation: 'get', source: 'l2', le: '0.001' },
    0,
  ],
  [
    'strata_cache_operation_duration_seconds_bucket',
    { cache: 'users', operation: 'get', source: 'l2', le: '0.0025' },
    2,
  ],
  ['strata_cache_operation_duration_seconds_bucket', { cache: 'users', operation: 'get', source: 'l2', le: '+Inf' }, 2],
  [
    'strata_cache_operation_duration_seconds_bucket',
    { cache: 'users', operation: 'get', source: 'none', le: '0.0025' },
    0,
  ],
  [
    'strata_cache_operation_duration_seconds_bucket',
    { cache: 'users', operation: 'get', source: 'none', le: '0.005' },
    1,
  ],
  ['strata_cache_operation_duration_seconds_count', { cache: 'users', operation: 'set', source: 'none' }, 4],
  [
    'strata_cache_operation_duration_seconds_bucket',
    { cache: 'users', operation: 'getOrSet', source: 'loader', le: '0.025' },
    0,
  ],
  [
    'strata_cache_operation_duration_seconds_bucket',
    { cache: 'users', operation: 'getOrSet', source: 'loader', le: '0.05' },
    1,
  ],
  ['strata_cache_operation_duration_seconds_count', { cache: 'sessions', operation: 'get', source: 'l1' }, 2],
  ['strata_cache_errors_total', { cache: 'users', reason: 'deadline' }, 2],
  ['strata_cache_errors_total', { cache: 'users', reason: 'decode' }, 1],
  ['strata_cache_invalidations_total', { cache: 'users', kind: 'delete' }, 2],
  ['strata_cache_invalidations_total', { cache: 'users', kind: 'pattern' }, 1],
  ['strata_cache_invalidations_total', { cache: 'users', kind: 'tag' }, 1],
  ['strata_cache_invalidations_total', { cache: 'users', kind: 'clear' }, 1],
  ['strata_cache_invalidated_keys_total', { cache: 'users', kind: 'delete' }, 2],
  ['strata_cache_invalidated_keys_total', { cache: 'users', kind: 'pattern' }, 7],
  ['strata_cache_invalidated_keys_total', { cache: 'users', kind: 'tag' }, 0],
  ['strata_cache_invalidated_keys_total', { cache: 'users', kind: 'clear' }, 12],
  ['strata_cache_compression_bytes_total', { cache: 'users', stage: 'before' }, 3000],
  ['strata_cache_compression_bytes_total', { cache: 'users', stage: 'after' }, 800],
  ['strata_cache_compression_duration_seconds_count', { cache: 'users' }, 2],
  ['strata_cache_circuit_transitions_total', { cache: 'users', from: 'closed', to: 'open' }, 2],
  ['strata_cache_circuit_transitions_total', { cache: 'users', from: 'open', to: 'half-open' }, 1],
  ['strata_cache_circuit_transitions_total', { cache: 'users', from: 'half-open', to: 'closed' }, 1],
  ['strata_cache_circuit_state', { cache: 'users' }, 2],
  ['strata_cache_ai_key_generation_duration_seconds_count', { cache: 'ai' }, 3],
  ['strata_cache_ai_key_generation_duration_seconds_bucket', { cache: 'ai', le: '0.0001' }, 3],
  ['strata_cache_coherence_invalidations_received_total', { cache: 'users' }, 5],
  ['strata_cache_coherence_invalidation_lag_seconds_count', { cache: 'users' }, 2],
  ['strata_cache_coherence_invalidation_lag_seconds_bucket', { cache: 'users', le: '0.001' }, 0],
  ['strata_cache_coherence_invalidation_lag_seconds_bucket', { cache: 'users', le: '0.0025' }, 1],
  ['strata_cache_coherence_invalidation_lag_seconds_bucket', { cache: 'users', le: '0.025' }, 1],
  ['strata_cache_coherence_invalidation_lag_seconds_bucket', { cache: 'users', le: '0.05' }, 2],
]

const serve = serveMetrics

async function scrape(url: string): Promise<Sample[]> {
  const response = await fetch(url)
  expect(response.status).toBe(200)
  return parsePrometheusText(await response.text()).samples
}

describe('Prometheus exporter', () => {
  it('serves counters over HTTP that match the recorded calls exactly', async () => {
    const exporter = await createPrometheusExporter()
    playScript(exporter.sink)
    const samples = await scrape(await serve(exporter))
    for (const [name, labels, value] of EXPECTED) {
      expect({ name, labels, value: valueOf(samples, name, labels) }).toEqual({ name, labels, value })
    }
    // No counter series beyond the expected ones.
    const key = (name: string, labels: Record<string, string>): string =>
      name + JSON.stringify(Object.entries(labels).sort())
    const scrapedCounters = samples.filter((s) => s.name.endsWith('_total')).map((s) => key(s.name, s.labels))
    const expectedCounters = EXPECTED.filter(([name]) => name.endsWith('_total')).map(([name, labels]) =>
      key(name, labels),
    )
    expect(scrapedCounters.sort()).toEqual(expectedCounters.sort())
    const requests = samples.filter((s) => s.name === 'strata_cache_requests_total')
    expect(requests.reduce((sum, s) => sum + s.value, 0)).toBe(16)
    const l2Sum = valueOf(samples, 'strata_cache_operation_duration_seconds_sum', {
      cache: 'users',
      operation: 'get',
      source: 'l2',
    })
    expect(l2Sum).toBeCloseTo(0.004, 9)
  })

  it('declares conventional types, a _total suffix on counters and seconds on histograms', async () => {
    const exporter = await createPrometheusExporter()
    playScript(exporter.sink)
    const { types } = parsePrometheusText(await exporter.metrics())
    expect(Object.fromEntries(types)).toEqual({
      strata_cache_requests_total: 'counter',
      strata_cache_operations_total: 'counter',
      strata_cache_operation_duration_seconds: 'histogram',
      strata_cache_errors_total: 'counter',
      strata_cache_invalidations_total: 'counter',
      strata_cache_invalidated_keys_total: 'counter',
      strata_cache_compression_bytes_total: 'counter',
      strata_cache_compression_duration_seconds: 'histogram',
      strata_cache_circuit_transitions_total: 'counter',
      strata_cache_circuit_state: 'gauge',
      strata_cache_ai_key_generation_duration_seconds: 'histogram',
      strata_cache_coherence_invalidations_received_total: 'counter',
      strata_cache_coherence_invalidation_lag_seconds: 'histogram',
    })
  })

  it('counts coherence invalidations received and observes only the lags that were reported', async () => {
    const exporter = await createPrometheusExporter()
    const { sink } = exporter
    expect(() => {
      sink.invalidationReceived?.('app', 4, undefined) // another instance's write: no lag
      sink.invalidationReceived?.('app', 1, 3) // own write, 3 ms
      sink.invalidationReceived?.('app', 1, 700) // own write, 0.7 s
      sink.invalidationReceived?.('app', 1, undefined) // a database flush counts 1
      sink.invalidationReceived?.('app', 1, -2) // a clock step: observed as 0 s
      sink.invalidationReceived?.('app', 1, Number.NaN) // not timed: counted, not observed
      sink.invalidationReceived?.('app', -1, undefined) // not countable: skipped
      sink.invalidationReceived?.('app', Number.NaN, Number.POSITIVE_INFINITY) // skipped, not observed
      sink.invalidationReceived?.('other', 2, 1)
    }).not.toThrow()
    const text = await exporter.metrics()
    expect(text).toContain('\nstrata_cache_coherence_invalidations_received_total{cache="app"} 9\n')
    expect(text).toContain('\nstrata_cache_coherence_invalidations_received_total{cache="other"} 2\n')
    const { samples } = parsePrometheusText(text)
    const lag = (suffix: string, labels: Record<string, string> = {}): number | undefined =>
      valueOf(samples, `strata_cache_coherence_invalidation_lag_seconds_${suffix}`, { cache: 'app', ...labels })
    // Three reports carried a finite lag (3 ms, 700 ms, and -2 ms clamped to 0).
    expect(lag('count')).toBe(3)
    expect(lag('sum')).toBeCloseTo(0.703, 9)
    expect(lag('bucket', { le: '0.0001' })).toBe(1)
    expect(lag('bucket', { le: '0.0025' })).toBe(1)
    expect(lag('bucket', { le: '0.005' })).toBe(2)
    expect(lag('bucket', { le: '0.5' })).toBe(2)
    expect(lag('bucket', { le: '1' })).toBe(3)
    expect(lag('bucket', { le: '+Inf' })).toBe(3)
    expect(valueOf(samples, 'strata_cache_coherence_invalidation_lag_seconds_count', { cache: 'other' })).toBe(1)
  })

  it('exposes no lag series for a cache whose reports never carried a lag', async () => {
    const exporter = await createPrometheusExporter()
    exporter.sink.invalidationReceived?.('app', 2, undefined)
    exporter.sink.invalidationReceived?.('app', 1, undefined)
    const { samples } = parsePrometheusText(await exporter.metrics())
    expect(valueOf(samples, 'strata_cache_coherence_invalidations_received_total', { cache: 'app' })).toBe(3)
    expect(samples.filter((s) => s.name.startsWith('strata_cache_coherence_invalidation_lag_seconds'))).toEqual([])
  })
})

/**
 * OpenTelemetry data points as the samples the OpenTelemetry Prometheus exporter would print
 * (dots to underscores, `_seconds` for unit s, `_total` on counters, cumulative buckets).
 */
function otelAsPrometheus(resource: ResourceMetrics): Sample[] {
  const out: Sample[] = []
  for (const metric of resource.scopeMetrics.flatMap((scope) => scope.metrics)) {
    const base = metric.descriptor.name.replaceAll('.', '_') + (metric.descriptor.unit === 's' ? '_seconds' : '')
    for (const point of metric.dataPoints) {
      const labels = point.attributes as Record<string, string>
      if (metric.dataPointType === DataPointType.SUM)
        out.push({ name: `${base}_total`, labels, value: point.value as number })
      if (metric.dataPointType === DataPointType.GAUGE) out.push({ name: base, labels, value: point.value as number })
      if (metric.dataPointType !== DataPointType.HISTOGRAM) continue
      const { buckets, count, sum } = point.value as Histogram
      let cumulative = 0
      buckets.counts.forEach((n, i) => {
        cumulative += n
        const le = i < buckets.boundaries.length ? String(buckets.boundaries[i]) : '+Inf'
        out.push({ name: `${base}_bucket`, labels: { ...labels, le }, value: cumulative })
      })
      out.push(
        { name: `${base}_sum`, labels, value: sum ?? Number.NaN },
        { name: `${base}_count`, labels, value: count },
      )
    }
  }
  return out
}

/** Samples in a stable order, with float sums rounded so both sides compare exactly. */
function normalize(samples: Sample[]): string[] {
  return samples
    .map((s) => `${s.name}${JSON.stringify(Object.entries(s.labels).sort())} ${Number(s.value.toFixed(9))}`)
    .sort()
}

describe('OpenTelemetry exporter beside the Prometheus exporter', () => {
  it('sees exactly the numbers the Prometheus scrape shows, through the SDK in-memory exporter', async () => {
    const memory = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
    const reader = new PeriodicExportingMetricReader({ exporter: memory, exportIntervalMillis: 3_600_000 })
    const meterProvider = new MeterProvider({ readers: [reader] })
    const otel = await createOpenTelemetryExporter({ meterProvider })
    const prometheus = await createPrometheusExporter()
    playScript(otel.sink)
    playScript(prometheus.sink)

    await reader.forceFlush()
    const exported = memory.getMetrics().at(-1)
    expect(exported).toBeDefined()
    const fromOtel = otelAsPrometheus(exported!)
    const scraped = await scrape(await serve(prometheus))
    expect(normalize(fromOtel)).toEqual(normalize(scraped))
    for (const [name, labels, value] of EXPECTED) expect(valueOf(fromOtel, name, labels)).toBe(value)
    await meterProvider.shutdown()
  })
})
