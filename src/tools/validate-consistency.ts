/**
 * `validateDataConsistency(source, target)`: compares what a migration (or a restore) should
 * have produced with what the target holds: keys on both sides, values, TTLs and metadata.
 */
import { isDeepStrictEqual } from 'node:util'

import { type CacheInterface, type Duration, InvalidOptionsError, type OptionIssue } from '../index.js'
import type { DetailedValidationResult, MetadataMismatch, MigrationEntry, SourceLike, TtlMismatch, ValidationOptions, ValueMismatch } from './migration-types.js'
import { isCache, listKeys, readEntries, strataSource } from './strata-reader.js'

const DEFAULTS = { ttlToleranceMs: 1000, maxReported: 100, batchSize: 500 }

/** A list bounded to `max` items that still counts every item. */
class Bounded<T> {
  readonly items: T[] = []
  count = 0
  constructor(readonly max: number) {}
  add(item: T): void {
    this.count++
    if (this.items.length < this.max) this.items.push(item)
  }
}

interface Findings {
  readonly missing: Bounded<string>
  readonly extra: Bounded<string>
  readonly values: Bounded<ValueMismatch>
  readonly ttls: Bounded<TtlMismatch>
  readonly metadata: Bounded<MetadataMismatch>
  readonly compared: { tags: boolean; codec: boolean }
}

/**
 * Reads every live entry of `source`, looks each up in `target`, then lists the target's keys
 * to find those the source lacks. Values are compared deeply (`util.isDeepStrictEqual`: Date,
 * Map, Set, BigInt and Buffer by content), TTLs within `ttlTolerance`, and tags and codec ids
 * when both sides can tell them. Memory holds the source's keys (for the extra-key pass) and
 * one batch of entries.
 *
 * Rejects with `E_INVALID_OPTIONS` on bad options, and with the source's or target's error when
 * one of them fails on the way (an incomplete comparison never reads as consistent).
 */
export async function validateDataConsistency(source: SourceLike, target: CacheInterface, options: ValidationOptions = {}): Promise<DetailedValidationResult> {
  const resolved = resolveValidationOptions(options)
  const startedAt = performance.now()
  const max = resolved.maxReported
  const found: Findings = { missing: new Bounded(max), extra: new Bounded(max), values: new Bounded(max), ttls: new Bounded(max), metadata: new Bounded(max), compared: { tags: false, codec: false } }
  const reader = isCache(source) ? strataSource(source) : source
  const sourceKeys = new Set<string>()
  let scanned = 0
  for await (const items of reader.read(resolved.batchSize)) {
    scanned += items.length
    const entries = items.flatMap((item) => (item.kind === 'entry' && !sourceKeys.has(item.entry.key) ? [item.entry] : []))
    for (const entry of entries) sourceKeys.add(entry.key)
    const inTarget = await readEntries(target, entries.map((entry) => entry.key))
    entries.forEach((entry, i) => compare(entry, inTarget[i], resolved, found))
    resolved.onProgress?.(scanned)
  }
  let targetKeyCount = 0
  for await (const keys of listKeys(target, resolved.batchSize)) {
    for (const key of keys) {
      targetKeyCount++
      if (!sourceKeys.has(key)) found.extra.add(key)
    }
  }
  const counts = { missingInTarget: found.missing.count, extraInTarget: found.extra.count, valueMismatches: found.values.count, ttlMismatches: found.ttls.count, metadataMismatches: found.metadata.count }
  return Object.freeze({
    isConsistent: Object.values(counts).every((count) => count === 0),
    keyCountMatch: sourceKeys.size === targetKeyCount,
    sourceKeyCount: sourceKeys.size,
    targetKeyCount,
    missingInTarget: found.missing.items,
    extraInTarget: found.extra.items,
    valueMismatches: found.values.items,
    ttlMismatches: found.ttls.items,
    metadataMismatches: found.metadata.items,
    counts,
    comparedMetadata: { ...found.compared },
    durationMs: Math.round(performance.now() - startedAt),
  })
}

interface ResolvedValidationOptions {
  readonly ttlToleranceMs: number
  readonly maxReported: number
  readonly batchSize: number
  readonly compareMetadata: boolean
  readonly onProgress: ((scanned: number) => void) | undefined
}

function compare(entry: MigrationEntry, other: MigrationEntry | undefined, options: ResolvedValidationOptions, found: Findings): void {
  if (other === undefined) return found.missing.add(entry.key)
  if (!isDeepStrictEqual(entry.value, other.value)) found.values.add({ key: entry.key, sourceValue: entry.value, targetValue: other.value })
  if (!ttlsMatch(entry.ttlMs, other.ttlMs, options.ttlToleranceMs)) found.ttls.add({ key: entry.key, sourceTtlMs: entry.ttlMs ?? null, targetTtlMs: other.ttlMs ?? null })
  if (!options.compareMetadata) return
  if (entry.tags !== undefined && other.tags !== undefined) {
    found.compared.tags = true
    const a = [...new Set(entry.tags)].sort()
    const b = [...new Set(other.tags)].sort()
    if (!isDeepStrictEqual(a, b)) found.metadata.add({ key: entry.key, field: 'tags', source: a, target: b })
  }
  if (entry.codec !== undefined && other.codec !== undefined) {
    found.compared.codec = true
    for (const field of ['serializerId', 'compressorId', 'keyId'] as const) {
      if (entry.codec[field] !== other.codec[field]) found.metadata.add({ key: entry.key, field, source: entry.codec[field], target: other.codec[field] })
    }
  }
}

function ttlsMatch(a: number | undefined, b: number | undefined, toleranceMs: number): boolean {
  if (a === undefined || b === undefined) return a === b
  return Math.abs(a - b) <= toleranceMs
}

/** Validates every option at once; throws one `E_INVALID_OPTIONS` listing each problem. */
function resolveValidationOptions(options: ValidationOptions): ResolvedValidationOptions {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError([{ path: 'options', message: 'expected an object' }])
  const issues: OptionIssue[] = []
  const ttlToleranceMs = durationMs(options.ttlTolerance ?? DEFAULTS.ttlToleranceMs, 'ttlTolerance', issues)
  const maxReported = options.maxReported ?? DEFAULTS.maxReported
  if (!Number.isInteger(maxReported) || maxReported < 0) issues.push({ path: 'maxReported', message: 'expected an integer of at least 0' })
  const batchSize = options.batchSize ?? DEFAULTS.batchSize
  if (!Number.isInteger(batchSize) || batchSize < 1) issues.push({ path: 'batchSize', message: 'expected an integer of at least 1' })
  if (options.compareMetadata !== undefined && typeof options.compareMetadata !== 'boolean') issues.push({ path: 'compareMetadata', message: 'expected a boolean' })
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') issues.push({ path: 'onProgress', message: 'expected a function' })
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  return { ttlToleranceMs, maxReported, batchSize, compareMetadata: options.compareMetadata ?? true, onProgress: options.onProgress }
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** Milliseconds of a `Duration` (a number is ms). */
function durationMs(value: Duration, path: string, issues: OptionIssue[]): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value
  const match = typeof value === 'string' ? /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(value.trim()) : null
  if (match !== null) return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
  issues.push({ path, message: "expected milliseconds or a duration such as '500ms' or '2s'" })
  return 0
}
