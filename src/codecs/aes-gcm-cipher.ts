import { type KeyObject, createCipheriv, createDecipheriv, randomFillSync } from 'node:crypto'

import { DecryptFailedError } from '../errors.js'
import type { Cipher } from './codec.js'

/** Bytes of the random nonce in front of each ciphertext (96 bits, GCM's native size). */
export const IV_BYTES = 12

/** Bytes of the GCM authentication tag after each ciphertext (128 bits, the full tag). */
export const TAG_BYTES = 16

/** What AES-GCM adds to a payload: nonce plus tag. */
export const SEALED_OVERHEAD_BYTES = IV_BYTES + TAG_BYTES

/** The keys a cipher encrypts and decrypts with; implemented by `KeyRing` (`security/key-ring.ts`). */
export interface CipherKeys {
  /** Id of the key new entries are encrypted with, 1..255. */
  readonly current: number
  /** The 32-byte secret key of `keyId`, or `undefined` when it is not listed. */
  key(keyId: number): KeyObject | undefined
}

const ALGORITHM = 'aes-256-gcm'

/**
 * IVs drawn from the CSPRNG at once: one `randomFillSync` per 256 writes instead of one per
 * write, which cost about as much as the encryption of 1 KB itself. Each IV is still random and
 * used once; the pool belongs to one cipher and lives in memory only (IVs are not secret).
 */
const IV_POOL_BYTES = IV_BYTES * 256

/**
 * AES-256-GCM from `node:crypto`. Layout of a sealed payload (the envelope's payload when the
 * encrypted flag is set):
 *
 * ```
 * offset  size  field
 * 0       12    IV: random per write (never reused with a key: 2^-32 collision odds after 2^32 writes)
 * 12      n     ciphertext of the (possibly compressed) serialized payload
 * 12+n    16    GCM tag over the associated data and the ciphertext
 * ```
 *
 * The associated data is chosen by the pipeline (the envelope header and the stored key), so a
 * ciphertext authenticates only where and as it was written. Decryption checks the full tag
 * before any plaintext is returned.
 */
export class AesGcmCipher implements Cipher {
  readonly name = ALGORITHM
  readonly #keys: CipherKeys
  readonly #current: KeyObject
  readonly #ivPool = Buffer.allocUnsafe(IV_POOL_BYTES)
  #ivOffset = IV_POOL_BYTES

  /** Throws a `RangeError` when the current key id has no key (a programmer error). */
  constructor(keys: CipherKeys) {
    const current = keys.key(keys.current)
    if (current === undefined) throw new RangeError(`no key for the current key id ${keys.current}`)
    this.#keys = keys
    this.#current = current
  }

  get currentKeyId(): number {
    return this.#keys.current
  }

  hasKey(keyId: number): boolean {
    return this.#keys.key(keyId) !== undefined
  }

  encrypt(plain: Uint8Array, aad: Uint8Array, headroom = 0, tailroom = 0): Uint8Array {
    const out = Buffer.allocUnsafe(headroom + IV_BYTES + plain.length + TAG_BYTES + tailroom)
    if (this.#ivOffset === IV_POOL_BYTES) {
      randomFillSync(this.#ivPool)
      this.#ivOffset = 0
    }
    this.#ivPool.copy(out, headroom, this.#ivOffset, (this.#ivOffset += IV_BYTES))
    const iv = out.subarray(headroom, headroom + IV_BYTES)
    // GCM's tag is 16 bytes unless asked otherwise: no options object to parse on every write.
    const cipher = createCipheriv(ALGORITHM, this.#current, iv)
    cipher.setAAD(aad)
    const body = cipher.update(plain)
    const tail = cipher.final()
    const at = headroom + IV_BYTES
    out.set(body, at)
    if (tail.length > 0) out.set(tail, at + body.length)
    out.set(cipher.getAuthTag(), at + plain.length)
    return out
  }

  /** Throws `DecryptFailedError` unless `sealed` authenticates under `keyId` and `aad`. */
  decrypt(keyId: number, sealed: Uint8Array, aad: Uint8Array): Uint8Array {
    const key = this.#keys.key(keyId)
    if (key === undefined) throw new DecryptFailedError(keyId, `no key with id ${keyId}`)
    if (sealed.length < SEALED_OVERHEAD_BYTES) {
      throw new DecryptFailedError(keyId, `encrypted payload is ${sealed.length} bytes, shorter than its IV and tag`)
    }
    const end = sealed.length - TAG_BYTES
    try {
      const decipher = createDecipheriv(ALGORITHM, key, sealed.subarray(0, IV_BYTES), { authTagLength: TAG_BYTES })
      decipher.setAAD(aad)
      decipher.setAuthTag(sealed.subarray(end))
      const body = decipher.update(sealed.subarray(IV_BYTES, end))
      // final() throws when the tag does not match: nothing decrypted is returned before it.
      const tail = decipher.final()
      return tail.length === 0 ? body : Buffer.concat([body, tail])
    } catch {
      throw new DecryptFailedError(
        keyId,
        `entry under key id ${keyId} failed authentication: tampered with, moved from another key or namespace, or written with another key under this id`,
      )
    }
  }
}
