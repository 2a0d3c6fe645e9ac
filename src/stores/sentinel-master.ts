/**
 * Follows the master of a Redis Sentinel set: asks the sentinels which node is the master, and
 * tells its listeners when that changes, so every connection of a store can move to it.
 *
 * Two sources, so that a lost message never leaves a connection on a demoted master:
 * - `+switch-master`, which the sentinels publish when a failover completes (received on a
 *   subscriber connection to one sentinel): a move within one round trip;
 * - a `SENTINEL GET-MASTER-ADDR-BY-NAME` query every `pingIntervalMs`, to the same sentinel, or to
 *   the next one in the list when it does not answer within `connectTimeoutMs`.
 *
 * @module
 */
import { createClient } from '@redis/client'

import type { ResolvedRedisConnection, ResolvedSentinel } from '../options/redis-options.js'
import { withDeadline } from '../shared/deadline.js'
import { ConnectionStatus } from './connection-status.js'
import { connectionError, type ConnectionError, isPersistentFailure, retryDelayMs } from './redis-client.js'

/** A node's address. */
export interface NodeAddress {
  readonly host: string
  readonly port: number
}

/** Where a connection should go now, and a way to hear when that changes. */
export interface ConnectionTarget {
  /** The address to connect to; `undefined` until it is known. */
  readonly address: NodeAddress | undefined
  /** Called after `address` changed. */
  onChange(listener: () => void): void
  /** Starts following the master; idempotent. */
  start(): void
}

type SentinelClient = ReturnType<typeof createSentinelClient>

/** The master of one Sentinel set, as its sentinels report it. @internal */
export class SentinelMaster implements ConnectionTarget {
  readonly #sentinel: ResolvedSentinel
  readonly #options: ResolvedRedisConnection
  readonly #listeners = new Set<() => void>()
  readonly #status = new ConnectionStatus()
  #address: NodeAddress | undefined
  /** Index in the sentinel list of the one asked now. */
  #current = 0
  #query: SentinelClient | undefined
  /** The last connection error of `#query`: a deadline is reported with it (ECONNREFUSED, WRONGPASS…). */
  #queryError: unknown
  #subscriber: SentinelClient | undefined
  #timer: NodeJS.Timeout | undefined
  #polling = false
  /** Refusals in a row (a refused certificate or password); while there are some, polls wait until `#resumeAt`. */
  #refusals = 0
  #resumeAt = 0
  #started = false
  #closed = false

  constructor(sentinel: ResolvedSentinel, options: ResolvedRedisConnection) {
    this.#sentinel = sentinel
    this.#options = options
  }

  get address(): NodeAddress | undefined {
    return this.#address
  }

  onChange(listener: () => void): void {
    this.#listeners.add(listener)
  }

  /** Called when no sentinel could be asked (each reason once in a row). */
  onError(listener: (error: ConnectionError) => void): void {
    this.#status.onError(listener)
  }

  start(): void {
    if (this.#started || this.#closed) return
    this.#started = true
    this.#connect()
    void this.#poll()
    this.#timer = setInterval(() => void this.#poll(), this.#options.pingIntervalMs)
    this.#timer.unref()
  }

  close(): void {
    this.#closed = true
    clearInterval(this.#timer)
    this.#query?.destroy()
    this.#subscriber?.destroy()
  }

  /** Opens the query and subscriber connections to the current sentinel. */
  #connect(): void {
    const node = this.#sentinel.nodes[this.#current]!
    const query = createSentinelClient(this.#sentinel, this.#options, node)
    this.#query = query
    this.#queryError = undefined
    query.on('error', (error: unknown) => {
      if (query === this.#query) this.#queryError = error
    })
    query.connect().catch(() => undefined)
    const subscriber = createSentinelClient(this.#sentinel, this.#options, node)
    this.#subscriber = subscriber
    subscriber.on('ready', () => {
      subscriber.subscribe('+switch-master', (message) => this.#switched(message)).catch(() => undefined)
    })
    subscriber.connect().catch(() => undefined)
  }

  /** Moves both connections to the next sentinel in the list. */
  #rotate(): void {
    this.#query?.destroy()
    this.#subscriber?.destroy()
    this.#current = (this.#current + 1) % this.#sentinel.nodes.length
    if (!this.#closed) this.#connect()
  }

  async #poll(): Promise<void> {
    if (this.#polling || this.#closed || Date.now() < this.#resumeAt) return
    this.#polling = true
    try {
      const query = this.#query!
      const ms = this.#options.connectTimeoutMs
      if (!query.isReady) await withDeadline(readyOrRefused(query), ms, 'sentinel connection')
      const reply = await withDeadline(query.sendCommand(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.#sentinel.name]), ms, 'sentinel query')
      this.#refusals = 0
      if (Array.isArray(reply) && reply.length === 2) this.#set({ host: String(reply[0]), port: Number(reply[1]) })
      else this.#status.failed({ code: 'ERR', message: `no sentinel master named ${this.#sentinel.name}` })
    } catch (error) {
      const cause = this.#queryError ?? error
      this.#status.failed(connectionError(cause))
      // Each rotation opens new connections, whose own backoff starts over: after a refusal, the
      // next poll waits as a refused data connection would before its next attempt.
      this.#refusals = isPersistentFailure(cause) ? this.#refusals + 1 : 0
      if (this.#refusals > 0) this.#resumeAt = Date.now() + retryDelayMs(this.#refusals - 1, cause, this.#options)
      this.#rotate()
    } finally {
      this.#polling = false
    }
  }

  /** `+switch-master <name> <old ip> <old port> <new ip> <new port>`. */
  #switched(message: string): void {
    const [name, , , host, port] = message.split(' ')
    if (name === this.#sentinel.name && host !== undefined && port !== undefined) this.#set({ host, port: Number(port) })
  }

  #set(address: NodeAddress): void {
    this.#status.clearError()
    const previous = this.#address
    if (previous !== undefined && previous.host === address.host && previous.port === address.port) return
    this.#address = address
    for (const listener of this.#listeners) listener()
  }

  /** Why the sentinels could not be asked; cleared by an answer. */
  get lastError(): ConnectionError | undefined {
    return this.#status.lastError
  }
}

/** Resolves once `client` is ready; rejects at once on a refusal no retry cures (certificate, password). */
function readyOrRefused(client: SentinelClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (): void => {
      client.off('error', refused)
      client.off('ready', ready)
    }
    const refused = (error: unknown): void => {
      if (!isPersistentFailure(error)) return
      settle()
      reject(error instanceof Error ? error : new Error(String(error)))
    }
    const ready = (): void => {
      settle()
      resolve()
    }
    client.on('error', refused)
    client.on('ready', ready)
  })
}

/** A connection to one sentinel: RESP2, fail-fast, reconnecting with the data nodes' backoff. */
function createSentinelClient(sentinel: ResolvedSentinel, o: ResolvedRedisConnection, node: NodeAddress) {
  const common = {
    host: node.host,
    port: node.port,
    connectTimeout: o.connectTimeoutMs,
    reconnectStrategy: (retries: number, cause: unknown) => retryDelayMs(retries, cause, o),
  }
  const client = createClient({
    socket: sentinel.tls === false ? { ...common, tls: false as const } : { ...sentinel.tls, ...common, tls: true as const },
    ...(sentinel.username === undefined ? {} : { username: sentinel.username }),
    ...(sentinel.password === undefined ? {} : { password: sentinel.password }),
    disableOfflineQueue: true,
    commandOptions: { timeout: 0 },
    RESP: 2,
  })
  // Failures are seen through the queries; without a listener Node would throw them.
  client.on('error', () => undefined)
  return client
}
