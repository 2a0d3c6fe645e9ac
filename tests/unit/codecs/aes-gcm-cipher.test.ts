import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

import { AesGcmCipher, IV_BYTES, SEALED_OVERHEAD_BYTES } from '../../../src/codecs/aes-gcm-cipher.js'
import { crc32 } from '../../../src/codecs/crc32.js'
import { ENVELOPE_HEADER_BYTES, ENVELOPE_TRAILER_BYTES } from '../../../src/codecs/envelope.js'
import { msgpackSerializer } from '../../../src/codecs/msgpack-serializer.js'
import { CodecPipeline } from '../../../src/codecs/pipeline.js'
import { CodecDecodeError, DecryptFailedError, UnknownKeyIdError } from '../../../src/errors.js'
import { KeyRing } from '../../../src/security/key-ring.js'
import type { CacheEntry } from '../../../src/shared/cache-entry.js'

const CODES = ['E_CODEC_DECODE', 'E_DECRYPT_FAILED', 'E_UNKNOWN_KEY_ID']
const key = (fill: number) => Buffer.alloc(32, fill)

/** A pipeline with `keys` (id → fill byte of a 32-byte key), writing with `current`. */
function pipeline(keys: Record<number, number>, current: number, compress = true): CodecPipeline {
  const ring = new KeyRing(new Map(Object.entries(keys).map(([id, fill]) => [Number(id), key(fill)])), current)
  return new CodecPipeline({
    serializer: msgpackSerializer,
    compression: compress ? { thresholdBytes: 64, level: 1 } : false,
    maxValueBytes: 1024 * 1024,
    cipher: new AesGcmCipher(ring),
  })
}

const plainPipeline = new CodecPipeline({ serializer: msgpackSerializer, compression: false, maxValueBytes: 1024 * 1024 })

function entry(value: unknown): CacheEntry {
  return { value, createdAt: 1_700_000_000_000, expiresAt: 1_700_000_060_000, tags: ['t'] }
}

/** Recomputes the CRC-32 trailer, as someone editing stored bytes on purpose would. */
function fixCrc(bytes: Uint8Array): Uint8Array {
  const out = Uint8Array.from(bytes)
  const end = out.length - ENVELOPE_TRAILER_BYTES
  if (end < 0) return out
  Buffer.from(out.buffer, out.byteOffset, out.length).writeUInt32BE(crc32(out, 0, end), end)
  return out
}

/** Decodes; whatever is thrown must be one of the coded decode errors, and is returned instead. */
function tryDecode(p: CodecPipeline, bytes: Uint8Array, storedKey: string): CacheEntry | CodecDecodeError {
  try {
    return p.decode(bytes, storedKey)
  } catch (error) {
    expect(error).toBeInstanceOf(CodecDecodeError)
    expect(CODES).toContain((error as CodecDecodeError).code)
    return error as CodecDecodeError
  }
}

type Corruption =
  | { kind: 'flip'; at: number; bit: number; fixCrc: boolean }
  | { kind: 'truncate'; length: number }
  | { kind: 'extend'; extra: Uint8Array; fixCrc: boolean }
  | { kind: 'header'; at: number; value: number }
  | { kind: 'storedKey'; storedKey: string }
  | { kind: 'keys'; fill: number }

const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  fc.record({ kind: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7), fixCrc: fc.boolean() }),
  fc.record({ kind: fc.constant('truncate' as const), length: fc.nat() }),
  fc.record({ kind: fc.constant('extend' as const), extra: fc.uint8Array({ minLength: 1, maxLength: 40 }), fixCrc: fc.boolean() }),
  fc.record({ kind: fc.constant('header' as const), at: fc.nat(ENVELOPE_HEADER_BYTES - 1), value: fc.nat(255) }),
  // Another key of the namespace, the same key in another namespace, or a near miss of either.
  fc.record({ kind: fc.constant('storedKey' as const), storedKey: fc.oneof(fc.constantFrom('app:k2', 'other:k', 'app:k ', 'app:K', 'ap:pk'), fc.string()) }),
  // The same key id with other key material.
  fc.record({ kind: fc.constant('keys' as const), fill: fc.integer({ min: 10, max: 255 }) }),
)

/** Applies one corruption; returns the bytes, the stored key and the pipeline to read them with. */
function corrupt(bytes: Uint8Array, c: Corruption, reader: CodecPipeline): { bytes: Uint8Array; storedKey: string; reader: CodecPipeline } {
  const storedKey = 'app:k'
  switch (c.kind) {
    case 'flip': {
      const out = Uint8Array.from(bytes)
      const at = c.at % out.length
      out[at] = out[at]! ^ (1 << c.bit)
      return { bytes: c.fixCrc ? fixCrc(out) : out, storedKey, reader }
    }
    case 'truncate':
      return { bytes: bytes.subarray(0, c.length % bytes.length), storedKey, reader }
    case 'extend': {
      const out = Buffer.concat([bytes, c.extra])
      return { bytes: c.fixCrc ? fixCrc(out) : out, storedKey, reader }
    }
    case 'header': {
      const out = Uint8Array.from(bytes)
      out[c.at] = c.value
      return { bytes: fixCrc(out), storedKey, reader }
    }
    case 'storedKey':
      return { bytes, storedKey: c.storedKey, reader }
    case 'keys':
      return { bytes, storedKey, reader: pipeline({ 1: c.fill, 2: 2 }, 2) }
  }
}

