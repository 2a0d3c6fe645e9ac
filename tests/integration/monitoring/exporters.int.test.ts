import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  AggregationTemporality,
  DataPointType,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import { afterEach, describe, expect, it } from 'vitest'
import type { CacheInterface } from '../../../src/core/cache-interface.js'
import { GenericRedisCache } from '../../../src/core/generic-redis-cache.js'
import { InMemoryCache } from '../../../src/core/in-memory-cache.js'
import { createOpenTelemetryExporter } from '../../../src/monitoring/opentelemetry.js'
import { CachePerformanceMonitor } from '../../../src/monitoring/performance-monitor.js'
import { createPrometheusExporter } from '../../../src/monitoring/prometheus.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { type RedisServer, requireRedis, startRedis } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()

/** `name{label="value",…}` → value, for every sample line of a Prometheus text exposition. */
function parseSamples(text: string): Map<string, number> {
  const samples = new Map<string, number>()
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (!match) throw new Error(`not a sample line: ${line}`)
    const labels = [...(match[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)].map(
      (m) => [m[1]!, m[2]!] as const,
    )
    samples.set(seriesKey(match[1]!, Object.fromEntries(labels)), match[3] === '+Inf' ? Infinity : Number(match[3]))
  }
  return samples
}

function seriesKey(name: string, labels: Record<string, unknown>): string {
  const sorted = Object.entries(labels).sort(([a], [b]) => a.localeCompare(b))
  return `${name}{${sorted.map(([k, v]) => `${k}="${String(v)}"`).join(',')}}`
}

/** Counter and gauge samples of one cache (name → value), histogram `_count`s included. */
function countsOf(samples: Map<string, number>, cache: string): Record<string, number> {
  const out: Record<string, number> = {}
  for (const [key, value] of samples) {
    if (!key.includes(`cache="${cache}"`) || key.includes('_bucket') || key.includes('_sum')) continue
    out[key.replace(`cache="${cache}",`, '').replace(`,cache="${cache}"`, '').replace(`{cache="${cache}"}`, '')] = value
  }
  return out
}

