/**
 * Types shared by `migrate`, `validateDataConsistency` and the importers: what a source yields
 * and what each operation resolves.
 */
import type { CacheInterface } from '../core/cache-interface.js'
import type { Duration } from '../shared/duration.js'

/** One entry read from a source, as it will be written to a strata cache. */
export interface MigrationEntry {
  /** Key in the target cache (without the target's namespace). */
  readonly key: string
  /** The value; never `undefined`. */
  readonly value: unknown
  /** Remaining time to live in ms; `undefined` when the entry never expires. */
  readonly ttlMs: number | undefined
  /** Tags of the entry; `undefined` when the source cannot tell (then they are not compared). */
  readonly tags?: readonly string[] | undefined
  /** Codec facts of a strata entry, when the source can read them (see {@link EntryCodecIds}). */
  readonly codec?: EntryCodecIds | undefined
}

/** Serializer, compressor and encryption key ids of a stored strata entry. */
export interface EntryCodecIds {
  /** `Serializer.id` (1 msgpack, 2 json). */
  readonly serializerId: number
  /** `Compressor.id`, 0 when not compressed. */
  readonly compressorId: number
  /** Encryption key id, 0 when not encrypted. */
  readonly keyId: number
}

/**
 * What a source yields: an entry to copy, or a stored item it passed over (`skip`: expired, a
 * bookkeeping key of the other library) or could not read (`fail`: not its format).
 */
export type SourceItem =
  | { readonly kind: 'entry'; readonly entry: MigrationEntry }
  | { readonly kind: 'skip'; readonly key: string; readonly reason: string }
  | { readonly kind: 'fail'; readonly key: string; readonly reason: string }

/**
 * Anything `migrate` and `validateDataConsistency` can read: a strata cache, or data that
 * another library left in Redis (see `keyvSource`, `cacheManagerSource`, `bentocacheSource`).
 */
export interface MigrationSource {
  /** What is read, for reports (`keyv keyv::keyv: at redis://…`); never holds a password. */
  readonly description: string
  /** Every stored item, in batches of about `batchSize`. */
  read(batchSize: number): AsyncIterable<SourceItem[]>
  /** Releases what the source opened (a source built on a caller's client leaves it open). */
  close(): Promise<void>
}

/** Either side of a migration or a validation: a strata cache or a source. */
export type SourceLike = CacheInterface | MigrationSource

/** Options of `migrate`. */
export interface MigrationOptions {
  /**
   * Called for every entry before it is written: return the entry to write (changed or not),
   * or `undefined` to skip it (counted in `skipped`). May be async.
   */
  transform?: (entry: MigrationEntry) => MigrationEntry | undefined | Promise<MigrationEntry | undefined>
  /** Read, transform and count, but write nothing. @default false */
  dryRun?: boolean
  /** Entries read and written per round trip. @default 500 */
  batchSize?: number
  /** At most this many entries per second (reads and writes), to spare a production Redis. @default unlimited */
  rate?: number
  /** Replaces entries the target already holds; `false` leaves them (counted in `skipped`). @default true */
  overwrite?: boolean
  /** Called after each batch with the counts so far. */
  onProgress?: (progress: MigrationProgress) => void
  /** Failures kept in `MigrationResult.errors`. @default 20 */
  maxReported?: number
}

/** Counts so far, given to `onProgress`. */
export interface MigrationProgress {
  /** Stored items read from the source. */
  readonly scanned: number
  /** Entries written (or, in a dry run, that would be). */
  readonly migrated: number
  /** Items passed over: expired, bookkeeping keys, `transform` said `undefined`, already present. */
  readonly skipped: number
  /** Items that could not be read or written. */
  readonly failed: number
}

/** What `migrate` resolves. */
export interface MigrationResult extends MigrationProgress {
  readonly durationMs: number
  readonly dryRun: boolean
  /** The first failures (`maxReported`), each with its key and why. */
  readonly errors: ReadonlyArray<{ readonly key: string; readonly reason: string }>
}

/** Options of `validateDataConsistency`. */
export interface ValidationOptions {
  /** TTLs differing by at most this much match (the time between the two reads counts too). @default 1000 */
  ttlTolerance?: Duration
  /** Entries listed per kind of mismatch; the counts are always complete. @default 100 */
  maxReported?: number
  /** Entries read per round trip. @default 500 */
  batchSize?: number
  /** Compare tags and codec ids when both sides can tell them. @default true */
  compareMetadata?: boolean
  /** Called after each batch with the number of source items read. */
  onProgress?: (scanned: number) => void
}

/** One key whose values differ. */
export interface ValueMismatch {
  readonly key: string
  readonly sourceValue: unknown
  readonly targetValue: unknown
}

/** One key whose TTLs differ by more than the tolerance (`null`: never expires). */
export interface TtlMismatch {
  readonly key: string
  readonly sourceTtlMs: number | null
  readonly targetTtlMs: number | null
}

/** One key whose metadata differ: `field` is `tags`, `serializerId`, `compressorId` or `keyId`. */
export interface MetadataMismatch {
  readonly key: string
  readonly field: 'tags' | 'serializerId' | 'compressorId' | 'keyId'
  readonly source: unknown
  readonly target: unknown
}

/** What `validateDataConsistency` resolves. Lists are bounded by `maxReported`; `counts` are complete. */
export interface DetailedValidationResult {
  /** True when nothing is missing, extra or different. */
  readonly isConsistent: boolean
  readonly keyCountMatch: boolean
  /** Live entries in the source (skipped and unreadable items excluded). */
  readonly sourceKeyCount: number
  readonly targetKeyCount: number
  /** Source keys the target lacks. */
  readonly missingInTarget: readonly string[]
  /** Target keys the source lacks. */
  readonly extraInTarget: readonly string[]
  readonly valueMismatches: readonly ValueMismatch[]
  readonly ttlMismatches: readonly TtlMismatch[]
  readonly metadataMismatches: readonly MetadataMismatch[]
  /** Full counts of each list. */
  readonly counts: {
    readonly missingInTarget: number
    readonly extraInTarget: number
    readonly valueMismatches: number
    readonly ttlMismatches: number
    readonly metadataMismatches: number
  }
  /** Whether tags / codec ids could be compared (both sides exposed them). */
  readonly comparedMetadata: { readonly tags: boolean; readonly codec: boolean }
  readonly durationMs: number
}
