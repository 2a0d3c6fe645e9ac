import { errors } from '../errors.js'
import { performance } from 'node:perf_hooks'

import type { Clock, Duration, MonitorSink, OptionIssue } from '../index.js'
import type { AILoadPolicy, PriceTable, ShouldCache } from './ai-types.js'
import { CacheKeyGenerator, type CacheKeyGeneratorOptions, assertName } from './cache-key-generator.js'
import { defaultShouldCache } from './should-cache.js'

/** Upper bounds (exclusive), in characters, of the text size tiers; longer texts are `xlarge`. */
export interface TextSizeTiers {
  /** @default 500 */
  readonly small: number
  /** @default 5_000 */
  readonly medium: number
  /** @default 50_000 */
  readonly large: number
}

/** The tier names, smallest first. */
export type TextSizeTier = 'small' | 'medium' | 'large' | 'xlarge'

/** Time to live per operation, from the original design. */
export const DEFAULT_OPERATION_TTLS: Readonly<Record<string, Duration>> = Object.freeze({
  summarize: '2h',
  sentiment: '24h',
  key_points: '2h',
  questions: '1h',
  qa: '30m',
})

/** Text size tiers of the original design. */
export const DEFAULT_TEXT_SIZE_TIERS: TextSizeTiers = Object.freeze({ small: 500, medium: 5_000, large: 50_000 })

/**
 * Operations whose answers are cached even when sampled (temperature above 0): one sample of a
 * summary or a sentiment is as good as the next. `questions` is left out because callers
 * usually want new questions each time.
 */
export const DEFAULT_SAMPLED_OPERATIONS: readonly string[] = Object.freeze(['summarize', 'sentiment', 'key_points', 'qa'])

/** Options of `AIResponseCache`. Invalid options throw one `E_INVALID_OPTIONS` listing every problem. */
export interface AIResponseCacheOptions {
  /**
   * Time to live per operation, merged over the defaults (summarize 2 h, sentiment 24 h,
   * key_points 2 h, questions 1 h, qa 30 min).
   * @default DEFAULT_OPERATION_TTLS
   */
  operationTtls?: Readonly<Record<string, Duration>>
  /** Time to live of operations that `operationTtls` does not list. @default '1h' */
  defaultTtl?: Duration
  /** Text size tiers for the performance summary, merged over the defaults. @default DEFAULT_TEXT_SIZE_TIERS */
  textSizeTiers?: Partial<TextSizeTiers>
  /**
   * Texts longer than this many characters appear in keys as a hash only (passed to the
   * default key generator; give it to your own `keyGenerator` instead).
   * @default 64
   */
  textHashThreshold?: number
  /** Builds the keys. @default new CacheKeyGenerator({ textHashThreshold }) */
  keyGenerator?: CacheKeyGenerator
  /** Whether a generated response is stored. @default defaultShouldCache */
  shouldCache?: ShouldCache
  /**
   * Operations cached even when `options.temperature` is above 0. Other operations bypass the
   * cache entirely for sampled requests (no read, no write, no shared call).
   * @default DEFAULT_SAMPLED_OPERATIONS
   */
  sampledOperations?: readonly string[]
  /** Prices per model, for the cost saved by hits. Models not listed count tokens but no cost. @default {} */
  prices?: PriceTable
  /**
   * Refuse requests without a string `options.model` (E_INVALID_OPTIONS): answers of different
   * models must never share a key.
   * @default true
   */
  requireModel?: boolean
  /** Tenant of every request made through this instance (see also `forTenant`). @default undefined */
  tenant?: string
  /**
   * `getOrSet` policy of every load (`grace`, `timeout`, `lock`, `ttlJitter`, `eagerRefresh`),
   * checked by the cache on the first load. `lock: true` makes concurrent misses on several
   * instances share one model call through Redis.
   * @default {} (the cache's own policy)
   */
  loadPolicy?: AILoadPolicy
  /** Time source of the generation latency saved by hits, in ms; for tests. @default performance */
  clock?: Clock
  /**
   * Receives the duration of every key generation (`keyGeneration(name, ms)`), for example a
   * `CachePerformanceMonitor`. Timing every key costs about 0.1 µs per lookup. With your own
   * `keyGenerator`, give it `onKeyGenerated` instead.
   * @default undefined
   */
  monitor?: Pick<MonitorSink, 'keyGeneration'>
  /** Name under which this cache reports to `monitor`. @default 'ai' */
  monitorName?: string
}

/** Options after validation; frozen. */
export interface ResolvedAIOptions {
  readonly operationTtls: ReadonlyMap<string, Duration>
  readonly defaultTtl: Duration
  readonly tiers: TextSizeTiers
  readonly keyGenerator: CacheKeyGenerator
  readonly shouldCache: ShouldCache
  readonly sampledOperations: ReadonlySet<string>
  readonly prices: PriceTable
  readonly requireModel: boolean
  readonly tenant: string | undefined
  readonly loadPolicy: AILoadPolicy
  readonly clock: Clock
}

const DURATION = /^\d+(?:\.\d+)?(?:ms|s|m|h|d)$/

