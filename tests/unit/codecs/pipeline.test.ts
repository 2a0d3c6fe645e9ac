import { randomBytes } from 'node:crypto'

import { describe, expect, it } from 'vitest'

import type { Serializer } from '../../../src/codecs/codec.js'
import { ENVELOPE_OVERHEAD_BYTES, writeEnvelope } from '../../../src/codecs/envelope.js'
import { jsonSerializer } from '../../../src/codecs/json-serializer.js'
import { msgpackSerializer } from '../../../src/codecs/msgpack-serializer.js'
import { CodecPipeline } from '../../../src/codecs/pipeline.js'
import type { CodecPipelineOptions } from '../../../src/codecs/pipeline-options.js'
import type { CacheEntry } from '../../../src/shared/cache-entry.js'
import {
  CodecDecodeError,
  CodecEncodeError,
  InvalidOptionsError,
  UndefinedValueError,
} from '../../../src/errors.js'

const MIB = 1024 * 1024
const base: CodecPipelineOptions = {
  serializer: msgpackSerializer,
  compression: { thresholdBytes: 1024, level: 6 },
  maxValueBytes: MIB,
}
const entry = (value: unknown): CacheEntry => ({ value, createdAt: 1, expiresAt: 2, tags: [] })

function thrown(fn: () => unknown): unknown {
  try {
    fn()
  } catch (error) {
    return error
  }
  throw new Error('expected a throw')
}

describe('CodecPipeline options', () => {
  it('reports every invalid option at once', () => {
    const error = thrown(
      () =>
        new CodecPipeline({
          serializer: msgpackSerializer,
          compression: { thresholdBytes: -1, level: 42 },
          maxValueBytes: 0,
        }),
    )
    expect(error).toBeInstanceOf(InvalidOptionsError)
    const paths = (error as InvalidOptionsError).issues.map((i) => i.path)
    expect(paths).toEqual(['maxValueBytes', 'compression.thresholdBytes', 'compression.level'])
  })

  it('refuses two different codecs with one id, and ids outside 1..255', () => {
    const impostor: Serializer = { ...jsonSerializer, name: 'impostor' }
    const zero: Serializer = { ...jsonSerializer, id: 0, name: 'zero' }
    const error = thrown(
      () => new CodecPipeline({ ...base, serializers: [jsonSerializer, impostor, zero] }),
    )
    const messages = (error as InvalidOptionsError).issues.map((i) => i.message).join('\n')
    expect(messages).toMatch(/"json" and "impostor" share id 2/)
    expect(messages).toMatch(/"zero" has id 0/)
  })
})

describe('CodecPipeline encode', () => {
  it('writes small values as header + serialized payload + checksum, uncompressed', () => {
    const p = new CodecPipeline(base)
    const bytes = p.encode('k', entry('small'))
    const payload = msgpackSerializer.serialize([1, 2, [], 'small'])
    expect(bytes.length).toBe(payload.length + ENVELOPE_OVERHEAD_BYTES)
    expect([bytes[3], bytes[4]]).toEqual([msgpackSerializer.id, 0])
    expect(p.compressedCount).toBe(0)
  })

  it('compresses from the threshold on and counts the bytes saved', () => {
    const value = 'a'.repeat(100)
    const size = msgpackSerializer.serialize([1, 2, [], value]).length
    const above = new CodecPipeline({
      ...base,
      compression: { thresholdBytes: size + 1, level: 6 },
    })
    expect(above.encode('k', entry(value))[4]).toBe(0)
    const p = new CodecPipeline({ ...base, compression: { thresholdBytes: size, level: 6 } })
    const at = p.encode('k', entry(value))
    expect(at[4]).toBe(1)
    expect(p.compressedCount).toBe(1)
    expect(p.bytesBeforeCompression).toBe(size)
    expect(p.bytesAfterCompression).toBe(at.length - ENVELOPE_OVERHEAD_BYTES)
    expect(p.bytesAfterCompression).toBeLessThan(size)
    expect(p.decode(at).value).toBe(value)
  })

  it('keeps the uncompressed form when compression does not make it smaller', () => {
    const p = new CodecPipeline(base)
    const noise = randomBytes(4096)
    const bytes = p.encode('k', entry(noise))
    expect(bytes[4]).toBe(0)
    expect(p.incompressibleCount).toBe(1)
    expect(p.compressedCount).toBe(0)
    expect(Buffer.compare(p.decode(bytes).value as Buffer, noise)).toBe(0)
  })

  it('throws UndefinedValueError for an undefined value', () => {
    expect(() => new CodecPipeline(base).encode('k', entry(undefined))).toThrow(UndefinedValueError)
  })

  it('wraps serializer failures in CodecEncodeError with the key and the cause', () => {
    const json = new CodecPipeline({ ...base, serializer: jsonSerializer })
    const error = thrown(() => json.encode('user:1', entry({ n: 1n })))
    expect(error).toBeInstanceOf(CodecEncodeError)
    expect(error).toMatchObject({ key: 'user:1', code: 'E_CODEC_ENCODE' })
    expect((error as Error).cause).toBeInstanceOf(TypeError)
    const msgpack = new CodecPipeline(base)
    expect(() => msgpack.encode('k', entry(Symbol('s')))).toThrow(CodecEncodeError)
  })
})

