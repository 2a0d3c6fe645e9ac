import { deflateRawSync } from 'node:zlib'

import { describe, expect, it } from 'vitest'

import { deflateCompressor } from '../../../src/codecs/deflate-compressor.js'

const text = Buffer.from('strata-cache '.repeat(500))

function thrown(fn: () => unknown): Error {
  try {
    fn()
  } catch (error) {
    return error as Error
  }
  throw new Error('expected a throw')
}

describe('deflateCompressor', () => {
  it('has the envelope id 1 and the name deflate', () => {
    expect([deflateCompressor.id, deflateCompressor.name]).toEqual([1, 'deflate'])
  })

  it('round-trips bytes at every level, including empty input', () => {
    for (const level of [-1, 0, 1, 9]) {
      for (const input of [text, new Uint8Array(0), Uint8Array.from([1, 2, 3])]) {
        const out = deflateCompressor.decompress(deflateCompressor.compress(input, level), 1e6)
        expect(Buffer.compare(out, input)).toBe(0)
      }
    }
  })

  it('accepts output exactly at the cap and refuses one byte more', () => {
    const packed = deflateCompressor.compress(text, 6)
    expect(deflateCompressor.decompress(packed, text.length).length).toBe(text.length)
    const error = thrown(() => deflateCompressor.decompress(packed, text.length - 1))
    expect(error.message).toBe(
      `inflated size exceeds the cap of ${text.length - 1} bytes (maxValueBytes)`,
    )
    expect((error.cause as NodeJS.ErrnoException).code).toBe('ERR_BUFFER_TOO_LARGE')
  })

  it('stops a 64 MiB decompression bomb at a 1 MiB cap while inflating', () => {
    const bomb = deflateRawSync(Buffer.alloc(64 * 1024 * 1024))
    expect(bomb.length).toBeLessThan(100 * 1024)
    expect(() => deflateCompressor.decompress(bomb, 1024 * 1024)).toThrow(/exceeds the cap/)
  })

  it('throws on truncated or garbage input', () => {
    const packed = deflateCompressor.compress(text, 6)
    expect(() => deflateCompressor.decompress(packed.subarray(0, packed.length - 2), 1e6)).toThrow()
    expect(() => deflateCompressor.decompress(new Uint8Array(0), 1e6)).toThrow()
    expect(() => deflateCompressor.decompress(Uint8Array.from([0xff, 0xff, 0xff]), 1e6)).toThrow()
  })

  it('ignores bytes after the end of the stream (the envelope checksum rejects them)', () => {
    const packed = Buffer.concat([deflateCompressor.compress(text, 6), Buffer.from([1, 2])])
    expect(deflateCompressor.decompress(packed, 1e6).length).toBe(text.length)
  })

  it('rejects a cap that is not a positive integer', () => {
    const packed = deflateCompressor.compress(text, 6)
    for (const cap of [0, -1, 1.5, NaN]) {
      expect(() => deflateCompressor.decompress(packed, cap)).toThrow(RangeError)
    }
  })
})
