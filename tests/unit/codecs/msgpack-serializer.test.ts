import { unpack } from 'msgpackr'
import { describe, expect, it } from 'vitest'

import { msgpackSerializer as msgpack } from '../../../src/codecs/msgpack-serializer.js'

const roundTrip = (value: unknown): unknown => msgpack.deserialize(msgpack.serialize(value))

describe('msgpackSerializer', () => {
  it('has the envelope id 1 and the name msgpack', () => {
    expect([msgpack.id, msgpack.name]).toEqual([1, 'msgpack'])
  })

  it('keeps Buffer as Buffer even when the input bytes are a plain Uint8Array', () => {
    const bytes = Uint8Array.from(msgpack.serialize({ b: Buffer.from([1, 2]) }))
    const out = msgpack.deserialize(bytes) as { b: unknown }
    expect(Buffer.isBuffer(out.b)).toBe(true)
  })

  it('returns Buffers that own their memory, so a cached value never pins the whole reply', () => {
    const bytes = Uint8Array.from(msgpack.serialize(Buffer.from([7])))
    const out = msgpack.deserialize(bytes) as Buffer
    expect([...out]).toEqual([7])
    expect(out.buffer).not.toBe(bytes.buffer)
  })

  it('round-trips an own __proto__ key as data and never pollutes a prototype', () => {
    const hostile = JSON.parse('{"__proto__": {"polluted": true}, "a": 1}') as object
    // Past 16 uses msgpackr compiles a reader per record shape: check that path too.
    const out = roundTrip(Array.from({ length: 40 }, () => hostile)) as object[]
    for (const item of out) {
      expect(Object.getPrototypeOf(item)).toBe(Object.prototype)
      expect(Object.keys(item)).toEqual(['__proto__', 'a'])
      expect(Object.getOwnPropertyDescriptor(item, '__proto__')?.value).toEqual({ polluted: true })
    }
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
    const map = roundTrip(new Map([['__proto__', 1]])) as Map<string, number>
    expect(map.get('__proto__')).toBe(1)
  })

  it('keeps the __proto__ family of keys apart at any depth, in Map keys and values, Sets and null-prototype objects', () => {
    const family = ['__proto', '__proto_', '__proto__', '__proto___', '__proto____']
    const record = (): object => {
      const r = Object.create(null) as object
      family.forEach((k, i) => Object.defineProperty(r, k, { value: i, enumerable: true }))
      return r
    }
    const value = { top: record(), list: [record()], map: new Map([[record(), record()]]), set: new Set([record()]) }
    const out = roundTrip(value) as typeof value
    const [mapKey, mapValue] = [...out.map][0]!
    for (const r of [out.top, out.list[0]!, mapKey, mapValue, [...out.set][0]!]) {
      expect(Object.keys(r)).toEqual(family)
      const values = family.map((k): unknown => Object.getOwnPropertyDescriptor(r, k)?.value)
      expect(values).toEqual([0, 1, 2, 3, 4])
    }
  })

  it('writes a plain payload when no __proto__ key is present, and an escaped one a plain reader refuses', () => {
    expect(msgpack.serialize({ __proto___: 1 })[0]).not.toBe(0xc1)
    const escaped = msgpack.serialize(JSON.parse('{"__proto__": 1}') as object)
    expect(escaped[0]).toBe(0xc1)
    expect(() => void unpack(Buffer.from(escaped))).toThrow()
  })

  it('throws on trailing bytes, truncated data, empty input and unknown extensions', () => {
    const bytes = msgpack.serialize([1, 'two', { three: 3 }])
    expect(() => msgpack.deserialize(Buffer.concat([bytes, Buffer.from([0xc0])]))).toThrow(
      /end of buffer not reached/,
    )
    for (let n = 0; n < bytes.length; n++) {
      expect(() => msgpack.deserialize(bytes.subarray(0, n))).toThrow()
    }
    expect(() => msgpack.deserialize(Uint8Array.from([0xd4, 0x55, 0x00]))).toThrow(/extension/)
    expect(() => msgpack.deserialize(Uint8Array.from([0xdd, 0xff, 0xff, 0xff, 0xff]))).toThrow()
  })

  it('writes self-contained messages that decode in any order and without our options', () => {
    const shapes = Array.from({ length: 70 }, (_, i) => ({ [`k${i}`]: i, shared: 'x' }))
    const messages = shapes.map((s) => Uint8Array.from(msgpack.serialize(s)))
    messages.reverse().forEach((m, i) => {
      expect(msgpack.deserialize(m)).toEqual(shapes[shapes.length - 1 - i])
      expect(unpack(Buffer.from(m))).toEqual(shapes[shapes.length - 1 - i])
    })
  })

  it('throws on functions, symbols and cyclic values instead of writing something else', () => {
    expect(() => msgpack.serialize({ s: Symbol('x') })).toThrow()
    expect(() => msgpack.serialize({ f: () => 1, a: 1 })).toThrow('a function cannot be stored')
    expect(() => msgpack.serialize(() => 42)).toThrow('a function cannot be stored')
    const cyclic: { self?: unknown } = {}
    cyclic.self = cyclic
    expect(() => msgpack.serialize(cyclic)).toThrow()
  })

  it('pins the documented losses: -0 and class instances', () => {
    expect(Object.is(roundTrip(-0), 0)).toBe(true)
    class Point {
      constructor(readonly x: number) {}
    }
    expect((roundTrip(new Point(1)) as object).constructor).toBe(Object)
  })
})
