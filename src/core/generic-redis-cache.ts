import type { GenericRedisCacheOptions } from '../options/cache-options.js'
import { type ResolvedRedisCacheOptions, resolveRedisCacheOptions } from '../options/resolve-cache-options.js'
import { Coherence } from '../coherence/coherence.js'
import { ClusterTracking } from '../stores/cluster-tracking.js'
import { RedisClusterStore } from '../stores/redis-cluster-store.js'
import { RedisStore } from '../stores/redis-store.js'
import { RedisTracking, type TrackingListener } from '../stores/redis-tracking.js'
import { InvalidOptionsError } from '../errors.js'
import { type RekeyOptions, type RekeyResult, resolveRekeyOptions } from './rekey.js'
import { RemoteTier, tagStateKey } from './remote-tier.js'
import { TieredCache } from './tiered-cache.js'

/**
 * A Redis-backed cache (`@redis/client`) with an optional in-process L1 in front of it.
 * Reads try L1, then Redis (filling L1 with the entry's remaining TTL); writes go to Redis,
 * then L1. It connects on first use; every Redis call has a deadline and a circuit breaker:
 * when Redis is slow or down, reads are misses, the app keeps running from L1 and loaders,
 * and the client reconnects by itself.
 *
 * @example
 * const cache = new GenericRedisCache({ redisUrl: process.env.REDIS_URL, namespace: 'app' })
 * await cache.getOrSet('user:1', () => db.user(1)) // connects on first use
 */
export class GenericRedisCache extends TieredCache {
  readonly #resolved: ResolvedRedisCacheOptions

  constructor(options: GenericRedisCacheOptions = {}) {
    const resolved = resolveRedisCacheOptions(options)
    const { cluster } = resolved.redis
    const settings = resolved.coherence
    const standalone = cluster === undefined ? new RedisStore(resolved.redis, resolved.client) : undefined
    const sharded = cluster === undefined ? undefined : new RedisClusterStore(resolved.redis, cluster)
    const store = standalone ?? sharded!
    const prefix = `${resolved.namespace}:`
    // The entries, and the tag state: a tag invalidation or a clear elsewhere changes it.
    const stateKey = tagStateKey(resolved.namespace)
    const tracked = [prefix, stateKey]
    const tracking = (listener: TrackingListener) =>
      sharded === undefined
        ? new RedisTracking(standalone!, resolved.redis, resolved.client, tracked, listener)
        : new ClusterTracking(sharded, resolved.redis, tracked, listener)
    super({
      options: resolved,
      suppressL2Errors: resolved.suppressL2Errors,
      remote: (params) => new RemoteTier({ store, options: resolved, ...params }),
      coherence:
        settings === false ? undefined : (hooks) => new Coherence(settings, redisScope(resolved), { prefix, stateKey }, hooks, tracking),
    })
    this.#resolved = resolved
  }

  /**
   * Optional: the cache connects on first use. Resolves `true` once Redis is ready, `false`
   * after `connectTimeout` (it keeps retrying in the background); never rejects.
   */
  override connect(): Promise<boolean> {
    return this.remoteTier?.connect(this.#resolved.connectTimeoutMs) ?? Promise.resolve(false)
  }

  /**
   * Re-encrypts every entry of this namespace that is not under `encryption.current`, so an
   * older key can then be removed (the last step of a key rotation; `strata rekey` runs this).
   * Each entry is rewritten with compare-and-set (a write or delete that came meanwhile wins)
   * and keeps its remaining TTL; other namespaces are never read or written. Entries that cannot
   * be authenticated are counted as `failed` and left for reads to delete. Safe to run again.
   *
   * Rejects with `E_INVALID_OPTIONS` without `encryption` or with bad options, and with
   * `E_L2_UNAVAILABLE` when Redis fails on the way (whatever `suppressL2Errors` says: a partial
   * run must not look complete; entries already rewritten stay rewritten).
   */
  async rekey(options: RekeyOptions = {}): Promise<RekeyResult> {
    const tier = this.remoteTier
    if (this.#resolved.encryption === false || tier === undefined) {
      throw new InvalidOptionsError([{ path: 'encryption', message: 'rekey() re-encrypts under encryption.current: construct the cache with encryption: { keys, current }' }])
    }
    return tier.rekey(resolveRekeyOptions(options))
  }
}

/** Names the Redis server and database a cache uses (an external client's are not known: its identity stands in). */
function redisScope(resolved: ResolvedRedisCacheOptions): string {
  const { client, redis } = resolved
  if (redis.cluster !== undefined) return `cluster:${redis.cluster.nodes.map((node) => `${node.host}:${node.port}`).join(',')}`
  if (redis.sentinel !== undefined) {
    const nodes = redis.sentinel.nodes.map((node) => `${node.host}:${node.port}`).join(',')
    return `sentinel:${redis.sentinel.name}@${nodes}/${redis.database}`
  }
  if (client === undefined) return `${redis.host}:${redis.port}/${redis.database}`
  let id = clientIds.get(client)
  if (id === undefined) clientIds.set(client, (id = ++lastClientId))
  return `client:${id}`
}

const clientIds = new WeakMap<object, number>()
let lastClientId = 0
