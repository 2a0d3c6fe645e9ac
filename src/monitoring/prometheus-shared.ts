/**
 * Pieces shared by the Prometheus and the OpenTelemetry exporters: the default latency buckets,
 * option checks and the optional-peer loader. Like every `prometheus-*` module, it imports no
 * peer package, so the OpenTelemetry exporter can use it without loading prom-client.
 */
import { type OptionIssue, PeerMissingError } from '../errors.js'

/**
 * Default histogram buckets for every duration metric, in seconds: 100 µs to 2.5 s. An L1 hit
 * takes microseconds and an L2 call a few milliseconds, so the usual web-request buckets
 * (5 ms to 10 s) would put almost every cache operation into the first bucket.
 */
export const DEFAULT_DURATION_BUCKETS: readonly number[] = Object.freeze([
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
])

/** Records an issue unless `buckets` is a non-empty ascending list of positive finite numbers. */
export function checkBuckets(buckets: unknown, path: string, issues: OptionIssue[]): void {
  const valid =
    Array.isArray(buckets) &&
    buckets.length > 0 &&
    buckets.every(
      (b: unknown, i) =>
        typeof b === 'number' && Number.isFinite(b) && b > 0 && (i === 0 || b > (buckets[i - 1] as number)),
    )
  if (!valid) {
    issues.push({ path, message: 'expected a non-empty list of positive numbers of seconds in ascending order' })
  }
}

/** Records an issue for every option not in `known` (a typo such as `prefx` must not pass silently). */
export function checkKnownKeys(options: object, known: readonly string[], issues: OptionIssue[]): void {
  for (const key of Object.keys(options)) {
    if (!known.includes(key))
      issues.push({ path: key, message: `unknown option; known options are ${known.join(', ')}` })
  }
}

/** Records an issue unless `prefix` is a string matching `pattern`. */
export function checkPrefix(prefix: unknown, pattern: RegExp, issues: OptionIssue[]): void {
  if (typeof prefix === 'string' && pattern.test(prefix)) return
  issues.push({
    path: 'prefix',
    message: `expected a string matching ${String(pattern)}; got ${JSON.stringify(prefix)}`,
  })
}

/**
 * Imports an optional peer package. A missing package (`ERR_MODULE_NOT_FOUND`, or
 * `MODULE_NOT_FOUND` from a CommonJS loader) becomes a `PeerMissingError` that says what to
 * install; any other failure is rethrown as it is, since reinstalling would not fix it.
 */
export async function importPeer<T>(packageName: string, feature: string, importer: () => Promise<T>): Promise<T> {
  try {
    return await importer()
  } catch (error) {
    const code = (error as { code?: unknown } | null)?.code
    if (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') {
      const missing = new PeerMissingError(packageName, feature)
      Object.defineProperty(missing, 'cause', { value: error, configurable: true, writable: true })
      throw missing
    }
    throw error
  }
}
