import type { CacheInterface } from '../index.js'
import { escapeGlob, expiresAt, writeEntries } from './compat-writes.js'

/** What Keyv keeps per key and reads back from a store: the value and its absolute expiry (epoch ms). */
export interface KeyvStoredData<Value = unknown> {
  value?: Value
  expires?: number | undefined
}

/**
 * What a store resolves to Keyv, in Keyv's own typing (`StoredData`): `{ value, expires }`, or the
 * raw form Keyv deserializes itself (here the string its serializer produced), or `undefined`.
 */
export type KeyvStoreResult<Value> = Value | KeyvStoredData<Value> | undefined

/**
 * Property of the strata entry that holds a string serialized by Keyv. Layout of such an entry:
 * `{ '@keyv/serialized': '<what Keyv's serialize() returned>' }`; any other entry is a plain value.
 */
export const KEYV_SERIALIZED = '@keyv/serialized'

/** How many keys the iterator reads per `getMany`. */
const ITERATOR_BATCH = 100

/**
 * A Keyv 5 storage adapter over any strata cache: `new Keyv({ store: new KeyvStrataStore(cache) })`
 * (or `CacheCompatibilityWrapper.keyvStore(cache)`).
 *
 * Keyv hands its store `{ value, expires }`, or, with its default serializer, that object as a
 * JSON string. What the adapter keeps:
 * - With Keyv's serializer off (`keyv.serialize = undefined; keyv.deserialize = undefined`, as
 *   cache-manager 7 does), the value itself. strata's own codec serializes it for Redis, so Date,
 *   Map, Set, BigInt and Buffer come back as they went in (Keyv's JSON loses them), nothing is
 *   serialized twice, and strata code reading the same keys (`cache.get('keyv:user:1')`) sees the
 *   same values as Keyv code: both can run side by side during a move.
 * - With a serializer on, Keyv's string, untouched (see {@link KEYV_SERIALIZED}): it may be
 *   compressed or custom-encoded, so only Keyv can read it back, and Keyv behaves exactly as on its
 *   own stores.
 *
 * `expires` comes from the strata entry's ttl (one more read per hit: `getTtl`, sent alongside the
 * `get`). Keys arrive prefixed by Keyv (`<namespace>:<key>`) and are strata keys as they are
 * (at most 1,024 characters); `clear()` deletes only the current Keyv namespace.
 */
export class KeyvStrataStore {
  /**
   * Keyv offers `keyv.iterator()` only over stores whose `opts.dialect` it knows to be iterable;
   * `'redis'` is one, and this store iterates as `@keyv/redis` does (the namespace's keys, then
   * their values), on either strata backend.
   */
  readonly opts = { dialect: 'redis', url: 'strata://' }
  /** Set by Keyv to its own namespace; `clear()` and `iterator()` keep to it. */
  namespace: string | undefined
  readonly #cache: CacheInterface

  constructor(cache: CacheInterface) {
    this.#cache = cache
  }

