import type { ExternalRedisClient } from '../options/cache-options.js'
import type { ResolvedRedisConnection } from '../options/redis-options.js'
import { type PlainRedisClient, RedisConnection, type ResolvedRedisStoreOptions, createPlainClient } from './redis-client.js'
import type { ConnectionTarget } from './sentinel-master.js'

/** What a tracking connection reports. */
export interface TrackingListener {
  /** A key Redis reports as changed (the full Redis key); `null` after `FLUSHDB`/`FLUSHALL`: everything. */
  invalidate(key: string | null): void
  /**
   * Tracking is on (a new `session` number) or lost (`undefined`). Invalidations are complete
   * only within one session: any loss may have dropped some.
   */
  session(session: number | undefined): void
  /** A reply or connection error, such as `NOPERM` when the user may not run `CLIENT TRACKING`. */
  error(error: Error): void
}

/** The data connection, as tracking uses it (`RedisStore`). */
export interface TrackedConnection {
  readonly isReady: boolean
  onReadyChange(listener: (ready: boolean) => void): void
  trackInvalidations(redirectId: number, prefixes: readonly string[]): Promise<void>
  /** Set when the data connection follows a master (Sentinel): the invalidation connection follows it too. */
  readonly target?: ConnectionTarget | undefined
}

/**
 * Redis server-assisted tracking of a namespace, for cross-instance coherence.
 *
 * The data connection (the one that reads and writes) turns tracking on in broadcast mode
 * (`CLIENT TRACKING ON REDIRECT <id> BCAST PREFIX <prefix> NOLOOP`): Redis reports every key
 * under the prefix that changes, whoever changed it (another client, expiry, eviction), a null
 * list on a flush, and nothing for this instance's own writes, which it applies itself. The
 * reports go to a dedicated RESP3 connection, the invalidation connection, as push messages.
 * Tracking lives and dies with both connections: it is set up again whenever either becomes
 * ready (node-redis re-sends only its own handshake), and each setup is a new session.
 *
 * {@link barrier} is a `PING` on the invalidation connection. Redis queues a broadcast
 * invalidation while it handles the write, before the writer gets its reply, and replies to
 * one connection in order, so a barrier answered in a session proves that every write resolved
 * before it was sent has been delivered, and handled: push messages are dispatched while the
 * reply stream is parsed, before the `PING` promise settles.
 *
 * A driver only: no timers of its own beyond the connection's health `PING`, no policy.
 */
export class RedisTracking {
  readonly #data: TrackedConnection
  readonly #connection: RedisConnection
  readonly #prefixes: readonly string[]
  readonly #listener: TrackingListener
  #session = 0
  #active: number | undefined

  constructor(
    data: TrackedConnection,
    options: ResolvedRedisConnection,
    external: ExternalRedisClient | undefined,
    prefixes: readonly string[],
    listener: TrackingListener,
  ) {
    this.#data = data
    this.#prefixes = prefixes
    this.#listener = listener
    const create = (o: Readonly<ResolvedRedisStoreOptions>): PlainRedisClient => {
      // emitInvalidate turns push messages into 'invalidate' events (its handshake also turns on
      // tracking for this connection itself, turned off again before each session).
      const client =
        external === undefined
          ? createPlainClient(o, { emitInvalidate: true })
          : (external.duplicate({ RESP: 3, emitInvalidate: true, disableOfflineQueue: true, pingInterval: 0 }) as unknown as PlainRedisClient)
      client.on('invalidate', (key: Buffer | string | null) => {
        if (client === this.#connection.client && this.#active !== undefined) this.#listener.invalidate(key === null ? null : String(key))
      })
      client.on('error', (error: Error) => this.#listener.error(error))
      return client
    }
    this.#connection = new RedisConnection(options, undefined, create, data.target)
    this.#connection.onReadyChange(() => this.#restart())
    data.onReadyChange(() => this.#restart())
  }

  start(): void {
    this.#connection.start()
  }

  /**
   * Sends a `PING` on the invalidation connection; resolves the session it was answered in, or
   * `undefined` when no session was on when it was sent, or the session ended before the answer.
   */
  async barrier(): Promise<number | undefined> {
    const session = this.#active
    if (session === undefined) return undefined
    try {
      await this.#connection.client.ping()
    } catch {
      return undefined
    }
    return session === this.#active ? session : undefined
  }

  close(): void {
    this.#end()
    this.#connection.close()
  }

  #end(): void {
    if (this.#active === undefined) return
    this.#active = undefined
    this.#listener.session(undefined)
  }

  /** Ends the current session, and starts a new one when both connections are ready. */
  #restart(): void {
    this.#end()
    const session = ++this.#session
    if (this.#connection.isReady && this.#data.isReady) void this.#track(session, this.#connection.client)
  }

  async #track(session: number, client: PlainRedisClient): Promise<void> {
    try {
      const id = await redirectTarget(client)
      if (session !== this.#session) return
      await this.#data.trackInvalidations(id, this.#prefixes)
    } catch (error) {
      // A dropped connection starts a new session by itself; a refusal (NOPERM) is reported,
      // and the instance stays unverified.
      if (session === this.#session) this.#listener.error(error as Error)
      return
    }
    if (session !== this.#session || client !== this.#connection.client) return
    this.#active = session
    this.#listener.session(session)
  }
}

/**
 * Readies an invalidation connection to receive another connection's tracking reports: turns its
 * own tracking off (from the `emitInvalidate` handshake, it would report flushes twice) and
 * resolves its `CLIENT ID`, for `REDIRECT`.
 */
export async function redirectTarget(client: PlainRedisClient): Promise<number> {
  await client.sendCommand(['CLIENT', 'TRACKING', 'OFF'])
  return Number(await client.sendCommand(['CLIENT', 'ID']))
}
