import type { ResolvedRedisConnection } from '../options/redis-options.js'
import { type PlainRedisClient, RedisConnection, createPlainClient } from './redis-client.js'
import type { RedisClusterStore } from './redis-cluster-store.js'
import { type TrackingListener, redirectTarget } from './redis-tracking.js'

/** One master's invalidation connection. */
interface Shard {
  readonly address: { host: string; port: number }
  readonly connection: RedisConnection
}

/**
 * Redis server-assisted tracking on a cluster: `RedisTracking` once per master. A master reports
 * only the keys it serves, and only to a connection on itself, so each master gets its own
 * invalidation connection, and the store's connection to that master turns broadcast tracking on
 * with `REDIRECT` to it.
 *
 * A session spans every master: it starts once tracking is on at all of them, and any change
 * ends it (a connection lost or replaced on either side, a master added, removed or replaced by
 * a failover). A barrier is a `PING` on every invalidation connection, answered within one
 * session. Coarser than per shard: a failed master stops L1 hits everywhere until its
 * replacement is tracked, and the new session empties every L1 (the shard's entries included).
 */
export class ClusterTracking {
  readonly #store: RedisClusterStore
  readonly #options: ResolvedRedisConnection
  readonly #prefixes: readonly string[]
  readonly #listener: TrackingListener
  readonly #shards = new Map<string, Shard>()
  #session = 0
  #active: number | undefined
  #started = false
  #closed = false

  constructor(store: RedisClusterStore, options: ResolvedRedisConnection, prefixes: readonly string[], listener: TrackingListener) {
    this.#store = store
    this.#options = options
    this.#prefixes = prefixes
    this.#listener = listener
    store.onTopologyChange(() => this.#restart())
  }

  start(): void {
    if (this.#started || this.#closed) return
    this.#started = true
    this.#restart()
  }

  async barrier(): Promise<number | undefined> {
    const session = this.#active
    if (session === undefined) return undefined
    try {
      await Promise.all([...this.#shards.values()].map((shard) => shard.connection.client.ping()))
    } catch {
      return undefined
    }
    return session === this.#active ? session : undefined
  }

  close(): void {
    this.#closed = true
    this.#end()
    for (const shard of this.#shards.values()) shard.connection.close()
    this.#shards.clear()
  }

  #end(): void {
    if (this.#active === undefined) return
    this.#active = undefined
    this.#listener.session(undefined)
  }

  /** Ends the session, follows the current masters, and starts a new session when all are ready. */
  #restart(): void {
    if (!this.#started || this.#closed) return
    this.#end()
    const session = ++this.#session
    const masters = this.#store.isReady ? this.#store.masterAddresses() : []
    const current = new Set(masters.map(name))
    for (const [key, shard] of this.#shards) {
      if (current.has(key)) continue
      shard.connection.close()
      this.#shards.delete(key)
    }
    for (const address of masters) if (!this.#shards.has(name(address))) this.#shards.set(name(address), this.#open(address))
    const shards = [...this.#shards.values()]
    if (shards.length === 0 || !shards.every((shard) => shard.connection.isReady)) return
    void this.#track(session, shards)
  }

  #open(address: { host: string; port: number }): Shard {
    const create = (o: ResolvedRedisConnection): PlainRedisClient => {
      const client = createPlainClient({ ...o, ...address }, { emitInvalidate: true })
      client.on('invalidate', (key: Buffer | string | null) => {
        if (client === connection.client && this.#active !== undefined) this.#listener.invalidate(key === null ? null : String(key))
      })
      client.on('error', (error: Error) => this.#listener.error(error))
      return client
    }
    const connection = new RedisConnection(this.#options, undefined, create)
    connection.onReadyChange(() => this.#restart())
    connection.start()
    return { address, connection }
  }

  async #track(session: number, shards: readonly Shard[]): Promise<void> {
    try {
      await Promise.all(
        shards.map(async ({ address, connection }) => {
          const id = await redirectTarget(connection.client)
          if (session !== this.#session) return
          await this.#store.trackInvalidations(address, id, this.#prefixes)
        }),
      )
    } catch (error) {
      // A lost connection or a failover starts a new session by itself; a refusal is reported.
      if (session === this.#session) this.#listener.error(error as Error)
      return
    }
    if (session !== this.#session) return
    this.#active = session
    this.#listener.session(session)
  }
}

function name(address: { host: string; port: number }): string {
  return `${address.host}:${address.port}`
}
