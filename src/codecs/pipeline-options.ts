import { InvalidOptionsError, type OptionIssue, errorMessage } from '../errors.js'
import type { Cipher, Compressor, Serializer } from './codec.js'
import { deflateCompressor } from './deflate-compressor.js'
import { jsonSerializer } from './json-serializer.js'
import { msgpackSerializer } from './msgpack-serializer.js'

/** Every serializer this package ships, so an entry written by any of them can be read. */
export const KNOWN_SERIALIZERS: readonly Serializer[] = Object.freeze([
  msgpackSerializer,
  jsonSerializer,
])

/** Every compressor this package ships, so an entry written by any of them can be read. */
export const KNOWN_COMPRESSORS: readonly Compressor[] = Object.freeze([deflateCompressor])

/** When and how `CodecPipeline.encode` compresses. */
export interface CompressionOptions {
  /**
   * Compress payloads of at least this many serialized bytes. Below it, compressing costs more
   * CPU than it saves on the wire. 0 compresses everything.
   */
  readonly thresholdBytes: number
  /** Compressor level; for deflate an integer from -1 (zlib default) to 9 (smallest). */
  readonly level: number
  /**
   * Compressor used for writing. It is added to the read registry.
   * @default deflateCompressor
   */
  readonly compressor?: Compressor
}

/** Options of `new CodecPipeline(...)`. */
export interface CodecPipelineOptions {
  /** Serializer used for writing. It is added to the read registry. */
  readonly serializer: Serializer
  /** `false` never compresses (entries compressed by others still decode). */
  readonly compression: CompressionOptions | false
  /**
   * Largest serialized payload, in bytes, that `encode` writes and `decode` accepts, before
   * compression on write and after decompression on read.
   */
  readonly maxValueBytes: number
  /**
   * Serializers `decode` accepts, by id.
   * @default KNOWN_SERIALIZERS
   */
  readonly serializers?: readonly Serializer[]
  /**
   * Compressors `decode` accepts, by id.
   * @default KNOWN_COMPRESSORS
   */
  readonly compressors?: readonly Compressor[]
  /** Told about every value compressed: sizes in bytes and the time it took, in ms. */
  readonly onCompress?: (bytesBefore: number, bytesAfter: number, durationMs: number) => void
  /**
   * Encrypts every payload written (after compression) and decrypts any entry under a key it
   * lists. With a cipher, unencrypted entries are refused (`E_DECRYPT_FAILED`): anyone able to
   * write to Redis could otherwise plant a value.
   * @default none: entries are stored in clear, and encrypted ones cannot be read
   */
  readonly cipher?: Cipher | undefined
}

/** `CompressionOptions` with the compressor chosen. */
export interface ResolvedCompressionOptions {
  /** See `CompressionOptions.thresholdBytes`. */
  readonly thresholdBytes: number
  /** See `CompressionOptions.level`. */
  readonly level: number
  /** The compressor used for writing. */
  readonly compressor: Compressor
}

/** Validated, frozen pipeline options with registries indexed by envelope id (256 slots). */
export interface ResolvedCodecPipelineOptions {
  /** Serializer used for writing. */
  readonly serializer: Serializer
  /** Compression used for writing, or `false`. */
  readonly compression: ResolvedCompressionOptions | false
  /** See `CodecPipelineOptions.maxValueBytes`. */
  readonly maxValueBytes: number
  /** Readable serializers; index = `Serializer.id`. */
  readonly serializersById: readonly (Serializer | undefined)[]
  /** Readable compressors; index = `Compressor.id`. */
  readonly compressorsById: readonly (Compressor | undefined)[]
}

/**
 * Validates every field, reports all problems in one `InvalidOptionsError`, and builds the id
 * registries. Runs once per pipeline.
 */
export function resolveCodecPipelineOptions(
  raw: CodecPipelineOptions,
): ResolvedCodecPipelineOptions {
  const issues: OptionIssue[] = []
  if (!Number.isSafeInteger(raw.maxValueBytes) || raw.maxValueBytes < 1) {
    issues.push({
      path: 'maxValueBytes',
      message: `must be a positive integer (bytes), got ${String(raw.maxValueBytes)}`,
    })
  }
  const compression = resolveCompression(raw.compression, issues)
  const serializersById = buildRegistry(
    'serializers',
    [...(raw.serializers ?? KNOWN_SERIALIZERS), raw.serializer],
    issues,
  )
  const written = compression === false ? [] : [compression.compressor]
  const compressorsById = buildRegistry(
    'compressors',
    [...(raw.compressors ?? KNOWN_COMPRESSORS), ...written],
    issues,
  )
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  return Object.freeze({
    serializer: raw.serializer,
    compression,
    maxValueBytes: raw.maxValueBytes,
    serializersById: Object.freeze(serializersById),
    compressorsById: Object.freeze(compressorsById),
  })
}

function resolveCompression(
  raw: CompressionOptions | false,
  issues: OptionIssue[],
): ResolvedCompressionOptions | false {
  if (raw === false) return false
  const { thresholdBytes, level, compressor = deflateCompressor } = raw
  if (!Number.isSafeInteger(thresholdBytes) || thresholdBytes < 0) {
    issues.push({
      path: 'compression.thresholdBytes',
      message: `must be an integer >= 0 (bytes), got ${String(thresholdBytes)}`,
    })
  }
  // Levels differ per algorithm, so ask the compressor itself now rather than have every
  // encode fail later with the same error.
  try {
    compressor.compress(new Uint8Array(0), level)
  } catch (error) {
    issues.push({
      path: 'compression.level',
      message: `${compressor.name} rejects level ${level}: ${errorMessage(error)}`,
    })
  }
  return Object.freeze({ thresholdBytes, level, compressor })
}

function buildRegistry<T extends Serializer | Compressor>(
  path: string,
  codecs: readonly T[],
  issues: OptionIssue[],
): (T | undefined)[] {
  const byId = new Array<T | undefined>(256).fill(undefined)
  for (const codec of codecs) {
    if (!Number.isInteger(codec.id) || codec.id < 1 || codec.id > 255) {
      issues.push({
        path,
        message: `"${codec.name}" has id ${codec.id}; ids are integers in 1..255`,
      })
      continue
    }
    const existing = byId[codec.id]
    if (existing !== undefined && existing !== codec) {
      issues.push({
        path,
        message: `"${existing.name}" and "${codec.name}" share id ${codec.id}; ids are stored in entries and must be unique`,
      })
      continue
    }
    byId[codec.id] = codec
  }
  return byId
}
