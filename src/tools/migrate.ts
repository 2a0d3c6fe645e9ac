/**
 * `migrate(source, target)`: copies entries into a strata cache from another strata cache
 * (another namespace, server, or a cluster; memory to Redis) or from data other libraries left
 * in Redis (the importers), batch by batch, with a transform hook, a dry run and a rate limit.
 */
import { type CacheInterface, InvalidOptionsError, L2UnavailableError, type OptionIssue } from '../index.js'
import type { MigrationEntry, MigrationOptions, MigrationResult, SourceItem, SourceLike } from './migration-types.js'
import { isCache, readEntries, strataSource } from './strata-reader.js'

const DEFAULT_BATCH_SIZE = 500
const DEFAULT_MAX_REPORTED = 20

interface Counts {
  scanned: number
  migrated: number
  skipped: number
  failed: number
  errors: Array<{ key: string; reason: string }>
}

/**
 * Copies every live entry of `source` into `target`, keeping each entry's remaining TTL and its
 * tags. Entries are written with `setMany`, so the target encodes them with its own serializer,
 * compression and encryption (and under its own namespace). Resolves once every batch is done.
 *
 * Construct a Redis target with `suppressL2Errors: false`: then a write Redis refuses fails the
 * migration with `E_L2_UNAVAILABLE` (entries written before stay written; running it again is
 * safe) instead of being dropped as a cache write would be.
 *
 * Rejects with `E_INVALID_OPTIONS` on bad options, before reading anything.
 */
export async function migrate(source: SourceLike, target: CacheInterface, options: MigrationOptions = {}): Promise<MigrationResult> {
  const resolved = resolveMigrationOptions(source, target, options)
  const startedAt = performance.now()
  const counts: Counts = { scanned: 0, migrated: 0, skipped: 0, failed: 0, errors: [] }
  const reader = isCache(source) ? strataSource(source) : source
  const limit = throttle(resolved.rate)
  for await (const items of reader.read(resolved.batchSize)) {
    await limit(items.length)
    counts.scanned += items.length
    const writes = await prepare(items, resolved, counts)
    const fresh = resolved.overwrite ? writes : await absentIn(target, writes, counts)
    if (!resolved.dryRun) await write(target, fresh, resolved, counts)
    counts.migrated += fresh.length
    resolved.onProgress?.(progressOf(counts))
  }
  return Object.freeze({ ...progressOf(counts), durationMs: Math.round(performance.now() - startedAt), dryRun: resolved.dryRun, errors: counts.errors })
}

interface ResolvedMigrationOptions {
  readonly transform: MigrationOptions['transform']
  readonly dryRun: boolean
  readonly batchSize: number
  readonly rate: number | undefined
  readonly overwrite: boolean
  readonly onProgress: MigrationOptions['onProgress']
  readonly maxReported: number
}

/** Validates every option at once; throws one `E_INVALID_OPTIONS` listing each problem. */
function resolveMigrationOptions(source: unknown, target: unknown, options: MigrationOptions): ResolvedMigrationOptions {
  const issues: OptionIssue[] = []
  if (typeof source !== 'object' || source === null || (!isCache(source as SourceLike) && typeof (source as { read?: unknown }).read !== 'function')) issues.push({ path: 'source', message: 'expected a strata cache or a migration source (keyvSource(), cacheManagerSource(), bentocacheSource())' })
  if (typeof target !== 'object' || target === null || typeof (target as { setMany?: unknown }).setMany !== 'function') issues.push({ path: 'target', message: 'expected a strata cache (InMemoryCache or GenericRedisCache)' })
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError([...issues, { path: 'options', message: 'expected an object' }])
  const batchSize = positiveInteger(options.batchSize ?? DEFAULT_BATCH_SIZE, 'batchSize', issues)
  const maxReported = positiveInteger(options.maxReported ?? DEFAULT_MAX_REPORTED, 'maxReported', issues, 0)
  if (options.rate !== undefined && !(typeof options.rate === 'number' && options.rate > 0 && Number.isFinite(options.rate))) issues.push({ path: 'rate', message: 'expected a positive number of entries per second' })
  if (options.transform !== undefined && typeof options.transform !== 'function') issues.push({ path: 'transform', message: 'expected a function (entry) => entry | undefined' })
  if (options.onProgress !== undefined && typeof options.onProgress !== 'function') issues.push({ path: 'onProgress', message: 'expected a function' })
  if (options.dryRun !== undefined && typeof options.dryRun !== 'boolean') issues.push({ path: 'dryRun', message: 'expected a boolean' })
  if (options.overwrite !== undefined && typeof options.overwrite !== 'boolean') issues.push({ path: 'overwrite', message: 'expected a boolean' })
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  // A batch never holds more than a second's worth of entries, so the rate holds within a second.
  const rate = options.rate
  return { transform: options.transform, dryRun: options.dryRun ?? false, batchSize: rate === undefined ? batchSize : Math.max(1, Math.min(batchSize, Math.floor(rate))), rate, overwrite: options.overwrite ?? true, onProgress: options.onProgress, maxReported }
}

