/**
 * OpenTelemetry metrics exporter, published as `strata-cache/monitoring/opentelemetry`. It
 * records into a `Meter` of the optional peer `@opentelemetry/api` (^1.9); your SDK setup
 * (a `MeterProvider` with readers and exporters) decides where the numbers go.
 *
 * ```ts
 * const exporter = await createOpenTelemetryExporter()   // metrics.getMeter('strata-cache')
 * monitor.addSink(exporter.sink)
 * ```
 */
import type * as OtelApi from '@opentelemetry/api'
import type { Meter, MeterProvider } from '@opentelemetry/api'
import { InvalidOptionsError, type OptionIssue } from '../errors.js'
import type { MonitorSink } from './monitor-sink.js'
import { createInstruments, createOtelSink } from './opentelemetry-instruments.js'
import { DEFAULT_DURATION_BUCKETS, checkBuckets, checkKnownKeys, checkPrefix, importPeer } from './prometheus-shared.js'

export { DEFAULT_DURATION_BUCKETS } from './prometheus-shared.js'

/** The parts of the `@opentelemetry/api` module the exporter uses. */
export type OtelApiModule = Pick<typeof OtelApi, 'metrics'>

/** Name of the meter (instrumentation scope) the exporter records into. */
export const METER_NAME = 'strata-cache'

/** Options of {@link createOpenTelemetryExporter}. */
export interface OpenTelemetryExporterOptions {
  /**
   * Meter to create the instruments on. Takes precedence over `meterProvider`.
   * @default meterProvider.getMeter('strata-cache'), else the global `metrics.getMeter('strata-cache')`
   */
  meter?: Meter
  /**
   * Meter provider to take the `strata-cache` meter from, instead of the global one.
   * @default the global provider of `@opentelemetry/api`
   */
  meterProvider?: MeterProvider
  /**
   * Prefix of every instrument name. The result must be a valid instrument name
   * (a letter, then letters, digits, `_`, `.`, `-`, `/`).
   * @default 'strata_cache.'
   */
  prefix?: string
  /**
   * Bucket boundaries advised for the duration histograms, in seconds, ascending. A view in
   * your SDK setup overrides them.
   * @default DEFAULT_DURATION_BUCKETS (100 µs to 2.5 s)
   */
  buckets?: readonly number[]
  /**
   * The `@opentelemetry/api` module, used only when neither `meter` nor `meterProvider` is given.
   * @default `await import('@opentelemetry/api')`
   */
  api?: OtelApiModule
}

/** What {@link createOpenTelemetryExporter} returns. */
export interface OpenTelemetryExporter {
  /** Attach to a monitor with `monitor.addSink(exporter.sink)`. */
  readonly sink: MonitorSink
  /** The meter holding the instruments. */
  readonly meter: Meter
  /**
   * Unregisters the observable callbacks (counters and circuit state): the SDK stops reading
   * this exporter. Call it before dropping an exporter whose meter lives on.
   */
  readonly close: () => void
}

const PREFIX_PATTERN = /^[A-Za-z][A-Za-z0-9_.\-/]{0,200}$/
const KNOWN_OPTIONS = ['meter', 'meterProvider', 'prefix', 'buckets', 'api']

/**
 * Creates the instruments on a meter and a sink that records into them. Throws
 * `PeerMissingError` (`E_PEER_MISSING`) when the global meter is needed and
 * `@opentelemetry/api` is not installed, and `InvalidOptionsError` for a bad option.
 */
export async function createOpenTelemetryExporter(
  options: OpenTelemetryExporterOptions = {},
): Promise<OpenTelemetryExporter> {
  const { prefix = 'strata_cache.', buckets = DEFAULT_DURATION_BUCKETS } = options
  const issues: OptionIssue[] = []
  checkKnownKeys(options, KNOWN_OPTIONS, issues)
  checkPrefix(prefix, PREFIX_PATTERN, issues)
  checkBuckets(buckets, 'buckets', issues)
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  const meter = options.meter ?? options.meterProvider?.getMeter(METER_NAME) ?? (await globalMeter(options.api))
  const instruments = createInstruments(meter, prefix, buckets)
  return { sink: createOtelSink(instruments), meter, close: instruments.close }
}

async function globalMeter(api: OtelApiModule | undefined): Promise<Meter> {
  const loaded = api ?? (await loadOtelApi())
  return loaded.metrics.getMeter(METER_NAME)
}

/**
 * Loads `@opentelemetry/api`, turning a missing package into `PeerMissingError`. The importer
 * is a parameter so that tests can simulate the missing package.
 * @internal
 */
export function loadOtelApi(
  importer: () => Promise<OtelApiModule> = () => import('@opentelemetry/api'),
): Promise<OtelApiModule> {
  return importPeer('@opentelemetry/api', 'the OpenTelemetry exporter', importer)
}
