import { crc32 } from 'node:zlib'

/**
 * The strata backup format, version 1 (documented for users in docs/backup-format.md).
 * All integers are unsigned big-endian. The file is the stream below, gzipped unless the backup
 * was made with `gzip: false`; a reader tells them apart by the gzip magic (0x1f 0x8b).
 *
 * ```
 * stream   = magic "STRATABK" (8 bytes) ‖ version (1 byte, = 1) ‖ header record ‖ entry record* ‖ trailer record
 * record   = kind (1: 1 header, 2 entry, 3 trailer) ‖ body length n (4) ‖ body (n) ‖ CRC-32 of kind, length and body (4)
 * header   = UTF-8 JSON: { formatVersion, library, libraryVersion, namespace, topology, createdAt }
 * entry    = flags (1: bit 0 has an expiry, bit 1 decoded: tags are known; bits 2-7 zero)
 *            ‖ expiresAt (8, epoch ms; only with bit 0)
 *            ‖ key length (2) ‖ key (UTF-8, without the namespace)
 *            ‖ tag count (2) ‖ per tag: length (2) ‖ tag (UTF-8)
 *            ‖ value length (4) ‖ value (the stored envelope, byte for byte)
 * trailer  = entry count (8) ‖ SHA-256 (32) of every stream byte before the trailer record
 * ```
 *
 * The per-record CRC-32 locates damage (a reader names the byte offset and the record); the
 * trailer's count and SHA-256 catch what a CRC cannot: a record dropped, repeated or moved, or a
 * stream cut exactly between records. Nothing may follow the trailer. A body is at most
 * {@link MAX_RECORD_BYTES}, so a damaged length cannot make a reader buffer gigabytes.
 *
 * @module
 */

/** The 8 bytes every backup stream starts with. */
export const BACKUP_MAGIC = Buffer.from('STRATABK', 'latin1')

/** The format version this code writes; the only one it reads so far. */
export const BACKUP_FORMAT_VERSION = 1

/** Largest record body accepted: a stored value (at most a few hundred MiB) plus its key and tags. */
export const MAX_RECORD_BYTES = 512 * 1024 * 1024

/** Record kinds. */
export const RecordKind = Object.freeze({ header: 1, entry: 2, trailer: 3 })

/** Bytes of a record around its body: kind, length and CRC. */
export const RECORD_OVERHEAD_BYTES = 9

const FLAG_EXPIRES = 0b01
const FLAG_DECODED = 0b10
const TWO_32 = 2 ** 32

/** Where the backup was made, as its header records. */
export interface BackupHeader {
  /** Format version of the file, 1. */
  readonly formatVersion: number
  /** Always `'strata-cache'`. */
  readonly library: string
  /** Version of strata-cache that wrote the file. */
  readonly libraryVersion: string
  /** Namespace the entries were read from. */
  readonly namespace: string
  /** `'standalone'`, `'cluster'` or `'sentinel'`. */
  readonly topology: string
  /** When the backup started, ISO 8601. */
  readonly createdAt: string
}

/** One entry record. */
export interface BackupEntry {
  /** The key without the namespace. */
  readonly key: string
  /** The stored envelope, as Redis held it. */
  readonly bytes: Uint8Array
  /** When the entry expires, epoch ms; `undefined` for never. */
  readonly expiresAt: number | undefined
  readonly tags: readonly string[]
  /** Whether the backing-up cache could decode it (its tags are then complete). */
  readonly decoded: boolean
}

/** The trailer's content. */
export interface BackupTrailer {
  readonly entries: number
  /** SHA-256 of the stream before the trailer record. */
  readonly sha256: Buffer
}

/** The stream's first 9 bytes: magic and version. */
export function preamble(): Buffer {
  return Buffer.concat([BACKUP_MAGIC, Buffer.of(BACKUP_FORMAT_VERSION)])
}

/** A record around `body`, with its CRC-32. */
export function record(kind: number, body: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(RECORD_OVERHEAD_BYTES + body.length)
  out[0] = kind
  out.writeUInt32BE(body.length, 1)
  out.set(body, 5)
  out.writeUInt32BE(crc32(out.subarray(0, 5 + body.length)), 5 + body.length)
  return out
}

export function headerRecord(header: BackupHeader): Buffer {
  return record(RecordKind.header, Buffer.from(JSON.stringify(header), 'utf8'))
}

