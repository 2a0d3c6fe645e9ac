import { createCipheriv } from 'node:crypto'
import { deflateRawSync } from 'node:zlib'

import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

import { type EnvelopeHeader, writeEnvelope } from '../../src/codecs/envelope.js'
import { msgpackSerializer } from '../../src/codecs/msgpack-serializer.js'
import type { CodecPipeline } from '../../src/codecs/pipeline.js'
import type { CacheEntry } from '../../src/shared/cache-entry.js'
import { CodecDecodeError, ValueTooLargeError } from '../../src/errors.js'

/** What the pipeline under test promises beyond JSON. */
export interface CodecContractOptions {
  /** Date, Map, Set, BigInt, Buffer, Uint8Array and `undefined` properties keep their types. */
  readonly typedValues: boolean
  /**
   * The pipeline has a cipher: it refuses unencrypted frames (`E_DECRYPT_FAILED`) before
   * looking at their codec ids or sizes, so those checks expect that refusal instead.
   */
  readonly encrypted?: boolean
}

const MIB = 1024 * 1024
const FRAME = { serializerId: msgpackSerializer.id, compressorId: 0, encrypted: false, keyId: 0 }

/**
 * The suite every codec pipeline passes (serializer × compressor × cipher): exact round trips,
 * 0 B to > 1 MiB values, and corrupt, foreign, truncated or oversized bytes that always throw
 * `CodecDecodeError`. `make` must return a pipeline with the default registries and
 * `maxValueBytes` of at least 2 MiB.
 */
export function registerCodecContract(
  name: string,
  make: () => CodecPipeline,
  opts: CodecContractOptions = { typedValues: true },
): void {
  describe(`codec contract: ${name}`, () => {
    registerRoundTrips(make, opts)
    registerSizes(make, opts)
    registerCorruption(make)
    registerLimits(make, opts)
    registerProperties(make, opts)
  })
}

function registerRoundTrips(make: () => CodecPipeline, opts: CodecContractOptions): void {
  const plain: Array<[string, unknown]> = [
    ['an ascii string', 'hello'],
    ['a unicode string', 'héllo 日本語 🎉'],
    ['integers', [0, 1, -1, 2 ** 31, 2 ** 32, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER]],
    ['floats', [1.5, -0.1, 1e300, Number.MIN_VALUE, Number.EPSILON]],
    ['booleans', [true, false]],
    ['null', null],
    ['a nested structure', { a: [1, { b: 'c', d: [null, [true]] }], e: {}, f: [] }],
  ]
  const mixedKeys = new Map<unknown, unknown>().set(1, 'a').set('1', 2).set({}, [3])
  const typed: Array<[string, unknown]> = [
    ['a Date', new Date(1_700_000_000_123)],
    ['a Map with mixed key types', mixedKeys],
    ['a Set', new Set([1, 'a', null])],
    ['BigInts of any size', [0n, -1n, 2n ** 64n, -(2n ** 200n)]],
    ['a Buffer', Buffer.from([0, 1, 255])],
    ['a Uint8Array', new Uint8Array([0, 1, 255])],
    ['undefined inside an object', { a: undefined, b: 1 }],
    ['non-finite numbers', [NaN, Infinity, -Infinity]],
    ['typed values nested deep', { m: new Map([['d', [new Date(5), new Set([2n])]]]) }],
  ]
  for (const [label, value] of opts.typedValues ? [...plain, ...typed] : plain) {
    it(`round-trips ${label} with the same types`, () => expectRoundTrip(make(), value))
  }
  it('round-trips the entry metadata, including a missing expiry', () => {
    const p = make()
    const forever: CacheEntry = { value: 1, createdAt: 5, expiresAt: undefined, tags: [] }
    expect(p.decode(p.encode('k', forever))).toStrictEqual(forever)
    const tagged = entry('v', { tags: ['a', 'b:c', ''], createdAt: 1.5 })
    expect(p.decode(p.encode('k', tagged))).toStrictEqual(tagged)
  })
}

function registerSizes(make: () => CodecPipeline, opts: CodecContractOptions): void {
  const big = 1.1 * MIB
  const noise = randomBytes(big, 7)
  const sized: Array<[string, unknown]> = [
    ['an empty string', ''],
    ['an empty array', []],
    ['a compressible string over 1 MiB', 'strata-cache '.repeat(big / 13)],
    ['a random string over 1 MiB', printable(noise)],
  ]
  if (opts.typedValues) {
    sized.push(['an empty Uint8Array', new Uint8Array(0)])
    sized.push(['a compressible Buffer over 1 MiB', Buffer.alloc(big, 7)])
    sized.push(['a random Uint8Array over 1 MiB', new Uint8Array(noise)])
  }
  for (const [label, value] of sized) {
    it(`round-trips ${label}`, () => {
      const p = make()
      expect(p.maxValueBytes).toBeGreaterThanOrEqual(2 * MIB)
      expectRoundTrip(p, value)
    })
  }
}

