import type { ConnectionOptions } from 'node:tls'

import { RedisClient } from '@redis/client'

import type { OptionIssue } from '../errors.js'
import type { SecurityConfig } from '../security/security-config.js'
import { type Duration, describe, parseDuration } from '../shared/duration.js'
import { integerIn, isRecord, rejectUnknownKeys } from '../shared/validate.js'
import { reviewSecurity } from './security-options.js'

/** Where and how to open the TCP (or TLS) connection. Each part overrides the same part of the URL. */
export interface RedisSocketParts {
  /** Host name or IP address. @default the URL's host, else '127.0.0.1' */
  host?: string | undefined
  /** TCP port. @default the URL's port, else 6379 */
  port?: number | undefined
  /**
   * `true` for TLS with Node's defaults, or `tls.connect()` options: `ca` (a custom CA),
   * `cert` and `key` (a client certificate), `servername`, … `false` forces plain TCP even
   * for a `rediss://` URL.
   * @default true for a `rediss://` URL, else false
   */
  tls?: boolean | ConnectionOptions | undefined
}

/**
 * Connection settings of `GenericRedisCache` (its `redis` option), on top of `redisUrl`.
 * Explicit fields win over the matching part of the URL, so `{ socket: { host } }` means
 * "this URL, but on that host". Durations are milliseconds or strings such as `'2s'`.
 */
export interface RedisConnectionOptions {
  /** Connection parts; each one given overrides the same part of the URL. */
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
   * Limit for the TCP (and TLS) connect of one attempt; the attempt then counts as failed and
   * the next one is scheduled.
   * @default '2s'
   */
  connectTimeout?: Duration | undefined
  /**
   * How often a health `PING` is sent while connected. It keeps idle connections from looking
   * dead to `socketTimeout` and probes for a frozen server. Must be less than `socketTimeout`.
   * @default '1s'
   */
  pingInterval?: Duration | undefined
  /**
   * A connection is declared dead, its pending commands rejected and a new one opened when a
   * health `PING` stays unanswered this long, or when the socket sees no traffic this long.
   * A frozen server is noticed within `pingInterval + socketTimeout`. Trade-off: a server busy
   * for longer than this (a slow Lua script, `KEYS` on a big database) is treated as dead too.
   *
   * Why both: node-redis' own `socketTimeout` is an idle timer that writes also reset, so under
   * steady traffic it never fires on a SIGSTOPped server, and node-redis' `pingInterval` never
   * times its PING out. The PING deadline closes both gaps: measured 1.6–2.5 s from SIGSTOP to
   * "not ready" with the defaults.
   * @default '1500ms'
   */
  socketTimeout?: Duration | undefined
  /** First reconnect delay; doubles per failed attempt up to the maximum. @default '50ms' */
  reconnectMinDelay?: Duration | undefined
  /**
   * Largest reconnect delay. Reconnection never gives up; each delay is jittered to 50–100 % of
   * its value so that many app instances do not reconnect in lockstep.
   * @default '500ms'
   */
  reconnectMaxDelay?: Duration | undefined
}

/** A Redis Sentinel set that names the master to connect to (`GenericRedisCache`'s `sentinel` option). */
export interface SentinelOptions {
  /** The master's name as the sentinels know it (`sentinel monitor <name> …`). */
  name: string
  /** Sentinels to ask, tried in turn; at least one. */
  sentinels: ReadonlyArray<{ host: string; port: number }>
  /** ACL user of the sentinels themselves, when they require one. @default none */
  username?: string | undefined
  /** Password of the sentinels themselves (`requirepass` in sentinel.conf). @default none */
  password?: string | undefined
  /** TLS to the sentinels: `true` or `tls.connect()` options. @default the data nodes' `tls` */
  tls?: boolean | ConnectionOptions | undefined
}

/** A Redis Cluster (`GenericRedisCache`'s `cluster` option). */
export interface ClusterOptions {
  /** Some nodes of the cluster (any of them; the rest is discovered); at least one. */
  rootNodes: ReadonlyArray<{ host: string; port: number }>
}

/** `ClusterOptions` validated. */
export interface ResolvedCluster {
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
}

/** `SentinelOptions` validated, with defaults applied. */
export interface ResolvedSentinel {
  readonly name: string
  readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>
  readonly username: string | undefined
  readonly password: string | undefined
  readonly tls: false | ConnectionOptions
}

/** Connection settings with defaults applied and the URL merged in. */
export interface ResolvedRedisConnection {
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
  /**
   * Set when the master is found through Sentinel: `host` and `port` then only stand in until the
   * sentinels answer, and every connection follows the master they name.
   */
  readonly sentinel: ResolvedSentinel | undefined
  /** Set for a Redis Cluster: `host` and `port` are then unused, every node of it is reached. */
  readonly cluster: ResolvedCluster | undefined
}

