import { metrics } from '@opentelemetry/api'
import {
  AggregationTemporality,
  DataPointType,
  type Histogram,
  InMemoryMetricExporter,
  MeterProvider,
  type MetricData,
  PeriodicExportingMetricReader,
} from '@opentelemetry/sdk-metrics'
import { afterEach, describe, expect, it } from 'vitest'
import { errors } from '../../../src/errors.js'
import {
  DEFAULT_DURATION_BUCKETS,
  createOpenTelemetryExporter,
  loadOtelApi,
} from '../../../src/monitoring/opentelemetry.js'

/** A meter provider whose numbers land in memory, read with `collect()`. */
function inMemoryProvider(): { meterProvider: MeterProvider; collect: () => Promise<MetricData[]> } {
  const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE)
  const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 3_600_000 })
  const meterProvider = new MeterProvider({ readers: [reader] })
  providers.push(meterProvider)
  return {
    meterProvider,
    collect: async () => {
      await reader.forceFlush()
      return (
        exporter
          .getMetrics()
          .at(-1)
          ?.scopeMetrics.flatMap((scope) => scope.metrics) ?? []
      )
    },
  }
}

const providers: MeterProvider[] = []
afterEach(async () => {
  for (const provider of providers.splice(0)) await provider.shutdown()
  metrics.disable()
})

function find(data: MetricData[], name: string): MetricData {
  const metric = data.find((m) => m.descriptor.name === name)
  if (!metric) throw new Error(`no metric ${name} in ${data.map((m) => m.descriptor.name).join(', ')}`)
  return metric
}

function point(metric: MetricData, attributes: Record<string, string>): unknown {
  const wanted = JSON.stringify(Object.entries(attributes).sort())
  return (metric.dataPoints as { attributes: object; value: unknown }[]).find(
    (p) => JSON.stringify(Object.entries(p.attributes).sort()) === wanted,
  )?.value
}

