import type { CacheInterface, GenericRedisCache } from '../index.js'
import type { BackupOptions, RestoreOptions } from './backup-options.js'
import { type BackupResult, createBackup } from './backup.js'
import type { BackupHeader } from './backup-format.js'
import { type RestoreResult, readBackupHeader, restoreBackup } from './restore.js'
import { migrate } from './migrate.js'
import type { DetailedValidationResult, MigrationOptions, MigrationResult, SourceLike, ValidationOptions } from './migration-types.js'
import { validateDataConsistency } from './validate-consistency.js'

/**
 * Data tools over the public cache API: backup and restore (`backup.ts`, `restore.ts`, in the
 * format of `backup-format.ts`), consistency checks and migrations. Each method delegates to the
 * module that holds it; the class only gathers them under the name the original design uses.
 */
export class CacheMigrationManager {
  /**
   * Writes every entry of `cache`'s namespace to the file `destination` (gzipped unless
   * `gzip: false`), streaming in constant memory. See `createBackup`.
   */
  createBackup(cache: GenericRedisCache, destination: string, options?: BackupOptions): Promise<BackupResult> {
    return createBackup(cache, destination, options)
  }

  /**
   * Restores a backup file into `cache`: TTLs from absolute expiries (expired entries skipped),
   * tags indexed, existing keys kept unless `overwrite`; `dryRun` only verifies and counts.
   * A damaged file rejects with `E_BACKUP_FORMAT`. See `restoreBackup`.
   */
  restoreBackup(source: string, cache: GenericRedisCache, options?: RestoreOptions): Promise<RestoreResult> {
    return restoreBackup(source, cache, options)
  }

  /** The header of a backup file (where and when it was made), without reading its entries. */
  readBackupHeader(source: string): Promise<BackupHeader> {
    return readBackupHeader(source)
  }

  /**
   * Copies every live entry of `source` (a strata cache, or `keyvSource()`,
   * `cacheManagerSource()`, `bentocacheSource()`) into `target` with its TTL and tags; a
   * `transform` hook, a dry run and a rate limit. See `migrate`.
   */
  migrate(source: SourceLike, target: CacheInterface, options?: MigrationOptions): Promise<MigrationResult> {
    return migrate(source, target, options)
  }

  /**
   * Compares `source` and `target`: missing and extra keys, values, TTLs (within a tolerance),
   * tags and codec ids, in bounded lists with full counts. See `validateDataConsistency`.
   */
  validateDataConsistency(source: SourceLike, target: CacheInterface, options?: ValidationOptions): Promise<DetailedValidationResult> {
    return validateDataConsistency(source, target, options)
  }
}
