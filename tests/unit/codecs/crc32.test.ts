import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

import { crc32 } from '../../../src/codecs/crc32.js'

/** Bit-at-a-time CRC-32: slow and obviously right, to check the sliced tables against. */
function referenceCrc32(bytes: Uint8Array): number {
  let c = 0xffffffff
  for (const b of bytes) {
    c ^= b
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1
  }
  return (c ^ 0xffffffff) >>> 0
}

describe('crc32', () => {
  it('matches the standard check values', () => {
    const ascii = (s: string) => Buffer.from(s, 'latin1')
    expect(crc32(ascii(''))).toBe(0)
    expect(crc32(ascii('a'))).toBe(0xe8b7be43)
    expect(crc32(ascii('123456789'))).toBe(0xcbf43926)
    expect(crc32(ascii('The quick brown fox jumps over the lazy dog'))).toBe(0x414fa339)
  })

  it('matches the bit-at-a-time definition on any range (property)', () => {
    const input = fc
      .uint8Array({ maxLength: 200 })
      .chain((b) => fc.tuple(fc.constant(b), fc.nat(b.length), fc.nat(b.length)))
    fc.assert(
      fc.property(input, ([bytes, x, y]) => {
        const [start, end] = x <= y ? [x, y] : [y, x]
        expect(crc32(bytes, start, end)).toBe(referenceCrc32(bytes.subarray(start, end)))
      }),
    )
  })
})