/** A monitor with both exporters attached, the Prometheus one served over HTTP. */
async function monitored(): Promise<{
  monitor: CachePerformanceMonitor
  scrape: () => Promise<Map<string, number>>
  otel: () => Promise<Map<string, number>>
}> {
  const prometheus = await createPrometheusExporter()
  const memory = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter: memory, exportIntervalMillis: 3_600_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  cleanups.push(() => meterProvider.shutdown())
  const otelExporter = await createOpenTelemetryExporter({ meterProvider })
  const monitor = new CachePerformanceMonitor().addSink(prometheus.sink).addSink(otelExporter.sink)
  const server = createServer(prometheus.handler)
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`
  return {
    monitor,
    scrape: async () => parseSamples(await (await fetch(url)).text()),
    otel: async () => {
      await reader.forceFlush()
      return otelSamples(memory)
    },
  }
}

/** OpenTelemetry points under their Prometheus names: counters, gauges and histogram counts. */
function otelSamples(memory: InMemoryMetricExporter): Map<string, number> {
  const samples = new Map<string, number>()
  for (const metric of memory
    .getMetrics()
    .at(-1)
    ?.scopeMetrics.flatMap((s) => s.metrics) ?? []) {
    const base = metric.descriptor.name.replaceAll('.', '_') + (metric.descriptor.unit === 's' ? '_seconds' : '')
    for (const point of metric.dataPoints) {
      if (metric.dataPointType === DataPointType.SUM)
        samples.set(seriesKey(`${base}_total`, point.attributes), point.value as number)
      if (metric.dataPointType === DataPointType.GAUGE)
        samples.set(seriesKey(base, point.attributes), point.value as number)
      if (metric.dataPointType === DataPointType.HISTOGRAM) {
        samples.set(seriesKey(`${base}_count`, point.attributes), (point.value as Histogram).count)
      }
    }
  }
  return samples
}

const cleanups: Array<() => Promise<unknown>> = []
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup()
})

/** The same known sequence for every cache; returns nothing, the counts are in `EXPECTED_*`. */
async function playSequence(cache: CacheInterface): Promise<void> {
  await cache.set('a', 'x'.repeat(1000))
  await cache.set('b', 2)
  for (let i = 0; i < 3; i++) await cache.get('a')
  for (let i = 0; i < 2; i++) await cache.get('missing')
  await cache.getOrSet('c', async () => 3)
  await cache.getOrSet('c', async () => 4)
  await cache.set('t1', 1, { tags: ['grp'] })
  await cache.set('t2', 2, { tags: ['grp'] })
  await cache.invalidateTags(['grp'])
  await cache.delete('a')
  await cache.delete('nope')
  await cache.invalidatePattern('b*')
  await cache.clear()
}

/** Counter series the sequence produces on any cache, without the `cache` label. */
const SEQUENCE_COUNTS: Record<string, number> = {
  'strata_cache_operations_total{operation="set",source="none"}': 4,
  'strata_cache_operations_total{operation="get",source="l1"}': 3,
  'strata_cache_operations_total{operation="get",source="none"}': 2,
  'strata_cache_operations_total{operation="getOrSet",source="loader"}': 1,
  'strata_cache_operations_total{operation="getOrSet",source="l1"}': 1,
  'strata_cache_operations_total{operation="invalidateTags",source="none"}': 1,
  'strata_cache_operations_total{operation="delete",source="none"}': 2,
  'strata_cache_operations_total{operation="invalidatePattern",source="none"}': 1,
  'strata_cache_operations_total{operation="clear",source="none"}': 1,
  'strata_cache_requests_total{result="hit",tier="l1"}': 4,
  'strata_cache_requests_total{result="miss",tier="l1"}': 3,
  'strata_cache_invalidations_total{kind="tag"}': 1,
  'strata_cache_invalidations_total{kind="delete"}': 2,
  'strata_cache_invalidations_total{kind="pattern"}': 1,
  'strata_cache_invalidations_total{kind="clear"}': 1,
  'strata_cache_invalidated_keys_total{kind="tag"}': 2,
  'strata_cache_invalidated_keys_total{kind="delete"}': 1,
  'strata_cache_invalidated_keys_total{kind="pattern"}': 1,
  'strata_cache_invalidated_keys_total{kind="clear"}': 1,
  // Timed every time (only L1 answers of get/getOrSet are sampled, and are left out here).
  'strata_cache_operation_duration_seconds_count{operation="set",source="none"}': 4,
  'strata_cache_operation_duration_seconds_count{operation="get",source="none"}': 2,
  'strata_cache_operation_duration_seconds_count{operation="getOrSet",source="loader"}': 1,
  'strata_cache_operation_duration_seconds_count{operation="invalidateTags",source="none"}': 1,
  'strata_cache_operation_duration_seconds_count{operation="delete",source="none"}': 2,
  'strata_cache_operation_duration_seconds_count{operation="invalidatePattern",source="none"}': 1,
  'strata_cache_operation_duration_seconds_count{operation="clear",source="none"}': 1,
}

/** Drops the sampled L1 latency counts, whose value depends on the sampling phase. */
function withoutSampledL1(counts: Record<string, number>): Record<string, number> {
  return Object.fromEntries(
    Object.entries(counts).filter(([key]) => !/_duration_seconds_count\{.*source="l1"/.test(key)),
  )
}

describe('exporters on an InMemoryCache', () => {
  it('scrape and OpenTelemetry show exactly the operations performed', async () => {
    const { monitor, scrape, otel } = await monitored()
    const cache = new InMemoryCache({ name: 'mem', monitor })
    await playSequence(cache)
    const scraped = await scrape()
    expect(withoutSampledL1(countsOf(scraped, 'mem'))).toEqual(SEQUENCE_COUNTS)
    expect(countsOf(await otel(), 'mem')).toEqual(countsOf(scraped, 'mem'))
  })
})

describe.skipIf(!hasRedis)('exporters on a GenericRedisCache', () => {
  /** A Redis server stopped after the caches using it have disconnected (cleanups run in reverse). */
  async function redisServer(): Promise<RedisServer> {
    const server = await startRedis()
    cleanups.push(() => server.stop())
    return server
  }

  async function redisCache(server: RedisServer, options: ConstructorParameters<typeof GenericRedisCache>[0]) {
    // Exact per-tier counts: with coherence on, L1 hits wait for the first barrier (its own
    // series and counts are tested with the coherence suites).
    const cache = new GenericRedisCache({ redisUrl: server.url, coherence: false, ...options })
    cleanups.push(() => cache.disconnect())
    expect(await cache.connect()).toBe(true)
    return cache
  }

  it('scrape and OpenTelemetry show exactly the operations performed, per tier', async () => {
    const server = await redisServer()
    const { monitor, scrape, otel } = await monitored()
    const namespace = uniqueNamespace('exp')
    const writer = await redisCache(server, { name: 'writer', namespace, monitor, compression: { threshold: 512 } })
    const reader = await redisCache(server, { name: 'reader', namespace, monitor })
    await playSequence(writer)
    await writer.set('shared', 'v')
    await reader.get('shared') // L1 miss, L2 hit
    await reader.get('shared') // L1 hit

    const scraped = await scrape()
    expect(withoutSampledL1(countsOf(scraped, 'writer'))).toEqual({
      ...SEQUENCE_COUNTS,
      'strata_cache_operations_total{operation="set",source="none"}': 5,
      'strata_cache_operation_duration_seconds_count{operation="set",source="none"}': 5,
      // Every L1 miss went on to L2, which had none of these keys.
      'strata_cache_requests_total{result="miss",tier="l2"}': 3,
      strata_cache_circuit_state: 0,
      // Only the 1000-character value reached the 512-byte threshold.
      'strata_cache_compression_bytes_total{stage="before"}': expect.any(Number) as number,
      'strata_cache_compression_bytes_total{stage="after"}': expect.any(Number) as number,
      strata_cache_compression_duration_seconds_count: 1,
    })
    const summary = await monitor.getPerformanceSummary()
    expect(scraped.get('strata_cache_compression_bytes_total{cache="writer",stage="before"}')).toBe(
      summary.compression.bytesBefore,
    )
    expect(scraped.get('strata_cache_compression_bytes_total{cache="writer",stage="after"}')).toBe(
      summary.compression.bytesAfter,
    )
    expect(summary.compression.bytesAfter).toBeLessThan(summary.compression.bytesBefore)
    expect(withoutSampledL1(countsOf(scraped, 'reader'))).toEqual({
      'strata_cache_operations_total{operation="get",source="l2"}': 1,
      'strata_cache_operations_total{operation="get",source="l1"}': 1,
      'strata_cache_operation_duration_seconds_count{operation="get",source="l2"}': 1,
      'strata_cache_requests_total{result="miss",tier="l1"}': 1,
      'strata_cache_requests_total{result="hit",tier="l1"}': 1,
      'strata_cache_requests_total{result="hit",tier="l2"}': 1,
      strata_cache_circuit_state: 0,
    })
    const fromOtel = await otel()
    for (const cache of ['writer', 'reader']) expect(countsOf(fromOtel, cache)).toEqual(countsOf(scraped, cache))
  })

  it('counts deadline errors and the breaker opening while Redis is frozen', async () => {
    const server = await redisServer()
    const { monitor, scrape, otel } = await monitored()
    const cache = await redisCache(server, {
      name: 'flaky',
      namespace: uniqueNamespace('exp'),
      monitor,
      l2Timeout: 100,
      circuitBreaker: { failureThreshold: 2, openDuration: '1h' },
    })
    await cache.set('x', 1)
    server.pause()
    try {
      // Two missed deadlines open the breaker; scrape before Redis comes back.
      expect(await cache.get('y1')).toBeUndefined()
      expect(await cache.get('y2')).toBeUndefined()
      const scraped = await scrape()
      expect(countsOf(scraped, 'flaky')).toEqual({
        'strata_cache_operations_total{operation="set",source="none"}': 1,
        'strata_cache_operations_total{operation="get",source="none"}': 2,
        'strata_cache_operation_duration_seconds_count{operation="set",source="none"}': 1,
        'strata_cache_operation_duration_seconds_count{operation="get",source="none"}': 2,
        'strata_cache_requests_total{result="miss",tier="l1"}': 2,
        'strata_cache_requests_total{result="miss",tier="l2"}': 2,
        'strata_cache_errors_total{reason="deadline"}': 2,
        'strata_cache_circuit_transitions_total{from="closed",to="open"}': 1,
        strata_cache_circuit_state: 2,
      })
      expect(countsOf(await otel(), 'flaky')).toEqual(countsOf(scraped, 'flaky'))
    } finally {
      server.resume()
    }
  })
})
