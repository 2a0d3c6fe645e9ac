/**
 * Internals of `RedisStore`: option resolution, the node-redis client with fail-fast settings,
 * and the connection lifecycle (readiness, health PING, replacing a client on a frozen server).
 */
import { createClient, RESP_TYPES } from '@redis/client'

import type { ExternalRedisClient } from '../options/cache-options.js'
import type { ResolvedRedisConnection } from '../options/redis-options.js'
import { ConnectionStatus } from './connection-status.js'
import type { ConnectionTarget } from './sentinel-master.js'

/** The resolved connection settings a store is built from. @internal */
export type ResolvedRedisStoreOptions = ResolvedRedisConnection

/**
 * Exponential backoff from `minMs` to `maxMs` with "equal jitter" (50–100 % of the step):
 * never 0, so a dead server is not hammered, and spread out, so a fleet does not stampede.
 * @internal
 */
export function reconnectDelayMs(retries: number, minMs: number, maxMs: number, random = Math.random): number {
  const step = Math.min(maxMs, minMs * 2 ** Math.min(retries, 30))
  return Math.round(step / 2 + (random() * step) / 2)
}

/** Why the last connection attempt failed: a Redis error word or a Node error code, and its message. */
export interface ConnectionError {
  /** `WRONGPASS`, `NOAUTH`, `ERR` (e.g. max number of clients), `ECONNREFUSED`, `ERR_TLS_CERT_ALTNAME_INVALID`… */
  readonly code: string
  readonly message: string
}

/** Describes a connection error without anything but what the error itself says. @internal */
export function connectionError(error: unknown): ConnectionError {
  const message = error instanceof Error ? error.message : String(error)
  const code = (error as { code?: unknown } | null)?.code
  if (typeof code === 'string' && code.length > 0) return { code, message }
  const word = /^([A-Z][A-Z_]+)\b/.exec(message)?.[1]
  return { code: word ?? 'UNKNOWN', message }
}

/**
 * Whether retrying soon cannot help: a refused password or user, a refused certificate. Such
 * failures back off to {@link SLOW_RETRY_MAX_MS} instead of retrying several times a second.
 * @internal
 */
export function isPersistentFailure(error: unknown): boolean {
  const { code } = connectionError(error)
  return /^(WRONGPASS|NOAUTH|NOPERM|ERR_TLS_|CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT)/.test(code)
}

/** Backoff of persistent failures: from 1 s, doubling, up to this. */
const SLOW_RETRY_MAX_MS = 30_000

/**
 * Delay before retry `attempt` after a failure caused by `cause`: the configured backoff, or,
 * after a refusal no retry cures (see {@link isPersistentFailure}), from 1 s up to 30 s.
 * @internal
 */
export function retryDelayMs(attempt: number, cause: unknown, o: { reconnectMinDelayMs: number; reconnectMaxDelayMs: number }): number {
  return isPersistentFailure(cause) ? reconnectDelayMs(attempt, 1000, SLOW_RETRY_MAX_MS) : reconnectDelayMs(attempt, o.reconnectMinDelayMs, o.reconnectMaxDelayMs)
}

/** A node-redis client as the store uses it (RESP3, no modules or scripts). @internal */
export type PlainRedisClient = ReturnType<typeof createPlainClient>

/** Bulk strings as Buffers: values stay bytes end to end, with no UTF-8 round trip. */
const BYTES_TYPE_MAPPING = { [RESP_TYPES.BLOB_STRING]: Buffer } as const

