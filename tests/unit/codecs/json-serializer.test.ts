import { describe, expect, it } from 'vitest'

import { jsonSerializer as json } from '../../../src/codecs/json-serializer.js'

const roundTrip = (value: unknown): unknown => json.deserialize(json.serialize(value))

describe('jsonSerializer', () => {
  it('has the envelope id 2 and the name json', () => {
    expect([json.id, json.name]).toEqual([2, 'json'])
  })

  it('writes plain UTF-8 JSON', () => {
    expect(Buffer.from(json.serialize({ a: [1, 'é'] })).toString('utf8')).toBe('{"a":[1,"é"]}')
  })

  it('refuses BigInt with a message that points to msgpack', () => {
    expect(() => json.serialize({ n: 1n })).toThrow(/cannot store BigInt values; use the msgpack/)
  })

  it('refuses values JSON.stringify turns into nothing', () => {
    for (const value of [undefined, () => 1, Symbol('s')]) {
      expect(() => json.serialize(value)).toThrow(/the json serializer cannot store a/)
    }
  })

  it('pins the documented losses of Date, Map, Set, Buffer, undefined and non-finite numbers', () => {
    const out = roundTrip({
      d: new Date(0),
      m: new Map([[1, 2]]),
      s: new Set([1]),
      b: Buffer.from([1]),
      u: undefined,
      list: [undefined, NaN, Infinity],
    })
    expect(out).toStrictEqual({
      d: '1970-01-01T00:00:00.000Z',
      m: {},
      s: {},
      b: { type: 'Buffer', data: [1] },
      list: [null, null, null],
    })
  })

  it('keeps an own __proto__ key as data without touching any prototype', () => {
    const out = roundTrip(JSON.parse('{"__proto__": {"polluted": true}}')) as object
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype)
    expect(Object.keys(out)).toEqual(['__proto__'])
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined()
  })

  it('throws on invalid UTF-8 and on bytes that are not JSON', () => {
    expect(() => json.deserialize(Uint8Array.from([0x22, 0xff, 0x22]))).toThrow(TypeError)
    expect(() => json.deserialize(Buffer.from('{"a":'))).toThrow(SyntaxError)
    expect(() => json.deserialize(new Uint8Array(0))).toThrow(SyntaxError)
  })
})