/** Validates every option, reports all problems at once, and freezes the result. */
export function resolveAIOptions(raw: AIResponseCacheOptions): ResolvedAIOptions {
  const issues: OptionIssue[] = []
  const ttls = { ...DEFAULT_OPERATION_TTLS, ...raw.operationTtls }
  for (const [operation, ttl] of Object.entries(ttls)) checkDuration(ttl, `operationTtls.${operation}`, issues)
  const defaultTtl = raw.defaultTtl ?? '1h'
  checkDuration(defaultTtl, 'defaultTtl', issues)
  const tiers = { ...DEFAULT_TEXT_SIZE_TIERS, ...raw.textSizeTiers }
  if (!(isCount(tiers.small) && isCount(tiers.medium) && isCount(tiers.large) && tiers.small < tiers.medium && tiers.medium < tiers.large)) {
    issues.push({ path: 'textSizeTiers', message: 'expected positive integers with small < medium < large' })
  }
  const sampled = raw.sampledOperations ?? DEFAULT_SAMPLED_OPERATIONS
  checkShapes(raw, issues)
  const keyGenerator = raw.keyGenerator ?? collect(issues, () => new CacheKeyGenerator(generatorOptions(raw)))
  const tenant = raw.tenant === undefined ? undefined : collect(issues, () => assertName(raw.tenant, 'tenant'))
  if (issues.length > 0 || keyGenerator === undefined) throw new errors.E_INVALID_OPTIONS(issues)
  return Object.freeze({
    operationTtls: new Map(Object.entries(ttls)),
    defaultTtl,
    tiers: Object.freeze(tiers),
    keyGenerator,
    shouldCache: raw.shouldCache ?? defaultShouldCache,
    sampledOperations: new Set(sampled),
    prices: Object.freeze({ ...raw.prices }),
    requireModel: raw.requireModel ?? true,
    tenant,
    loadPolicy: Object.freeze({ ...raw.loadPolicy }),
    clock: raw.clock ?? performance,
  })
}

/** Type checks of the options that have no default to merge, and of options given together that conflict. */
function checkShapes(raw: AIResponseCacheOptions, issues: OptionIssue[]): void {
  if (raw.shouldCache !== undefined && typeof raw.shouldCache !== 'function') {
    issues.push({ path: 'shouldCache', message: 'expected a function (response, request) => boolean' })
  }
  const sampled: unknown = raw.sampledOperations
  if (sampled !== undefined && (!Array.isArray(sampled) || sampled.some((op) => typeof op !== 'string'))) {
    issues.push({ path: 'sampledOperations', message: 'expected an array of operation names' })
  }
  checkPrices(raw.prices ?? {}, issues)
  if (raw.loadPolicy !== undefined && (typeof raw.loadPolicy !== 'object' || raw.loadPolicy === null)) {
    issues.push({ path: 'loadPolicy', message: 'expected an object such as { lock: true, grace: "1h" }' })
  }
  if (raw.clock !== undefined && typeof raw.clock?.now !== 'function') issues.push({ path: 'clock', message: 'expected { now(): number }' })
  if (raw.keyGenerator !== undefined && raw.textHashThreshold !== undefined) {
    issues.push({ path: 'textHashThreshold', message: 'give it to your keyGenerator: new CacheKeyGenerator({ textHashThreshold })' })
  }
  if (raw.keyGenerator !== undefined && raw.monitor !== undefined) {
    issues.push({ path: 'monitor', message: 'give your keyGenerator an onKeyGenerated hook instead' })
  }
}

/** The tier of a text of `length` characters. */
export function tierOf(length: number, tiers: TextSizeTiers): TextSizeTier {
  if (length < tiers.small) return 'small'
  if (length < tiers.medium) return 'medium'
  return length < tiers.large ? 'large' : 'xlarge'
}

/** Options of the default key generator: the threshold, and the monitor's hook. */
function generatorOptions(raw: AIResponseCacheOptions): CacheKeyGeneratorOptions {
  const options: CacheKeyGeneratorOptions = raw.textHashThreshold === undefined ? {} : { textHashThreshold: raw.textHashThreshold }
  const { monitor } = raw
  if (typeof monitor?.keyGeneration !== 'function') return options
  const name = raw.monitorName ?? 'ai'
  return { ...options, onKeyGenerated: (ms) => monitor.keyGeneration?.(name, ms) }
}

/** Runs a validating constructor and moves its issues into `issues`, so all problems are reported together. */
function collect<T>(issues: OptionIssue[], build: () => T): T | undefined {
  try {
    return build()
  } catch (error) {
    if (!(error instanceof errors.E_INVALID_OPTIONS)) throw error
    issues.push(...error.issues)
    return undefined
  }
}

/** Records an issue unless `value` is a duration (milliseconds >= 0, or a string such as '10m'). */
export function checkDuration(value: unknown, path: string, issues: OptionIssue[]): void {
  const ok = typeof value === 'number' ? Number.isFinite(value) && value >= 0 : typeof value === 'string' && DURATION.test(value)
  if (!ok) issues.push({ path, message: "expected milliseconds (a number >= 0) or a string such as '30s', '10m', '2h', '1d'" })
}

function checkPrices(prices: PriceTable, issues: OptionIssue[]): void {
  for (const [model, price] of Object.entries(prices)) {
    const fine = [price?.inputPerMillion, price?.outputPerMillion].every((n) => typeof n === 'number' && Number.isFinite(n) && n >= 0)
    if (!fine) issues.push({ path: `prices.${model}`, message: 'expected { inputPerMillion, outputPerMillion } as numbers >= 0' })
  }
}

function isCount(n: unknown): boolean {
  return typeof n === 'number' && Number.isInteger(n) && n > 0
}
