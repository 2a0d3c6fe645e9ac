import { deflateRawSync, inflateRawSync } from 'node:zlib'

import type { Compressor } from './codec.js'

/**
 * Raw DEFLATE (RFC 1951) via `node:zlib`, synchronously.
 *
 * Raw rather than the zlib format (RFC 1950): the zlib wrapper adds 6 bytes (header and Adler-32)
 * whose integrity check the envelope's CRC-32 already provides. Synchronous because entries are
 * small and bounded by `maxValueBytes`; zlib's async API would cost a threadpool round trip per
 * value for no gain on values this size.
 *
 * `decompress` passes the cap to zlib as `maxOutputLength`, so a decompression bomb is stopped
 * while inflating, with at most `maxOutputBytes` allocated. Bytes after the end of the deflate
 * stream are ignored by zlib; the envelope CRC-32 is what rejects them.
 */
export const deflateCompressor: Compressor = Object.freeze({
  id: 1,
  name: 'deflate',
  compress(bytes: Uint8Array, level: number): Uint8Array {
    return deflateRawSync(bytes, { level })
  },
  decompress(bytes: Uint8Array, maxOutputBytes: number): Uint8Array {
    if (!Number.isSafeInteger(maxOutputBytes) || maxOutputBytes < 1) {
      throw new RangeError(`maxOutputBytes must be a positive integer, got ${maxOutputBytes}`)
    }
    try {
      return inflateRawSync(bytes, { maxOutputLength: maxOutputBytes })
    } catch (error) {
      if (isBufferTooLarge(error)) {
        throw new Error(
          `inflated size exceeds the cap of ${maxOutputBytes} bytes (maxValueBytes)`,
          {
            cause: error,
          },
        )
      }
      throw error
    }
  },
})

// zlib reports an exceeded maxOutputLength as a RangeError with this code.
function isBufferTooLarge(error: unknown): boolean {
  return (
    error instanceof RangeError && (error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE'
  )
}
