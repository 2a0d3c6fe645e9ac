import type { Serializer } from './codec.js'

const encoder = new TextEncoder()
// fatal: invalid UTF-8 throws instead of turning into U+FFFD, which would be a different value.
const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * JSON via `JSON.stringify` / `JSON.parse`, UTF-8 encoded: readable by any tool, but lossy.
 *
 * JSON has no Date, Map, Set, BigInt, Buffer/Uint8Array or `undefined`: a Date comes back as an
 * ISO string, a Map or Set as `{}`, a Buffer as `{ type: 'Buffer', data: [...] }`, a Uint8Array
 * as an object of indices, `undefined` object properties vanish (and become `null` in arrays),
 * `NaN` and `Infinity` become `null`, and `-0` becomes `0`. BigInt throws on serialize.
 * Use `msgpackSerializer` when values must keep their types across tiers.
 */
export const jsonSerializer: Serializer = Object.freeze({
  id: 2,
  name: 'json',
  serialize(value: unknown): Uint8Array {
    let text: string | undefined
    try {
      text = JSON.stringify(value)
    } catch (error) {
      if (error instanceof TypeError && /BigInt/i.test(error.message)) {
        throw new TypeError(
          'the json serializer cannot store BigInt values; use the msgpack serializer',
          {
            cause: error,
          },
        )
      }
      throw error
    }
    // JSON.stringify returns undefined (not a string) for undefined, functions and symbols.
    if (text === undefined)
      throw new TypeError(`the json serializer cannot store a ${typeof value}`)
    return encoder.encode(text)
  },
  deserialize(bytes: Uint8Array): unknown {
    return JSON.parse(decoder.decode(bytes)) as unknown
  },
})
