import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { Readable, pipeline } from 'node:stream'
import { createGunzip, crc32 } from 'node:zlib'

import { BackupFormatError } from '../errors.js'
import {
  BACKUP_FORMAT_VERSION,
  BACKUP_MAGIC,
  type BackupEntry,
  type BackupHeader,
  MAX_RECORD_BYTES,
  RECORD_OVERHEAD_BYTES,
  RecordKind,
  parseEntry,
  parseHeader,
  parseTrailer,
} from './backup-format.js'

/** Where a reader is, for error messages and progress. */
export interface ReaderPosition {
  /** Bytes of the (gunzipped) stream consumed. */
  readonly offset: number
  /** Entry records read so far. */
  readonly record: number
  /** Bytes of the file itself read (compressed bytes of a gzipped file). */
  readonly fileBytes: number
}

/**
 * Reads a backup stream record by record, in constant memory: each record is checked (CRC-32)
 * as it arrives, and the trailer's count and SHA-256 when the stream ends. Every defect throws
 * `E_BACKUP_FORMAT` with the byte offset and record number; `restored` is filled in by the
 * caller (`withRestored`).
 */
export class BackupReader {
  readonly #chunks: AsyncIterator<Buffer>
  readonly #hash = createHash('sha256')
  #buffer: Buffer = Buffer.alloc(0)
  #pos = 0
  #offset = 0
  #record = 0
  #fileRead = { bytes: 0 }
  #file: Readable | undefined
  #header: BackupHeader | undefined

  private constructor(chunks: AsyncIterable<Buffer>) {
    this.#chunks = chunks[Symbol.asyncIterator]()
  }

  /** Opens a backup file, gunzipping it when it starts with the gzip magic. */
  static async open(path: string): Promise<BackupReader> {
    const file = createReadStream(path, { highWaterMark: 256 * 1024 })
    const read = { bytes: 0 }
    const reader = new BackupReader(await decompressed(file, (n) => (read.bytes += n)))
    reader.#fileRead = read
    reader.#file = file
    return reader
  }

  /** Closes the file (safe at any point, and twice). */
  close(): void {
    this.#file?.destroy()
  }

