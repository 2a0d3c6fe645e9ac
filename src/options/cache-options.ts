import type { Clock } from '../shared/clock.js'
import type { CacheMonitor } from '../monitoring/monitor-sink.js'
import type { Serializer } from '../codecs/codec.js'
import type { RedisClientType } from '@redis/client'

import type { ClusterOptions, RedisConnectionOptions, SentinelOptions } from './redis-options.js'
import type { Duration } from '../shared/duration.js'
import type { EncryptionOptions } from './encryption-options.js'
import type { SecurityConfig } from '../security/security-config.js'
import type { GetOrSetPolicy } from './get-or-set-options.js'

/** Bounds of the in-process L1 tier. */
export interface L1Options {
  /**
   * Most entries kept; the least recently used is evicted first. Applies with `maxBytes` too:
   * raise it to let the byte bound alone bind.
   * @default 10_000
   */
  maxEntries?: number
  /**
   * Most bytes of heap L1 may hold, estimated on each write from V8's layouts: the value
   * (strings 1 byte a character when all are Latin-1, else 2; numbers outside the small-integer
   * range 16; objects 24 plus 8 a property; arrays 8 a slot; Buffers and typed arrays their bytes
   * plus ~100–200 bytes of view objects; Maps and Sets by table capacity; Dates 96), plus each
   * entry's key, entry record and lru-cache bookkeeping (~200 bytes an entry), plus lru-cache's
   * slot arrays. Once L1 is full, its live heap is within ±10% of `maxBytes` on 64-bit Node
   * (widest for the smallest entries, ~250 bytes). Large values are measured on a sample. An
   * entry larger than this is not kept in L1. `maxEntries` still applies.
   * @default no byte bound
   */
  maxBytes?: number
}

/** Options every cache accepts. The `getOrSet` policy fields set defaults for every call. */
export interface BaseCacheOptions extends GetOrSetPolicy {
  /**
   * Prefix that isolates this cache's keys: `clear()` and pattern operations touch only it.
   * Must not contain `:` (the separator) or `#` (reserved for internal keys).
   * @default 'strata'
   */
  namespace?: string
  /**
   * Time to live when a call gives none. `0` means entries never expire.
   * @default '1h'
   */
  defaultTtl?: Duration
  /**
   * Largest value accepted, in bytes once encoded (and the cap when decoding or inflating).
   * @default 8 MiB
   */
  maxValueBytes?: number
  /** Time source, for tests. @default Date.now */
  clock?: Clock
  /** Randomness for `ttlJitter`, for tests. @default Math.random */
  random?: () => number
  /** Name in metrics, traces and monitor summaries. @default the namespace */
  name?: string
  /**
   * A `CachePerformanceMonitor` (shareable by many caches) that records every operation.
   * Without one, monitoring costs nothing.
   * @default none
   */
  monitor?: CacheMonitor
}

/** Options of `InMemoryCache`. */
export interface InMemoryCacheOptions extends BaseCacheOptions, L1Options {}

/** Deflate settings; values smaller than `threshold` bytes are stored as they are. */
export interface CompressionOptions {
  /** Smallest serialized size that is compressed, in bytes. @default 1024 */
  threshold?: number
  /** zlib level from 1 (fastest) to 9 (smallest). @default 1 */
  level?: number
}

/** Circuit breaker around the L2 tier. */
export interface CircuitBreakerOptions {
  /** Consecutive L2 failures or missed deadlines that open the breaker. @default 5 */
  failureThreshold?: number
  /** How long L2 is skipped once open, before one probe call. @default '1s' */
  openDuration?: Duration
}

/** Cross-instance L1 coherence (see `GenericRedisCacheOptions.coherence`). */
export interface CoherenceOptions {
  /**
   * The bound: no L1 here returns a value more than this long after a write that replaced it
   * resolved, anywhere. L1 hits are served only while this instance has proof (a barrier answered
   * on the invalidation connection) that it has applied every invalidation up to this long ago;
   * a barrier goes out every fifth of it. Smaller costs more barriers; at least 20ms.
   * @default '100ms'
   */
  maxStaleness?: Duration
  /**
   * While Redis cannot be reached at all (both connections down, or the data connection's
   * circuit open while the invalidation connection is down): `'serve'` lets L1 keep answering,
   * as the rest of the cache does when Redis is down, which is the one exception to the bound;
   * `'bypass'` refuses L1 hits until the instance is verified again (reads become misses and
   * loads). In both, L1 is emptied before it serves again after any loss.
   * @default 'serve'
   */
  offline?: 'serve' | 'bypass'
}