/** Creates (does not connect) a node-redis client with the fail-fast settings. @internal */
export function createPlainClient(o: ResolvedRedisStoreOptions, extra: { emitInvalidate?: boolean } = {}) {
  const common = {
    host: o.host,
    port: o.port,
    connectTimeout: o.connectTimeoutMs,
    socketTimeout: o.socketTimeoutMs,
    // Never give up: the tier above decides whether Redis is worth waiting for; the store
    // must come back by itself whenever Redis does.
    reconnectStrategy: (retries: number, cause: unknown) => retryDelayMs(retries, cause, o),
  }
  return createClient({
    socket: o.tls === false ? { ...common, tls: false as const } : { ...o.tls, ...common, tls: true as const },
    ...(o.username === undefined ? {} : { username: o.username }),
    ...(o.password === undefined ? {} : { password: o.password }),
    ...(o.clientName === undefined ? {} : { name: o.clientName }),
    database: o.database,
    // Reject at once while disconnected instead of queueing until some later reconnect.
    disableOfflineQueue: true,
    // No per-command timeout: deadlines are the tier's policy. node-redis' timeout only covers
    // commands not yet written, and allocates a timer signal per command.
    commandOptions: { timeout: 0 },
    // Our own health PING replaces node-redis' pingInterval (see socketTimeoutMs).
    pingInterval: 0,
    // Redis Enterprise maintenance mode stretches timeouts to 10 s, the opposite of failing fast.
    maintNotifications: 'disabled',
    // RESP3 (node-redis' default) delivers tracking invalidations as push messages.
    RESP: 3,
    ...extra,
  })
}

/**
 * Owns the node-redis client of one store: readiness tracking, the health PING with a deadline
 * and replacing a client whose server stopped answering. @internal
 */
export class RedisConnection {
  readonly #options: Readonly<ResolvedRedisStoreOptions>
  readonly #status = new ConnectionStatus()
  readonly #waiters = new Set<(ready: boolean) => void>()
  readonly #healthListeners = new Set<() => void>()
  #client: PlainRedisClient
  #bytes: BytesRedisClient
  #started = false
  #closed = false
  #probeTimer: NodeJS.Timeout | undefined
  #probing: PlainRedisClient | undefined
  /** Set for a client the caller owns: it is watched, but never connected, replaced or closed here. */
  readonly #external: boolean

  readonly #create: (options: Readonly<ResolvedRedisStoreOptions>) => PlainRedisClient
  readonly #target: ConnectionTarget | undefined

