import type { BackupHeader } from './backup-format.js'
import { BackupFormatError } from '../errors.js'
import type { GenericRedisCache, ImportEntry } from '../index.js'
import { type ResolvedRestoreOptions, type RestoreOptions, resolveRestoreOptions } from './backup-options.js'
import { BackupReader, withRestored } from './backup-reader.js'
import { rateLimiter } from './rate-limit.js'

/** What `restoreBackup()` did, by entry. */
export interface RestoreResult {
  /** Entries written (in a dry run: that would be written). */
  readonly restored: number
  /** Entries whose expiry had passed: not written. */
  readonly skippedExpired: number
  /** Entries kept as the cache had them (the key existed, without `overwrite`). */
  readonly skippedExisting: number
  /**
   * Entries refused: an invalid key or tag, or an encrypted entry of another namespace (the
   * cipher binds an entry to its namespace, so it could not be read there).
   */
  readonly failed: number
  /** Entry records in the file. */
  readonly entries: number
  readonly durationMs: number
  readonly dryRun: boolean
  /** The file's header. */
  readonly header: BackupHeader
}

/**
 * Restores a backup file (gzipped or not) into `cache`, streaming: each batch of verified
 * records is written through `cache.importEntries()` (bytes as they are, the TTL from the
 * absolute expiry, tag indexes joined), so memory stays at one batch. Idempotent: existing keys
 * are kept (or, with `overwrite`, rewritten with the same bytes and expiry).
 *
 * A damaged file rejects with `E_BACKUP_FORMAT`, naming the byte offset and record, and how many
 * entries were restored before it (the records before the damage passed their CRC and are
 * written). Rejects with `E_INVALID_OPTIONS` for bad options, `E_L2_UNAVAILABLE` when Redis
 * fails (batches written stay written), or the file system's error.
 */
export async function restoreBackup(source: string, cache: GenericRedisCache, options?: RestoreOptions): Promise<RestoreResult> {
  const resolved = resolveRestoreOptions(options)
  if (typeof source !== 'string' || source === '') throw new TypeError('source must be a file path')
  const startedAt = performance.now()
  const reader = await BackupReader.open(source)
  const counts = { restored: 0, skippedExpired: 0, skippedExisting: 0, failed: 0, entries: 0 }
  const pace = rateLimiter(resolved.rate)
  const progress = resolved.onProgress
  let batch: ImportEntry[] = []
  const flush = async (): Promise<void> => {
    if (batch.length > 0) await writeBatch(cache, batch, resolved, counts)
    batch = []
    progress({ entries: counts.entries, restored: counts.restored, fileBytes: reader.position.fileBytes })
  }
  let header: BackupHeader
  try {
    header = await reader.header()
    // The cipher authenticates an entry with its stored key, namespace included.
    const foreign = header.namespace !== cache.namespace
    for await (const entry of reader.entries()) {
      counts.entries++
      if (foreign && isEncrypted(entry.bytes)) {
        counts.failed++
        continue
      }
      batch.push(entry)
      const waiting = pace(1)
      if (waiting !== undefined) await waiting
      if (batch.length >= resolved.batchSize) await flush()
    }
    await flush()
  } catch (error) {
    if (!(error instanceof BackupFormatError)) throw error
    await flush()
    throw withRestored(error, resolved.dryRun ? 0 : counts.restored)
  } finally {
    reader.close()
  }
  const { entries, ...rest } = counts
  return Object.freeze({ ...rest, entries, durationMs: Math.round(performance.now() - startedAt), dryRun: resolved.dryRun, header })
}

/**
 * The header of a backup file (format version, library version, namespace, topology, creation
 * time), read without going further. Rejects with `E_BACKUP_FORMAT` when the file does not start
 * as a strata backup, or the file system's error.
 */
export async function readBackupHeader(source: string): Promise<BackupHeader> {
  const reader = await BackupReader.open(source)
  try {
    return await reader.header()
  } finally {
    reader.close()
  }
}

async function writeBatch(cache: GenericRedisCache, batch: readonly ImportEntry[], options: ResolvedRestoreOptions, counts: { restored: number; skippedExpired: number; skippedExisting: number; failed: number }): Promise<void> {
  if (options.dryRun) {
    const now = Date.now()
    for (const entry of batch) {
      if (entry.expiresAt !== undefined && entry.expiresAt <= now) counts.skippedExpired++
      else counts.restored++
    }
    return
  }
  const done = await cache.importEntries(batch, { overwrite: options.overwrite, batchSize: options.batchSize })
  counts.restored += done.written
  counts.skippedExpired += done.skippedExpired
  counts.skippedExisting += done.skippedExisting
  counts.failed += done.failed
}

/** Whether `bytes` are a strata envelope with the encrypted flag (see `codecs/envelope.ts`). */
function isEncrypted(bytes: Uint8Array): boolean {
  return bytes.length > 6 && bytes[0] === 0x53 && bytes[1] === 0x43 && (bytes[5]! & 1) === 1
}
