import { CodecDecodeError, InvalidOptionsError, type OptionIssue } from '../errors.js'
import type { CacheEntry } from '../shared/cache-entry.js'
import { integerIn } from '../shared/validate.js'

/** Options of `GenericRedisCache.exportEntries()`. */
export interface ExportOptions {
  /**
   * Keys asked for per SCAN step, read with one MGET and one pipelined PTTL batch.
   * @default 500
   */
  batchSize?: number
}

/** The codec facts of a stored entry, from its envelope header (readable without any key). */
export interface EntryCodec {
  /** Serializer id (1 msgpack, 2 json, or a custom `Serializer.id`). */
  readonly serializer: number
  /** Compressor id (0 none, 1 deflate). */
  readonly compressor: number
  readonly encrypted: boolean
  /** Encryption key id, 1..255; 0 when not encrypted. */
  readonly keyId: number
}

/**
 * One stored entry as Redis holds it: the bytes are the stored envelope as is (compressed or
 * encrypted entries stay so), so writing them back restores exactly what was read.
 */
export interface ExportedEntry {
  /** The key without the namespace prefix. */
  readonly key: string
  /** The stored envelope, byte for byte. */
  readonly bytes: Uint8Array
  /** When Redis expires the entry (its TTL, grace included), epoch ms; `undefined` when it never does. */
  readonly expiresAt: number | undefined
  /** The entry's tags, from its payload; empty when it could not be decoded. */
  readonly tags: readonly string[]
  /** The envelope header's ids; `undefined` for bytes that are not a strata entry. */
  readonly codec: EntryCodec | undefined
  /**
   * Whether this cache could decode the entry (its tags are then known). `false` for an entry
   * under an encryption key this cache lacks, corrupt bytes, or foreign data: still exported as
   * bytes, so nothing is lost, but without its tags.
   */
  readonly decoded: boolean
}

/** What an export needs from the L2 tier; every call has its deadline and rejects on failure. */
export interface ExportSource {
  /** `<namespace>:`, removed from every full key. */
  readonly prefix: string
  /** Full keys of the namespace's entries, in batches of about `batchSize`. */
  scan(batchSize: number): AsyncIterable<string[]>
  /** Bytes and remaining TTL (ms; `Infinity` when none) of `fullKeys`, aligned; `undefined` when gone. */
  read(fullKeys: readonly string[]): Promise<ReadonlyArray<{ bytes: Uint8Array; ttlMs: number } | undefined>>
  /** Decodes bytes stored under `fullKey`; throws a `CodecDecodeError` when it cannot. */
  decode(bytes: Uint8Array, fullKey: string): CacheEntry
  /** Epoch ms on this cache's clock. */
  now(): number
}

const DEFAULT_BATCH_SIZE = 500
const MAX_BATCH_SIZE = 10_000

/** Validates `exportEntries()` options; throws `E_INVALID_OPTIONS` listing every problem. */
export function resolveExportOptions(raw: ExportOptions | undefined): Required<ExportOptions> {
  const issues: OptionIssue[] = []
  if (raw !== undefined && (typeof raw !== 'object' || raw === null)) issues.push({ path: 'options', message: 'expected { batchSize? }' })
  const batchSize = integerIn(raw?.batchSize ?? DEFAULT_BATCH_SIZE, { path: 'batchSize', min: 1, max: MAX_BATCH_SIZE }, issues)
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  return { batchSize: batchSize ?? DEFAULT_BATCH_SIZE }
}

/**
 * Every entry of a namespace, batch by batch: SCAN (every master of a cluster), then one MGET
 * and the TTLs per batch. Memory stays at one batch whatever the namespace holds. A key that SCAN
 * returns twice is yielded once per batch only: SCAN duplicates are rare (a rehash during the
 * scan), and remembering every key would make memory grow with the namespace, so a consumer that
 * must count exactly writes idempotently (as `importEntries` does). Keys gone between SCAN and
 * the read (expired, deleted) are left out.
 */
export async function* exportNamespace(source: ExportSource, options: Required<ExportOptions>): AsyncGenerator<ExportedEntry[]> {
  for await (const batch of source.scan(options.batchSize)) {
    const fullKeys = [...new Set(batch)]
    const stored = await source.read(fullKeys)
    const now = source.now()
    const out: ExportedEntry[] = []
    fullKeys.forEach((fullKey, i) => {
      const found = stored[i]
      if (found !== undefined) out.push(exported(source, fullKey, found.bytes, found.ttlMs === Number.POSITIVE_INFINITY ? undefined : now + found.ttlMs))
    })
    if (out.length > 0) yield out
  }
}

function exported(source: ExportSource, fullKey: string, bytes: Uint8Array, expiresAt: number | undefined): ExportedEntry {
  const key = fullKey.slice(source.prefix.length)
  const codec = codecOf(bytes)
  try {
    const entry = source.decode(bytes, fullKey)
    return { key, bytes, expiresAt, tags: entry.tags, codec, decoded: true }
  } catch (error) {
    if (!(error instanceof CodecDecodeError)) throw error
    return { key, bytes, expiresAt, tags: [], codec, decoded: false }
  }
}

/** The ids of a strata envelope header (see `codecs/envelope.ts`), or `undefined` for other bytes. */
export function codecOf(bytes: Uint8Array): EntryCodec | undefined {
  if (bytes.length < 11 || bytes[0] !== 0x53 || bytes[1] !== 0x43) return undefined
  return { serializer: bytes[3]!, compressor: bytes[4]!, encrypted: (bytes[5]! & 1) === 1, keyId: bytes[6]! }
}
