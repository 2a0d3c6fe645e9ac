/**
 * Every failure strata-cache reports is a `CacheError` subclass with a stable `code`.
 * `errors.E_X` is both the class (for `instanceof`) and carries the code (`errors.E_X.code`).
 * A retired code is never reused.
 */
export class CacheError extends Error {
  /** Stable machine-readable code, also present on every instance. */
  static readonly code: string = 'E_CACHE'
  readonly code: string = (this.constructor as typeof CacheError).code

  constructor(message: string, options?: ErrorOptions) {
    super(message, options)
    this.name = new.target.name
  }
}

/** One invalid option: where it is and what is wrong with it. */
export interface OptionIssue {
  /** Dotted path of the option, for example `l1.maxEntries`. */
  readonly path: string
  /** What is wrong and how to fix it. */
  readonly message: string
}

/** Options given to a constructor or a call are invalid. Lists every problem at once. */
export class InvalidOptionsError extends CacheError {
  static override readonly code = 'E_INVALID_OPTIONS'
  constructor(readonly issues: readonly OptionIssue[]) {
    super(`invalid options:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`)
  }
}

/** `undefined` cannot be stored because it is how a miss is reported. Store `null` instead. */
export class UndefinedValueError extends CacheError {
  static override readonly code = 'E_UNDEFINED_VALUE'
  constructor(readonly key: string) {
    super(`cannot store undefined under "${key}": undefined means a miss; store null instead`)
  }
}

/** A key is empty, not a string, too long or contains control characters. */
export class InvalidKeyError extends CacheError {
  static override readonly code = 'E_INVALID_KEY'
  constructor(
    readonly key: unknown,
    reason: string,
  ) {
    super(`invalid cache key ${describeKey(key)}: ${reason}`)
  }
}

/** An encoded value is larger than `maxValueBytes`. */
export class ValueTooLargeError extends CacheError {
  static override readonly code = 'E_VALUE_TOO_LARGE'
  constructor(
    readonly key: string,
    readonly sizeBytes: number,
    readonly maxValueBytes: number,
  ) {
    super(
      `value for "${key}" is ${sizeBytes} bytes once encoded, over maxValueBytes (${maxValueBytes}); ` +
        'store less or raise maxValueBytes',
    )
  }
}

/** The loader passed to `getOrSet` threw or rejected; the original error is `cause`. */
export class FactoryError extends CacheError {
  static override readonly code = 'E_FACTORY_ERROR'
  constructor(
    readonly key: string,
    cause: unknown,
  ) {
    super(`loader for "${key}" failed: ${errorMessage(cause)}`, { cause })
  }
}

/** The loader passed to `getOrSet` did not settle within `timeout.hard`, and no stale value existed. */
export class FactoryTimeoutError extends CacheError {
  static override readonly code = 'E_FACTORY_TIMEOUT'
  constructor(
    readonly key: string,
    readonly timeoutMs: number,
  ) {
    super(`loader for "${key}" exceeded its hard timeout of ${timeoutMs}ms; it goes on in the background`)
  }
}

/** Waiting for another instance's lock on a key took longer than `lock.wait`. */
export class LockTimeoutError extends CacheError {
  static override readonly code = 'E_LOCK_TIMEOUT'
  constructor(
    readonly key: string,
    readonly waitMs: number,
  ) {
    super(`gave up waiting ${waitMs}ms for another instance loading "${key}"; raise lock.wait or check that instance`)
  }
}

/**
 * The L2 tier failed or missed its deadline and `suppressL2Errors` is off. `fix`, when known,
 * says what to change (for an ACL refusal: the command and the rule to add).
 */
export class L2UnavailableError extends CacheError {
  static override readonly code = 'E_L2_UNAVAILABLE'
  constructor(
    readonly operation: string,
    cause?: unknown,
    fix?: string,
  ) {
    super(`L2 (Redis) ${operation} failed: ${errorMessage(cause)}${fix === undefined ? '' : `; ${fix}`}`, { cause })
  }
}

/**
 * Cross-instance coherence cannot be verified: the invalidation connection is down, or Redis
 * refused tracking (for example `NOPERM` without `client|tracking`). Reported through
 * `cache:error`; until it is back, L1 hits are refused (reads go to Redis), so no instance
 * serves what it cannot show to be current.
 */
export class CoherenceUnavailableError extends CacheError {
  static override readonly code = 'E_COHERENCE_UNAVAILABLE'
  constructor(reason: string, cause?: unknown) {
    super(`cross-instance L1 coherence is unavailable (${reason}); L1 hits are refused until it is verified again`, cause === undefined ? undefined : { cause })
  }
}

