import type { ConnectionOptions } from 'node:tls'


import { InvalidOptionsError } from '../errors.js'
import { RedisConnection, resolveRedisStoreOptions } from './redis-client.js'
import type { RemoteStore, StoreEntry } from './store.js'
import { ADD_TO_SET } from './scripts/add-to-set.js'
import { DELETE_IF_EQUALS } from './scripts/delete-if-equals.js'
import { EXTEND_LOCK } from './scripts/extend-lock.js'
import { RELEASE_LOCK } from './scripts/release-lock.js'
import { RedisSubscriber } from './redis-subscriber.js'
import { runScript } from './scripts/lua-script.js'

/** Where and how to open the TCP (or TLS) connection. Each part overrides the same part of `url`. */
export interface RedisSocketParts {
  /** Host name or IP address. @default '127.0.0.1' */
  host?: string | undefined
  /** TCP port. @default 6379 */
  port?: number | undefined
  /**
   * `true` for TLS with Node's defaults, or `tls.connect()` options (CA, client certificate,
   * `servername`, …). `false` forces plain TCP even for a `rediss://` URL.
   * @default true for a `rediss://` URL, else false
   */
  tls?: boolean | ConnectionOptions | undefined
}

/**
 * Options of `RedisStore`. Every duration is in milliseconds. Explicit fields win over the
 * matching part of `url`, so `{ url, socket: { host } }` means "this URL, but on that host".
 */
export interface RedisStoreOptions {
  /** `redis[s]://[[user][:password]@][host][:port][/db]`. @default 'redis://127.0.0.1:6379' */
  url?: string | undefined
  /** Connection parts; each one given overrides the same part of `url`. */
  socket?: RedisSocketParts | undefined
  /** ACL user name. @default the URL's user, else Redis' `default` user */
  username?: string | undefined
  /** ACL or `requirepass` password. Never logged nor included in errors. @default the URL's */
  password?: string | undefined
  /** Logical database index (`SELECT`). @default the URL's path, else 0 */
  database?: number | undefined
  /** Name shown by `CLIENT LIST` (`CLIENT SETNAME`). @default none */
  clientName?: string | undefined
  /**
   * Limit for the TCP (and TLS) connect of one attempt, in ms; the attempt then counts as
   * failed and the reconnect strategy schedules the next one.
   * @default 2000
   */
  connectTimeoutMs?: number | undefined
  /**
   * How often a health `PING` is sent while connected, in ms. It both keeps idle connections
   * from looking dead to `socketTimeoutMs` and probes for a frozen server. Must be less than
   * `socketTimeoutMs`.
   * @default 1000
   */
  pingIntervalMs?: number | undefined
  /**
   * A connection is declared dead, its pending commands rejected and a new one opened when a
   * health `PING` stays unanswered this long, or when the socket sees no traffic this long
   * (which also bounds a handshake with a server that accepts TCP but never answers).
   * A frozen server is noticed within `pingIntervalMs + socketTimeoutMs`. Trade-off: a server
   * busy for longer than this (a slow Lua script, `KEYS` on a big database) is treated as dead
   * too, and its connection is replaced.
   *
   * Why both: node-redis' own `socketTimeout` is an idle timer that writes also reset, so under
   * steady traffic it never fires on a SIGSTOPped server (measured: 400 GETs piled up over 8 s,
   * client still "ready"), and node-redis' `pingInterval` never times its PING out (measured:
   * a SIGSTOPped server went unnoticed for as long as we waited). The PING deadline closes
   * both gaps: measured 1.6–2.5 s from SIGSTOP to "not ready" with the defaults.
   * @default 1500
   */
  socketTimeoutMs?: number | undefined
  /** First reconnect delay, in ms; doubles per failed attempt up to the maximum. @default 50 */
  reconnectMinDelayMs?: number | undefined
  /**
   * Largest reconnect delay, in ms. Reconnection never gives up; each delay is jittered to
   * 50–100 % of its value so that many app instances do not reconnect in lockstep. Kept at half a
   * second so a restarted Redis is used again within a second.
   * @default 500
   */
  reconnectMaxDelayMs?: number | undefined
}

