/**
 * The Redis the bench runs against, and factories for every contender: strata (public API
 * only), raw `@redis/client` + msgpack, bare `lru-cache`, bentocache and cacheable.
 *
 * Every key the bench writes starts with {@link KEY_PREFIX}; cleanup deletes only those keys, so
 * an external `REDIS_URL` is never flushed.
 */
import { performance } from 'node:perf_hooks'

import { createClient, RESP_TYPES } from '@redis/client'
import { BentoCache, bentostore } from 'bentocache'
import { memoryDriver } from 'bentocache/drivers/memory'
import { redisBusDriver, redisDriver } from 'bentocache/drivers/redis'
import { Cacheable, createKeyv as createMemoryKeyv } from 'cacheable'
import { createKeyv as createRedisKeyv } from '@keyv/redis'
import { Redis as IORedis } from 'ioredis'
import { LRUCache } from 'lru-cache'
import { Packr } from 'msgpackr'

import { GenericRedisCache, type GenericRedisCacheOptions, InMemoryCache } from '../src/index.js'
import { startRedis } from '../tests/helpers/redis-server.js'
import { STRATA_MSGPACK_OPTIONS } from './helpers.js'

/** Prefix of every key any contender writes. */
export const KEY_PREFIX = 'sbench'
/** Time to live every contender uses for its writes (strata's default). */
export const TTL_MS = 60 * 60 * 1000
/** L1 bound every contender uses. */
export const L1_MAX_ITEMS = 10_000

// ---------------------------------------------------------------------------------------------
// Redis
// ---------------------------------------------------------------------------------------------

export interface RedisTarget {
  readonly url: string
  readonly host: string
  readonly port: number
  /** `private redis-server 7.0.15 on 127.0.0.1:PORT (same host)` or `REDIS_URL (host)`. */
  readonly description: string
  readonly version: string
  /** Deletes the bench's keys (all prefixes), then stops a private server. */
  close(): Promise<void>
  /** Deletes every key starting with {@link KEY_PREFIX} (SCAN + UNLINK); resolves how many. */
  cleanup(): Promise<number>
  /** STRLEN of a key, to show what each contender stores. */
  strlen(key: string): Promise<number>
  /** Keys starting with {@link KEY_PREFIX}, for a sanity check of the prefixes. */
  benchKeys(): Promise<string[]>
}

/** `REDIS_URL` when set, else a private `redis-server` on a free port, stopped by `close()`. */
export async function openRedis(): Promise<RedisTarget> {
  const external = process.env.REDIS_URL
  const server = external ? undefined : await startRedis()
  const url = external ?? server?.url ?? ''
  const parsed = new URL(url)
  const admin = createClient({ url })
  admin.on('error', () => undefined)
  await admin.connect()
  const info = await admin.info('server')
  const version = /redis_version:(\S+)/.exec(info)?.[1] ?? 'unknown'
  const host = parsed.hostname
  const port = Number(parsed.port || 6379)
  const where = host === '127.0.0.1' || host === 'localhost' || host === '::1' ? 'same host' : 'remote host'
  const description = server
    ? `private redis-server ${version} on 127.0.0.1:${port} (same host, started by the bench)`
    : `REDIS_URL, Redis ${version} on ${host}:${port} (${where})`

  const scanAll = async (): Promise<string[]> => {
    const keys: string[] = []
    for await (const batch of admin.scanIterator({ MATCH: `${KEY_PREFIX}*`, COUNT: 1000 })) keys.push(...batch)
    return keys
  }
  const cleanup = async (): Promise<number> => {
    const keys = await scanAll()
    let removed = 0
    for (let i = 0; i < keys.length; i += 500) removed += await admin.unlink(keys.slice(i, i + 500))
    return removed
  }
  return {
    url,
    host,
    port,
    description,
    version,
    cleanup,
    benchKeys: scanAll,
    strlen: (key) => admin.strLen(key),
    async close() {
      await cleanup().catch(() => 0)
      await admin.close()
      await server?.stop()
    },
  }
}

// ---------------------------------------------------------------------------------------------
// Contenders
// ---------------------------------------------------------------------------------------------

/** strata's in-process cache, defaults except the bound. */
export function strataMemory(): InMemoryCache {
  return new InMemoryCache({ namespace: `${KEY_PREFIX}_mem`, maxEntries: L1_MAX_ITEMS })
}

