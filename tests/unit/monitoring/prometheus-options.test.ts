import * as promClient from 'prom-client'
import { describe, expect, it } from 'vitest'
import { errors } from '../../../src/errors.js'
import {
  DEFAULT_DURATION_BUCKETS,
  type PromRegistry,
  createPrometheusExporter,
} from '../../../src/monitoring/prometheus.js'
import { serveMetrics } from '../../helpers/metrics-server.js'

/** Value of one series (exact label set) read through prom-client's JSON view of a registry. */
async function read(registry: PromRegistry, name: string, labels: Record<string, string>): Promise<number | undefined> {
  const wanted = JSON.stringify(Object.entries(labels).sort())
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const v of metric.values) {
      const entries = Object.entries(v.labels).map(([k, x]) => [k, String(x)])
      if ((metricName(v) ?? metric.name) === name && JSON.stringify(entries.sort()) === wanted) return v.value
    }
  }
  return undefined
}

/** Histogram samples carry their series name (`_bucket`, `_sum`, `_count`); the typings omit it. */
function metricName(value: object): string | undefined {
  return (value as { metricName?: string }).metricName
}

const serve = serveMetrics

describe('Prometheus exporter HTTP handler', () => {
  it('answers with the registry content type, no body on HEAD and 405 on POST', async () => {
    const exporter = await createPrometheusExporter()
    const url = await serve(exporter)
    const get = await fetch(url)
    expect(get.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8')
    expect(get.headers.get('cache-control')).toBe('no-store')
    expect(exporter.contentType).toBe(get.headers.get('content-type'))
    expect(await get.text()).toBe(await exporter.metrics())
    const head = await fetch(url, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(await head.text()).toBe('')
    const post = await fetch(url, { method: 'POST' })
    expect(post.status).toBe(405)
    expect(post.headers.get('allow')).toBe('GET, HEAD')
  })

  it('answers 500 instead of crashing when collection fails', async () => {
    const registry = new promClient.Registry()
    new promClient.Gauge({
      name: 'broken',
      help: 'throws on collect',
      registers: [registry],
      collect() {
        throw new Error('collector broke')
      },
    })
    const exporter = await createPrometheusExporter({ registry })
    const response = await fetch(await serve(exporter))
    expect(response.status).toBe(500)
    expect(await response.text()).toContain('collector broke')
  })

  it('serves OpenMetrics when the registry is an OpenMetrics registry', async () => {
    const registry = new promClient.Registry<promClient.OpenMetricsContentType>()
    registry.setContentType(promClient.openMetricsContentType)
    const exporter = await createPrometheusExporter({ registry })
    exporter.sink.error?.('c', 'connection')
    const response = await fetch(await serve(exporter))
    expect(response.headers.get('content-type')).toBe(promClient.Registry.OPENMETRICS_CONTENT_TYPE)
    const body = await response.text()
    expect(body).toContain('strata_cache_errors_total{cache="c",reason="connection"} 1')
    expect(body.trimEnd().endsWith('# EOF')).toBe(true)
  })
})

describe('Prometheus exporter options', () => {
  it('uses the given registry, prefix, buckets and client', async () => {
    const registry = new promClient.Registry()
    const exporter = await createPrometheusExporter({
      registry,
      prefix: 'app_cache_',
      buckets: [0.001, 1],
      client: promClient,
    })
    expect(exporter.registry).toBe(registry)
    exporter.sink.operation?.('c', 'get', 'l1', 0.5)
    const metric = (await registry.getMetricsAsJSON()).find((m) => m.name === 'app_cache_operation_duration_seconds')
    const les = metric?.values.filter((v) => metricName(v)?.endsWith('_bucket')).map((v) => String(v.labels.le))
    expect(les).toEqual(['0.001', '1', '+Inf'])
    expect(await read(registry, 'app_cache_operations_total', { cache: 'c', operation: 'get', source: 'l1' })).toBe(1)
  })

  it('defaults to its own registry and sub-millisecond buckets', async () => {
    const exporter = await createPrometheusExporter()
    expect(exporter.registry).not.toBe(promClient.register)
    expect(DEFAULT_DURATION_BUCKETS[0]).toBe(0.0001)
    expect(promClient.register.getSingleMetric('strata_cache_requests_total')).toBeUndefined()
  })

  it('refuses a registry that already holds its metrics, and names the fix', async () => {
    const registry = new promClient.Registry()
    await createPrometheusExporter({ registry })
    const error: unknown = await createPrometheusExporter({ registry }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(errors.E_INVALID_OPTIONS)
    expect((error as Error).message).toMatch(/strata_cache_requests_total.*one exporter per registry/)
    await expect(createPrometheusExporter({ registry, prefix: 'other_' })).resolves.toBeDefined()
  })

  it('reports every invalid option at once', async () => {
    const error: unknown = await createPrometheusExporter({ prefix: 'bad-prefix', buckets: [1, 0.5] }).catch(
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(errors.E_INVALID_OPTIONS)
    const issues = (error as InstanceType<typeof errors.E_INVALID_OPTIONS>).issues
    expect(issues.map((i) => i.path)).toEqual(['prefix', 'buckets'])
    const typo: unknown = await createPrometheusExporter({ prefx: 'x_' } as never).catch((e: unknown) => e)
    expect((typo as InstanceType<typeof errors.E_INVALID_OPTIONS>).issues.map((i) => i.path)).toEqual(['prefx'])
    await expect(createPrometheusExporter({ buckets: [] })).rejects.toBeInstanceOf(errors.E_INVALID_OPTIONS)
  })
})

describe('Prometheus exporter sink', () => {
  it('reports the circuit as closed once a cache uses L2, before any transition', async () => {
    const { sink, registry } = await createPrometheusExporter()
    sink.lookup?.('mem', 'l1', true)
    sink.lookup?.('redis', 'l2', false)
    expect(await read(registry, 'strata_cache_circuit_state', { cache: 'redis' })).toBe(0)
    expect(await read(registry, 'strata_cache_circuit_state', { cache: 'mem' })).toBeUndefined()
    sink.circuit?.('redis', 'closed', 'open')
    expect(await read(registry, 'strata_cache_circuit_state', { cache: 'redis' })).toBe(2)
    sink.circuit?.('redis', 'open', 'half-open')
    expect(await read(registry, 'strata_cache_circuit_state', { cache: 'redis' })).toBe(1)
    sink.lookup?.('redis', 'l2', true)
    expect(await read(registry, 'strata_cache_circuit_state', { cache: 'redis' })).toBe(1)
  })

  it('ignores amounts a counter cannot take instead of throwing on the hot path', async () => {
    const { sink, registry } = await createPrometheusExporter()
    expect(() => {
      sink.compression?.('c', -1, Number.NaN, Number.POSITIVE_INFINITY)
      sink.invalidation?.('c', 'pattern', -3)
      sink.operation?.('c', 'get', 'l1', Number.NaN)
      sink.keyGeneration?.('c', -5)
    }).not.toThrow()
    expect(await read(registry, 'strata_cache_invalidations_total', { cache: 'c', kind: 'pattern' })).toBe(1)
    expect(await read(registry, 'strata_cache_invalidated_keys_total', { cache: 'c', kind: 'pattern' })).toBeUndefined()
    expect(await read(registry, 'strata_cache_operations_total', { cache: 'c', operation: 'get', source: 'l1' })).toBe(
      1,
    )
    expect(
      await read(registry, 'strata_cache_operation_duration_seconds_count', { cache: 'c', operation: 'get' }),
    ).toBeUndefined()
    // A negative duration (clock step) counts as 0 s rather than disappearing.
    expect(await read(registry, 'strata_cache_ai_key_generation_duration_seconds_count', { cache: 'c' })).toBe(1)
    expect(await read(registry, 'strata_cache_ai_key_generation_duration_seconds_sum', { cache: 'c' })).toBe(0)
  })

  it('keeps counters exact across scrapes: each collection adds only what changed since the last', async () => {
    const { sink, registry } = await createPrometheusExporter()
    const hits = { cache: 'c', tier: 'l1', result: 'hit' }
    for (let i = 0; i < 3; i++) sink.lookup?.('c', 'l1', true)
    expect(await read(registry, 'strata_cache_requests_total', hits)).toBe(3)
    sink.lookup?.('c', 'l1', true)
    sink.lookup?.('c', 'l1', true)
    expect(await registry.metrics()).toContain('strata_cache_requests_total{cache="c",tier="l1",result="hit"} 5')
    expect(await read(registry, 'strata_cache_requests_total', hits)).toBe(5)
    registry.resetMetrics()
    sink.lookup?.('c', 'l1', true)
    expect(await read(registry, 'strata_cache_requests_total', hits)).toBe(1)
  })

  it('never uses a key as a label: only cache names and bounded enums appear', async () => {
    const { sink, registry } = await createPrometheusExporter()
    sink.operation?.('c', 'getOrSet', 'loader', 1)
    sink.lookup?.('c', 'l1', false)
    const labelNames = new Set(
      (await registry.getMetricsAsJSON()).flatMap((m) => m.values.flatMap((v) => Object.keys(v.labels))),
    )
    expect([...labelNames].sort()).toEqual(['cache', 'le', 'operation', 'result', 'source', 'tier'])
  })
})