/** An entry record, written in one allocation. Throws a `RangeError` past the format's limits. */
export function entryRecord(entry: BackupEntry): Buffer {
  const key = Buffer.from(entry.key, 'utf8')
  const tags = entry.tags.map((tag) => Buffer.from(tag, 'utf8'))
  if (key.length > 0xffff || tags.length > 0xffff || tags.some((tag) => tag.length > 0xffff)) {
    throw new RangeError(`entry "${entry.key.slice(0, 64)}" has a key, a tag or a tag count over 65,535`)
  }
  const hasExpiry = entry.expiresAt !== undefined
  const bodyLength = 1 + (hasExpiry ? 8 : 0) + 2 + key.length + 2 + tags.reduce((sum, tag) => sum + 2 + tag.length, 0) + 4 + entry.bytes.length
  const out = Buffer.allocUnsafe(RECORD_OVERHEAD_BYTES + bodyLength)
  out[0] = RecordKind.entry
  out.writeUInt32BE(bodyLength, 1)
  let at = 5
  out[at++] = (hasExpiry ? FLAG_EXPIRES : 0) | (entry.decoded ? FLAG_DECODED : 0)
  if (hasExpiry) at = writeUint64(out, at, Math.max(0, Math.round(entry.expiresAt)))
  at = writeShortBytes(out, at, key)
  out.writeUInt16BE(tags.length, at)
  at += 2
  for (const tag of tags) at = writeShortBytes(out, at, tag)
  out.writeUInt32BE(entry.bytes.length, at)
  out.set(entry.bytes, at + 4)
  at += 4 + entry.bytes.length
  out.writeUInt32BE(crc32(out.subarray(0, at)), at)
  return out
}

export function trailerRecord(trailer: BackupTrailer): Buffer {
  const body = Buffer.allocUnsafe(40)
  writeUint64(body, 0, trailer.entries)
  trailer.sha256.copy(body, 8)
  return record(RecordKind.trailer, body)
}

/** Parses an entry body; throws a `RangeError` naming what is malformed. */
export function parseEntry(body: Buffer): BackupEntry {
  let at = 0
  const need = (n: number): void => {
    if (at + n > body.length) throw new RangeError(`entry body ends early (needs ${at + n} bytes, has ${body.length})`)
  }
  need(1)
  const flags = body[at++]!
  if ((flags & ~(FLAG_EXPIRES | FLAG_DECODED)) !== 0) throw new RangeError(`unknown entry flags 0x${flags.toString(16)}`)
  let expiresAt: number | undefined
  if ((flags & FLAG_EXPIRES) !== 0) {
    need(8)
    expiresAt = body.readUInt32BE(at) * TWO_32 + body.readUInt32BE(at + 4)
    at += 8
  }
  const text = (): string => {
    need(2)
    const length = body.readUInt16BE(at)
    need(2 + length)
    at += 2 + length
    return body.toString('utf8', at - length, at)
  }
  const key = text()
  need(2)
  const tagCount = body.readUInt16BE(at)
  at += 2
  const tags: string[] = []
  for (let i = 0; i < tagCount; i++) tags.push(text())
  need(4)
  const valueLength = body.readUInt32BE(at)
  at += 4
  need(valueLength)
  if (at + valueLength !== body.length) throw new RangeError(`entry body has ${body.length - at - valueLength} bytes after its value`)
  return { key, bytes: body.subarray(at, at + valueLength), expiresAt, tags, decoded: (flags & FLAG_DECODED) !== 0 }
}

/** Parses a trailer body. */
export function parseTrailer(body: Buffer): BackupTrailer {
  if (body.length !== 40) throw new RangeError(`trailer body is ${body.length} bytes, not 40`)
  return { entries: body.readUInt32BE(0) * TWO_32 + body.readUInt32BE(4), sha256: Buffer.from(body.subarray(8)) }
}

/** Parses the header JSON and checks its fields. */
export function parseHeader(body: Buffer): BackupHeader {
  let parsed: unknown
  try {
    parsed = JSON.parse(body.toString('utf8'))
  } catch {
    throw new RangeError('header is not valid JSON')
  }
  const header = parsed as Partial<BackupHeader> | null
  const fields = ['libraryVersion', 'namespace', 'topology', 'createdAt'] as const
  if (header === null || typeof header !== 'object' || header.library !== 'strata-cache' || fields.some((field) => typeof header[field] !== 'string')) {
    throw new RangeError('header lacks library, libraryVersion, namespace, topology or createdAt')
  }
  if (header.formatVersion !== BACKUP_FORMAT_VERSION) throw new RangeError(`header names format version ${String(header.formatVersion)}`)
  return header as BackupHeader
}

function writeUint64(out: Buffer, at: number, value: number): number {
  out.writeUInt32BE(Math.floor(value / TWO_32), at)
  out.writeUInt32BE(value >>> 0, at + 4)
  return at + 8
}

function writeShortBytes(out: Buffer, at: number, bytes: Buffer): number {
  out.writeUInt16BE(bytes.length, at)
  bytes.copy(out, at + 2)
  return at + 2 + bytes.length
}