/** Options of `GenericRedisCache`. */
export interface GenericRedisCacheOptions extends BaseCacheOptions {
  /**
   * Redis URL (`redis://`, `rediss://` for TLS), with credentials and database if needed.
   * @default process.env.REDIS_URL, else 'redis://127.0.0.1:6379'
   */
  redisUrl?: string
  /** Connection details on top of `redisUrl`: socket (host, port, TLS), credentials, timeouts. */
  redis?: RedisConnectionOptions
  /**
   * AUTH, TLS from certificate files and an ACL user, in the original design's terms (see
   * `SecurityConfig`). Resolved into the same connection settings as `redisUrl` and `redis`, for
   * one server, Sentinel and Cluster alike; a setting also given there (a password in the URL,
   * TLS options in `redis.socket.tls`) is refused with `E_INVALID_OPTIONS`. Certificate files
   * are read once, at construction.
   * @default none: the URL and `redis` alone
   * @example { aclUsername: 'app', aclPassword: process.env.REDIS_PASSWORD, useTls: true, tlsCaPath: '/etc/redis-tls/ca.pem' }
   */
  security?: SecurityConfig
  /**
   * Find the master through Redis Sentinel instead of a fixed host: the cache asks the sentinels
   * which node is the master, and every connection follows it through failovers. Credentials,
   * database, TLS and timeouts of the data nodes still come from `redisUrl` and `redis` (whose
   * host and port are then unused).
   * @default none: connect to the URL's host
   * @example { name: 'mymaster', sentinels: [{ host: '10.0.0.1', port: 26379 }, { host: '10.0.0.2', port: 26379 }] }
   */
  sentinel?: SentinelOptions
  /**
   * A Redis Cluster: some of its nodes (the rest is discovered). Every feature works unchanged;
   * batches are split per hash slot, scans and clears visit every master. Credentials, TLS and
   * timeouts for every node come from `redisUrl` and `redis` (whose host and port are unused).
   * @default none: one Redis server
   * @example { rootNodes: [{ host: '10.0.0.1', port: 7000 }, { host: '10.0.0.2', port: 7000 }] }
   */
  cluster?: ClusterOptions
  /**
   * An existing `@redis/client` client to use instead of opening a connection. The cache never
   * closes it (`disconnect()` leaves it open) and never replaces it; its own settings then
   * decide how it reconnects, so prefer `disableOfflineQueue: true` on it. Each cache call still
   * has its deadline. `redisUrl` and `redis` are ignored for the data connection.
   * @default none: the cache opens its own connection on first use
   */
  client?: ExternalRedisClient
  /** The in-process L1 tier in front of Redis; `false` turns it off. @default { maxEntries: 10_000 } */
  l1?: L1Options | false
  /**
   * Keeps this instance's L1 coherent with every other instance and every other writer of the
   * namespace, through Redis server-assisted tracking on one extra connection: once a write
   * anywhere has resolved, L1 here stops returning the previous value within `maxStaleness`.
   * `false` turns it off (each L1 then serves its copy until the entry expires). Ignored
   * without L1.
   * @default { maxStaleness: '100ms', offline: 'serve' }
   */
  coherence?: CoherenceOptions | false
  /**
   * Deflate compression of large values: `true` or `{ threshold, level }` turns it on. It trades
   * CPU for Redis memory and bandwidth. Measured with `npm run bench` on a local Redis (1 KB
   * objects, 64 reads in flight): 0.30x the ops/s of a raw client with deflate on, 0.81x with it
   * off, for about 25% less memory per entry. Turn it on when Redis memory or network is the
   * bottleneck, not CPU.
   * @default false
   */
  compression?: CompressionOptions | boolean
  /**
   * How values become bytes. `msgpack` keeps Date, Map, Set, BigInt, Buffer and Uint8Array
   * types; `json` is readable by other languages but loses them.
   * @default 'msgpack'
   */
  serializer?: 'msgpack' | 'json' | Serializer
  /**
   * Encryption at rest: every value is encrypted with AES-256-GCM after serialization and
   * compression, bound to its namespace, key and format version. `current` encrypts, every
   * listed key decrypts; an entry under an unlisted key id (`E_UNKNOWN_KEY_ID`) or one that fails
   * authentication (`E_DECRYPT_FAILED`, also for unencrypted entries) is a miss, a `cache:error`
   * event and a deleted key. Keys never appear in errors, events, stats or `util.inspect`.
   * @default none: values are stored in clear
   * @example { keys: { 1: process.env.CACHE_KEY_1, 2: process.env.CACHE_KEY_2 }, current: 2 }
   */
  encryption?: EncryptionOptions
  /**
   * Deadline of each L2 command: one duration for both, or `{ read, write }` (writes include
   * deletes, invalidations and locks). Past it, a read is a miss and a write is skipped; the
   * failure counts towards the circuit breaker. Chosen from `npm run bench` on a local Redis:
   * p99 was about 5 ms for 1 KB reads at 64 in flight and about 55 ms for 200 KB writes at 8
   * in flight, so the defaults leave roughly 5–50× headroom for a remote or busy Redis while
   * still capping what a dead or frozen one can cost a request.
   * @default { read: '250ms', write: '500ms' }
   */
  l2Timeout?: Duration | { read?: Duration; write?: Duration }
  /** How long `connect()` waits before resolving `false`. @default '2s' */
  connectTimeout?: Duration
  /** L2 circuit breaker. */
  circuitBreaker?: CircuitBreakerOptions
  /**
   * When true, L2 failures are reported through `cache:error` and answered as misses (reads)
   * or skipped (writes), and the cache keeps serving from L1 and loaders. When false, the
   * caller receives `E_L2_UNAVAILABLE`.
   * @default true
   */
  suppressL2Errors?: boolean
}

/** A client created with `createClient()` from `@redis/client`. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- any module/function/script set is accepted
export type ExternalRedisClient = RedisClientType<any, any, any, any, any>

/** Defaults, in one place. */
export const DEFAULTS = Object.freeze({
  namespace: 'strata',
  defaultTtl: '1h',
  maxValueBytes: 8 * 1024 * 1024,
  l1MaxEntries: 10_000,
  compressionThreshold: 1024,
  compressionLevel: 1,
  l2Timeout: { read: '250ms', write: '500ms' },
  connectTimeout: '2s',
  breakerFailureThreshold: 5,
  breakerOpenDuration: '1s',
  redisUrl: 'redis://127.0.0.1:6379',
  maxStaleness: '100ms',
  offline: 'serve',
})