function registerCorruption(make: () => CodecPipeline): void {
  const small = () => make().encode('k', entry({ a: 'hello', n: [1, 2, 3] }))
  it('rejects random bytes', () => {
    const p = make()
    for (let i = 0; i < 300; i++) expectDecodeError(p, randomBytes(i, i + 1))
  })
  it('rejects every single-bit flip of a small entry', () => {
    const p = make()
    const bytes = small()
    for (let bit = 0; bit < bytes.length * 8; bit++) {
      expectDecodeError(p, patch(bytes, bit >> 3, bytes[bit >> 3]! ^ (1 << (bit & 7))))
    }
  })
  it('rejects byte flips across a large compressible entry', () => {
    const p = make()
    const bytes = p.encode('k', entry('abcdefgh'.repeat(4096)))
    for (let i = 0; i < bytes.length; i += Math.ceil(bytes.length / 97)) {
      expectDecodeError(p, patch(bytes, i, bytes[i]! ^ 0xff))
    }
    expectDecodeError(p, patch(bytes, bytes.length - 1, bytes.at(-1)! ^ 1))
  })
  it('rejects a small entry truncated at every length, and one with a byte appended', () => {
    const p = make()
    const bytes = small()
    for (let n = 0; n < bytes.length; n++) expectDecodeError(p, bytes.subarray(0, n))
    expectDecodeError(p, Buffer.concat([bytes, Buffer.from([0])]))
  })
  it('rejects foreign and legacy bytes', () => {
    const p = make()
    const foreign = ['{"a":1}', '"hello"', 'hello', '', 'SC', 'SC\x01\x01\x00\x00\x00']
    for (const text of foreign) expectDecodeError(p, Buffer.from(text, 'latin1'))
    expectDecodeError(p, msgpackSerializer.serialize([1, null, [], 'bare msgpack, no envelope']))
    expectDecodeError(p, deflateRawSync(Buffer.from('compressed, no envelope')))
  })
}

function registerLimits(make: () => CodecPipeline, opts: CodecContractOptions): void {
  const plain = (reason: RegExp) => (opts.encrypted === true ? /not encrypted/ : reason)
  it('refuses to encode a value over maxValueBytes', () => {
    const p = make()
    const { maxValueBytes } = p
    const sizeBytes = expect.toSatisfy((n: number) => n > maxValueBytes)
    const expected = expect.objectContaining({ key: 'big:1', maxValueBytes, sizeBytes })
    expect(() => p.encode('big:1', entry('x'.repeat(maxValueBytes)))).toThrow(ValueTooLargeError)
    expect(() => p.encode('big:1', entry('x'.repeat(maxValueBytes)))).toThrow(expected)
  })
  it('stops payloads over maxValueBytes, stored or once inflated', () => {
    const p = make()
    const bomb = deflateRawSync(new Uint8Array(p.maxValueBytes + 1))
    const error = expectDecodeError(p, writeEnvelope({ ...FRAME, compressorId: 1 }, bomb), plain(/decompress/))
    if (opts.encrypted !== true) expect(String((error.cause as Error).message)).toMatch(/exceeds the cap/)
    expectDecodeError(p, writeEnvelope(FRAME, new Uint8Array(p.maxValueBytes + 1)), plain(/over maxValue/))
  })
  it('rejects unknown versions, flag bits, key ids, codec ids and encrypted entries', () => {
    const p = make()
    const bytes = p.encode('k', entry('v'))
    expectDecodeError(p, patch(bytes, 2, 2), /format version 2/)
    expectDecodeError(p, patch(bytes, 2, 0), /format version 0/)
    expectDecodeError(p, patch(bytes, 5, 0x02), /flag bits/)
    expectDecodeError(p, patch(bytes, 5, 0x80), /flag bits/)
    expectDecodeError(p, patch(bytes, 6, opts.encrypted === true ? bytes[6]! ^ 1 : 1), opts.encrypted === true ? /checksum/ : /key id 1/)
    const frame = (h: Partial<EnvelopeHeader>) =>
      writeEnvelope({ ...FRAME, ...h }, msgpackSerializer.serialize([1, null, [], 'v']))
    expectDecodeError(p, frame({ serializerId: 250 }), plain(/serializer id 250/))
    expectDecodeError(p, frame({ compressorId: 250 }), plain(/compressor id 250/))
    expectDecodeError(p, frame({ encrypted: true, keyId: 3 }), /encrypted/)
  })
}

