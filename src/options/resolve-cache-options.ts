import { InvalidOptionsError, type OptionIssue } from '../errors.js'
import type { Serializer } from '../codecs/codec.js'
import { jsonSerializer } from '../codecs/json-serializer.js'
import { msgpackSerializer } from '../codecs/msgpack-serializer.js'
import { type Clock, systemClock } from '../shared/clock.js'
import type { CacheMonitor } from '../monitoring/monitor-sink.js'
import { type ResolvedRedisConnection, resolveRedisConnection } from './redis-options.js'
import { type ResolvedEncryption, resolveEncryption } from './encryption-options.js'
import { DEFAULTS, type ExternalRedisClient, type GenericRedisCacheOptions, type InMemoryCacheOptions } from './cache-options.js'
import { describe, parseDuration } from '../shared/duration.js'
import { POLICY_KEYS, type ResolvedGetOrSetPolicy, basePolicy, resolvePolicy } from './get-or-set-options.js'
import { booleanOption, integerIn, isRecord, rejectUnknownKeys } from '../shared/validate.js'
import { isWellFormedText } from '../shared/key.js'

/** Settings of the L2 circuit breaker. */
export interface BreakerSettings {
  /** Consecutive failures (errors or missed deadlines) that open the breaker. */
  readonly failureThreshold: number
  /** How long the breaker stays open before it lets one probe through, in ms. */
  readonly openMs: number
}

/** L1 bounds after validation. */
export interface ResolvedL1Options {
  readonly maxEntries: number
  readonly maxBytes: number | undefined
}

/** Options shared by every cache, validated and in milliseconds. */
export interface ResolvedBaseOptions {
  readonly namespace: string
  /** 0 means no expiry. */
  readonly defaultTtlMs: number
  readonly maxValueBytes: number
  readonly clock: Clock
  /** Source of randomness for ttl jitter, in [0, 1). */
  readonly random: () => number
  /** Name in metrics and traces. */
  readonly name: string
  readonly monitor: CacheMonitor | undefined
  /** `getOrSet` defaults: ttl, grace, timeouts, eager refresh, jitter, lock. */
  readonly policy: ResolvedGetOrSetPolicy
  readonly l1: ResolvedL1Options | false
}

/** Cross-instance coherence settings; `false` when off (or without L1). */
export type ResolvedCoherence = { readonly maxStalenessMs: number; readonly offline: 'serve' | 'bypass' } | false

/** `GenericRedisCache` options, validated, defaulted and frozen. */
export interface ResolvedRedisCacheOptions extends ResolvedBaseOptions {
  readonly redis: ResolvedRedisConnection
  /** A client the caller owns, used instead of opening one; never closed by the cache. */
  readonly client: ExternalRedisClient | undefined
  readonly serializer: Serializer
  readonly compression: { readonly thresholdBytes: number; readonly level: number } | false
  /** Deadline of each L2 read and of each L2 write (writes, deletes, locks), in ms. */
  readonly l2TimeoutMs: { readonly read: number; readonly write: number }
  readonly connectTimeoutMs: number
  readonly breaker: BreakerSettings
  readonly suppressL2Errors: boolean
  readonly coherence: ResolvedCoherence
  /** Encryption at rest, or `false`. */
  readonly encryption: ResolvedEncryption | false
}

/** The smallest `coherence.maxStaleness`: a barrier goes out every fifth of it. */
const MIN_MAX_STALENESS_MS = 20

const BASE_KEYS = ['namespace', 'defaultTtl', 'maxValueBytes', 'clock', 'random', 'name', 'monitor', ...POLICY_KEYS] as const
const L1_KEYS = ['maxEntries', 'maxBytes'] as const
const REDIS_KEYS = [
  ...BASE_KEYS,
  ...['redisUrl', 'redis', 'sentinel', 'cluster', 'client', 'l1', 'compression', 'serializer', 'l2Timeout', 'connectTimeout'],
  ...['circuitBreaker', 'suppressL2Errors', 'coherence', 'encryption', 'security'],
] as const

/** Validates `InMemoryCache` options; throws one `E_INVALID_OPTIONS` listing every problem. */
export function resolveInMemoryCacheOptions(raw: InMemoryCacheOptions = {}): ResolvedBaseOptions {
  const issues: OptionIssue[] = []
  assertObject(raw)
  rejectUnknownKeys(raw, [...BASE_KEYS, ...L1_KEYS], '', issues)
  const base = resolveBase(raw, issues)
  const l1 = resolveL1(raw, '', issues)
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  return Object.freeze({ ...base, l1 })
}

