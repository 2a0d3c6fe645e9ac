import type { ResolvedRedisStoreOptions } from './redis-client.js'
import { RedisConnection } from './redis-client.js'
import type { ConnectionTarget } from './sentinel-master.js'

/**
 * A dedicated connection in subscriber mode (Redis does not mix pub/sub and commands on one
 * RESP2 connection). It subscribes again whenever its connection becomes ready, including after
 * the client was replaced because the server froze. Messages published while it was
 * disconnected are lost: users of it must not depend on every message arriving.
 */
export class RedisSubscriber {
  readonly #connection: RedisConnection
  readonly #channels = new Map<string, (message: string) => void>()

  /** With `target`, the connection follows its address (the master a Sentinel set names). */
  constructor(options: Readonly<ResolvedRedisStoreOptions>, target?: ConnectionTarget) {
    this.#connection = new RedisConnection(options, undefined, undefined, target)
    this.#connection.onReadyChange((ready) => {
      if (ready) for (const [channel, listener] of this.#channels) this.#subscribe(channel, listener)
    })
  }

  get isReady(): boolean {
    return this.#connection.isReady
  }

  /** Listens on `channel` from now on; connects on first use. One listener per channel. */
  listen(channel: string, listener: (message: string) => void): void {
    this.#channels.set(channel, listener)
    this.#connection.start()
    if (this.#connection.isReady) this.#subscribe(channel, listener)
  }

  close(): void {
    this.#connection.close()
  }

  #subscribe(channel: string, listener: (message: string) => void): void {
    // node-redis keeps listeners in a set, so subscribing again with the same function is safe.
    this.#connection.client.subscribe(channel, listener).catch(() => undefined)
  }
}