function registerProperties(make: () => CodecPipeline, opts: CodecContractOptions): void {
  // JSON writes -0 as 0, a documented loss: round-trip canonical JSON (the same values, -0 as 0).
  const json = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown)
  const values = opts.typedValues ? typedValue() : json
  it('round-trips any entry (property)', () => {
    const p = make()
    fc.assert(fc.property(entryArb(values), (e) => expectRoundTrip(p, e.value, e)))
  })
  it('decodes arbitrary bytes to an entry or a CodecDecodeError, nothing else (property)', () => {
    const p = make()
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (b) => expectEntryOrDecodeError(p, b)))
  })
  it('decodes any payload in a valid frame to an entry or a CodecDecodeError (property)', () => {
    const p = make()
    const ids = fc.record({ serializerId: fc.constantFrom(1, 2, 3), compressorId: fc.nat(2) })
    const headers = ids.map((h) => ({ ...FRAME, ...h }))
    const payload = fc.oneof(
      fc.uint8Array({ maxLength: 300 }),
      fc.anything().map((v) => msgpackSerializer.serialize(v)),
      fc.uint8Array({ maxLength: 300 }).map((b) => deflateRawSync(b)),
    )
    const check = (h: typeof FRAME, b: Uint8Array) =>
      expectEntryOrDecodeError(p, writeEnvelope(h, b))
    fc.assert(fc.property(headers, payload, check))
  })
  it('decodes correctly right after a failed decode (property)', () => {
    const p = make()
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), entryArb(values), (junk, e) => {
        expectEntryOrDecodeError(p, writeEnvelope(FRAME, junk))
        expectRoundTrip(p, e.value, e)
      }),
    )
  })
}

function typedValue(): fc.Arbitrary<unknown> {
  const leaves = [
    fc.boolean(),
    fc.integer(),
    // msgpack stores -0 as 0, a documented loss; keep it out of exact round trips.
    fc.double().map((d) => (Object.is(d, -0) ? 0 : d)),
    fc.string({ unit: 'grapheme' }),
    fc.constant(null),
    fc.constant(undefined),
    fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a)),
  ]
  return fc.anything({
    // The __proto__ family is drawn often: msgpackr cannot carry `__proto__` unescaped.
    key: fc.oneof(fc.string(), fc.constantFrom('__proto__', '__proto_', '__proto___')),
    values: leaves,
    ...{ withDate: true, withMap: true, withSet: true, withBigInt: true, withTypedArray: true },
    maxDepth: 3,
  })
}

function entryArb(value: fc.Arbitrary<unknown>): fc.Arbitrary<CacheEntry> {
  return fc.record(
    {
      value: value.filter((v) => v !== undefined),
      createdAt: fc.integer({ min: 0, max: 2 ** 45 }),
      expiresAt: fc.option(fc.integer({ min: 0, max: 2 ** 45 }), { nil: undefined }),
      tags: fc.array(fc.string(), { maxLength: 3 }),
    },
    { noNullPrototype: true },
  )
}

function entry(value: unknown, over: Partial<CacheEntry> = {}): CacheEntry {
  return { value, createdAt: 1_700_000_000_000, expiresAt: 1_700_000_060_000, tags: ['t'], ...over }
}

function expectRoundTrip(p: CodecPipeline, value: unknown, e: CacheEntry = entry(value)): void {
  const out = p.decode(p.encode('k', e))
  // toStrictEqual also compares constructors at every depth (a Buffer inside a Set that comes
  // back as a Uint8Array fails it); the explicit check below makes the top level obvious.
  expect(typeName(out.value)).toBe(typeName(e.value))
  if (e.value instanceof Uint8Array && out.value instanceof Uint8Array) {
    // toStrictEqual walks a typed array index by index: seconds for 1 MiB.
    expect(Buffer.compare(out.value, e.value)).toBe(0)
    expect({ ...out, value: null }).toStrictEqual({ ...e, value: null })
  } else {
    expect(out).toStrictEqual(e)
  }
}

function typeName(v: unknown): string {
  return v === null || typeof v !== 'object' ? typeof v : String(v.constructor?.name)
}

/** Decodes; whatever is thrown must be a CodecDecodeError, and is returned instead. */
function tryDecode(p: CodecPipeline, bytes: Uint8Array): CacheEntry | CodecDecodeError {
  try {
    return p.decode(bytes)
  } catch (error) {
    expect(error).toBeInstanceOf(CodecDecodeError)
    return error as CodecDecodeError
  }
}

function expectDecodeError(p: CodecPipeline, bytes: Uint8Array, reason?: RegExp): CodecDecodeError {
  const out = tryDecode(p, bytes)
  if (!(out instanceof CodecDecodeError))
    return expect.fail(`decoded bad bytes: ${String(out.value)}`)
  if (reason) expect(out.message).toMatch(reason)
  return out
}

function expectEntryOrDecodeError(p: CodecPipeline, bytes: Uint8Array): void {
  const out = tryDecode(p, bytes)
  if (out instanceof CodecDecodeError) return
  expect(out.value).not.toBeUndefined()
  expect(Number.isFinite(out.createdAt) && out.tags.every((t) => typeof t === 'string')).toBe(true)
}

function patch(bytes: Uint8Array, at: number, value: number): Uint8Array {
  const copy = Uint8Array.from(bytes)
  copy[at] = value
  return copy
}

/** Random printable ASCII: deflate gets it down to its 6.6 bits per char at best. */
function printable(bytes: Uint8Array): string {
  return Buffer.from(bytes.map((b) => 0x20 + (b % 95))).toString('latin1')
}

/** Deterministic noise (AES-CTR keystream), so a failure reproduces. */
function randomBytes(n: number, seed: number): Buffer {
  const aes = createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16))
  return aes.update(Buffer.alloc(n))
}