describe('cipher stage (AES-256-GCM with associated data)', () => {
  it('decodes any corruption of the stored bytes to the exact original or a coded error, never another value (property)', () => {
    const writer = pipeline({ 1: 1, 2: 2 }, 1)
    const values = fc.oneof(
      fc.anything({ withDate: true, withMap: true, withSet: true, withBigInt: true, withTypedArray: true, maxDepth: 2 }).filter((v) => v !== undefined),
      fc.string({ unit: 'grapheme', maxLength: 400 }),
      fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    )
    fc.assert(
      fc.property(values, fc.array(corruption, { minLength: 1, maxLength: 3 }), (value, corruptions) => {
        const original = entry(value)
        const stored = writer.encode('k', original, 'app:k')
        let state = { bytes: stored, storedKey: 'app:k', reader: writer }
        for (const c of corruptions) state = { ...state, ...corrupt(state.bytes, c, state.reader) }
        const out = tryDecode(state.reader, state.bytes, state.storedKey)
        const unchanged = Buffer.compare(state.bytes, stored) === 0 && state.storedKey === 'app:k' && state.reader === writer
        if (out instanceof CodecDecodeError) {
          expect(unchanged).toBe(false)
          return
        }
        // Not an error: it can only be the original, and only when nothing that counts changed.
        expect(unchanged).toBe(true)
        expect(out).toStrictEqual(writer.decode(stored, 'app:k'))
      }),
      { numRuns: 2000 },
    )
  })

  it('binds the ciphertext to its stored key: moved bytes fail with E_DECRYPT_FAILED', () => {
    const p = pipeline({ 1: 1 }, 1)
    const bytes = p.encode('a', entry('secret'), 'app:a')
    expect(p.decode(bytes, 'app:a').value).toBe('secret')
    for (const storedKey of ['app:b', 'other:a', 'app:a\u0000', '']) {
      expect(() => p.decode(bytes, storedKey)).toThrow(DecryptFailedError)
    }
  })

  it('binds the header: an edited key id, codec id or version fails even with the CRC recomputed', () => {
    const p = pipeline({ 1: 1, 2: 1 }, 1)
    const bytes = p.encode('k', entry('v'.repeat(200)), 'app:k')
    // Key 2 is the same material as key 1: only the associated data can tell them apart.
    const moved = Uint8Array.from(bytes)
    moved[6] = 2
    expect(() => p.decode(fixCrc(moved), 'app:k')).toThrow(DecryptFailedError)
    const recompressed = Uint8Array.from(bytes)
    recompressed[4] = recompressed[4] === 0 ? 1 : 0
    expect(() => p.decode(fixCrc(recompressed), 'app:k')).toThrow(DecryptFailedError)
    const cleared = Uint8Array.from(bytes)
    cleared[5] = 0
    cleared[6] = 0
    expect(() => p.decode(fixCrc(cleared), 'app:k')).toThrow(/not encrypted/)
  })

  it('decrypts with any listed key and encrypts with the current one (rotation)', () => {
    const old = pipeline({ 1: 1 }, 1)
    const both = pipeline({ 1: 1, 2: 2 }, 2)
    const next = pipeline({ 2: 2 }, 2)
    const written = old.encode('k', entry({ n: 1 }), 'app:k')
    expect(both.decode(written, 'app:k').value).toEqual({ n: 1 })
    expect(both.isUnderOldKey(written)).toBe(true)
    expect(() => next.decode(written, 'app:k')).toThrow(UnknownKeyIdError)
    expect(() => next.decode(written, 'app:k')).toThrow(expect.objectContaining({ code: 'E_UNKNOWN_KEY_ID', keyId: 1 }))
    const rewritten = both.reencrypt(written, 'app:k')!
    expect(rewritten[6]).toBe(2)
    expect(both.isUnderOldKey(rewritten)).toBe(false)
    expect(next.decode(rewritten, 'app:k').value).toEqual({ n: 1 })
    expect(both.reencrypt(rewritten, 'app:k')).toBeUndefined()
    expect(() => both.reencrypt(written, 'app:other')).toThrow(DecryptFailedError)
  })

  it('never encrypts an unencrypted entry on reencrypt, and refuses it on read', () => {
    const p = pipeline({ 1: 1 }, 1)
    const clear = plainPipeline.encode('k', entry('planted'))
    expect(() => p.decode(clear, 'app:k')).toThrow(DecryptFailedError)
    expect(() => p.reencrypt(clear, 'app:k')).toThrow(DecryptFailedError)
  })

  it('an encrypted entry read without a cipher stays a plain decode failure', () => {
    const bytes = pipeline({ 1: 1 }, 1).encode('k', entry('v'), 'app:k')
    expect(() => plainPipeline.decode(bytes, 'app:k')).toThrow(expect.objectContaining({ code: 'E_CODEC_DECODE' }))
    expect(() => plainPipeline.decode(bytes, 'app:k')).toThrow(/encrypted \(key id 1\) and no cipher/)
  })

  it('draws a fresh IV per write, and adds exactly IV and tag', () => {
    const p = pipeline({ 1: 1 }, 1, false)
    const a = p.encode('k', entry('same'), 'app:k')
    const b = p.encode('k', entry('same'), 'app:k')
    expect(Buffer.compare(a.subarray(7, 7 + IV_BYTES), b.subarray(7, 7 + IV_BYTES))).not.toBe(0)
    expect(a.length - plainPipeline.encode('k', entry('same')).length).toBe(SEALED_OVERHEAD_BYTES)
  })

  it('refuses a sealed payload shorter than IV and tag', () => {
    const cipher = new AesGcmCipher(new KeyRing(new Map([[1, key(1)]]), 1))
    expect(() => cipher.decrypt(1, new Uint8Array(SEALED_OVERHEAD_BYTES - 1), new Uint8Array(0))).toThrow(/shorter than its IV and tag/)
    expect(() => cipher.decrypt(9, new Uint8Array(40), new Uint8Array(0))).toThrow(/no key with id 9/)
  })
})
