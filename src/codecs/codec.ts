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

/**
 * Authenticated encryption of payloads, the last stage on write and the first on read. Key ids
 * are written into the envelope header, so any listed key can decrypt while `currentKeyId`
 * encrypts (rotation). `aad` (associated data) is authenticated but not stored: decryption fails
 * unless the reader passes the same bytes the writer did.
 */
export interface Cipher {
  /** Name used in messages, for example `aes-256-gcm`. */
  readonly name: string
  /** Key id written with every new entry, 1..255. */
  readonly currentKeyId: number
  /** Whether `keyId` can be decrypted here. */
  hasKey(keyId: number): boolean
  /**
   * Encrypts with the current key. With `headroom` and `tailroom`, the sealed payload starts
   * `headroom` bytes into the result and that many bytes are left after it (uninitialized), so
   * the caller can frame it without a copy.
   */
  encrypt(plain: Uint8Array, aad: Uint8Array, headroom?: number, tailroom?: number): Uint8Array
  /** Decrypts and authenticates; throws on any mismatch, never returns other bytes. */
  decrypt(keyId: number, sealed: Uint8Array, aad: Uint8Array): Uint8Array
}
