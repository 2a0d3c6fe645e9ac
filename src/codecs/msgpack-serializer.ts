import { Packr, type Options } from 'msgpackr'

import type { Serializer } from './codec.js'
import { escapeProtoKeys, hasOwnProtoKey, unescapeProtoKeys } from './proto-keys.js'

// Set while packing when an object has an own `__proto__` key (see `serialize`).
let sawProtoKey = false

/**
 * Options verified to round-trip what L1 hands back (Date, Map with any key type, Set, BigInt of
 * any size, Buffer as Buffer, Uint8Array as Uint8Array, other typed arrays, null, `undefined`
 * inside objects and arrays) without registering any global extension:
 * - `structuredClone: false`: no reference tracking; a cyclic value throws (stack overflow).
 * - `useRecords` (a hook that always says yes): repeated object shapes are written once per
 *   message (inline, so every message stays self-contained; no shared structures to keep in sync
 *   across processes).
 * - `moreTypes: true`: typed arrays, Error and RegExp as extensions.
 * - `mapsAsObjects: false`: Map stays Map (plain objects are records, so they stay objects).
 * - `useBigIntExtension: true`: BigInt beyond 64 bits.
 */
const OPTIONS = {
  structuredClone: false,
  moreTypes: true,
  mapsAsObjects: false,
  useBigIntExtension: true,
  // Called for every object written as a record: always answers "use a record", and notes the
  // one key msgpackr cannot carry, at the cost of one own-key check per object.
  useRecords: (object: object): boolean => {
    if (hasOwnProtoKey(object)) sawProtoKey = true
    return true
  },
  // Decoded binary values get their own memory instead of pinning the whole Redis reply in L1,
  // so L1's byte accounting stays true. Costs one copy per binary field.
  copyBuffers: true,
  // msgpackr would write a function as nil (`{ a: fn }` came back as `{ a: undefined }`, a bare
  // function as something other instances cannot decode): refuse it, as symbols already are.
  writeFunction: () => {
    throw new TypeError('a function cannot be stored')
  },
} as Options

// Two instances because a Packr keeps encoder state (its output buffer and record-shape
// transitions) that decoding must not share.
const packr = new Packr(OPTIONS)
const unpackr = new Packr(OPTIONS)

/**
 * First byte of a payload whose `__proto__`-family keys are escaped (`proto-keys.ts`). 0xc1 is the
 * one byte msgpack never uses, so no plain payload starts with it, and a reader that predates the
 * escape refuses such a payload (a miss) instead of returning a renamed key.
 */
const ESCAPED_MARK = 0xc1

/**
 * The default serializer: msgpack via msgpackr, keeping JavaScript types (see `OPTIONS` above).
 *
 * `deserialize` is bounded by its input: trailing bytes, truncated data and unknown extension
 * types throw. An own `__proto__` key round-trips as an own data property and never touches a
 * prototype: msgpackr's decoder would rename it to `__proto_`, so a value holding one is written
 * escaped, behind `ESCAPED_MARK`.
 * Functions and symbols, anywhere in the value, are refused (they throw, which the pipeline
 * reports as `E_CODEC_ENCODE`). Known losses: `-0` comes back as `0`; class instances come back
 * as plain objects. Binary values in the result are copies
 * (`copyBuffers`), never views that would keep the input alive.
 */
export const msgpackSerializer: Serializer = Object.freeze({
  id: 1,
  name: 'msgpack',
  serialize(value: unknown): Uint8Array {
    // The result is a view into a larger buffer that later calls append to (never overwrite):
    // keeping the view keeps that whole buffer alive, so callers copy it (the envelope does).
    sawProtoKey = false
    const packed = packr.pack(value)
    if (!sawProtoKey) return packed
    sawProtoKey = false
    const escaped = packr.pack(escapeProtoKeys(value))
    const out = new Uint8Array(1 + escaped.length)
    out[0] = ESCAPED_MARK
    out.set(escaped, 1)
    return out
  },
  deserialize(bytes: Uint8Array): unknown {
    // msgpackr returns binary values as subarrays of its input, so their class follows the
    // input's: a plain Uint8Array input would turn every stored Buffer into a Uint8Array.
    // A Buffer view over the same memory (no copy) keeps Buffer as Buffer.
    const input = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    if (input[0] !== ESCAPED_MARK) return unpackr.unpack(input)
    return unescapeProtoKeys(unpackr.unpack(input.subarray(1)))
  },
})
