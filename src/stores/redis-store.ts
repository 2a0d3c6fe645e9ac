import type { ExternalRedisClient } from '../options/cache-options.js'
import type { ResolvedRedisConnection } from '../options/redis-options.js'
import { chunks, expiryMs, toBuffer } from './redis-args.js'
import { type ConnectionError, RedisConnection } from './redis-client.js'
import type { DeleteMarks, RemoteStore, StoreEntry, TagInvalidation } from './store.js'
import { DELETE_IF_EQUALS } from './scripts/delete-if-equals.js'
import { DELETE_MARKED } from './scripts/delete-marked.js'
import { REPLACE_IF_EQUALS } from './scripts/replace-if-equals.js'
import { GET_BOUNDED } from './scripts/get-bounded.js'
import { INVALIDATE_TAG } from './scripts/invalidate-tag.js'
import { MARK_CLEARED } from './scripts/mark-cleared.js'
import { SET_ENTRY } from './scripts/set-entry.js'
import { EXTEND_LOCK } from './scripts/extend-lock.js'
import { RELEASE_LOCK } from './scripts/release-lock.js'
import { RedisSubscriber } from './redis-subscriber.js'
import { SentinelMaster } from './sentinel-master.js'
import { runScript } from './scripts/lua-script.js'

/** Keys per UNLINK, so one call never blocks Redis or builds a huge command. */
const UNLINK_CHUNK = 500
const SCRIPTS = [SET_ENTRY, DELETE_MARKED, GET_BOUNDED, INVALIDATE_TAG, MARK_CLEARED, DELETE_IF_EQUALS, EXTEND_LOCK, RELEASE_LOCK]

/** Entries per `INVALIDATE_TAG` call: bounds the work of one command. */
const TAG_CHUNK = 500


/**
 * `RemoteStore` on one standalone Redis through `@redis/client` (node-redis 6), tuned to fail
 * fast: commands reject at once while disconnected, a dead or frozen server is noticed within
 * `pingIntervalMs + socketTimeoutMs`, and it reconnects by itself forever. Values are bytes
 * end to end (GET/MGET replies are Buffers). No retries, logging or deadlines: the tier above
 * owns those.
 */
export class RedisStore implements RemoteStore {
  readonly #connection: RedisConnection
  readonly #options: ResolvedRedisConnection
  #subscriber: RedisSubscriber | undefined
  /** With Sentinel: the master every connection of this store follows. */
  readonly target: SentinelMaster | undefined