/** Validates `GenericRedisCache` options; throws one `E_INVALID_OPTIONS` listing every problem. */
export function resolveRedisCacheOptions(raw: GenericRedisCacheOptions = {}): ResolvedRedisCacheOptions {
  const issues: OptionIssue[] = []
  assertObject(raw)
  rejectUnknownKeys(raw, REDIS_KEYS, '', issues)
  const base = resolveBase(raw, issues)
  const l1: ResolvedL1Options | false = raw.l1 === false ? false : resolveL1(raw.l1 ?? {}, 'l1.', issues)
  const resolved = {
    ...base,
    l1,
    redis: resolveRedisConnection(raw.redisUrl ?? process.env.REDIS_URL ?? DEFAULTS.redisUrl, raw.redis, issues, { sentinel: raw.sentinel, cluster: raw.cluster, security: raw.security }),
    client: resolveClient(raw.client, issues),
    serializer: resolveSerializer(raw.serializer, issues),
    compression: resolveCompression(raw.compression, issues),
    l2TimeoutMs: resolveL2Timeout(raw.l2Timeout, issues),
    connectTimeoutMs: positiveDuration(raw.connectTimeout ?? DEFAULTS.connectTimeout, 'connectTimeout', issues),
    breaker: resolveBreaker(raw.circuitBreaker, issues),
    suppressL2Errors: booleanOption(raw.suppressL2Errors ?? true, 'suppressL2Errors', issues) ?? true,
    coherence: resolveCoherence(raw.coherence, l1 !== false, issues),
    encryption: resolveEncryption(raw.encryption, issues),
  }
  for (const topology of ['sentinel', 'cluster'] as const) {
    if (raw[topology] !== undefined && raw.client !== undefined) {
      issues.push({ path: topology, message: 'not used with client: an external client has its own connection' })
    }
  }
  if (raw.cluster !== undefined) {
    if (/[{}]/.test(base.namespace)) issues.push({ path: 'namespace', message: 'may not contain { or } on a cluster (they are hash tags)' })
  }
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  return Object.freeze(resolved)
}