function positiveInteger(value: unknown, path: string, issues: OptionIssue[], min = 1): number {
  if (typeof value === 'number' && Number.isInteger(value) && value >= min) return value
  issues.push({ path, message: `expected an integer of at least ${min}` })
  return min
}

/** The entries of a batch to write, after the transform; skips and failures are counted. */
async function prepare(items: readonly SourceItem[], options: ResolvedMigrationOptions, counts: Counts): Promise<MigrationEntry[]> {
  const writes: MigrationEntry[] = []
  for (const item of items) {
    if (item.kind === 'skip') counts.skipped++
    else if (item.kind === 'fail') fail(counts, options, item.key, item.reason)
    else {
      let entry: MigrationEntry | undefined
      try {
        entry = options.transform === undefined ? item.entry : await options.transform(item.entry)
      } catch (error) {
        fail(counts, options, item.entry.key, `transform threw: ${error instanceof Error ? error.message : String(error)}`)
        continue
      }
      if (entry === undefined) counts.skipped++
      else if (entry.value === undefined) fail(counts, options, entry.key, 'the transform returned an entry whose value is undefined')
      // A TTL that ran out while we read: writing it would mean "never expires" (0) or an error.
      else if (entry.ttlMs !== undefined && !(entry.ttlMs >= 1)) counts.skipped++
      else writes.push(entry)
    }
  }
  return writes
}

/** Without `overwrite`: the writes whose key the target lacks; the others are counted as skipped. */
async function absentIn(target: CacheInterface, writes: readonly MigrationEntry[], counts: Counts): Promise<MigrationEntry[]> {
  const present = await readEntries(target, writes.map((entry) => entry.key))
  const absent = writes.filter((_entry, i) => present[i] === undefined)
  counts.skipped += writes.length - absent.length
  return absent
}

/**
 * Writes a batch with one `setMany`. When the batch is refused for an entry (a key, value or
 * tag the target rejects), each entry is written alone so the others still go through; a Redis
 * failure ends the migration.
 */
async function write(target: CacheInterface, writes: MigrationEntry[], options: ResolvedMigrationOptions, counts: Counts): Promise<void> {
  if (writes.length === 0) return
  try {
    await target.setMany(writes.map(toSetEntry))
    return
  } catch (error) {
    if (error instanceof L2UnavailableError) throw error
  }
  for (let i = writes.length - 1; i >= 0; i--) {
    const entry = writes[i]!
    try {
      await target.set(entry.key, entry.value, { ttl: entry.ttlMs ?? 0, ...(entry.tags === undefined ? {} : { tags: entry.tags }) })
    } catch (error) {
      if (error instanceof L2UnavailableError) throw error
      fail(counts, options, entry.key, error instanceof Error ? error.message : String(error))
      writes.splice(i, 1)
    }
  }
}

function toSetEntry(entry: MigrationEntry) {
  return { key: entry.key, value: entry.value, ttl: entry.ttlMs ?? 0, ...(entry.tags === undefined ? {} : { tags: entry.tags }) }
}

function fail(counts: Counts, options: ResolvedMigrationOptions, key: string, reason: string): void {
  counts.failed++
  if (counts.errors.length < options.maxReported) counts.errors.push({ key, reason })
}

function progressOf(counts: Counts) {
  return { scanned: counts.scanned, migrated: counts.migrated, skipped: counts.skipped, failed: counts.failed }
}

/**
 * Waits before each batch so that, from the start, at most `rate` items per second are read:
 * the batch of `n` items may start once the items before it have had their share of time.
 */
function throttle(rate: number | undefined): (n: number) => Promise<void> {
  if (rate === undefined) return () => Promise.resolve()
  const startedAt = performance.now()
  let done = 0
  return async (n) => {
    const due = startedAt + (done / rate) * 1000
    done += n
    const wait = due - performance.now()
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait))
  }
}
