import type { CacheEntry } from '../shared/cache-entry.js'
import {
  CodecDecodeError,
  CodecEncodeError,
  DecryptFailedError,
  UndefinedValueError,
  UnknownKeyIdError,
  ValueTooLargeError,
} from '../errors.js'
import { SEALED_OVERHEAD_BYTES } from './aes-gcm-cipher.js'
import type { Cipher, Compressor, Serializer } from './codec.js'
import {
  ENVELOPE_HEADER_BYTES,
  ENVELOPE_OVERHEAD_BYTES,
  ENVELOPE_TRAILER_BYTES,
  type EnvelopeHeader,
  envelopeHeaderBytes,
  frameEnvelope,
  readEnvelope,
  writeEnvelope,
} from './envelope.js'
import {
  type CodecPipelineOptions,
  type ResolvedCompressionOptions,
  resolveCodecPipelineOptions,
} from './pipeline-options.js'

/**
 * Turns a `CacheEntry` into the bytes stored in L2 and back, in one fixed order:
 * serialize → compress (when large enough and worth it) → encrypt (with a cipher) → envelope
 * (see `envelope.ts`).
 *
 * The serialized payload is the tuple `[createdAt, expiresAt ?? null, tags, value]`, followed by
 * `staleUntil` when the entry has grace: an array rather than an object so that neither msgpack
 * nor JSON spends bytes on field names.
 *
 * Both directions are bounded by `maxValueBytes`. `decode` either returns the entry that was
 * encoded (up to the serializer's documented losses) or throws `CodecDecodeError`; every other
 * failure is wrapped into one (a failed decryption is its subclass `DecryptFailedError`, an
 * unknown key id `UnknownKeyIdError`).
 *
 * `storedKey` is the Redis key the bytes live under (`<namespace>:<key>`). With a cipher it is
 * part of the associated data, so it must be the same on write and read.
 */
export class CodecPipeline {
  readonly #serializer: Serializer
  readonly #compression: ResolvedCompressionOptions | false
  readonly #maxValueBytes: number
  readonly #serializersById: readonly (Serializer | undefined)[]
  readonly #compressorsById: readonly (Compressor | undefined)[]
  // Shared, frozen headers: encode allocates nothing for them.
  readonly #plainHeader: EnvelopeHeader
  readonly #compressedHeader: EnvelopeHeader
  readonly #cipher: Cipher | undefined
  /**
   * Scratch space for the associated data, reused by every call: the cipher consumes it
   * synchronously (`setAAD` copies it), and one allocation per read and write costs more than
   * the copy. Grows to the longest stored key seen.
   */
  #aad = Buffer.allocUnsafe(256)
  /** Largest stored entry `decode` looks at: `maxValueBytes` plus envelope (and IV and tag). */
  readonly #maxStoredBytes: number
  #compressedCount = 0
  #incompressibleCount = 0
  #bytesBeforeCompression = 0
  #bytesAfterCompression = 0

  /** Throws `InvalidOptionsError` listing every invalid option. */
  readonly #onCompress: CodecPipelineOptions['onCompress']