describe('OpenTelemetry exporter', () => {
  it('creates instruments with OpenTelemetry names, types and UCUM units', async () => {
    const { meterProvider, collect } = inMemoryProvider()
    const { sink } = await createOpenTelemetryExporter({ meterProvider })
    sink.operation?.('c', 'get', 'l1', 1)
    sink.lookup?.('c', 'l2', true)
    sink.error?.('c', 'deadline')
    sink.invalidation?.('c', 'tag', 3)
    sink.compression?.('c', 10, 5, 1)
    sink.circuit?.('c', 'closed', 'open')
    sink.keyGeneration?.('ai', 1)
    sink.invalidationReceived?.('c', 2, 1)
    const described = (await collect()).map((m) => [m.descriptor.name, m.dataPointType, m.descriptor.unit])
    expect(described.sort()).toEqual(
      [
        ['strata_cache.requests', DataPointType.SUM, '{request}'],
        ['strata_cache.operations', DataPointType.SUM, '{operation}'],
        ['strata_cache.operation.duration', DataPointType.HISTOGRAM, 's'],
        ['strata_cache.errors', DataPointType.SUM, '{error}'],
        ['strata_cache.invalidations', DataPointType.SUM, '{invalidation}'],
        ['strata_cache.invalidated_keys', DataPointType.SUM, '{key}'],
        ['strata_cache.compression.bytes', DataPointType.SUM, 'By'],
        ['strata_cache.compression.duration', DataPointType.HISTOGRAM, 's'],
        ['strata_cache.circuit.transitions', DataPointType.SUM, '{transition}'],
        ['strata_cache.circuit.state', DataPointType.GAUGE, '1'],
        ['strata_cache.ai.key_generation.duration', DataPointType.HISTOGRAM, 's'],
        ['strata_cache.coherence.invalidations_received', DataPointType.SUM, '{key}'],
        ['strata_cache.coherence.invalidation_lag', DataPointType.HISTOGRAM, 's'],
      ].sort(),
    )
  })

  it('records exact counts with the same attributes as the Prometheus labels', async () => {
    const { meterProvider, collect } = inMemoryProvider()
    const { sink } = await createOpenTelemetryExporter({ meterProvider })
    for (let i = 0; i < 4; i++) sink.lookup?.('users', 'l1', true)
    sink.lookup?.('users', 'l1', false)
    sink.invalidation?.('users', 'pattern', 7)
    sink.invalidation?.('users', 'pattern', 2)
    sink.operation?.('users', 'get', 'l1', 0.05)
    sink.operation?.('users', 'get', 'l2', 3)
    const data = await collect()
    const requests = find(data, 'strata_cache.requests')
    expect(point(requests, { cache: 'users', tier: 'l1', result: 'hit' })).toBe(4)
    expect(point(requests, { cache: 'users', tier: 'l1', result: 'miss' })).toBe(1)
    expect(point(find(data, 'strata_cache.invalidations'), { cache: 'users', kind: 'pattern' })).toBe(2)
    expect(point(find(data, 'strata_cache.invalidated_keys'), { cache: 'users', kind: 'pattern' })).toBe(9)
    const durations = find(data, 'strata_cache.operation.duration')
    const duration = point(durations, { cache: 'users', operation: 'get', source: 'l2' }) as Histogram
    expect(duration.count).toBe(1)
    expect(duration.sum).toBeCloseTo(0.003, 9)
    expect((point(durations, { cache: 'users', operation: 'get', source: 'l1' }) as Histogram).count).toBe(1)
    expect(duration.buckets.boundaries).toEqual(DEFAULT_DURATION_BUCKETS)
    expect(duration.buckets.counts.reduce((a, b) => a + b, 0)).toBe(1)
  })

  it('records coherence invalidations received and only the lags that were reported', async () => {
    const { meterProvider, collect } = inMemoryProvider()
    const { sink } = await createOpenTelemetryExporter({ meterProvider })
    expect(() => {
      sink.invalidationReceived?.('app', 4, undefined)
      sink.invalidationReceived?.('app', 1, 3)
      sink.invalidationReceived?.('app', 1, -2)
      sink.invalidationReceived?.('app', 1, Number.NaN)
      sink.invalidationReceived?.('app', -1, undefined)
    }).not.toThrow()
    const data = await collect()
    expect(point(find(data, 'strata_cache.coherence.invalidations_received'), { cache: 'app' })).toBe(7)
    const lag = point(find(data, 'strata_cache.coherence.invalidation_lag'), { cache: 'app' }) as Histogram
    expect(lag.count).toBe(2)
    expect(lag.sum).toBeCloseTo(0.003, 9)
    expect(lag.min).toBe(0)
    expect(lag.buckets.boundaries).toEqual(DEFAULT_DURATION_BUCKETS)
  })

  it('reports the circuit state gauge, seeded as closed on first L2 use, until close()', async () => {
    const { meterProvider, collect } = inMemoryProvider()
    const exporter = await createOpenTelemetryExporter({ meterProvider })
    exporter.sink.lookup?.('mem', 'l1', true)
    exporter.sink.lookup?.('a', 'l2', true)
    exporter.sink.circuit?.('b', 'closed', 'open')
    exporter.sink.circuit?.('b', 'open', 'half-open')
    const gauge = find(await collect(), 'strata_cache.circuit.state')
    expect(gauge.dataPoints.map((p) => [p.attributes.cache, p.value]).sort()).toEqual([
      ['a', 0],
      ['b', 1],
    ])
    exporter.close()
    // The SDK keeps the last cumulative value; what matters is that the callback is no longer read.
    exporter.sink.circuit?.('b', 'half-open', 'closed')
    const after = find(await collect(), 'strata_cache.circuit.state')
    expect(point(after, { cache: 'b' })).toBe(1)
  })

  it('uses a given meter, prefix and buckets', async () => {
    const { meterProvider, collect } = inMemoryProvider()
    const meter = meterProvider.getMeter('my-app')
    const exporter = await createOpenTelemetryExporter({ meter, prefix: 'app.cache.', buckets: [0.01, 1] })
    expect(exporter.meter).toBe(meter)
    exporter.sink.operation?.('c', 'set', 'none', 20)
    const duration = point(find(await collect(), 'app.cache.operation.duration'), {
      cache: 'c',
      operation: 'set',
      source: 'none',
    }) as Histogram
    expect(duration.buckets).toEqual({ boundaries: [0.01, 1], counts: [0, 1, 0] })
  })

  it('records into the global meter provider by default, under the strata-cache scope', async () => {
    const { meterProvider, collect } = inMemoryProvider()
    metrics.setGlobalMeterProvider(meterProvider)
    const { sink } = await createOpenTelemetryExporter()
    sink.error?.('c', 'connection')
    expect(point(find(await collect(), 'strata_cache.errors'), { cache: 'c', reason: 'connection' })).toBe(1)
  })

  it('reports every invalid option at once', async () => {
    const options = { prefix: '9bad', buckets: [0], meterprovider: {} } as never
    const error: unknown = await createOpenTelemetryExporter(options).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(errors.E_INVALID_OPTIONS)
    const paths = (error as InstanceType<typeof errors.E_INVALID_OPTIONS>).issues.map((i) => i.path)
    expect(paths).toEqual(['meterprovider', 'prefix', 'buckets'])
  })

  it('turns a missing @opentelemetry/api into E_PEER_MISSING, and needs it only for the global meter', async () => {
    const missing = Object.assign(new Error("Cannot find package '@opentelemetry/api'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    })
    const error: unknown = await loadOtelApi(() => Promise.reject(missing)).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(errors.E_PEER_MISSING)
    expect((error as Error).message).toBe(
      'the OpenTelemetry exporter needs the optional package "@opentelemetry/api": run npm install @opentelemetry/api',
    )
    expect((error as Error).cause).toBe(missing)
    const { meterProvider } = inMemoryProvider()
    const api = {
      get metrics(): never {
        throw new Error('the api must not be touched when a meter provider is given')
      },
    }
    await expect(createOpenTelemetryExporter({ meterProvider, api })).resolves.toBeDefined()
  })
})