/** Defaults of the connection settings. */
export const REDIS_CONNECTION_DEFAULTS = Object.freeze({
  url: 'redis://127.0.0.1:6379',
  connectTimeout: '2s',
  pingInterval: '1s',
  socketTimeout: '1500ms',
  reconnectMinDelay: '50ms',
  reconnectMaxDelay: '500ms',
} as const)

const CONNECTION_KEYS = [
  'socket', 'username', 'password', 'database', 'clientName',
  'connectTimeout', 'pingInterval', 'socketTimeout', 'reconnectMinDelay', 'reconnectMaxDelay',
] as const
const SOCKET_KEYS = ['host', 'port', 'tls'] as const
const SENTINEL_KEYS = ['name', 'sentinels', 'username', 'password', 'tls'] as const
type DurationField = 'connectTimeout' | 'pingInterval' | 'socketTimeout' | 'reconnectMinDelay' | 'reconnectMaxDelay'

/**
 * Resolves `redisUrl` plus the `redis` sub-options into one connection, recording every problem
 * with its full path (`redisUrl`, `redis.socket.port`, …) into `issues`. `more.security` (a
 * {@link SecurityConfig}) is resolved into the same TLS options and credentials, so the sentinels
 * (unless `sentinel.tls` is given) and every cluster node use it too.
 */
export function resolveRedisConnection(
  url: unknown,
  raw: unknown,
  issues: OptionIssue[],
  topology: { sentinel?: unknown; cluster?: unknown; security?: SecurityConfig | undefined } = {},
): Readonly<ResolvedRedisConnection> {
  const fromUrl = parseUrl(url, issues)
  if (raw !== undefined && !isRecord(raw)) issues.push({ path: 'redis', message: 'expected an object' })
  const options: RedisConnectionOptions = isRecord(raw) ? raw : {}
  rejectUnknownKeys(options, CONNECTION_KEYS, 'redis.', issues)
  const socket: RedisSocketParts = isRecord(options.socket) ? options.socket : {}
  if (options.socket !== undefined && !isRecord(options.socket)) issues.push({ path: 'redis.socket', message: 'expected { host?, port?, tls? }' })
  rejectUnknownKeys(socket, SOCKET_KEYS, 'redis.socket.', issues)
  const ms = (name: DurationField, min: number): number => {
    const value = parseDuration(options[name] ?? REDIS_CONNECTION_DEFAULTS[name], `redis.${name}`, issues) ?? min
    if (value < min) issues.push({ path: `redis.${name}`, message: `must be at least ${min}ms` })
    return value
  }
  const resolved = {
    host: stringOr(socket.host, fromUrl.host, 'redis.socket.host', issues),
    port: integerIn(socket.port ?? fromUrl.port, { path: 'redis.socket.port', min: 1, max: 65_535 }, issues) ?? 1,
    tls: resolveTls(socket.tls, fromUrl.tls, issues),
    username: optionalString(options.username, 'redis.username', issues) ?? fromUrl.username,
    password: optionalString(options.password, 'redis.password', issues) ?? fromUrl.password,
    database: integerIn(options.database ?? fromUrl.database, { path: 'redis.database', min: 0 }, issues) ?? 0,
    clientName: optionalString(options.clientName, 'redis.clientName', issues),
    connectTimeoutMs: ms('connectTimeout', 1),
    pingIntervalMs: ms('pingInterval', 1),
    socketTimeoutMs: ms('socketTimeout', 1),
    reconnectMinDelayMs: ms('reconnectMinDelay', 0),
    reconnectMaxDelayMs: ms('reconnectMaxDelay', 0),
    sentinel: undefined as ResolvedSentinel | undefined,
    cluster: undefined as ResolvedCluster | undefined,
  } satisfies ResolvedRedisConnection
  if (topology.security !== undefined) {
    const secured = reviewSecurity(topology.security, { ...resolved, hosts: [resolved.host] })
    for (const { path, message } of secured.errors) issues.push({ path, message })
    Object.assign(resolved, { tls: secured.tls, username: secured.username, password: secured.password })
  }
  if (topology.sentinel !== undefined && topology.cluster !== undefined) {
    issues.push({ path: 'cluster', message: 'not used with sentinel: a cache uses one topology' })
  }
  if (topology.sentinel !== undefined) {
    resolved.sentinel = resolveSentinel(topology.sentinel, resolved.tls, issues)
    rejectHostPort(socket, 'sentinel: the sentinels name the master', issues)
  }
  if (topology.cluster !== undefined) {
    resolved.cluster = resolveCluster(topology.cluster, issues)
    rejectHostPort(socket, 'cluster: rootNodes name the nodes', issues)
    if (resolved.database !== 0) issues.push({ path: 'redis.database', message: 'must be 0 on a cluster (Redis Cluster has database 0 only)' })
  }
  if (resolved.socketTimeoutMs <= resolved.pingIntervalMs) {
    issues.push({ path: 'redis.socketTimeout', message: 'must be greater than redis.pingInterval, or healthy idle connections are dropped' })
  }
  if (resolved.reconnectMaxDelayMs < resolved.reconnectMinDelayMs) {
    issues.push({ path: 'redis.reconnectMaxDelay', message: 'must be at least redis.reconnectMinDelay' })
  }
  return Object.freeze(resolved)
}

