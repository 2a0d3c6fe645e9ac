/**
 * Prometheus exporter, published as `strata-cache/monitoring/prometheus`. It needs the optional
 * peer `prom-client` (^15), loaded only when {@link createPrometheusExporter} runs, so the core
 * package never loads it.
 *
 * ```ts
 * const exporter = await createPrometheusExporter()
 * monitor.addSink(exporter.sink)
 * http.createServer(exporter.handler).listen(9464)
 * ```
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { InvalidOptionsError, type OptionIssue, errorMessage } from '../errors.js'
import type { MonitorSink } from './monitor-sink.js'
import {
  type PromClientModule,
  type PromRegistry,
  buildMetrics,
  createPrometheusSink,
  registerAll,
} from './prometheus-metrics.js'
import { DEFAULT_DURATION_BUCKETS, checkBuckets, checkKnownKeys, checkPrefix, importPeer } from './prometheus-shared.js'

export type { PromClientModule, PromRegistry } from './prometheus-metrics.js'
export { DEFAULT_DURATION_BUCKETS } from './prometheus-shared.js'

/** Options of {@link createPrometheusExporter}. */
export interface PrometheusExporterOptions {
  /**
   * Registry to put the metrics in. Pass prom-client's global `register` to expose them
   * beside your application's own metrics.
   * @default a new `Registry` of its own
   */
  registry?: PromRegistry
  /**
   * Prefix of every metric name. Must match `[a-zA-Z_:][a-zA-Z0-9_:]*`.
   * @default 'strata_cache_'
   */
  prefix?: string
  /**
   * Upper bounds of the duration histogram buckets, in seconds, ascending.
   * @default DEFAULT_DURATION_BUCKETS (100 µs to 2.5 s)
   */
  buckets?: readonly number[]
  /**
   * The `prom-client` module, for an application that has already loaded it (for example
   * from CommonJS, or to be sure registry and metrics come from the same copy).
   * @default `await import('prom-client')`
   */
  client?: PromClientModule
}

/** What {@link createPrometheusExporter} returns. */
export interface PrometheusExporter {
  /** Attach to a monitor with `monitor.addSink(exporter.sink)`. */
  readonly sink: MonitorSink
  /** The registry holding the metrics. */
  readonly registry: PromRegistry
  /** `Content-Type` of {@link PrometheusExporter.metrics}'s text (the registry's format). */
  readonly contentType: string
  /**
   * A `node:http` request handler (also usable as an Express handler) answering `GET` and
   * `HEAD` with the registry's metrics, and any other method with 405. It serves every path;
   * mount it where you want it.
   */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void
  /** The registry's metrics in its text format, for frameworks with their own reply object. */
  metrics(): Promise<string>
}

const PREFIX_PATTERN = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/
const KNOWN_OPTIONS = ['registry', 'prefix', 'buckets', 'client']
const FEATURE = 'the Prometheus exporter'

/**
 * Creates the Prometheus metrics in a registry and a sink that updates them. Throws
 * `PeerMissingError` (`E_PEER_MISSING`) when `prom-client` is not installed, and
 * `InvalidOptionsError` for a bad option or when the registry already has one of the metric
 * names (one exporter per registry and prefix: share its `sink` between monitors instead).
 */
export async function createPrometheusExporter(options: PrometheusExporterOptions = {}): Promise<PrometheusExporter> {
  const { prefix = 'strata_cache_', buckets = DEFAULT_DURATION_BUCKETS } = options
  const issues: OptionIssue[] = []
  checkKnownKeys(options, KNOWN_OPTIONS, issues)
  checkPrefix(prefix, PREFIX_PATTERN, issues)
  checkBuckets(buckets, 'buckets', issues)
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  const client = options.client ?? (await loadPromClient())
  const registry = options.registry ?? new client.Registry()
  const metrics = buildMetrics(client, prefix, buckets)
  const taken = metrics.all.map(({ name }) => name).filter((name) => registry.getSingleMetric(name) !== undefined)
  if (taken.length > 0) {
    throw new InvalidOptionsError([
      {
        path: 'registry',
        message:
          `already has ${taken.join(', ')}; use one exporter per registry and prefix ` +
          '(add its sink to several monitors) or pass another prefix',
      },
    ])
  }
  registerAll(metrics, registry)
  return {
    sink: createPrometheusSink(metrics),
    registry,
    get contentType() {
      return registry.contentType
    },
    handler: createMetricsHandler(registry),
    metrics: () => registry.metrics(),
  }
}

/**
 * Loads `prom-client`, turning a missing package into `PeerMissingError`. The importer is a
 * parameter so that tests can simulate the missing package.
 * @internal
 */
export function loadPromClient(
  importer: () => Promise<PromClientModule> = () => import('prom-client'),
): Promise<PromClientModule> {
  return importPeer('prom-client', FEATURE, importer)
}

/** A `node:http` handler serving `registry.metrics()`. */
function createMetricsHandler(registry: PromRegistry): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' })
      res.end('method not allowed: use GET\n')
      return
    }
    registry.metrics().then(
      (body) => {
        res.writeHead(200, {
          'Content-Type': registry.contentType,
          'Content-Length': Buffer.byteLength(body),
          'Cache-Control': 'no-store',
        })
        res.end(req.method === 'HEAD' ? undefined : body)
      },
      (error: unknown) => {
        if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain; charset=utf-8' })
        res.end(`cannot collect metrics: ${errorMessage(error)}\n`)
      },
    )
  }
}
