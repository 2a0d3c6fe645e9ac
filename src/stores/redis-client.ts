/**
 * Internals of `RedisStore`: option resolution, the node-redis client with fail-fast settings,
 * and the connection lifecycle (readiness, health PING, replacing a client on a frozen server).
 */
import type { ConnectionOptions } from 'node:tls'

import { createClient, RedisClient, RESP_TYPES } from '@redis/client'

import { InvalidOptionsError, type OptionIssue } from '../errors.js'
import type { RedisSocketParts, RedisStoreOptions } from './redis-store.js'

/** `RedisStoreOptions` with defaults applied and the URL merged in. @internal */
export interface ResolvedRedisStoreOptions {
  readonly host: string
  readonly port: number
  readonly tls: false | ConnectionOptions
  readonly username: string | undefined
  readonly password: string | undefined
  readonly database: number
  readonly clientName: string | undefined
  readonly connectTimeoutMs: number
  readonly pingIntervalMs: number
  readonly socketTimeoutMs: number
  readonly reconnectMinDelayMs: number
  readonly reconnectMaxDelayMs: number
}

/** Defaults of `RedisStoreOptions`. @internal */
export const REDIS_STORE_DEFAULTS = Object.freeze({
  url: 'redis://127.0.0.1:6379',
  connectTimeoutMs: 2000,
  pingIntervalMs: 1000,
  socketTimeoutMs: 1500,
  reconnectMinDelayMs: 50,
  reconnectMaxDelayMs: 500,
})

/** Validates every field at once (one `E_INVALID_OPTIONS` listing all problems) and freezes. @internal */
export function resolveRedisStoreOptions(raw: RedisStoreOptions = {}): Readonly<ResolvedRedisStoreOptions> {
  const issues: OptionIssue[] = []
  const fromUrl = parseUrl(raw.url ?? REDIS_STORE_DEFAULTS.url, issues)
  const ms = (name: keyof typeof REDIS_STORE_DEFAULTS & keyof RedisStoreOptions, min: number): number =>
    integerAtLeast(raw[name] ?? REDIS_STORE_DEFAULTS[name], { path: name, min }, issues)
  const resolved: ResolvedRedisStoreOptions = {
    host: raw.socket?.host ?? fromUrl.host,
    port: integerAtLeast(raw.socket?.port ?? fromUrl.port, { path: 'socket.port', min: 1, max: 65_535 }, issues),
    tls: resolveTls(raw.socket?.tls, fromUrl.tls),
    username: raw.username ?? fromUrl.username,
    password: raw.password ?? fromUrl.password,
    database: integerAtLeast(raw.database ?? fromUrl.database, { path: 'database', min: 0 }, issues),
    clientName: raw.clientName,
    connectTimeoutMs: ms('connectTimeoutMs', 1),
    pingIntervalMs: ms('pingIntervalMs', 1),
    socketTimeoutMs: ms('socketTimeoutMs', 1),
    reconnectMinDelayMs: ms('reconnectMinDelayMs', 0),
    reconnectMaxDelayMs: ms('reconnectMaxDelayMs', 0),
  }
  if (resolved.socketTimeoutMs <= resolved.pingIntervalMs) {
    issues.push({ path: 'socketTimeoutMs', message: 'must be greater than pingIntervalMs, or healthy idle connections are dropped' })
  }
  if (resolved.reconnectMaxDelayMs < resolved.reconnectMinDelayMs) {
    issues.push({ path: 'reconnectMaxDelayMs', message: 'must be at least reconnectMinDelayMs' })
  }
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  return Object.freeze(resolved)
}

/**
 * Exponential backoff from `minMs` to `maxMs` with "equal jitter" (50–100 % of the step):
 * never 0, so a dead server is not hammered, and spread out, so a fleet does not stampede.
 * @internal
 */
export function reconnectDelayMs(retries: number, minMs: number, maxMs: number, random = Math.random): number {
  const step = Math.min(maxMs, minMs * 2 ** Math.min(retries, 30))
  return Math.round(step / 2 + (random() * step) / 2)
}

/** A node-redis client as the store uses it (RESP3, no modules or scripts). @internal */
export type PlainRedisClient = ReturnType<typeof createPlainClient>

/** Bulk strings as Buffers: values stay bytes end to end, with no UTF-8 round trip. */
const BYTES_TYPE_MAPPING = { [RESP_TYPES.BLOB_STRING]: Buffer } as const