  constructor(options: CodecPipelineOptions) {
    const resolved = resolveCodecPipelineOptions(options)
    this.#onCompress = options.onCompress
    this.#serializer = resolved.serializer
    this.#compression = resolved.compression
    this.#maxValueBytes = resolved.maxValueBytes
    this.#serializersById = resolved.serializersById
    this.#compressorsById = resolved.compressorsById
    this.#cipher = options.cipher
    const sealed = this.#cipher === undefined ? 0 : SEALED_OVERHEAD_BYTES
    this.#maxStoredBytes = resolved.maxValueBytes + ENVELOPE_OVERHEAD_BYTES + sealed
    const base = { serializerId: resolved.serializer.id, ...this.#keyFields() }
    this.#plainHeader = Object.freeze({ ...base, compressorId: 0 })
    const compressorId = resolved.compression === false ? 0 : resolved.compression.compressor.id
    this.#compressedHeader = Object.freeze({ ...base, compressorId })
  }

  /** Largest serialized payload accepted, in bytes. */
  get maxValueBytes(): number {
    return this.#maxValueBytes
  }

  /** Entries written compressed since construction. */
  get compressedCount(): number {
    return this.#compressedCount
  }

  /** Entries compressed but written uncompressed because that was not smaller (CPU wasted). */
  get incompressibleCount(): number {
    return this.#incompressibleCount
  }

  /** Serialized bytes of the entries counted by `compressedCount`. */
  get bytesBeforeCompression(): number {
    return this.#bytesBeforeCompression
  }

  /** Compressed bytes of the entries counted by `compressedCount`. */
  get bytesAfterCompression(): number {
    return this.#bytesAfterCompression
  }

  /**
   * Encodes an entry for L2. Throws `UndefinedValueError` for an `undefined` value,
   * `CodecEncodeError` when the serializer or compressor fails, and `ValueTooLargeError` when the
   * serialized payload is over `maxValueBytes`.
   */
  encode(key: string, entry: CacheEntry, storedKey = ''): Uint8Array {
    if (entry.value === undefined) throw new UndefinedValueError(key)
    let payload: Uint8Array
    try {
      const tuple = [entry.createdAt, entry.expiresAt ?? null, entry.tags, entry.value]
      if (entry.staleUntil !== undefined) tuple.push(entry.staleUntil)
      payload = this.#serializer.serialize(tuple)
    } catch (error) {
      throw new CodecEncodeError(key, error)
    }
    if (payload.length > this.#maxValueBytes) {
      throw new ValueTooLargeError(key, payload.length, this.#maxValueBytes)
    }
    const c = this.#compression
    if (c !== false && payload.length >= c.thresholdBytes) {
      const compressed = this.#compress(key, c, payload)
      if (compressed !== undefined) return this.#frame(this.#compressedHeader, compressed, storedKey)
    }
    return this.#frame(this.#plainHeader, payload, storedKey)
  }

  /** Envelope around `payload`, encrypted first when there is a cipher. */
  #frame(header: EnvelopeHeader, payload: Uint8Array, storedKey: string): Uint8Array {
    const cipher = this.#cipher
    if (cipher === undefined) return writeEnvelope(header, payload)
    const aad = this.#associatedData(envelopeHeaderBytes(header), storedKey)
    return frameEnvelope(header, cipher.encrypt(payload, aad, ENVELOPE_HEADER_BYTES, ENVELOPE_TRAILER_BYTES))
  }

  #keyFields(): { encrypted: boolean; keyId: number } {
    const cipher = this.#cipher
    return cipher === undefined ? { encrypted: false, keyId: 0 } : { encrypted: true, keyId: cipher.currentKeyId }
  }

  /**
   * Decodes bytes read from L2. Throws `CodecDecodeError` for anything that is not an entry this
   * pipeline can read exactly: foreign, corrupt, truncated, oversized or encrypted bytes, unknown
   * codec ids, and payloads that are not an entry tuple. With a cipher: `UnknownKeyIdError` for
   * a key id it does not list, `DecryptFailedError` for a failed authentication or an
   * unencrypted entry.
   */
  decode(bytes: Uint8Array, storedKey = ''): CacheEntry {
    // Checked before the CRC so that an oversized entry costs no work. A valid stored payload is
    // never larger than its serialized form (compression is kept only when smaller).
    if (bytes.length > this.#maxStoredBytes) {
      throw new CodecDecodeError(
        `entry is ${bytes.length} bytes, over maxValueBytes (${this.#maxValueBytes}) plus envelope`,
      )
    }
    const { header, payload: stored } = readEnvelope(bytes)
    const payload = this.#open(header, stored, bytes, storedKey)
    const serializer = this.#serializersById[header.serializerId]
    if (serializer === undefined) {
      throw new CodecDecodeError(`unknown serializer id ${header.serializerId}`)
    }
    const plain =
      header.compressorId === 0 ? payload : this.#decompress(header.compressorId, payload)
    let tuple: unknown
    try {
      tuple = serializer.deserialize(plain)
    } catch (error) {
      // The serializer's own message may quote decoded data; keep cached values out of errors.
      const kind = error instanceof Error ? error.name : 'error'
      throw new CodecDecodeError(`${serializer.name} cannot read the payload (${kind})`)
    }
    return entryFromTuple(tuple)
  }

  /**
   * Re-encrypts a stored entry under the current key without deserializing it (`rekey`).
   * Returns `undefined` when it already is under the current key; throws as `decode` does when
   * it cannot be authenticated (an unencrypted entry is never encrypted here: that would vouch
   * for bytes anyone could have written). Serializer and compressor ids are kept.
   */
  reencrypt(bytes: Uint8Array, storedKey: string): Uint8Array | undefined {
    const cipher = this.#cipher
    if (cipher === undefined) throw new RangeError('reencrypt needs a cipher')
    const { header, payload } = readEnvelope(bytes)
    if (header.encrypted && header.keyId === cipher.currentKeyId) return undefined
    const plain = this.#open(header, payload, bytes, storedKey)
    return this.#frame({ ...header, keyId: cipher.currentKeyId }, plain, storedKey)
  }

