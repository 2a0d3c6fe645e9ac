import { describe, expect, it } from 'vitest'

import { crc32 } from '../../../src/codecs/crc32.js'
import {
  ENVELOPE_HEADER_BYTES,
  ENVELOPE_OVERHEAD_BYTES,
  ENVELOPE_TRAILER_BYTES,
  type EnvelopeHeader,
  FORMAT_VERSION,
  readEnvelope,
  writeEnvelope,
} from '../../../src/codecs/envelope.js'
import { CodecDecodeError } from '../../../src/errors.js'

const plain: EnvelopeHeader = { serializerId: 1, compressorId: 0, encrypted: false, keyId: 0 }
const payload = Uint8Array.from([10, 20, 30])

function decodeError(bytes: Uint8Array): CodecDecodeError {
  try {
    readEnvelope(bytes)
  } catch (error) {
    expect(error).toBeInstanceOf(CodecDecodeError)
    return error as CodecDecodeError
  }
  throw new Error('readEnvelope accepted bad bytes')
}

function withByte(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = Uint8Array.from(bytes)
  copy[at] = value
  return copy
}

describe('envelope', () => {
  it('pins the format constants', () => {
    expect([ENVELOPE_HEADER_BYTES, ENVELOPE_TRAILER_BYTES, ENVELOPE_OVERHEAD_BYTES]).toEqual([
      7, 4, 11,
    ])
    expect(FORMAT_VERSION).toBe(1)
  })

  it('writes the documented layout byte by byte', () => {
    const header = { serializerId: 2, compressorId: 1, encrypted: true, keyId: 9 }
    const bytes = writeEnvelope(header, payload)
    expect([...bytes.subarray(0, 10)]).toEqual([0x53, 0x43, 1, 2, 1, 0b1, 9, 10, 20, 30])
    const crc = crc32(bytes, 0, 10)
    expect([...bytes.subarray(10)]).toEqual([
      crc >>> 24,
      (crc >>> 16) & 255,
      (crc >>> 8) & 255,
      crc & 255,
    ])
    expect(bytes.length).toBe(payload.length + ENVELOPE_OVERHEAD_BYTES)
  })

  it('reads back every header field and the payload as a view, not a copy', () => {
    for (const header of [
      plain,
      { serializerId: 255, compressorId: 255, encrypted: true, keyId: 255 },
    ]) {
      const bytes = writeEnvelope(header, payload)
      const read = readEnvelope(bytes)
      expect(read.header).toEqual(header)
      expect([...read.payload]).toEqual([...payload])
      expect(read.payload.buffer).toBe(bytes.buffer)
    }
  })

  it('frames an empty payload', () => {
    const bytes = writeEnvelope(plain, new Uint8Array(0))
    expect(bytes.length).toBe(ENVELOPE_OVERHEAD_BYTES)
    expect(readEnvelope(bytes).payload.length).toBe(0)
  })

  it('rejects input shorter than header plus trailer', () => {
    const bytes = writeEnvelope(plain, new Uint8Array(0))
    for (let n = 0; n < ENVELOPE_OVERHEAD_BYTES; n++) {
      expect(decodeError(bytes.subarray(0, n)).message).toMatch(/shorter than the 11-byte envelope/)
    }
  })

  it('rejects bad magic, unknown versions, unknown flag bits and a stray key id', () => {
    const bytes = writeEnvelope(plain, payload)
    expect(decodeError(withByte(bytes, 0, 0x7b)).message).toMatch(/"SC" magic/)
    expect(decodeError(withByte(bytes, 1, 0x00)).message).toMatch(/"SC" magic/)
    expect(decodeError(withByte(bytes, 2, 2)).message).toMatch(/unknown format version 2/)
    for (let bit = 1; bit < 8; bit++) {
      expect(decodeError(withByte(bytes, 5, 1 << bit)).message).toMatch(/unknown flag bits/)
    }
    expect(decodeError(withByte(bytes, 6, 4)).message).toMatch(/key id 4 set on an unencrypted/)
  })

  it('rejects a checksum mismatch anywhere in ids, payload or trailer', () => {
    const bytes = writeEnvelope(plain, payload)
    for (const at of [3, 4, 7, 8, 9, 10, 13]) {
      expect(decodeError(withByte(bytes, at, bytes[at]! ^ 0x10)).message).toMatch(
        /checksum mismatch/,
      )
    }
  })

  it('throws a RangeError when asked to write ids outside a byte', () => {
    const bad: EnvelopeHeader[] = [
      { ...plain, serializerId: 0 },
      { ...plain, serializerId: 256 },
      { ...plain, compressorId: -1 },
      { ...plain, compressorId: 1.5 },
      { ...plain, encrypted: true, keyId: 300 },
      { ...plain, keyId: 1 },
    ]
    for (const header of bad) expect(() => writeEnvelope(header, payload)).toThrow(RangeError)
  })
})