/** Creates (does not connect) a node-redis client with the fail-fast settings. @internal */
export function createPlainClient(o: ResolvedRedisStoreOptions) {
  const common = {
    host: o.host,
    port: o.port,
    connectTimeout: o.connectTimeoutMs,
    socketTimeout: o.socketTimeoutMs,
    // Never give up: the tier above decides whether Redis is worth waiting for; the store
    // must come back by itself whenever Redis does.
    reconnectStrategy: (retries: number) => reconnectDelayMs(retries, o.reconnectMinDelayMs, o.reconnectMaxDelayMs),
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
  })
}

function parseUrl(url: string, issues: OptionIssue[]) {
  const fallback = { host: '127.0.0.1', port: 6379, tls: false, username: undefined, password: undefined, database: 0 }
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
    // Never echo the URL: it may carry a password.
    issues.push({ path: 'url', message: 'expected a redis:// or rediss:// URL' })
    return fallback
  }
  try {
    const parsed = RedisClient.parseURL(url)
    const socket = parsed.socket as { host?: string; port?: number; tls: boolean }
    return {
      host: socket.host === undefined || socket.host === '' ? fallback.host : socket.host,
      port: socket.port ?? fallback.port,
      tls: socket.tls,
      username: parsed.username,
      password: parsed.password,
      database: parsed.database ?? 0,
    }
  } catch {
    issues.push({ path: 'url', message: 'is not a valid redis:// URL (host, port or /db part)' })
    return fallback
  }
}

function resolveTls(explicit: RedisSocketParts['tls'], fromUrl: boolean): false | ConnectionOptions {
  const choice = explicit ?? fromUrl
  if (choice === false) return false
  return choice === true ? {} : choice
}

function integerAtLeast(value: unknown, at: { path: string; min: number; max?: number }, issues: OptionIssue[]): number {
  const max = at.max ?? Number.MAX_SAFE_INTEGER
  if (typeof value === 'number' && Number.isInteger(value) && value >= at.min && value <= max) return value
  issues.push({ path: at.path, message: `expected an integer from ${at.min} to ${max}, got ${String(value)}` })
  return at.min
}

/**
 * Owns the node-redis client of one store: readiness tracking, the health PING with a deadline
 * and replacing a client whose server stopped answering. @internal
 */
export class RedisConnection {
  readonly #options: Readonly<ResolvedRedisStoreOptions>
  readonly #listeners = new Set<(ready: boolean) => void>()
  readonly #waiters = new Set<(ready: boolean) => void>()
  #client: PlainRedisClient
  #bytes: BytesRedisClient
  #ready = false
  #started = false
  #closed = false
  #probeTimer: NodeJS.Timeout | undefined
  #probing: PlainRedisClient | undefined

  constructor(options: Readonly<ResolvedRedisStoreOptions>) {
    this.#options = options
    this.#client = this.#createClient()
    this.#bytes = withBytes(this.#client)
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
    return this.#ready
  }

  onReadyChange(listener: (ready: boolean) => void): void {
    this.#listeners.add(listener)
  }

  /** Resolves `true` once ready, `false` after `timeoutMs` or on `close()`. */
  waitReady(timeoutMs: number): Promise<boolean> {
    if (this.#ready || this.#closed) return Promise.resolve(this.#ready)
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
    this.#connectInBackground(this.#client)
    this.#probeTimer = setInterval(() => this.#probe(), this.#options.pingIntervalMs)
    this.#probeTimer.unref()
  }

  /** Rejects pending commands and closes the socket without waiting for a (maybe frozen) server. */
  close(): void {
    if (this.#closed) return
    this.#closed = true
    clearInterval(this.#probeTimer)
    this.#client.destroy()
    this.#sync()
    for (const settle of this.#waiters) settle(false)
  }

  #createClient(): PlainRedisClient {
    const client = createPlainClient(this.#options)
    // node-redis emits 'error' for every failed attempt, even after destroy(); without a listener
    // Node would throw it. It is not logged here: stores hold no policy, readiness is the signal.
    client.on('error', () => this.#sync())
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
    if (ready === this.#ready) return
    this.#ready = ready
    if (ready) for (const settle of this.#waiters) settle(true)
    for (const listener of this.#listeners) {
      try {
        listener(ready)
      } catch (error) {
        // A throwing listener is a bug in the caller; surface it without unwinding node-redis.
        queueMicrotask(() => {
          throw error
        })
      }
    }
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
      .catch(() => undefined)
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
