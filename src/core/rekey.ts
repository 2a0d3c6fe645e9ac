import { CodecDecodeError, InvalidOptionsError, type OptionIssue } from '../errors.js'
import { integerIn } from '../shared/validate.js'

/** Options of `GenericRedisCache.rekey()`. */
export interface RekeyOptions {
  /**
   * Keys asked for per SCAN step, read with one MGET and rewritten in one pipelined batch.
   * @default 500
   */
  batchSize?: number
  /** Told the running counts after each batch (for a progress display). */
  onProgress?: (progress: RekeyResult) => void
}

/**
 * What a rekey did, by entry. `scanned` is the sum of the other four; each key of the namespace
 * is counted once, even when SCAN returns it twice.
 */
export interface RekeyResult {
  /** Entries of the namespace looked at. */
  readonly scanned: number
  /** Entries re-encrypted under the current key (compare-and-set, remaining TTL kept). */
  readonly rewritten: number
  /** Entries already under the current key: left as they are. */
  readonly alreadyCurrent: number
  /**
   * Entries that could not be re-encrypted and were left as they are: under a key id not
   * listed, failing authentication, unencrypted, or not strata entries. A read deletes them.
   */
  readonly failed: number
  /** Entries written, deleted or expired by someone else between the read and the rewrite. */
  readonly changed: number
}

/** What a rekey needs from the L2 tier; every call has its deadline and rejects on failure. */
export interface RekeySource {
  /** Full keys of the namespace's entries, in batches of about `batchSize`. */
  scan(batchSize: number): AsyncIterable<string[]>
  /** Stored bytes of `fullKeys` (one MGET), aligned with them. */
  read(fullKeys: readonly string[]): Promise<ReadonlyArray<Uint8Array | undefined>>
  /** Re-encrypted bytes, `undefined` when already current; throws a `CodecDecodeError` when unreadable. */
  reencrypt(bytes: Uint8Array, fullKey: string): Uint8Array | undefined
  /** Compare-and-set keeping the TTL; resolves whether the bytes were still `expected`. */
  replace(fullKey: string, expected: Uint8Array, value: Uint8Array): Promise<boolean>
}

const DEFAULT_BATCH_SIZE = 500
const MAX_BATCH_SIZE = 10_000

/** Validates `rekey()` options; throws `E_INVALID_OPTIONS` listing every problem. */
export function resolveRekeyOptions(raw: RekeyOptions): Required<RekeyOptions> {
  const issues: OptionIssue[] = []
  const batchSize = integerIn(raw.batchSize ?? DEFAULT_BATCH_SIZE, { path: 'batchSize', min: 1, max: MAX_BATCH_SIZE }, issues)
  const onProgress = raw.onProgress ?? (() => undefined)
  if (typeof onProgress !== 'function') issues.push({ path: 'onProgress', message: 'expected a function' })
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  return { batchSize: batchSize ?? DEFAULT_BATCH_SIZE, onProgress }
}

/**
 * Rewrites every entry of a namespace that is not under the current key, batch by batch: SCAN,
 * MGET, re-encrypt without deserializing, then compare-and-set each one (so a write or delete
 * that came meanwhile wins, and the TTL is kept). Nothing outside the namespace's entry keys is
 * read or written. Safe to stop and run again: entries already current are left alone.
 */
export async function rekeyNamespace(source: RekeySource, options: Required<RekeyOptions>): Promise<RekeyResult> {
  const counts = { scanned: 0, rewritten: 0, alreadyCurrent: 0, failed: 0, changed: 0 }
  const seen = new Set<string>()
  for await (const batch of source.scan(options.batchSize)) {
    // SCAN may return a key twice (a rehash during the scan): count and rewrite it once.
    const fresh = batch.filter((fullKey) => !seen.has(fullKey) && seen.add(fullKey))
    if (fresh.length === 0) continue
    const stored = await source.read(fresh)
    const rewrites: Array<Promise<boolean>> = []
    fresh.forEach((fullKey, i) => {
      counts.scanned++
      const bytes = stored[i]
      if (bytes === undefined) return void counts.changed++
      const next = reencrypt(source, bytes, fullKey)
      if (next === 'failed') counts.failed++
      else if (next === undefined) counts.alreadyCurrent++
      else rewrites.push(source.replace(fullKey, bytes, next))
    })
    for (const replaced of await Promise.all(rewrites)) {
      if (replaced) counts.rewritten++
      else counts.changed++
    }
    options.onProgress({ ...counts })
  }
  return Object.freeze({ ...counts })
}

function reencrypt(source: RekeySource, bytes: Uint8Array, fullKey: string): Uint8Array | undefined | 'failed' {
  try {
    return source.reencrypt(bytes, fullKey)
  } catch (error) {
    if (error instanceof CodecDecodeError) return 'failed'
    throw error
  }
}
