import { InvalidOptionsError, type OptionIssue } from '../errors.js'
import { isTagList, isWellFormedText, MAX_KEY_LENGTH } from '../shared/key.js'
import { booleanOption, integerIn } from '../shared/validate.js'

/** One entry to write back as stored bytes (what `exportEntries()` yields is one). */
export interface ImportEntry {
  /** The key without the namespace prefix. */
  readonly key: string
  /** The stored envelope, written as is. */
  readonly bytes: Uint8Array
  /** When Redis should expire it, epoch ms; `undefined` for never. An expiry already past skips it. */
  readonly expiresAt?: number | undefined
  /** Tags whose indexes the entry joins, so `invalidateTags` finds it. @default [] */
  readonly tags?: readonly string[] | undefined
}

/** Options of `GenericRedisCache.importEntries()`. */
export interface ImportOptions {
  /**
   * Replace entries that already exist. Off, an existing entry is kept and counted as
   * `skippedExisting`, so an import never replaces newer data.
   * @default false
   */
  overwrite?: boolean
  /**
   * Entries per pipelined write batch (and per existence check).
   * @default 500
   */
  batchSize?: number
}

/** What an import did, by entry. */
export interface ImportResult {
  /** Entries written, with their TTL and tag indexes. */
  readonly written: number
  /** Entries whose expiry had passed: not written. */
  readonly skippedExpired: number
  /** Entries not written because the key existed (without `overwrite`), or repeated later in the same batch. */
  readonly skippedExisting: number
  /** Entries refused: an invalid key, tag list or bytes. */
  readonly failed: number
}

/** One write for the L2 tier: the bytes with their remaining TTL and tags. */
export interface RawWrite {
  readonly key: string
  readonly bytes: Uint8Array
  /** Remaining ms; `undefined` for no expiry. */
  readonly ttlMs: number | undefined
  readonly tags: readonly string[]
}

/** What an import needs from the cache; every call has its deadline and rejects on failure. */
export interface ImportTarget {
  /** Epoch ms on this cache's clock. */
  now(): number
  /** Whether each key (without the namespace) exists, aligned with `keys`. */
  exists(keys: readonly string[]): Promise<readonly boolean[]>
  /** Writes through the tier's write path (`SET_ENTRY` for tagged entries); L1 copies of the keys are dropped. */
  write(writes: readonly RawWrite[]): Promise<void>
}

const DEFAULT_BATCH_SIZE = 500
const MAX_BATCH_SIZE = 10_000

/** Validates `importEntries()` options; throws `E_INVALID_OPTIONS` listing every problem. */
export function resolveImportOptions(raw: ImportOptions | undefined): Required<ImportOptions> {
  const issues: OptionIssue[] = []
  if (raw !== undefined && (typeof raw !== 'object' || raw === null)) issues.push({ path: 'options', message: 'expected { overwrite?, batchSize? }' })
  const overwrite = booleanOption(raw?.overwrite ?? false, 'overwrite', issues)
  const batchSize = integerIn(raw?.batchSize ?? DEFAULT_BATCH_SIZE, { path: 'batchSize', min: 1, max: MAX_BATCH_SIZE }, issues)
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  return { overwrite: overwrite ?? false, batchSize: batchSize ?? DEFAULT_BATCH_SIZE }
}

/** Throws `E_INVALID_OPTIONS` unless `entries` can be iterated (sync or async). */
export function assertEntrySource(entries: unknown): asserts entries is Iterable<ImportEntry> | AsyncIterable<ImportEntry> {
  const iterable = typeof entries === 'object' && entries !== null && (Symbol.iterator in entries || Symbol.asyncIterator in entries)
  if (!iterable) throw new InvalidOptionsError([{ path: 'entries', message: 'expected an iterable or async iterable of { key, bytes, expiresAt?, tags? }' }])
}

/**
 * Writes entries in batches, as they come (memory stays at one batch): expired ones are skipped,
 * invalid ones counted as failed, existing ones kept unless `overwrite`. Running it twice over
 * the same entries changes nothing: the second run skips them all, or (with `overwrite`) writes
 * the same bytes with the same absolute expiry.
 */
export async function importInto(target: ImportTarget, entries: Iterable<ImportEntry> | AsyncIterable<ImportEntry>, options: Required<ImportOptions>): Promise<ImportResult> {
  const counts = { written: 0, skippedExpired: 0, skippedExisting: 0, failed: 0 }
  let batch: ImportEntry[] = []
  for await (const entry of entries) {
    batch.push(entry)
    if (batch.length < options.batchSize) continue
    await importBatch(target, batch, options.overwrite, counts)
    batch = []
  }
  if (batch.length > 0) await importBatch(target, batch, options.overwrite, counts)
  return Object.freeze(counts)
}

async function importBatch(target: ImportTarget, batch: readonly ImportEntry[], overwrite: boolean, counts: { -readonly [K in keyof ImportResult]: number }): Promise<void> {
  const now = target.now()
  // The last occurrence of a key in the batch wins, as it would written one after the other.
  const byKey = new Map<string, RawWrite>()
  for (const entry of batch) {
    if (!isImportEntry(entry)) {
      counts.failed++
      continue
    }
    const ttlMs = entry.expiresAt === undefined ? undefined : entry.expiresAt - now
    if (ttlMs !== undefined && !(ttlMs > 0)) {
      counts.skippedExpired++
      continue
    }
    if (byKey.has(entry.key)) counts.skippedExisting++
    byKey.set(entry.key, { key: entry.key, bytes: entry.bytes, ttlMs, tags: entry.tags ?? [] })
  }
  let writes = [...byKey.values()]
  if (!overwrite && writes.length > 0) {
    const exists = await target.exists(writes.map((write) => write.key))
    writes = writes.filter((_write, i) => !exists[i])
    counts.skippedExisting += byKey.size - writes.length
  }
  if (writes.length === 0) return
  await target.write(writes)
  counts.written += writes.length
}

function isImportEntry(entry: unknown): entry is ImportEntry {
  if (typeof entry !== 'object' || entry === null) return false
  const { key, bytes, expiresAt, tags } = entry as Partial<ImportEntry>
  if (typeof key !== 'string' || key.length === 0 || key.length > MAX_KEY_LENGTH || !isWellFormedText(key)) return false
  if (!(bytes instanceof Uint8Array) || bytes.length === 0) return false
  if (expiresAt !== undefined && (typeof expiresAt !== 'number' || Number.isNaN(expiresAt))) return false
  return tags === undefined || isTagList(tags)
}