  /** Whether `bytes` (already decoded once) are encrypted under a key other than the current one. */
  isUnderOldKey(bytes: Uint8Array): boolean {
    const cipher = this.#cipher
    if (cipher === undefined || bytes.length < ENVELOPE_HEADER_BYTES) return false
    return bytes[6] !== cipher.currentKeyId && bytes[6] !== 0
  }

  /** The payload, decrypted when the entry is encrypted: the cipher stage of a read. */
  #open(header: EnvelopeHeader, payload: Uint8Array, bytes: Uint8Array, storedKey: string): Uint8Array {
    const cipher = this.#cipher
    if (!header.encrypted) {
      if (cipher === undefined) return payload
      throw new DecryptFailedError(0, 'entry is not encrypted, and a cache with encryption reads only encrypted entries')
    }
    if (cipher === undefined) {
      throw new CodecDecodeError(`entry is encrypted (key id ${header.keyId}) and no cipher is set`)
    }
    if (!cipher.hasKey(header.keyId)) throw new UnknownKeyIdError(header.keyId)
    return cipher.decrypt(header.keyId, payload, this.#associatedData(bytes, storedKey))
  }

  /**
   * What the cipher authenticates besides the payload: the envelope header as stored (format
   * version, codec ids, flags, key id; the first 7 bytes of `header`) followed by the stored key.
   * The header has a fixed size, so the split is unambiguous. Valid until the next call.
   */
  #associatedData(header: Uint8Array, storedKey: string): Uint8Array {
    const length = ENVELOPE_HEADER_BYTES + Buffer.byteLength(storedKey)
    if (this.#aad.length < length) this.#aad = Buffer.allocUnsafe(length * 2)
    const out = this.#aad
    out.set(header.subarray(0, ENVELOPE_HEADER_BYTES))
    out.write(storedKey, ENVELOPE_HEADER_BYTES, 'utf8')
    return out.subarray(0, length)
  }

  /** Returns the compressed payload, or `undefined` when it is not smaller. */
  #compress(
    key: string,
    c: ResolvedCompressionOptions,
    payload: Uint8Array,
  ): Uint8Array | undefined {
    let compressed: Uint8Array
    const startedAt = this.#onCompress === undefined ? 0 : performance.now()
    try {
      compressed = c.compressor.compress(payload, c.level)
    } catch (error) {
      throw new CodecEncodeError(key, error)
    }
    this.#onCompress?.(payload.length, compressed.length, performance.now() - startedAt)
    if (compressed.length >= payload.length) {
      this.#incompressibleCount++
      return undefined
    }
    this.#compressedCount++
    this.#bytesBeforeCompression += payload.length
    this.#bytesAfterCompression += compressed.length
    return compressed
  }

  #decompress(compressorId: number, payload: Uint8Array): Uint8Array {
    const compressor = this.#compressorsById[compressorId]
    if (compressor === undefined)
      throw new CodecDecodeError(`unknown compressor id ${compressorId}`)
    try {
      return compressor.decompress(payload, this.#maxValueBytes)
    } catch (error) {
      throw new CodecDecodeError(`${compressor.name} cannot decompress the payload`, error)
    }
  }
}

/** Checks the decoded tuple field by field: a payload of the wrong shape is not an entry. */
function entryFromTuple(tuple: unknown): CacheEntry {
  if (!Array.isArray(tuple) || (tuple.length !== 4 && tuple.length !== 5)) {
    throw new CodecDecodeError('payload is not an entry tuple [createdAt, expiresAt, tags, value, staleUntil?]')
  }
  const [createdAt, expiresAt, tags, value, staleUntil] = tuple as unknown[]
  if (typeof createdAt !== 'number' || !Number.isFinite(createdAt)) {
    throw new CodecDecodeError('entry createdAt is not a finite number')
  }
  if (expiresAt !== null && (typeof expiresAt !== 'number' || !Number.isFinite(expiresAt))) {
    throw new CodecDecodeError('entry expiresAt is neither null nor a finite number')
  }
  if (!isStringArray(tags)) throw new CodecDecodeError('entry tags are not an array of strings')
  // undefined is how a miss is reported, so a stored undefined can only come from bad bytes.
  if (value === undefined) throw new CodecDecodeError('entry value is undefined')
  if (staleUntil === undefined) return { value, createdAt, expiresAt: expiresAt ?? undefined, tags }
  if (typeof staleUntil !== 'number' || typeof expiresAt !== 'number' || !(staleUntil >= expiresAt)) {
    throw new CodecDecodeError('entry staleUntil is not a time at or after expiresAt')
  }
  return { value, createdAt, expiresAt, staleUntil, tags }
}

function isStringArray(v: unknown): v is string[] {
  if (!Array.isArray(v)) return false
  for (const item of v) if (typeof item !== 'string') return false
  return true
}
