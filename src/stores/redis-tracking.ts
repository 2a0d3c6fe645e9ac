import type { ExternalRedisClient } from '../options/cache-options.js'
import type { ResolvedRedisConnection } from '../options/redis-options.js'
import { type PlainRedisClient, RedisConnection, createPlainClient } from './redis-client.js'

/** What a tracking connection reports. */
export interface TrackingListener {
  /** Keys Redis reports as changed (full Redis keys); `null` after `FLUSHDB`/`FLUSHALL`: everything. */
  invalidate(keys: readonly string[] | null): void
  /**
   * Tracking is on (a new `session` number) or lost (`undefined`). Invalidations are complete
   * only within one session: any loss may have dropped some.
   */
  session(session: number | undefined): void
  /** A reply or connection error, such as `NOPERM` when the user may not run `CLIENT TRACKING`. */
  error(error: Error): void
}

/**
 * A dedicated RESP3 connection with Redis server-assisted tracking in broadcast mode
 * (`CLIENT TRACKING ON BCAST PREFIX <prefix>`): Redis pushes the name of every key under the
 * prefix that changes, whoever changed it (any client, expiry, eviction), and a null list on a
 * flush. Tracking is set up again on every new connection (node-redis re-sends only its own
 * handshake), and each setup is a new session.
 *
 * {@link barrier} is a `PING` on this connection. Redis queues an invalidation for this client
 * while it executes the write, before the writer gets its reply, and replies in order, so a
 * barrier answered in a session proves that every write resolved before the barrier was sent
 * has been delivered (and handled: push messages are dispatched synchronously while the reply
 * stream is parsed, before the `PING` promise settles).
 *
 * A driver only: no timers of its own beyond the connection's health `PING`, no policy.
 */
export class RedisTracking {
  readonly #connection: RedisConnection
  readonly #prefix: string
  readonly #listener: TrackingListener
  #session = 0
  #tracking = false

  constructor(options: ResolvedRedisConnection, external: ExternalRedisClient | undefined, prefix: string, listener: TrackingListener) {
    this.#prefix = prefix
    this.#listener = listener
    const create = (): PlainRedisClient => {
      // emitInvalidate turns push messages into 'invalidate' events; its handshake turns on
      // default-mode tracking, replaced by broadcast mode on every ready.
      const client =
        external === undefined
          ? createPlainClient(options, { emitInvalidate: true })
          : (external.duplicate({ RESP: 3, emitInvalidate: true, disableOfflineQueue: true, pingInterval: 0 }) as unknown as PlainRedisClient)
      client.on('invalidate', (key: Buffer | string | null) => {
        if (client !== this.#connection.client || !this.#tracking) return
        this.#listener.invalidate(key === null ? null : [String(key)])
      })
      client.on('error', (error: Error) => this.#listener.error(error))
      return client
    }
    this.#connection = new RedisConnection(options, undefined, create)
    this.#connection.onReadyChange((ready) => {
      this.#tracking = false
      this.#listener.session(undefined)
      if (ready) void this.#track(this.#connection.client)
    })
  }

  /** Whether tracking is on in the current session. */
  get tracking(): boolean {
    return this.#tracking
  }

  start(): void {
    this.#connection.start()
  }

  /**
   * Sends a `PING`; resolves the session it was answered in, or `undefined` when tracking was
   * not on when it was sent, or was lost (or the connection replaced) before the answer.
   */
  async barrier(): Promise<number | undefined> {
    if (!this.#tracking) return undefined
    const session = this.#session
    const client = this.#connection.client
    try {
      await client.ping()
    } catch {
      return undefined
    }
    return this.#tracking && session === this.#session && client === this.#connection.client ? session : undefined
  }

  close(): void {
    this.#tracking = false
    this.#connection.close()
  }

  async #track(client: PlainRedisClient): Promise<void> {
    try {
      await client.sendCommand(['CLIENT', 'TRACKING', 'OFF'])
      await client.sendCommand(['CLIENT', 'TRACKING', 'ON', 'BCAST', 'PREFIX', this.#prefix])
    } catch (error) {
      // The connection dropped (a new ready starts again) or Redis refused (reported; the
      // connection stays up without tracking, so the instance stays unverified).
      if (client === this.#connection.client && this.#connection.isReady) this.#listener.error(error as Error)
      return
    }
    if (client !== this.#connection.client || !this.#connection.isReady) return
    this.#tracking = true
    this.#listener.session(++this.#session)
  }
}
