import { CodecDecodeError } from '../errors.js'
import { crc32 } from './crc32.js'

/**
 * Wire format of one stored entry (format version 1). All multi-byte integers are big-endian.
 *
 * ```
 * offset  size  field
 * 0       2     magic 0x53 0x43 ("SC"): tells our entries from foreign or legacy bytes
 * 2       1     format version, 1
 * 3       1     serializer id (1 msgpack, 2 json; see Serializer.id)
 * 4       1     compressor id (0 none, 1 deflate; see Compressor.id)
 * 5       1     flags: bit 0 = encrypted (see `aes-gcm-cipher.ts`); bits 1-7 must be 0
 * 6       1     key id of the encryption key, 1..255; must be 0 when not encrypted
 * 7       n     payload: serializer output, then compressed, then encrypted (in that order)
 * 7+n     4     CRC-32 (IEEE) of bytes [0, 7+n)
 * ```
 *
 * The CRC-32 trailer is there because the header alone cannot catch a corrupted payload: a
 * flipped byte inside a msgpack string or a raw deflate stream still decodes, to a different
 * value. With the trailer every single-bit error, every burst up to 32 bits and every truncation
 * is detected, and the rest slip through with probability 2^-32. It costs 4 bytes and about
 * 0.1 µs per 100 bytes read or written.
 *
 * When the encrypted flag is set, the payload is `IV ‖ ciphertext ‖ GCM tag` (see
 * `aes-gcm-cipher.ts`), authenticated with the associated data `header bytes [0, 7) ‖ UTF-8 of
 * the stored Redis key` (`<namespace>:<key>`). The header carries the format version and the key
 * id, and the stored key names the namespace: bytes moved under another key or namespace, or a
 * header edited (even with its CRC recomputed), fail the tag. The CRC is still checked first: it
 * is cheaper, and tells accidental damage from a failed authentication.
 *
 * A reader refuses what it does not know (version, flag bits) instead of guessing: an unknown
 * entry is a miss, never a wrong value.
 *
 * @module
 */

/** Bytes before the payload. */
export const ENVELOPE_HEADER_BYTES = 7

/** Bytes after the payload (the CRC-32). */
export const ENVELOPE_TRAILER_BYTES = 4

/** Header plus trailer: the size of an entry whose payload is empty. */
export const ENVELOPE_OVERHEAD_BYTES = ENVELOPE_HEADER_BYTES + ENVELOPE_TRAILER_BYTES

/** The only format version this code writes and reads. */
export const FORMAT_VERSION = 1

/** Flag bit 0: the payload is encrypted with key `keyId`. */
export const FLAG_ENCRYPTED = 0b0000_0001

const MAGIC_0 = 0x53
const MAGIC_1 = 0x43
const KNOWN_FLAGS = FLAG_ENCRYPTED

/** The codec facts recorded in front of a payload. */
export interface EnvelopeHeader {
  /** `Serializer.id` that produced the payload, 1..255. */
  readonly serializerId: number
  /** `Compressor.id` applied after serializing, or 0 when not compressed. */
  readonly compressorId: number
  /** Whether the payload is encrypted (after compression). */
  readonly encrypted: boolean
  /** Encryption key id, 0..255; must be 0 when `encrypted` is false. */
  readonly keyId: number
}

/** A parsed envelope. `payload` is a view into the input bytes, not a copy. */
export interface Envelope {
  /** The header fields. */
  readonly header: EnvelopeHeader
  /** The bytes between header and trailer. */
  readonly payload: Uint8Array
}

/**
 * Frames `payload` with a header and a CRC-32 trailer, in one allocation.
 * Throws a `RangeError` on an id outside 0..255 (a programmer error, not bad data).
 */
export function writeEnvelope(header: EnvelopeHeader, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(ENVELOPE_OVERHEAD_BYTES + payload.length)
  out.set(payload, ENVELOPE_HEADER_BYTES)
  return frameEnvelope(header, out)
}

/**
 * Frames a payload already written at `out[7, length - 4)`: fills in the header and the CRC-32
 * trailer around it and returns `out`. Saves `writeEnvelope`'s copy when a stage can leave room
 * (the cipher does). Throws as `writeEnvelope` does.
 */