/**
 * strata's Redis cache with its defaults (msgpack, no compression, 250 ms / 500 ms deadlines). `name`
 * makes the namespace unique per configuration, so configurations never read each other's keys.
 */
export async function strataRedis(
  redis: RedisTarget,
  name: string,
  options: Omit<GenericRedisCacheOptions, 'redisUrl' | 'namespace'> = {},
): Promise<GenericRedisCache> {
  const cache = new GenericRedisCache({
    redisUrl: redis.url,
    namespace: `${KEY_PREFIX}_strata_${name}`,
    l1: { maxEntries: L1_MAX_ITEMS },
    ...options,
  })
  if (!(await cache.connect())) throw new Error(`strata GenericRedisCache (${name}) could not connect to ${redis.url}`)
  return cache
}

/**
 * Waits until the cache's cross-instance coherence is `verified` (L1 hits allowed); resolves how
 * long that took in ms. Throws after `timeoutMs`: a bench of L1 hits on an unverified cache would
 * measure Redis reads.
 */
export async function strataVerified(cache: GenericRedisCache, timeoutMs = 2000): Promise<number> {
  const started = performance.now()
  for (;;) {
    const state = cache.getStats().coherence?.state
    if (state === 'verified') return performance.now() - started
    if (performance.now() - started > timeoutMs) throw new Error(`strata coherence still '${state ?? 'none'}' after ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 1))
  }
}

/**
 * L2 calls strata answered without Redis: errors and missed deadlines, plus calls skipped while
 * the circuit breaker was open. With the default `suppressL2Errors`, these are silent misses
 * and skipped writes, so the bench counts them as failures.
 */
export function strataL2Failures(cache: GenericRedisCache): () => number {
  return () => {
    const l2 = cache.getStats().l2
    return (l2?.errors ?? 0) + (l2?.skipped ?? 0)
  }
}

/** The Redis key strata uses for `key` in the cache built by `strataRedis(redis, name)`. */
export function strataKey(name: string, key: string): string {
  return `${KEY_PREFIX}_strata_${name}:${key}`
}

/**
 * What a user would write by hand with `@redis/client`: Buffers in and out (type mapping, as
 * strata's RedisStore does), msgpack with strata's exact msgpackr options, no envelope, no
 * compression, no deadline. The client gets strata's per-command setting `commandOptions:
 * { timeout: 0 }`: @redis/client 6 otherwise arms an `AbortSignal.timeout(5000)` per command,
 * which cut raw 1 KB GET throughput about in half on the bench machine, and strata should be compared to the fastest raw client.
 */
export interface RawClient {
  get(key: string): Promise<unknown>
  set(key: string, value: unknown): Promise<void>
  close(): Promise<void>
}

export const RAW_PREFIX = `${KEY_PREFIX}_raw:`

/** `prefix`: where its keys go (default {@link RAW_PREFIX}); another cache's namespace puts them under that cache's tracking. */
export async function rawRedis(redis: RedisTarget, prefix = RAW_PREFIX): Promise<RawClient> {
  const base = createClient({ url: redis.url, commandOptions: { timeout: 0 } })
  base.on('error', () => undefined)
  await base.connect()
  const client = base.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
  const packr = new Packr(STRATA_MSGPACK_OPTIONS)
  const unpackr = new Packr(STRATA_MSGPACK_OPTIONS)
  return {
    async get(key) {
      const bytes = await client.get(prefix + key)
      return bytes === null ? undefined : (unpackr.unpack(bytes) as unknown)
    },
    async set(key, value) {
      // pack() returns a view that later pack() calls never overwrite (msgpackr moves on or
      // allocates a new buffer), so it can be handed to the client as is.
      await client.set(prefix + key, packr.pack(value), { expiration: { type: 'PX', value: TTL_MS } })
    },
    close: () => base.close(),
  }
}

/** A bare `lru-cache`, as a floor for L1 hits. */
export function bareLru(): LRUCache<string, object> {
  return new LRUCache<string, object>({ max: L1_MAX_ITEMS })
}

export type Bento = BentoCache<Record<'tiered' | 'l2only', ReturnType<typeof bentostore>>>

/**
 * bentocache with two stores on one ioredis connection: `tiered` (memory L1 + redis L2) and
 * `l2only` (redis only). The memory driver uses `serialize: false`, so its L1
 * keeps values by reference as strata's does (its default re-parses JSON on each hit).
 */
export function bentocache(redis: RedisTarget): { cache: Bento; close(): Promise<void> } {
  const connection = new IORedis(redis.url, { lazyConnect: false, maxRetriesPerRequest: 1 })
  connection.on('error', () => undefined)
  const cache: Bento = new BentoCache({
    default: 'tiered',
    prefix: `${KEY_PREFIX}_bento`,
    ttl: TTL_MS,
    stores: {
      tiered: bentostore()
        .useL1Layer(memoryDriver({ maxItems: L1_MAX_ITEMS, serialize: false }))
        .useL2Layer(redisDriver({ connection })),
      l2only: bentostore().useL2Layer(redisDriver({ connection })),
    },
  })
  return {
    cache,
    async close() {
      await cache.disconnectAll().catch(() => undefined)
      connection.disconnect()
    },
  }
}

export type BentoWithBus = BentoCache<Record<'tiered', ReturnType<typeof bentostore>>>

/**
 * bentocache as a multi-instance deployment runs it: memory L1 + redis L2 on its own ioredis
 * connection + the Redis bus (`redisBusDriver`, which duplicates that connection into a publisher
 * and a subscriber), so a write here expires the key in the L1 of every other instance with the
 * same `name`. Each call is one instance.
 *
 * The memory driver keeps its default (`serialize: true`: JSON in L1, parsed on each hit), not
 * `serialize: false` as above: bentocache 1.6.1 refills L1 from L2 with the serialized string
 * even then, and the next L1 read of that key throws `Cannot read properties of undefined
 * (reading 'deserialize')` (Julien-R44/bentocache issue #111, open; fix proposed in PR #113).
 * The single-instance scenarios never refill L1 from L2; here every read after a bus message does.
 */
export function bentocacheWithBus(redis: RedisTarget, name: string): { cache: BentoWithBus; close(): Promise<void> } {
  const connection = new IORedis(redis.url, { lazyConnect: false, maxRetriesPerRequest: 1 })
  connection.on('error', () => undefined)
  const cache: BentoWithBus = new BentoCache({
    default: 'tiered',
    prefix: `${KEY_PREFIX}_bento_${name}`,
    ttl: TTL_MS,
    stores: {
      tiered: bentostore()
        .useL1Layer(memoryDriver({ maxItems: L1_MAX_ITEMS }))
        .useL2Layer(redisDriver({ connection }))
        .useBus(redisBusDriver({ connection })),
    },
  })
  // bentocache builds a store (and subscribes its bus) on first use; start that now. The
  // subscription still completes in the background: a message published before it is lost.
  cache.use()
  return {
    cache,
    async close() {
      await cache.disconnectAll().catch(() => undefined)
      connection.disconnect()
    },
  }
}

/**
 * cacheable: `tiered` = Keyv memory primary + @keyv/redis secondary; `l2only` = @keyv/redis as
 * the only (primary) store. Each has its own @redis/client connection (created by @keyv/redis).
 * The memory primary is cacheable's own default (`createKeyv` of @cacheable/memory: a Keyv with
 * serialization off) with `useClone: false`, so it returns values by reference as strata's L1
 * does. Its default deep-clones each hit (~20 µs for the 1 KB object), and a hand-built
 * `new Keyv(new KeyvCacheableMemory())` also JSON-encodes each entry (~40 µs).
 */
export async function cacheable(redis: RedisTarget): Promise<{ tiered: Cacheable; l2only: Cacheable; close(): Promise<void> }> {
  const tiered = new Cacheable({
    primary: createMemoryKeyv({ lruSize: L1_MAX_ITEMS, useClone: false }),
    secondary: createRedisKeyv(redis.url, { namespace: `${KEY_PREFIX}_cacheable` }),
    ttl: TTL_MS,
  })
  const l2only = new Cacheable({
    primary: createRedisKeyv(redis.url, { namespace: `${KEY_PREFIX}_cacheable_l2` }),
    ttl: TTL_MS,
  })
  // Keyv connects lazily; one round trip each makes the first measured op a normal one.
  await tiered.get(`${KEY_PREFIX}-warm`)
  await l2only.get(`${KEY_PREFIX}-warm`)
  return {
    tiered,
    l2only,
    async close() {
      await tiered.disconnect().catch(() => undefined)
      await l2only.disconnect().catch(() => undefined)
    },
  }
}
