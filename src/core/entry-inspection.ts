import { AesGcmCipher } from '../codecs/aes-gcm-cipher.js'
import { readEnvelope } from '../codecs/envelope.js'
import { KNOWN_COMPRESSORS, KNOWN_SERIALIZERS } from '../codecs/pipeline-options.js'
import { CodecPipeline } from '../codecs/pipeline.js'
import { errorMessage } from '../errors.js'
import type { ResolvedRedisCacheOptions } from '../options/resolve-cache-options.js'
import type { CacheEntry } from '../shared/cache-entry.js'
import { withDeadline } from '../shared/deadline.js'
import type { RemoteStore } from '../stores/store.js'
import { freshness } from './engine.js'

/** Where an entry stands: before its logical expiry, within its grace, or past both. */
export type EntryState = 'fresh' | 'stale' | 'expired'

/** What the envelope header in front of a stored entry says (see `codecs/envelope.ts`). */
export interface EntryHeaderFacts {
  /** Wire format version of the envelope. */
  readonly formatVersion: number
  /** Serializer id (1 msgpack, 2 json). */
  readonly serializerId: number
  /** Name of that serializer, `undefined` when this version does not know the id. */
  readonly serializer: string | undefined
  /** Compressor id, 0 when the payload is not compressed. */
  readonly compressorId: number
  /** Name of that compressor (`'none'` for 0), `undefined` when this version does not know the id. */
  readonly compressor: string | undefined
  /** Whether the payload is encrypted. */
  readonly encrypted: boolean
  /** Id of the encryption key, `undefined` when not encrypted. */
  readonly keyId: number | undefined
}

/** What the payload says about the entry (decoded without returning the value to the caller's L1). */
export interface EntryMetadata {
  /** When the entry was written, epoch ms. */
  readonly createdAt: number
  /** Logical expiry, epoch ms; `undefined` when it never expires. */
  readonly expiresAt: number | undefined
  /** End of grace, epoch ms; `undefined` without grace. */
  readonly staleUntil: number | undefined
  /** Tags given when it was written. */
  readonly tags: readonly string[]
  /** Where it stands now: a read returns only `fresh` entries; `getOrSet` may serve `stale` ones. */
  readonly state: EntryState
  /** Logical time left in ms (0 once past), `undefined` when it never expires. */
  readonly ttlMs: number | undefined
}

/** One stored entry as Redis holds it. See `GenericRedisCache.inspectEntry`. */
export interface EntryInspection {
  /** The key, without the namespace prefix. */
  readonly key: string
  /** The Redis key: `<namespace>:<key>`. */
  readonly storedKey: string
  /** Bytes stored in Redis (envelope, payload and trailer). */
  readonly sizeBytes: number
  /** Physical time left (Redis `PTTL`) in ms: logical TTL plus grace; `undefined` when it never expires. */
  readonly physicalTtlMs: number | undefined
  /** The envelope header; `undefined` when the bytes are not a valid strata entry (see `problem`). */
  readonly header: EntryHeaderFacts | undefined
  /** From the payload; `undefined` when it could not be decoded (encrypted without its key, corrupt). */
  readonly metadata: EntryMetadata | undefined
  /** Whether a read of this cache would decode it (a read deletes what it cannot decode). */
  readonly decodable: boolean
  /** Why it is not decodable, or why the metadata is missing; `undefined` when decodable. */
  readonly problem: string | undefined
  /** The value, when decodable (whatever its state); absent otherwise. */
  readonly value?: unknown
}

/** What {@link inspectStoredEntry} reads with. */
export interface InspectionParams {
  readonly store: RemoteStore
  readonly options: ResolvedRedisCacheOptions
  /** Deadline of each Redis call, in ms. */
  readonly timeoutMs: number
}

/**
 * Reads one entry (GET and PTTL, never a write) and reports its envelope header and, when it
 * can be decoded, its metadata. Unlike a read, an entry that cannot be decoded is left in place.
 * Resolves `undefined` when the key does not exist; rejects when Redis fails (a WRONGTYPE reply
 * included).
 */
export async function inspectStoredEntry(params: InspectionParams, key: string): Promise<EntryInspection | undefined> {
  const { store, options, timeoutMs } = params
  const storedKey = `${options.namespace}:${key}`
  const [bytes, ttl] = await Promise.all([bounded(store.get(storedKey), timeoutMs), bounded(store.ttl(storedKey), timeoutMs)])
  if (bytes === undefined) return undefined
  const base = { key, storedKey, sizeBytes: bytes.byteLength, physicalTtlMs: ttl === undefined || ttl === Infinity ? undefined : ttl }
  let header: EntryHeaderFacts
  try {
    header = headerFacts(bytes)
  } catch (error) {
    return { ...base, header: undefined, metadata: undefined, decodable: false, problem: errorMessage(error) }
  }
  const decoded = decodeFor(options, header, bytes, storedKey)
  const metadata = decoded.entry && metadataOf(decoded.entry, options.clock.now())
  if (decoded.problem !== undefined) return { ...base, header, metadata, decodable: false, problem: decoded.problem }
  return { ...base, header, metadata, decodable: true, problem: undefined, value: decoded.entry?.value }
}

function headerFacts(bytes: Uint8Array): EntryHeaderFacts {
  const { header } = readEnvelope(bytes)
  const serializer = KNOWN_SERIALIZERS.find((codec) => codec.id === header.serializerId)
  const compressor = header.compressorId === 0 ? 'none' : KNOWN_COMPRESSORS.find((codec) => codec.id === header.compressorId)?.name
  return {
    formatVersion: bytes[2]!,
    serializerId: header.serializerId,
    serializer: serializer?.name,
    compressorId: header.compressorId,
    compressor,
    encrypted: header.encrypted,
    keyId: header.encrypted ? header.keyId : undefined,
  }
}

/**
 * Decodes as this cache's reads would; an unencrypted entry is decoded without a cipher even
 * under a cache with encryption, so its metadata shows while it is still reported undecodable.
 */
function decodeFor(options: ResolvedRedisCacheOptions, header: EntryHeaderFacts, bytes: Uint8Array, storedKey: string): { entry?: CacheEntry; problem?: string } {
  const encryption = options.encryption
  const plain = () => new CodecPipeline({ serializer: options.serializer, compression: options.compression, maxValueBytes: options.maxValueBytes })
  try {
    if (!header.encrypted) {
      const entry = plain().decode(bytes, storedKey)
      if (encryption === false) return { entry }
      return { entry, problem: 'the entry is not encrypted, and a cache with encryption refuses it (a read deletes it)' }
    }
    if (encryption === false) return { problem: `the entry is encrypted with key id ${header.keyId}; give the encryption keys to decode it` }
    const pipeline = new CodecPipeline({ serializer: options.serializer, compression: options.compression, maxValueBytes: options.maxValueBytes, cipher: new AesGcmCipher(encryption.keyRing) })
    return { entry: pipeline.decode(bytes, storedKey) }
  } catch (error) {
    return { problem: errorMessage(error) }
  }
}

function metadataOf(entry: CacheEntry, now: number): EntryMetadata {
  return {
    createdAt: entry.createdAt,
    expiresAt: entry.expiresAt,
    staleUntil: entry.staleUntil,
    tags: entry.tags,
    state: freshness(entry, now),
    ttlMs: entry.expiresAt === undefined ? undefined : Math.max(0, entry.expiresAt - now),
  }
}

/** Each call of an inspection has the deadline; the command itself is not cancelled. */
function bounded<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  return withDeadline(promise, timeoutMs, 'L2 inspect')
}
