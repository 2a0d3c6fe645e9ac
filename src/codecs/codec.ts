/** Turns a value into bytes and back. Ids are written into the envelope header; never reuse one. */
export interface Serializer {
  /** Envelope id, 1..255. */
  readonly id: number
  /** Name used in options and messages, for example `msgpack`. */
  readonly name: string
  /** Throws on values it cannot represent. */
  serialize(value: unknown): Uint8Array
  /** Throws on bytes it cannot read. */
  deserialize(bytes: Uint8Array): unknown
}

/** Bytes to bytes. Ids are written into the envelope header; 0 means "not compressed". */
export interface Compressor {
  /** Envelope id, 1..255. */
  readonly id: number
  /** Name used in options and messages, for example `deflate`. */
  readonly name: string
  compress(bytes: Uint8Array, level: number): Uint8Array
  /** Throws when the output would exceed `maxOutputBytes` (checked while inflating, not after). */
  decompress(bytes: Uint8Array, maxOutputBytes: number): Uint8Array
}