  /**
   * Does not connect. With `client`, that client is used as it is and never closed; the
   * subscriber connection (locks) is still opened from `options`.
   */
  constructor(options: ResolvedRedisConnection, client?: ExternalRedisClient) {
    this.#options = options
    this.target = options.sentinel === undefined ? undefined : new SentinelMaster(options.sentinel, options)
    this.#connection = new RedisConnection(options, client, undefined, this.target)
    // Loaded first on every new connection: a script first sent as EVALSHA would otherwise fail
    // with NOSCRIPT and be re-sent as EVAL behind commands issued after it, out of their order.
    this.#connection.onReadyChange((ready) => {
      if (!ready) return
      for (const script of SCRIPTS) this.#connection.client.sendCommand(['SCRIPT', 'LOAD', script.body]).catch(() => undefined)
    })
  }

  get isReady(): boolean {
    return this.#connection.isReady
  }

  onReadyChange(listener: (ready: boolean) => void): void {
    this.#connection.onReadyChange(listener)
  }

  onHealthy(listener: () => void): void {
    this.#connection.onHealthy(listener)
  }

  get lastError(): ConnectionError | undefined {
    return this.#connection.lastError ?? this.target?.lastError
  }

  onError(listener: (error: ConnectionError) => void): void {
    this.#connection.onError(listener)
    this.target?.onError(listener)
  }

  /**
   * Resolves `true` once ready, `false` when not ready within `timeoutMs` (or after
   * `disconnect()`). Never rejects; the connection keeps retrying in the background and reports
   * through `onReadyChange`. Calling it again just waits again; after `disconnect()` it is `false`.
   */
  async connect(timeoutMs: number): Promise<boolean> {
    this.#connection.start()
    return this.#connection.waitReady(timeoutMs)
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    return (await this.#connection.bytes.get(key)) ?? undefined
  }

  async getBounded(key: string, maxBytes: number): Promise<Uint8Array | undefined | { refused: 'type' | number }> {
    const reply = await runScript(this.#connection.bytes, GET_BOUNDED, [key], [String(maxBytes)])
    if (reply === null || reply === undefined) return undefined
    if (typeof reply === 'number') return { refused: reply < 0 ? 'type' : reply }
    return reply as Uint8Array
  }

  async getMany(keys: readonly string[]): Promise<Array<Uint8Array | undefined>> {
    if (keys.length === 0) return []
    const values = await this.#connection.bytes.mGet([...keys])
    return values.map((value) => value ?? undefined)
  }

  /** `ttlMs` is rounded up to whole ms; `Infinity` means no expiry like `undefined`. */
  async set(key: string, value: Uint8Array, ttlMs?: number): Promise<void> {
    await this.#set(key, value, expiryMs(ttlMs))
  }

  /**
   * One round trip: node-redis writes every command issued in the same tick in one batch.
   * Plain commands rather than `multi().execAsPipeline()`, because in 6.3.1 a pipeline skips the
   * offline check and would wait for the next reconnect attempt instead of rejecting at once.
   * Not atomic: on failure some entries may have been written.
   */
  async setMany(entries: readonly StoreEntry[]): Promise<readonly boolean[] | undefined> {
    const only = entries.length === 1 ? entries[0] : undefined
    // The common single plain write: no batch arrays, no per-entry promise.
    if (only !== undefined && only.tagging === undefined) {
      await this.#set(only.key, only.value, expiryMs(only.ttlMs))
      return undefined
    }
    // Validate every TTL before sending anything, so a bad entry does not half-apply the batch.
    const expiries = entries.map((entry) => expiryMs(entry.ttlMs))
    const written = await Promise.all(entries.map((entry, i) => this.#write(entry, expiries[i])))
    return written.includes(false) ? written : undefined
  }

  #write(entry: StoreEntry, px: number | undefined): Promise<boolean> {
    const tagging = entry.tagging
    if (tagging === undefined) return this.#set(entry.key, entry.value, px).then(() => true)
    const keys = [entry.key, tagging.stateKey, tagging.markKey, ...tagging.indexKeys]
    const since = tagging.sinceEpoch === undefined ? '' : String(tagging.sinceEpoch)
    const args = [toBuffer(entry.value), px === undefined ? '' : String(px), since, ...tagging.names]
    return runScript(this.#connection.client, SET_ENTRY, keys, args).then((written) => written === 1)
  }

  async ttl(key: string): Promise<number | undefined> {
    const pttl = await this.#connection.client.pTTL(key)
    if (pttl === -2) return undefined
    return pttl === -1 ? Number.POSITIVE_INFINITY : pttl
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0
    const client = this.#connection.client
    const counts = await Promise.all(chunks(keys, UNLINK_CHUNK).map((chunk) => client.unlink(chunk)))
    return counts.reduce((sum, count) => sum + count, 0)
  }

  async deleteMarked(entries: ReadonlyArray<{ key: string; markKey: string }>, marks: DeleteMarks): Promise<number> {
    if (entries.length === 0) return 0
    const client = this.#connection.client
    const lifetime = String(expiryMs(marks.lifetimeMs) ?? 1)
    const counts = await Promise.all(
      chunks(entries, UNLINK_CHUNK / 2).map((chunk) => {
        const keys = [marks.stateKey, ...chunk.map((entry) => entry.key), ...chunk.map((entry) => entry.markKey)]
        return runScript(client, DELETE_MARKED, keys, [lifetime]) as Promise<number>
      }),
    )
    return counts.reduce((sum, count) => sum + count, 0)
  }

  /**
   * SCAN with MATCH and COUNT (`batchSize`, a hint). Yields each non-empty batch as Redis returns
   * it. As SCAN guarantees, a key present for the whole scan is yielded at least once, but may be
   * yielded twice (when Redis rehashes meanwhile): callers must tolerate duplicates.
   */
  async *scan(match: string, batchSize = 500): AsyncIterable<string[]> {
    let cursor = '0'
    do {
      const reply = await this.#connection.client.scan(cursor, { MATCH: match, COUNT: batchSize })
      cursor = String(reply.cursor)
      if (reply.keys.length > 0) yield reply.keys
    } while (cursor !== '0')
  }

  /** Unlinks `key` only if it still holds exactly `value` (so a fresh write is never removed). */
  async deleteIfEquals(key: string, value: Uint8Array): Promise<boolean> {
    return (await runScript(this.#connection.client, DELETE_IF_EQUALS, [key], [toBuffer(value)])) === 1
  }

  /** Replaces `key` only if it still holds exactly `expected`, keeping its TTL. */
  async replaceIfEquals(key: string, expected: Uint8Array, value: Uint8Array): Promise<boolean> {
    return (await runScript(this.#connection.client, REPLACE_IF_EQUALS, [key], [toBuffer(expected), toBuffer(value)])) === 1
  }

  async tagEpoch(stateKey: string): Promise<number> {
    const epoch = await this.#connection.client.hGet(stateKey, 'epoch')
    return epoch === null || epoch === undefined ? 0 : Number(epoch)
  }

  /** Repeats bounded `INVALIDATE_TAG` steps until the tag's index is empty. */
  async invalidateTag(tag: TagInvalidation): Promise<{ removed: number; keys: string[] }> {
    let removed = 0
    const keys: string[] = []
    for (let first = true; ; first = false) {
      const args = [tag.name, String(TAG_CHUNK), first ? '1' : '0']
      const reply = await runScript(this.#connection.client, INVALIDATE_TAG, [tag.indexKey, tag.stateKey], args)
      const [deleted, left, members] = reply as [number, number, string[]]
      removed += deleted
      keys.push(...members)
      if (left === 0) return { removed, keys }
    }
  }

  async markCleared(stateKey: string): Promise<void> {
    await runScript(this.#connection.client, MARK_CLEARED, [stateKey], [])
  }

  async info(section: string): Promise<string> {
    return this.#connection.client.info(section)
  }

  /** SET NX PX: takes the lock when free. */
  async tryLock(key: string, token: string, leaseMs: number): Promise<boolean> {
    const reply = await this.#connection.client.set(key, token, {
      condition: 'NX',
      expiration: { type: 'PX', value: expiryMs(leaseMs) ?? 1 },
    })
    return reply === 'OK'
  }

  async extendLock(key: string, token: string, leaseMs: number): Promise<boolean> {
    const reply = await runScript(this.#connection.client, EXTEND_LOCK, [key], [token, String(expiryMs(leaseMs))])
    return reply === 1
  }

  async unlock(key: string, token: string, notify: { channel: string; message: string }): Promise<boolean> {
    const args = [token, notify.channel, notify.message]
    return (await runScript(this.#connection.client, RELEASE_LOCK, [key], args)) === 1
  }

  /**
   * Turns on server-assisted tracking for this connection in broadcast mode, with invalidations
   * sent to connection `redirectId` and none for this connection's own writes (`NOLOOP`). Lost
   * with the connection: call it again on every ready.
   */
  async trackInvalidations(redirectId: number, prefixes: readonly string[]): Promise<void> {
    const client = this.#connection.client
    await client.sendCommand(['CLIENT', 'TRACKING', 'OFF'])
    await client.sendCommand(['CLIENT', 'TRACKING', 'ON', 'REDIRECT', String(redirectId), 'BCAST', ...prefixes.flatMap((prefix) => ['PREFIX', prefix]), 'NOLOOP'])
  }

  /** Subscribes on a dedicated connection, opened on first use and resubscribed after reconnects. */
  listen(channel: string, listener: (message: string) => void): void {
    this.#subscriber ??= new RedisSubscriber(this.#options, this.target)
    this.#subscriber.listen(channel, listener)
  }

  /** Destroys the connection at once (no QUIT round trip that a frozen server would never answer). */
  disconnect(): Promise<void> {
    this.#connection.close()
    this.#subscriber?.close()
    this.target?.close()
    return Promise.resolve()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect()
  }

  #set(key: string, value: Uint8Array, px: number | undefined): Promise<unknown> {
    const options = px === undefined ? undefined : { expiration: { type: 'PX' as const, value: px } }
    return this.#connection.client.set(key, toBuffer(value), options)
  }
}

