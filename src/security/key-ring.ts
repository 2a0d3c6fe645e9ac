import { type KeyObject, createSecretKey } from 'node:crypto'
import { inspect } from 'node:util'

import type { CipherKeys } from '../codecs/aes-gcm-cipher.js'

/**
 * The encryption keys of a cache, by id (1..255, the id written in each entry's header), and
 * the id new entries are encrypted with. Key material lives only in `KeyObject`s held in a
 * private field: `util.inspect`, `JSON.stringify`, `console.log` and string conversion show the
 * ids and the current id, never a key.
 */
export class KeyRing implements CipherKeys {
  readonly #keys: ReadonlyMap<number, KeyObject>
  readonly #current: number

  /**
   * `keys` are raw 32-byte keys; each is copied into a `KeyObject`, so the caller may zero its
   * buffers afterwards. Throws a `RangeError` when `current` is not listed (options are
   * validated before, by `resolveEncryption`).
   */
  constructor(keys: ReadonlyMap<number, Uint8Array>, current: number) {
    if (!keys.has(current)) throw new RangeError(`the current key id ${current} is not in the key ring`)
    const imported = new Map<number, KeyObject>()
    for (const [id, key] of keys) imported.set(id, createSecretKey(key))
    this.#keys = imported
    this.#current = current
  }

  /** Id of the key new entries are encrypted with. */
  get current(): number {
    return this.#current
  }

  /** Every listed key id, ascending. */
  get ids(): number[] {
    return [...this.#keys.keys()].sort((a, b) => a - b)
  }

  key(keyId: number): KeyObject | undefined {
    return this.#keys.get(keyId)
  }

  /** What `JSON.stringify` shows: ids only. */
  toJSON(): { ids: number[]; current: number } {
    return { ids: this.ids, current: this.#current }
  }

  toString(): string {
    return `KeyRing(ids: ${this.ids.join(', ')}; current: ${this.#current})`
  }

  [inspect.custom](): string {
    return this.toString()
  }
}