/** Keys per UNLINK, so one call never blocks Redis or builds a huge command. */
const UNLINK_CHUNK = 500
/** Members per script call: Lua's `unpack` fails beyond about 8000 values. */
const SADD_CHUNK = 1000


/**
 * `RemoteStore` on one standalone Redis through `@redis/client` (node-redis 6), tuned to fail
 * fast: commands reject at once while disconnected, a dead or frozen server is noticed within
 * `pingIntervalMs + socketTimeoutMs`, and it reconnects by itself forever. Values are bytes
 * end to end (GET/MGET replies are Buffers). No retries, logging or deadlines: the tier above
 * owns those.
 */
export class RedisStore implements RemoteStore {
  readonly #connection: RedisConnection
  readonly #options: ReturnType<typeof resolveRedisStoreOptions>
  #subscriber: RedisSubscriber | undefined

  /** @throws InvalidOptionsError listing every invalid option. Does not connect. */
  constructor(options: RedisStoreOptions = {}) {
    this.#options = resolveRedisStoreOptions(options)
    this.#connection = new RedisConnection(this.#options)
  }

  get isReady(): boolean {
    return this.#connection.isReady
  }

  onReadyChange(listener: (ready: boolean) => void): void {
    this.#connection.onReadyChange(listener)
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
  async setMany(entries: readonly StoreEntry[]): Promise<void> {
    // Validate every TTL before sending anything, so a bad entry does not half-apply the batch.
    const expiries = entries.map((entry) => expiryMs(entry.ttlMs))
    await Promise.all(entries.map((entry, i) => this.#set(entry.key, entry.value, expiries[i])))
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

  /** See {@link ADD_TO_SET} for the expiry rules. No members: nothing is sent. */
  async addToSet(setKey: string, members: readonly string[], ttlMs?: number): Promise<void> {
    const px = expiryMs(ttlMs)
    await Promise.all(
      chunks(members, SADD_CHUNK).map((chunk) => runScript(this.#connection.client, ADD_TO_SET, [setKey], [px === undefined ? '' : String(px), ...chunk])),
    )
  }

  /** Unlinks `key` only if it still holds exactly `value` (so a fresh write is never removed). */
  async deleteIfEquals(key: string, value: Uint8Array): Promise<boolean> {
    return (await runScript(this.#connection.client, DELETE_IF_EQUALS, [key], [toBuffer(value)])) === 1
  }

  async setMembers(setKey: string): Promise<string[]> {
    return this.#connection.client.sMembers(setKey)
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

  /** Subscribes on a dedicated connection, opened on first use and resubscribed after reconnects. */
  listen(channel: string, listener: (message: string) => void): void {
    this.#subscriber ??= new RedisSubscriber(this.#options)
    this.#subscriber.listen(channel, listener)
  }

  /** Destroys the connection at once (no QUIT round trip that a frozen server would never answer). */
  disconnect(): Promise<void> {
    this.#connection.close()
    this.#subscriber?.close()
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

/** Redis wants a positive whole number of ms; `undefined` and `Infinity` mean no expiry. */
function expiryMs(ttlMs: number | undefined): number | undefined {
  if (ttlMs === undefined || ttlMs === Number.POSITIVE_INFINITY) return undefined
  if (typeof ttlMs !== 'number' || !(ttlMs > 0)) {
    throw new InvalidOptionsError([{ path: 'ttlMs', message: `expected a positive number of ms, got ${String(ttlMs)}` }])
  }
  return Math.ceil(ttlMs)
}

/** A Buffer view of the same memory: node-redis only accepts strings and Buffers. */
function toBuffer(value: Uint8Array): Buffer {
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength)
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = []
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size))
  return out
}