export function frameEnvelope(header: EnvelopeHeader, out: Uint8Array): Uint8Array {
  const end = out.length - ENVELOPE_TRAILER_BYTES
  writeHeader(out, header)
  writeUint32(out, end, crc32(out, 0, end))
  return out
}

/**
 * The 7 header bytes `writeEnvelope` writes for `header`: the cipher stage authenticates them
 * (associated data) before the envelope exists. Throws as `writeEnvelope` does.
 */
export function envelopeHeaderBytes(header: EnvelopeHeader): Uint8Array {
  const out = new Uint8Array(ENVELOPE_HEADER_BYTES)
  writeHeader(out, header)
  return out
}

function writeHeader(out: Uint8Array, header: EnvelopeHeader): void {
  const { serializerId, compressorId, encrypted, keyId } = header
  if (!isByte(serializerId) || serializerId === 0 || !isByte(compressorId) || !isByte(keyId)) {
    throw new RangeError(
      `envelope ids must be integers in 0..255 (serializer 1..255): ${ids(header)}`,
    )
  }
  if (!encrypted && keyId !== 0)
    throw new RangeError(`keyId must be 0 when not encrypted: ${ids(header)}`)
  out[0] = MAGIC_0
  out[1] = MAGIC_1
  out[2] = FORMAT_VERSION
  out[3] = serializerId
  out[4] = compressorId
  out[5] = encrypted ? FLAG_ENCRYPTED : 0
  out[6] = keyId
}

/**
 * Parses and verifies an envelope. Throws `CodecDecodeError` on short input, bad magic, an
 * unknown format version, unknown flag bits, a key id on an unencrypted entry or a checksum
 * mismatch. The serializer and compressor ids are returned unchecked: the pipeline owns the
 * registries.
 */
export function readEnvelope(bytes: Uint8Array): Envelope {
  const n = bytes.length
  if (n < ENVELOPE_OVERHEAD_BYTES) {
    throw new CodecDecodeError(
      `entry is ${n} bytes, shorter than the ${ENVELOPE_OVERHEAD_BYTES}-byte envelope`,
    )
  }
  if (bytes[0] !== MAGIC_0 || bytes[1] !== MAGIC_1) {
    throw new CodecDecodeError('no "SC" magic: not a strata-cache entry (foreign or legacy bytes)')
  }
  const version = bytes[2]!
  if (version !== FORMAT_VERSION) {
    throw new CodecDecodeError(
      `unknown format version ${version} (this version reads ${FORMAT_VERSION})`,
    )
  }
  const flags = bytes[5]!
  if ((flags & ~KNOWN_FLAGS) !== 0) {
    throw new CodecDecodeError(`unknown flag bits 0x${flags.toString(16)} in the header`)
  }
  const encrypted = (flags & FLAG_ENCRYPTED) !== 0
  const keyId = bytes[6]!
  if (!encrypted && keyId !== 0)
    throw new CodecDecodeError(`key id ${keyId} set on an unencrypted entry`)
  const end = n - ENVELOPE_TRAILER_BYTES
  if (readUint32(bytes, end) !== crc32(bytes, 0, end)) {
    throw new CodecDecodeError('checksum mismatch: the entry is corrupt or truncated')
  }
  const header = { serializerId: bytes[3]!, compressorId: bytes[4]!, encrypted, keyId }
  return { header, payload: bytes.subarray(ENVELOPE_HEADER_BYTES, end) }
}

function isByte(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 255
}

function ids(h: EnvelopeHeader): string {
  return `serializer ${h.serializerId}, compressor ${h.compressorId}, key ${h.keyId}`
}

function writeUint32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24
  out[at + 1] = (v >>> 16) & 0xff
  out[at + 2] = (v >>> 8) & 0xff
  out[at + 3] = v & 0xff
}

function readUint32(bytes: Uint8Array, at: number): number {
  return (
    ((bytes[at]! << 24) | (bytes[at + 1]! << 16) | (bytes[at + 2]! << 8) | bytes[at + 3]!) >>> 0
  )
}