  get position(): ReaderPosition {
    return { offset: this.#offset, record: this.#record, fileBytes: this.#fileRead.bytes }
  }

  /** The header; reads the preamble and the header record on first use. */
  async header(): Promise<BackupHeader> {
    if (this.#header !== undefined) return this.#header
    const preamble = await this.#take(BACKUP_MAGIC.length + 1, 'the file is empty or shorter than its 9-byte preamble')
    if (!preamble.subarray(0, BACKUP_MAGIC.length).equals(BACKUP_MAGIC)) this.#fail('no "STRATABK" magic: not a strata backup file', 0)
    const version = preamble[BACKUP_MAGIC.length]!
    if (version !== BACKUP_FORMAT_VERSION) this.#fail(`format version ${version} is not one this version reads (${BACKUP_FORMAT_VERSION}); use a newer strata-cache`, BACKUP_MAGIC.length)
    this.#hash.update(preamble)
    const { kind, body, at } = await this.#nextRecord()
    if (kind !== RecordKind.header) this.#fail(`the first record is of kind ${kind}, not the header`, at)
    this.#header = this.#parse(() => parseHeader(body), at)
    return this.#header
  }

  /** Entry records in order; ends after a verified trailer. */
  async *entries(): AsyncGenerator<BackupEntry> {
    await this.header()
    let count = 0
    for (;;) {
      const { kind, body, at } = await this.#nextRecord()
      if (kind === RecordKind.entry) {
        const entry = this.#parse(() => parseEntry(body), at)
        this.#record++
        count++
        yield entry
        continue
      }
      if (kind !== RecordKind.trailer) this.#fail(`unknown record kind ${kind}`, at)
      const trailer = this.#parse(() => parseTrailer(body), at)
      if (trailer.entries !== count) this.#fail(`the trailer counts ${trailer.entries} entries, the file holds ${count}`, at)
      if (!trailer.sha256.equals(this.#hash.digest())) this.#fail('checksum mismatch: the SHA-256 of the file does not match its trailer', at)
      if ((await this.#peekEnd()) === false) this.#fail('data after the trailer', this.#offset)
      return
    }
  }

  /** The next record, its CRC checked; every record but the trailer goes into the SHA-256. */
  async #nextRecord(): Promise<{ kind: number; body: Buffer; at: number }> {
    const at = this.#offset
    const head = await this.#take(5, 'the file ends without a trailer (truncated)')
    const kind = head[0]!
    const length = head.readUInt32BE(1)
    if (length > MAX_RECORD_BYTES) this.#fail(`record length ${length} is over the ${MAX_RECORD_BYTES}-byte limit (damaged length field)`, at)
    const rest = await this.#take(length + 4, 'the file ends inside a record (truncated)', at)
    const crc = crc32(rest.subarray(0, length), crc32(head))
    if (crc !== rest.readUInt32BE(length)) this.#fail(`record CRC-32 mismatch (${length + RECORD_OVERHEAD_BYTES}-byte record)`, at)
    if (kind !== RecordKind.trailer) this.#hash.update(head).update(rest)
    return { kind, body: rest.subarray(0, length), at }
  }

  #parse<T>(parse: () => T, at: number): T {
    try {
      return parse()
    } catch (error) {
      this.#fail(error instanceof Error ? error.message : String(error), at)
    }
  }

  /** `n` bytes: a view when the current chunk holds them, else one copy across chunks. */
  async #take(n: number, truncated: string, at = this.#offset): Promise<Buffer> {
    const available = this.#buffer.length - this.#pos
    if (available >= n) {
      const out = this.#buffer.subarray(this.#pos, this.#pos + n)
      this.#pos += n
      this.#offset += n
      return out
    }
    const parts = [this.#buffer.subarray(this.#pos)]
    let have = available
    while (have < n) {
      const chunk = await this.#next()
      if (chunk === undefined) this.#fail(truncated, at)
      parts.push(chunk)
      have += chunk.length
    }
    const last = parts[parts.length - 1]!
    const fromLast = last.length - (have - n)
    const out = Buffer.concat(parts.slice(0, -1).concat(last.subarray(0, fromLast)), n)
    this.#buffer = last
    this.#pos = fromLast
    this.#offset += n
    return out
  }

  async #peekEnd(): Promise<boolean> {
    if (this.#pos < this.#buffer.length) return false
    for (;;) {
      const chunk = await this.#next()
      if (chunk === undefined) return true
      if (chunk.length > 0) return false
    }
  }

  async #next(): Promise<Buffer | undefined> {
    try {
      const next = await this.#chunks.next()
      return next.done === true ? undefined : next.value
    } catch (error) {
      if (error instanceof BackupFormatError) throw error
      const code = (error as NodeJS.ErrnoException).code
      if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') throw error
      this.#fail(`the gzip stream is damaged (${error instanceof Error ? error.message : String(error)}) after ${this.#fileRead.bytes} bytes of the file`, this.#offset, error)
    }
  }

  #fail(reason: string, offset: number, cause?: unknown): never {
    // The record being read: 0 the header, then 1.. the entries, then the trailer.
    const record = this.#header === undefined ? 0 : this.#record + 1
    throw new BackupFormatError(reason, { offset, record, restored: 0 }, cause === undefined ? undefined : { cause })
  }
}

/** The same damage, with how many entries a restore had written before it. */
export function withRestored(error: BackupFormatError, restored: number): BackupFormatError {
  return new BackupFormatError(error.reason, { offset: error.offset, record: error.record, restored }, { cause: error.cause })
}

/** The file's bytes, gunzipped when they start with the gzip magic; `counted` is told each raw chunk's size. */
async function decompressed(file: Readable, counted: (n: number) => void): Promise<AsyncIterable<Buffer>> {
  const raw = file[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const first = await raw.next()
  if (first.done === true) return Readable.from([])
  const head: Buffer = first.value
  counted(head.length)
  async function* all(): AsyncGenerator<Buffer> {
    yield head
    for (;;) {
      const next = await raw.next()
      if (next.done === true) return
      counted((next.value).length)
      yield next.value
    }
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) return all()
  const gunzip = createGunzip()
  // Errors of either side end the iteration of `gunzip` with that error.
  pipeline(Readable.from(all()), gunzip, () => undefined)
  return gunzip
}
