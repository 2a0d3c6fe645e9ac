/**
 * Byte-level persistence used by the L2 tier. Stores hold no policy: no retries, no logging,
 * no codecs, no deadlines and no namespace logic. Keys are full Redis keys. Every method
 * rejects when the backend is unreachable; the tier above decides what that means.
 */
export interface RemoteStore {
  /** Connects; resolves `true` once ready, `false` if not ready within `timeoutMs` (keeps retrying). */
  connect(timeoutMs: number): Promise<boolean>
  /** Whether commands can be sent right now. */
  readonly isReady: boolean
  /** Called with `true` when the store becomes ready and `false` when it loses its connection. */
  onReadyChange(listener: (ready: boolean) => void): void
  /** Why the connection last failed (a Redis error word or a Node error code); cleared when ready. */
  readonly lastError: { readonly code: string; readonly message: string } | undefined
  /** Told each connection error whose reason differs from the previous one. */
  onError(listener: (error: { readonly code: string; readonly message: string }) => void): void
  /** Called whenever the store's own health check finds the server answering. */
  onHealthy(listener: () => void): void
  /** Resolves `undefined` on a miss. */
  get(key: string): Promise<Uint8Array | undefined>
  /** One round trip (MGET). Results align with `keys`. */
  getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>>
  /** `ttlMs` undefined means no expiry. */
  set(key: string, value: Uint8Array, ttlMs?: number): Promise<void>
  /**
   * Pipelined writes; a tagged or conditional entry is written with its tag indexes in one
   * atomic script (`SET_ENTRY`). Resolves `undefined` when every entry was written, else, per
   * entry, whether it was (a conditional write that an invalidation overtook is refused).
   */
  setMany(entries: readonly StoreEntry[]): Promise<readonly boolean[] | undefined>
  /** Remaining time to live in ms; `undefined` when the key is missing; `Infinity` when it never expires. */
  ttl(key: string): Promise<number | undefined>
  /**
   * Reads `key` only if it is a string of at most `maxBytes` (`GET_BOUNDED`); otherwise unlinks it
   * and resolves why: `'type'` for another type, or its length.
   */
  getBounded(key: string, maxBytes: number): Promise<Uint8Array | undefined | { refused: 'type' | number }>
  /** Removes keys (UNLINK) and resolves how many existed. */
  deleteMany(keys: readonly string[]): Promise<number>
  /**
   * Removes entries and leaves a delete mark per key (`DELETE_MARKED`), so a load that began
   * before cannot write its older value after; resolves how many entries existed.
   */
  deleteMarked(entries: ReadonlyArray<{ key: string; markKey: string }>, marks: DeleteMarks): Promise<number>
  /** Removes `key` only while it still holds exactly `value`; resolves whether it did. */
  deleteIfEquals(key: string, value: Uint8Array): Promise<boolean>
  /** Replaces `key` with `value` only while it still holds exactly `expected`, keeping its TTL; resolves whether it did. */
  replaceIfEquals(key: string, expected: Uint8Array, value: Uint8Array): Promise<boolean>
  /** Iterates keys matching a Redis glob (SCAN MATCH), in batches. Never uses KEYS. */
  scan(match: string, batchSize?: number): AsyncIterable<string[]>
  /** The namespace's tag epoch (see `SET_ENTRY`): 0 before the first tag invalidation or clear. */
  tagEpoch(stateKey: string): Promise<number>
  /** Invalidates one tag in bounded steps (`INVALIDATE_TAG`); resolves the keys it named and how many existed. */
  invalidateTag(tag: TagInvalidation): Promise<{ removed: number; keys: string[] }>
  /** Records a clear of the namespace (`MARK_CLEARED`), before its keys are deleted. */
  markCleared(stateKey: string): Promise<void>
  /** The raw text of `INFO <section>`. */
  info(section: string): Promise<string>
  /** Takes a lock (SET NX PX) when it is free; resolves whether it did. */
  tryLock(key: string, token: string, leaseMs: number): Promise<boolean>
  /** Renews a lock's lease while `token` still holds it. */
  extendLock(key: string, token: string, leaseMs: number): Promise<boolean>
  /** Releases a lock held by `token` and publishes `notify.message` on `notify.channel`. */
  unlock(key: string, token: string, notify: { channel: string; message: string }): Promise<boolean>
  /** Receives messages published on `channel` (best effort: messages sent while disconnected are lost). */
  listen(channel: string, listener: (message: string) => void): void
  /**
   * The shard serving `key` (a cluster master's address), for a breaker per shard; absent on a
   * store with one server.
   */
  shardOf?(key: string): string | undefined
  /** Closes the connection; pending commands are rejected. Safe to call twice. */
  disconnect(): Promise<void>
}

/** One write for `setMany`. */
export interface StoreEntry {
  readonly key: string
  readonly value: Uint8Array
  /** Undefined means no expiry. */
  readonly ttlMs?: number | undefined
  /** Tag indexes and the epoch guard; absent for a plain, unconditional `SET`. */
  readonly tagging?: EntryTagging | undefined
}

/** Where delete marks are counted, and how long they last. */
export interface DeleteMarks {
  /** The namespace's tag-state hash, whose epoch each delete bumps. */
  readonly stateKey: string
  readonly lifetimeMs: number
}

/** One tag to invalidate. */
export interface TagInvalidation {
  /** The tag's index (a sorted set of entry keys). */
  readonly indexKey: string
  /** The namespace's tag-state hash. */
  readonly stateKey: string
  readonly name: string
  /**
   * Delete marks for the entries it removes, where a store needs them (a cluster, whose writes
   * cannot check the tag state atomically): each holds the invalidation's epoch, for `lifetimeMs`.
   */
  readonly marks?: { readonly lifetimeMs: number; markKeyOf(fullKey: string): string }
}

/** How an entry joins its tag indexes, and the tag epoch its write is conditional on. */
export interface EntryTagging {
  /** The namespace's tag-state hash. */
  readonly stateKey: string
  /** The key's delete mark (see `DELETE_MARKED`), checked by a conditional write. */
  readonly markKey: string
  /** Tag names and their index keys, in the same order. */
  readonly names: readonly string[]
  readonly indexKeys: readonly string[]
  /** Tag epoch read before the value was loaded; `undefined` for an unconditional write. */
  readonly sinceEpoch: number | undefined
}