/** A value could not be serialized (for example a function or a symbol inside it). */
export class CodecEncodeError extends CacheError {
  static override readonly code = 'E_CODEC_ENCODE'
  constructor(
    readonly key: string,
    cause: unknown,
  ) {
    super(`cannot encode the value for "${key}": ${errorMessage(cause)}`, { cause })
  }
}

/** Stored bytes could not be decoded. Reported through `cache:error`; the read is a miss. */
export class CodecDecodeError extends CacheError {
  // Typed `string`: the decryption failures below are decode failures with codes of their own.
  static override readonly code: string = 'E_CODEC_DECODE'
  constructor(reason: string, cause?: unknown) {
    super(`cannot decode stored entry: ${reason}`, cause === undefined ? undefined : { cause })
  }
}

/**
 * An encrypted entry failed authentication: it was tampered with, moved from another key or
 * namespace, written with another key under the same id, or is not encrypted at all in a cache
 * that reads only encrypted entries. A `CodecDecodeError`, so it is handled as every unreadable
 * entry is: a miss, a `cache:error` event and a deleted key. The message never quotes a key.
 */
export class DecryptFailedError extends CodecDecodeError {
  static override readonly code = 'E_DECRYPT_FAILED'
  constructor(readonly keyId: number, reason: string) {
    super(reason)
  }
}

/**
 * An encrypted entry names a key id that is not in `encryption.keys` (a key removed after a
 * rotation, or one this instance was never given). A miss, a `cache:error` event and a deleted
 * key; run `strata rekey` before removing a key to keep its entries.
 */
export class UnknownKeyIdError extends CodecDecodeError {
  static override readonly code = 'E_UNKNOWN_KEY_ID'
  constructor(readonly keyId: number) {
    super(`entry is encrypted with key id ${keyId}, which is not in encryption.keys; add that key, or rekey the namespace before removing a key`)
  }
}

/** An optional peer dependency is not installed. */
export class PeerMissingError extends CacheError {
  static override readonly code = 'E_PEER_MISSING'
  constructor(
    readonly packageName: string,
    feature: string,
  ) {
    super(`${feature} needs the optional package "${packageName}": run npm install ${packageName}`)
  }
}

/** Where a backup file is damaged, and how far a restore got before it. */
export interface BackupDamage {
  /** Offset of the damage in the backup stream, in bytes after gunzip (the file itself when not gzipped). */
  readonly offset: number
  /** Number of the record where it was found: 0 is the header, entries count from 1. */
  readonly record: number
  /** Entries restored (written to Redis) before it; 0 for a dry run or a file check. */
  readonly restored: number
}

/**
 * A backup file is corrupt, truncated, not a strata backup, or of a format version this code
 * cannot read. Says where the damage is and how many entries were restored before it; restoring
 * is idempotent, so a repaired or re-made file can be restored again over them.
 */
export class BackupFormatError extends CacheError implements BackupDamage {
  static override readonly code = 'E_BACKUP_FORMAT'
  readonly offset: number
  readonly record: number
  readonly restored: number
  constructor(
    readonly reason: string,
    damage: BackupDamage,
    options?: ErrorOptions,
  ) {
    super(`backup file is damaged at byte ${damage.offset} (record ${damage.record}): ${reason}; ${damage.restored} entries were restored before it`, options)
    this.offset = damage.offset
    this.record = damage.record
    this.restored = damage.restored
  }
}

function describeKey(key: unknown): string {
  if (typeof key !== 'string') return `(${key === null ? 'null' : typeof key})`
  return key.length > 64 ? `"${key.slice(0, 64)}…"` : JSON.stringify(key)
}

/** Message of an unknown thrown thing, for error texts. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message
  return String(error)
}

/** Coded error classes by code. */
export const errors = Object.freeze({
  E_INVALID_OPTIONS: InvalidOptionsError,
  E_UNDEFINED_VALUE: UndefinedValueError,
  E_INVALID_KEY: InvalidKeyError,
  E_VALUE_TOO_LARGE: ValueTooLargeError,
  E_FACTORY_ERROR: FactoryError,
  E_FACTORY_TIMEOUT: FactoryTimeoutError,
  E_LOCK_TIMEOUT: LockTimeoutError,
  E_L2_UNAVAILABLE: L2UnavailableError,
  E_COHERENCE_UNAVAILABLE: CoherenceUnavailableError,
  E_CODEC_ENCODE: CodecEncodeError,
  E_CODEC_DECODE: CodecDecodeError,
  E_DECRYPT_FAILED: DecryptFailedError,
  E_UNKNOWN_KEY_ID: UnknownKeyIdError,
  E_PEER_MISSING: PeerMissingError,
  E_BACKUP_FORMAT: BackupFormatError,
})