  /**
   * With `external`, that client is watched but never connected, replaced or closed. With
   * `create`, each client (the first, and each replacement) comes from it. With `target`, each
   * client goes to its address (the master a Sentinel set names), and a new client replaces the
   * current one whenever that address changes; nothing connects while it is unknown.
   */
  constructor(
    options: Readonly<ResolvedRedisStoreOptions>,
    external?: ExternalRedisClient,
    create?: (options: Readonly<ResolvedRedisStoreOptions>) => PlainRedisClient,
    target?: ConnectionTarget,
  ) {
    this.#options = options
    this.#external = external !== undefined
    this.#create = create ?? ((o) => createPlainClient(o))
    this.#target = target
    this.#client = external === undefined ? this.#createClient() : this.#watch(external as unknown as PlainRedisClient)
    this.#bytes = withBytes(this.#client)
    target?.onChange(() => {
      if (this.#started) this.#replace(this.#client)
    })
  }

  /** Client whose bulk-string replies are strings (keys, members). */
  get client(): PlainRedisClient {
    return this.#client
  }

  /** The same connection, with bulk-string replies as Buffers (values). */
  get bytes(): BytesRedisClient {
    return this.#bytes
  }

  get isReady(): boolean {
    return this.#status.ready
  }

  onReadyChange(listener: (ready: boolean) => void): void {
    this.#status.onReadyChange(listener)
  }

  /** Why the connection last failed; cleared when it is ready. */
  get lastError(): ConnectionError | undefined {
    return this.#status.lastError
  }

  /** Called with each connection error whose reason differs from the previous one. */
  onError(listener: (error: ConnectionError) => void): void {
    this.#status.onError(listener)
  }

  /** Called whenever a health `PING` is answered: the server is executing commands. */
  onHealthy(listener: () => void): void {
    this.#healthListeners.add(listener)
  }

  /** Resolves `true` once ready, `false` after `timeoutMs` or on `close()`. */
  waitReady(timeoutMs: number): Promise<boolean> {
    if (this.#status.ready || this.#closed) return Promise.resolve(this.#status.ready)
    return new Promise((resolve) => {
      const settle = (ready: boolean): void => {
        clearTimeout(timer)
        this.#waiters.delete(settle)
        resolve(ready)
      }
      const timer = setTimeout(() => settle(false), Math.max(0, timeoutMs))
      this.#waiters.add(settle)
    })
  }

  /** Starts connecting in the background; idempotent. Reconnection never stops until `close()`. */
  start(): void {
    if (this.#started || this.#closed) return
    this.#started = true
    if (this.#external) {
      this.#sync()
      return
    }
    if (this.#target === undefined) this.#connectInBackground(this.#client)
    else {
      this.#target.start()
      // The client made in the constructor may point at a stand-in (or an older) address: start
      // on a fresh one; while the address is unknown, the target's first change starts it.
      if (this.#target.address !== undefined) this.#replace(this.#client)
    }
    this.#probeTimer = setInterval(() => this.#probe(), this.#options.pingIntervalMs)
    this.#probeTimer.unref()
  }

  /** Rejects pending commands and closes the socket without waiting for a (maybe frozen) server. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#probeTimer)
    if (!this.#external) this.#client.destroy()
    this.#sync()
    for (const settle of this.#waiters) settle(false)
  }

  #createClient(): PlainRedisClient {
    // node-redis emits 'error' for every failed attempt, even after destroy(); without a listener
    // Node would throw it. It is not logged here: stores hold no policy, readiness is the signal.
    const address = this.#target?.address
    return this.#watch(this.#create(address === undefined ? this.#options : { ...this.#options, ...address }))
  }

  #watch(client: PlainRedisClient): PlainRedisClient {
    client.on('error', (error: unknown) => {
      if (client === this.#client) this.#status.failed(connectionError(error))
      this.#sync()
    })
    for (const event of ['ready', 'end', 'reconnecting']) client.on(event, () => this.#sync())
    return client
  }

  #connectInBackground(client: PlainRedisClient): void {
    // With a strategy that never gives up, connect() stays pending until the first ready and
    // rejects only when the client is destroyed meanwhile; both outcomes are seen through events.
    client.connect().catch(() => undefined)
  }

  #sync(): void {
    const ready = !this.#closed && this.#client.isReady
    if (this.#status.setReady(ready) && ready) for (const settle of this.#waiters) settle(true)
  }

  /** Sends a PING when none is pending; a PING unanswered for `socketTimeoutMs` replaces the client. */
  #probe(): void {
    const client = this.#client
    if (this.#closed || this.#probing === client || !client.isReady) return
    this.#probing = client
    const deadline = setTimeout(() => this.#replace(client), this.#options.socketTimeoutMs)
    deadline.unref()
    client
      .ping()
      .then(
        () => {
          if (client === this.#client) for (const listener of this.#healthListeners) listener()
        },
        () => undefined,
      )
      .finally(() => {
        clearTimeout(deadline)
        if (this.#probing === client) this.#probing = undefined
      })
  }

  /**
   * Swaps in a fresh client rather than reconnecting the old one: node-redis has no public way
   * to drop just the socket, and destroy() then connect() on one client can leave its previous
   * reconnect loop running beside the new one (observed with 6.3.1: two sockets per attempt).
   */
  #replace(stale: PlainRedisClient): void {
    if (this.#closed || stale !== this.#client) return
    this.#client = this.#createClient()
    this.#bytes = withBytes(this.#client)
    stale.destroy()
    this.#sync()
    this.#connectInBackground(this.#client)
  }
}

/** {@link PlainRedisClient} with bulk strings mapped to Buffers. @internal */
export type BytesRedisClient = ReturnType<typeof withBytes>

function withBytes(client: PlainRedisClient) {
  return client.withTypeMapping(BYTES_TYPE_MAPPING)
}
