import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createPrometheusExporter } from '../../../src/monitoring/prometheus.js'

interface Target {
  expr: string
  datasource: { uid: string }
}
interface Panel {
  id: number
  type: string
  title: string
  targets?: Target[]
  gridPos: { x: number; y: number; w: number; h: number }
}
interface Variable {
  name: string
  type: string
  query: string | { query: string }
}
interface Dashboard {
  uid: string
  panels: Panel[]
  templating: { list: Variable[] }
}

const dashboard = JSON.parse(
  readFileSync(new URL('../../../dashboards/grafana-strata-cache.json', import.meta.url), 'utf8'),
) as Dashboard
const queryPanels = dashboard.panels.filter((p) => p.type !== 'row')
const variableQueries = dashboard.templating.list.flatMap((v) => (typeof v.query === 'object' ? [v.query.query] : []))
const expressions = [...queryPanels.flatMap((p) => (p.targets ?? []).map((t) => t.expr)), ...variableQueries]

/** Series names the exporter exposes (with `_bucket`, `_sum`, `_count`) → their label names. */
async function exposedSeries(): Promise<Map<string, Set<string>>> {
  const { sink, registry } = await createPrometheusExporter()
  sink.operation?.('c', 'get', 'l1', 1)
  sink.lookup?.('c', 'l2', true)
  sink.error?.('c', 'deadline')
  sink.invalidation?.('c', 'tag', 1)
  sink.compression?.('c', 10, 5, 1)
  sink.circuit?.('c', 'closed', 'open')
  sink.keyGeneration?.('c', 1)
  sink.invalidationReceived?.('c', 1, 1)
  const series = new Map<string, Set<string>>()
  for (const metric of await registry.getMetricsAsJSON()) {
    for (const value of metric.values) {
      const name = (value as { metricName?: string }).metricName ?? metric.name
      const labels = series.get(name) ?? new Set<string>()
      Object.keys(value.labels).forEach((label) => labels.add(label))
      series.set(name, labels)
    }
  }
  return series
}

describe('Grafana dashboard', () => {
  it('queries only series and labels the Prometheus exporter exposes', async () => {
    const series = await exposedSeries()
    const used = new Set<string>()
    for (const expr of expressions) {
      for (const match of expr.matchAll(/(strata_cache_[a-z_]+)(?:\{([^}]*)\})?/g)) {
        const name = match[1]!
        used.add(name)
        expect([...series.keys()], expr).toContain(name)
        const labels = [...(match[2] ?? '').matchAll(/([a-z_]+)\s*(?:=~|!~|!=|=)/g)].map((m) => m[1]!)
        for (const label of labels) expect([...series.get(name)!], `${label} in ${expr}`).toContain(label)
      }
      for (const match of expr.matchAll(/by \(([^)]*)\)/g)) {
        const labels = match[1]!.split(',').map((l) => l.trim())
        const names = [...expr.matchAll(/strata_cache_[a-z_]+/g)].map((m) => m[0])
        for (const label of labels) for (const name of names) expect([...series.get(name)!], expr).toContain(label)
      }
    }
    for (const metric of ['requests_total', 'operations_total', 'operation_duration_seconds_bucket', 'errors_total']) {
      expect(used).toContain(`strata_cache_${metric}`)
    }
    expect(used).toContain('strata_cache_circuit_state')
    expect(used).toContain('strata_cache_invalidations_total')
  })

  it('has a cache variable that every panel query filters on', () => {
    const cache = dashboard.templating.list.find((v) => v.name === 'cache')
    expect(cache?.type).toBe('query')
    for (const panel of queryPanels) {
      for (const target of panel.targets ?? []) expect(target.expr, panel.title).toContain('cache=~"$cache"')
    }
  })

  it('shows hit ratio, requests by tier, p50/p95/p99 latency, errors, circuit state and invalidations', () => {
    const titles = queryPanels.map((p) => p.title)
    for (const title of [
      'Hit ratio',
      'Requests by tier and result',
      'Errors by reason',
      'Circuit state by cache',
      'Invalidations by kind',
    ]) {
      expect(titles).toContain(title)
    }
    for (const quantile of ['0.5', '0.95', '0.99']) {
      expect(
        expressions.some(
          (e) => e.startsWith(`histogram_quantile(${quantile}, `) && e.includes('operation_duration_seconds_bucket'),
        ),
      ).toBe(true)
    }
  })

  it('has unique panel ids, panels inside the 24-column grid and one data source variable', () => {
    const ids = dashboard.panels.map((p) => p.id)
    expect(new Set(ids).size).toBe(ids.length)
    for (const { gridPos } of dashboard.panels) expect(gridPos.x + gridPos.w).toBeLessThanOrEqual(24)
    const uids = new Set(queryPanels.flatMap((p) => (p.targets ?? []).map((t) => t.datasource.uid)))
    expect([...uids]).toEqual(['${datasource}'])
  })
})