describe('CodecPipeline decode', () => {
  it('reads entries written with another serializer or compressor than its own', () => {
    const jsonPlain = new CodecPipeline({ ...base, serializer: jsonSerializer, compression: false })
    const msgpackDeflate = new CodecPipeline(base)
    const big = { text: 'x'.repeat(5000) }
    expect(jsonPlain.decode(msgpackDeflate.encode('k', entry(big))).value).toEqual(big)
    expect(msgpackDeflate.decode(jsonPlain.encode('k', entry(big))).value).toEqual(big)
  })

  it('rejects serializers left out of the registry, but always reads its own', () => {
    const onlyMsgpack = new CodecPipeline({ ...base, serializers: [] })
    const written = new CodecPipeline({ ...base, serializer: jsonSerializer }).encode('k', entry(1))
    expect(() => onlyMsgpack.decode(written)).toThrow(/unknown serializer id 2/)
    expect(onlyMsgpack.decode(onlyMsgpack.encode('k', entry(1))).value).toBe(1)
  })

  it('round-trips the grace horizon (staleUntil) of an entry', () => {
    const p = new CodecPipeline(base)
    const graced = { value: 'v', createdAt: 1, expiresAt: 10, staleUntil: 20, tags: ['t'] }
    expect(p.decode(p.encode('k', graced))).toStrictEqual(graced)
  })

  it('turns a stored null expiry back into undefined', () => {
    const p = new CodecPipeline(base)
    const out = p.decode(p.encode('k', { value: 1, createdAt: 1, expiresAt: undefined, tags: [] }))
    expect(out).toStrictEqual({ value: 1, createdAt: 1, expiresAt: undefined, tags: [] })
  })

  const shapes: Array<[string, unknown, RegExp]> = [
    ['a non-array payload', { value: 1 }, /not an entry tuple/],
    ['a tuple of 3', [1, null, []], /not an entry tuple/],
    ['a tuple of 6', [1, null, [], 'v', 5, 'extra'], /not an entry tuple/],
    ['a staleUntil that is not a number', [1, 2, [], 'v', 'later'], /staleUntil/],
    ['a staleUntil before expiresAt', [1, 5, [], 'v', 4], /staleUntil/],
    ['a staleUntil without expiresAt', [1, null, [], 'v', 4], /staleUntil/],
    ['a string createdAt', ['1', null, [], 'v'], /createdAt/],
    ['a NaN createdAt', [NaN, null, [], 'v'], /createdAt/],
    ['a string expiresAt', [1, '2', [], 'v'], /expiresAt/],
    ['an infinite expiresAt', [1, Infinity, [], 'v'], /expiresAt/],
    ['tags that are not an array', [1, null, 'tag', 'v'], /tags/],
    ['a tag that is not a string', [1, null, ['a', 2], 'v'], /tags/],
    ['an undefined value', [1, null, [], undefined], /value is undefined/],
  ]
  for (const [label, tuple, reason] of shapes) {
    it(`rejects ${label} with CodecDecodeError`, () => {
      const p = new CodecPipeline(base)
      const header = { serializerId: 1, compressorId: 0, encrypted: false, keyId: 0 }
      const bytes = writeEnvelope(header, msgpackSerializer.serialize(tuple))
      const error = thrown(() => p.decode(bytes))
      expect(error).toBeInstanceOf(CodecDecodeError)
      expect((error as Error).message).toMatch(reason)
    })
  }

  it('names the deserializer failure without quoting the stored data', () => {
    const p = new CodecPipeline(base)
    const header = { serializerId: 2, compressorId: 0, encrypted: false, keyId: 0 }
    const error = thrown(() => p.decode(writeEnvelope(header, Buffer.from('{secret-value'))))
    expect(error).toMatchObject({ code: 'E_CODEC_DECODE', message: /json cannot read the payload \(SyntaxError\)/ })
    expect((error as Error).message).not.toMatch(/secret/)
    expect((error as Error).cause).toBeUndefined()
  })
})