  /** The stored data of `key` (a string from Keyv's serializer, else `{ value, expires }`), or `undefined`. */
  async get<Value = unknown>(key: string): Promise<KeyvStoreResult<Value>> {
    const [stored, ttlMs] = await Promise.all([this.#cache.get(key), this.#cache.getTtl(key)])
    return toKeyv(stored, ttlMs, Date.now()) as KeyvStoreResult<Value>
  }

  /** Stored data aligned with `keys`, `undefined` for misses. */
  async getMany<Value = unknown>(keys: string[]): Promise<Array<KeyvStoreResult<Value>>> {
    const stored = await this.#cache.getMany(keys)
    const ttls = await Promise.all(stored.map(async (value, i) => (value === undefined || isSerialized(value) ? undefined : this.#cache.getTtl(keys[i] as string))))
    const now = Date.now()
    return stored.map((value, i) => toKeyv(value, ttls[i], now) as KeyvStoreResult<Value>)
  }

  /** Stores what Keyv hands over; `ttl` in ms, `undefined` for never. Resolves `true` once written. */
  async set(key: string, data: unknown, ttl?: number): Promise<boolean> {
    await writeEntries(this.#cache, [{ key, value: fromKeyv(data), ttl }])
    return true
  }

  /**
   * `set` for many entries, in one strata `setMany`; resolves one `true` per entry, which
   * `keyv.setMany()` passes on (Keyv's `KeyvStoreAdapter` type says `void` here, its code and its
   * own fallback over `set` resolve `boolean[]`).
   */
  async setMany(entries: Array<{ key: string; value: unknown; ttl?: number }>): Promise<boolean[]> {
    await writeEntries(
      this.#cache,
      entries.map(({ key, value, ttl }) => ({ key, value: fromKeyv(value), ttl })),
    )
    return entries.map(() => true)
  }

  /** Resolves `true` if the key existed. */
  delete(key: string): Promise<boolean> {
    return this.#cache.delete(key)
  }

  /** Resolves `true` if every key existed (as Keyv's fallback over `delete` does). */
  async deleteMany(keys: string[]): Promise<boolean> {
    return (await this.#cache.deleteMany(keys)) === keys.length
  }

  /** Deletes every key of the current Keyv namespace, or the whole strata namespace without one. */
  async clear(): Promise<void> {
    if (this.namespace === undefined) await this.#cache.clear()
    else await this.#cache.invalidatePattern(`${escapeGlob(this.namespace)}:*`)
  }

  has(key: string): Promise<boolean> {
    return this.#cache.exists(key)
  }

  hasMany(keys: string[]): Promise<boolean[]> {
    return Promise.all(keys.map((key) => this.#cache.exists(key)))
  }

  /**
   * Entries of `namespace` (all keys without one) as `[key, storedData]`, read in batches. Keyv
   * deserializes and unprefixes them; an entry written by strata code as a plain value can only be
   * iterated by a Keyv whose serializer is off.
   */
  async *iterator(namespace?: string): AsyncGenerator<[string, KeyvStoredData | string], void> {
    const keys = await this.#cache.getKeys(namespace === undefined ? '*' : `${escapeGlob(namespace)}:*`)
    for (let start = 0; start < keys.length; start += ITERATOR_BATCH) {
      const batch = keys.slice(start, start + ITERATOR_BATCH)
      const values = await this.#cache.getMany(batch)
      for (const [i, value] of values.entries()) {
        const data = toKeyv(value, undefined, 0)
        if (data !== undefined) yield [batch[i] as string, data]
      }
    }
  }

  /** Closes the strata cache, as Keyv's Redis adapter closes its client. */
  disconnect(): Promise<void> {
    return this.#cache.disconnect()
  }

  /**
   * Keyv subscribes to the store's `'error'`. strata reports backend failures through its own
   * `cache:error` events and rejects calls that fail, so nothing is emitted here: a Keyv without an
   * `'error'` listener is not made to throw by a failure strata already absorbed.
   */
  on(_event: string, _listener: (...args: unknown[]) => void): this {
    return this
  }
}

function isSerialized(value: unknown): value is { [KEYV_SERIALIZED]: string } {
  if (typeof value !== 'object' || value === null || Object.getPrototypeOf(value) !== Object.prototype) return false
  const keys = Object.keys(value)
  return keys.length === 1 && keys[0] === KEYV_SERIALIZED && typeof (value as Record<string, unknown>)[KEYV_SERIALIZED] === 'string'
}

/** The strata value of what Keyv hands over: its value when Keyv did not serialize, else its string. */
function fromKeyv(data: unknown): unknown {
  if (typeof data === 'string') return { [KEYV_SERIALIZED]: data }
  if (typeof data === 'object' && data !== null && 'value' in data) return (data as KeyvStoredData).value
  return data
}

function toKeyv(stored: unknown, ttlMs: number | undefined, now: number): KeyvStoredData | string | undefined {
  if (stored === undefined) return undefined
  if (isSerialized(stored)) return stored[KEYV_SERIALIZED]
  return { value: stored, expires: expiresAt(ttlMs, now) }
}