function resolveBase(raw: InMemoryCacheOptions, issues: OptionIssue[]): Omit<ResolvedBaseOptions, 'l1'> {
  const namespace = raw.namespace ?? DEFAULTS.namespace
  if (typeof namespace !== 'string' || namespace.length === 0 || /[:#]/.test(namespace) || !isWellFormedText(namespace)) {
    issues.push({
      path: 'namespace',
      message: `expected a non-empty, well-formed string without ':' or '#' (nested namespaces would see each other's keys); got ${describe(namespace)}`,
    })
  }
  const clock = raw.clock ?? systemClock
  if (typeof clock?.now !== 'function') issues.push({ path: 'clock', message: 'expected an object with a now() method' })
  const random = raw.random ?? Math.random
  if (typeof random !== 'function') issues.push({ path: 'random', message: 'expected a function returning [0, 1)' })
  const defaultTtlMs = parseDuration(raw.defaultTtl ?? DEFAULTS.defaultTtl, 'defaultTtl', issues) ?? 0
  const name = raw.name ?? namespace
  if (typeof name !== 'string' || name.length === 0) issues.push({ path: 'name', message: 'expected a non-empty string' })
  const monitor = raw.monitor
  if (monitor !== undefined && (!isRecord(monitor) || typeof monitor.attach !== 'function')) {
    issues.push({ path: 'monitor', message: 'expected a CachePerformanceMonitor (an object with attach())' })
  }
  return {
    namespace,
    name,
    monitor,
    defaultTtlMs,
    maxValueBytes: integerIn(raw.maxValueBytes ?? DEFAULTS.maxValueBytes, { path: 'maxValueBytes', min: 1 }, issues) ?? 0,
    clock,
    random,
    policy: Object.freeze(resolvePolicy(raw, basePolicy(defaultTtlMs), issues)),
  }
}

function resolveL1(raw: unknown, prefix: string, issues: OptionIssue[]): ResolvedL1Options {
  if (!isRecord(raw)) {
    issues.push({ path: prefix.slice(0, -1), message: 'expected { maxEntries?, maxBytes? } or false' })
    return { maxEntries: DEFAULTS.l1MaxEntries, maxBytes: undefined }
  }
  if (prefix !== '') rejectUnknownKeys(raw, L1_KEYS, prefix, issues)
  // The entry cap holds with a byte bound too: maxBytes does not lift it, an explicit maxEntries does.
  return {
    maxEntries: integerIn(raw.maxEntries ?? DEFAULTS.l1MaxEntries, { path: `${prefix}maxEntries`, min: 1 }, issues) ?? DEFAULTS.l1MaxEntries,
    maxBytes: raw.maxBytes === undefined ? undefined : integerIn(raw.maxBytes, { path: `${prefix}maxBytes`, min: 1 }, issues),
  }
}

function resolveClient(raw: unknown, issues: OptionIssue[]): ExternalRedisClient | undefined {
  if (raw === undefined) return undefined
  if (isRecord(raw) && typeof raw.withTypeMapping === 'function' && typeof raw.sendCommand === 'function') {
    return raw as unknown as ExternalRedisClient
  }
  issues.push({ path: 'client', message: 'expected a client created by createClient() from @redis/client (node-redis 5 or 6)' })
  return undefined
}

function resolveSerializer(raw: GenericRedisCacheOptions['serializer'], issues: OptionIssue[]): Serializer {
  if (raw === undefined || raw === 'msgpack') return msgpackSerializer
  if (raw === 'json') return jsonSerializer
  if (isRecord(raw) && typeof raw.serialize === 'function' && typeof raw.deserialize === 'function') return raw
  issues.push({ path: 'serializer', message: `expected 'msgpack', 'json' or a Serializer; got ${describe(raw)}` })
  return msgpackSerializer
}

function resolveCompression(raw: GenericRedisCacheOptions['compression'], issues: OptionIssue[]): ResolvedRedisCacheOptions['compression'] {
  if (raw === undefined || raw === false) return false
  if (raw === true) raw = {}
  if (!isRecord(raw)) {
    issues.push({ path: 'compression', message: 'expected { threshold?, level? }, true or false' })
    return false
  }
  rejectUnknownKeys(raw, ['threshold', 'level'], 'compression.', issues)
  return {
    thresholdBytes: integerIn(raw.threshold ?? DEFAULTS.compressionThreshold, { path: 'compression.threshold', min: 0 }, issues) ?? 0,
    level: integerIn(raw.level ?? DEFAULTS.compressionLevel, { path: 'compression.level', min: 1, max: 9 }, issues) ?? 1,
  }
}

function resolveCoherence(raw: GenericRedisCacheOptions['coherence'], hasL1: boolean, issues: OptionIssue[]): ResolvedCoherence {
  if (raw === false) return false
  if (raw !== undefined && !isRecord(raw)) {
    issues.push({ path: 'coherence', message: `expected { maxStaleness?, offline? } or false; got ${describe(raw)}` })
    return false
  }
  const options = raw ?? {}
  rejectUnknownKeys(options, ['maxStaleness', 'offline'], 'coherence.', issues)
  const maxStalenessMs = parseDuration(options.maxStaleness ?? DEFAULTS.maxStaleness, 'coherence.maxStaleness', issues) ?? 0
  if (maxStalenessMs < MIN_MAX_STALENESS_MS) {
    issues.push({ path: 'coherence.maxStaleness', message: `must be at least ${MIN_MAX_STALENESS_MS}ms (a barrier goes out every fifth of it)` })
  }
  const offline = options.offline ?? DEFAULTS.offline
  if (offline !== 'serve' && offline !== 'bypass') {
    issues.push({ path: 'coherence.offline', message: `expected 'serve' or 'bypass'; got ${describe(offline)}` })
  }
  return hasL1 ? Object.freeze({ maxStalenessMs, offline: offline === 'bypass' ? 'bypass' : 'serve' }) : false
}

function resolveBreaker(raw: GenericRedisCacheOptions['circuitBreaker'], issues: OptionIssue[]): BreakerSettings {
  if (raw !== undefined && !isRecord(raw)) issues.push({ path: 'circuitBreaker', message: 'expected an object' })
  const options = isRecord(raw) ? raw : {}
  rejectUnknownKeys(options, ['failureThreshold', 'openDuration'], 'circuitBreaker.', issues)
  return {
    failureThreshold:
      integerIn(options.failureThreshold ?? DEFAULTS.breakerFailureThreshold, { path: 'circuitBreaker.failureThreshold', min: 1 }, issues) ?? 1,
    openMs: positiveDuration(options.openDuration ?? DEFAULTS.breakerOpenDuration, 'circuitBreaker.openDuration', issues),
  }
}

function resolveL2Timeout(raw: GenericRedisCacheOptions['l2Timeout'], issues: OptionIssue[]): ResolvedRedisCacheOptions['l2TimeoutMs'] {
  if (!isRecord(raw)) {
    const both = positiveDuration(raw ?? DEFAULTS.l2Timeout.read, 'l2Timeout', issues)
    return { read: both, write: raw === undefined ? positiveDuration(DEFAULTS.l2Timeout.write, 'l2Timeout', issues) : both }
  }
  rejectUnknownKeys(raw, ['read', 'write'], 'l2Timeout.', issues)
  return {
    read: positiveDuration(raw.read ?? DEFAULTS.l2Timeout.read, 'l2Timeout.read', issues),
    write: positiveDuration(raw.write ?? DEFAULTS.l2Timeout.write, 'l2Timeout.write', issues),
  }
}

function positiveDuration(input: unknown, path: string, issues: OptionIssue[]): number {
  const ms = parseDuration(input, path, issues)
  if (ms === 0) issues.push({ path, message: 'must be greater than 0' })
  return ms ?? 1
}

function assertObject(raw: unknown): void {
  if (!isRecord(raw)) throw new InvalidOptionsError([{ path: '(options)', message: 'expected an object' }])
}