function resolveSentinel(raw: unknown, dataTls: false | ConnectionOptions, issues: OptionIssue[]): ResolvedSentinel | undefined {
  if (!isRecord(raw)) {
    issues.push({ path: 'sentinel', message: 'expected { name, sentinels: [{ host, port }], username?, password?, tls? }' })
    return undefined
  }
  const options = raw as Partial<SentinelOptions>
  rejectUnknownKeys(options, SENTINEL_KEYS, 'sentinel.', issues)
  const name = stringOr(options.name, '', 'sentinel.name', issues)
  if (options.name === undefined) issues.push({ path: 'sentinel.name', message: "expected the master's name as the sentinels know it" })
  const nodes = resolveNodes(options.sentinels, 'sentinel.sentinels', issues)
  const tls = options.tls === undefined ? dataTls : resolveTls(options.tls, false, issues, 'sentinel.tls')
  return Object.freeze({
    name,
    nodes,
    username: optionalString(options.username, 'sentinel.username', issues),
    password: optionalString(options.password, 'sentinel.password', issues),
    tls,
  })
}

function resolveCluster(raw: unknown, issues: OptionIssue[]): ResolvedCluster | undefined {
  if (!isRecord(raw)) {
    issues.push({ path: 'cluster', message: 'expected { rootNodes: [{ host, port }] }' })
    return undefined
  }
  rejectUnknownKeys(raw, ['rootNodes'], 'cluster.', issues)
  return Object.freeze({ nodes: resolveNodes(raw.rootNodes, 'cluster.rootNodes', issues) })
}

/** A non-empty list of `{ host, port }`. */
function resolveNodes(raw: unknown, path: string, issues: OptionIssue[]): ReadonlyArray<{ host: string; port: number }> {
  const nodes: Array<{ host: string; port: number }> = []
  if (!Array.isArray(raw) || raw.length === 0) {
    issues.push({ path, message: 'expected a non-empty array of { host, port }' })
    return nodes
  }
  raw.forEach((node: unknown, i) => {
    const at = `${path}[${i}]`
    if (!isRecord(node)) return issues.push({ path: at, message: 'expected { host, port }' })
    rejectUnknownKeys(node, ['host', 'port'], `${at}.`, issues)
    const host = stringOr(node.host, '', `${at}.host`, issues)
    if (node.host === undefined) issues.push({ path: `${at}.host`, message: 'expected a host name or IP address' })
    const port = integerIn(node.port, { path: `${at}.port`, min: 1, max: 65_535 }, issues) ?? 1
    nodes.push({ host, port })
  })
  return Object.freeze(nodes)
}

function rejectHostPort(socket: RedisSocketParts, why: string, issues: OptionIssue[]): void {
  for (const part of ['host', 'port'] as const) {
    if (socket[part] !== undefined) issues.push({ path: `redis.socket.${part}`, message: `not used with ${why}` })
  }
}

function parseUrl(url: unknown, issues: OptionIssue[]) {
  const fallback = { host: '127.0.0.1', port: 6379, tls: false, username: undefined, password: undefined, database: 0 }
  if (typeof url !== 'string' || !/^rediss?:\/\//.test(url)) {
    // Never echo the URL: it may carry a password.
    issues.push({ path: 'redisUrl', message: 'expected a redis:// or rediss:// URL' })
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
    issues.push({ path: 'redisUrl', message: 'is not a valid redis:// URL (host, port or /db part)' })
    return fallback
  }
}

function resolveTls(explicit: unknown, fromUrl: boolean, issues: OptionIssue[], path = 'redis.socket.tls'): false | ConnectionOptions {
  const choice = explicit ?? fromUrl
  if (choice === false) return false
  if (choice === true) return {}
  if (isRecord(choice)) return choice
  issues.push({ path, message: `expected true, false or tls.connect() options; got ${describe(choice)}` })
  return false
}

function optionalString(value: unknown, path: string, issues: OptionIssue[]): string | undefined {
  if (value === undefined || typeof value === 'string') return value
  // Never echo the value: it may be a password.
  issues.push({ path, message: 'expected a string' })
  return undefined
}

function stringOr(value: unknown, fallback: string, path: string, issues: OptionIssue[]): string {
  if (value === undefined) return fallback
  if (typeof value === 'string' && value.length > 0) return value
  issues.push({ path, message: `expected a non-empty string; got ${describe(value)}` })
  return fallback
}
