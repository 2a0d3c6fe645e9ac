import { InvalidOptionsError, type OptionIssue } from '../errors.js'

/** Progress of a backup, told after every batch written to the file. */
export interface BackupProgress {
  /** Entries written so far. */
  readonly entries: number
  /** Bytes of the backup stream so far (before gzip). */
  readonly streamBytes: number
}

/** Options of `createBackup()`. */
export interface BackupOptions {
  /**
   * Gzip the file (level 6). Off, the file is the raw backup stream.
   * @default true
   */
  gzip?: boolean
  /**
   * Keys per SCAN step, MGET and PTTL batch.
   * @default 500
   */
  batchSize?: number
  /** At most this many entries per second, on average (protects a production Redis). @default unlimited */
  rate?: number | undefined
  /** Told the running counts after each batch. */
  onProgress?: ((progress: BackupProgress) => void) | undefined
}

/** Progress of a restore, told after every batch. */
export interface RestoreProgress {
  /** Entry records read from the file so far. */
  readonly entries: number
  /** Entries written so far (would be written, in a dry run). */
  readonly restored: number
  /** Bytes of the file read so far (compressed bytes of a gzipped file), against its size for a progress bar. */
  readonly fileBytes: number
}

/** Options of `restoreBackup()`. */
export interface RestoreOptions {
  /**
   * Read and verify the whole file (every CRC, the count and the checksum) and count what would
   * be restored, without contacting Redis. `skippedExisting` is then 0: existence is not checked.
   * @default false
   */
  dryRun?: boolean
  /**
   * Replace entries that exist in the cache. Off, they are kept and counted as `skippedExisting`.
   * @default false
   */
  overwrite?: boolean
  /**
   * Entries per pipelined write batch.
   * @default 500
   */
  batchSize?: number
  /** At most this many entries per second, on average. @default unlimited */
  rate?: number | undefined
  /** Told the running counts after each batch. */
  onProgress?: ((progress: RestoreProgress) => void) | undefined
}

const MAX_BATCH_SIZE = 10_000

/** Backup options, checked and with their defaults. */
export interface ResolvedBackupOptions {
  readonly gzip: boolean
  readonly batchSize: number
  readonly rate: number | undefined
  readonly onProgress: (progress: BackupProgress) => void
}

/** Restore options, checked and with their defaults. */
export interface ResolvedRestoreOptions {
  readonly dryRun: boolean
  readonly overwrite: boolean
  readonly batchSize: number
  readonly rate: number | undefined
  readonly onProgress: (progress: RestoreProgress) => void
}

/** Validated backup options; throws `E_INVALID_OPTIONS` listing every problem. */
export function resolveBackupOptions(raw: BackupOptions | undefined): ResolvedBackupOptions {
  const issues: OptionIssue[] = []
  const options = record(raw, issues)
  const gzip = options.gzip ?? true
  if (typeof gzip !== 'boolean') issues.push({ path: 'gzip', message: 'expected true or false' })
  const common = commonOptions<BackupProgress>(options, issues)
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  return { gzip, ...common }
}

/** Validated restore options; throws `E_INVALID_OPTIONS` listing every problem. */
export function resolveRestoreOptions(raw: RestoreOptions | undefined): ResolvedRestoreOptions {
  const issues: OptionIssue[] = []
  const options = record(raw, issues)
  const dryRun = options.dryRun ?? false
  const overwrite = options.overwrite ?? false
  if (typeof dryRun !== 'boolean') issues.push({ path: 'dryRun', message: 'expected true or false' })
  if (typeof overwrite !== 'boolean') issues.push({ path: 'overwrite', message: 'expected true or false' })
  const common = commonOptions<RestoreProgress>(options, issues)
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  return { dryRun, overwrite, ...common }
}

function record<T extends object>(raw: T | undefined, issues: OptionIssue[]): Partial<T> {
  if (raw === undefined) return {}
  if (typeof raw === 'object' && raw !== null) return raw
  issues.push({ path: 'options', message: 'expected an object' })
  return {}
}

function commonOptions<P>(options: { batchSize?: unknown; rate?: unknown; onProgress?: unknown }, issues: OptionIssue[]): { batchSize: number; rate: number | undefined; onProgress: (progress: P) => void } {
  const batchSize = options.batchSize ?? 500
  if (typeof batchSize !== 'number' || !Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_BATCH_SIZE) {
    issues.push({ path: 'batchSize', message: `expected an integer from 1 to ${MAX_BATCH_SIZE}` })
  }
  const rate = options.rate
  if (rate !== undefined && (typeof rate !== 'number' || !Number.isFinite(rate) || rate <= 0)) {
    issues.push({ path: 'rate', message: 'expected a number of entries per second above 0' })
  }
  const onProgress = options.onProgress ?? (() => undefined)
  if (typeof onProgress !== 'function') issues.push({ path: 'onProgress', message: 'expected a function' })
  return { batchSize: batchSize as number, rate: rate as number | undefined, onProgress: onProgress as (progress: P) => void }
}
