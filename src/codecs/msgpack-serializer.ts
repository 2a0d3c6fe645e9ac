import { Packr, type Options } from 'msgpackr'

import type { Serializer } from './codec.js'

/**
 * Options verified to round-trip what L1 hands back (Date, Map with any key type, Set, BigInt of
 * any size, Buffer as Buffer, Uint8Array as Uint8Array, other typed arrays, null, `undefined`
 * inside objects and arrays) without registering any global extension:
 * - `structuredClone: false`: no reference tracking; a cyclic value throws (stack overflow).
 * - `useRecords: true`: repeated object shapes are written once per message (inline, so every
 *   message stays self-contained; no shared structures to keep in sync across processes).
 * - `moreTypes: true`: typed arrays, Error and RegExp as extensions.
 * - `mapsAsObjects: false`: Map stays Map (plain objects are records, so they stay objects).
 * - `useBigIntExtension: true`: BigInt beyond 64 bits.
 */
const OPTIONS = {
  structuredClone: false,
  useRecords: true,
  moreTypes: true,
  mapsAsObjects: false,
  useBigIntExtension: true,
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
 * The default serializer: msgpack via msgpackr, keeping JavaScript types (see `OPTIONS` above).
 *
 * `deserialize` is bounded by its input: trailing bytes, truncated data and unknown extension
 * types throw. msgpackr renames an own `__proto__` key to `__proto_` while decoding, so decoding
 * never pollutes a prototype (but such a key does not come back unchanged).
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
    return packr.pack(value)
  },
  deserialize(bytes: Uint8Array): unknown {
    // msgpackr returns binary values as subarrays of its input, so their class follows the
    // input's: a plain Uint8Array input would turn every stored Buffer into a Uint8Array.
    // A Buffer view over the same memory (no copy) keeps Buffer as Buffer.
    const input = Buffer.isBuffer(bytes)
      ? bytes
      : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
    return unpackr.unpack(input)
  },
})
