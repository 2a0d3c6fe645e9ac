import type { GenericRedisCacheOptions } from '../options/cache-options.js'
import { type ResolvedRedisCacheOptions, resolveRedisCacheOptions } from '../options/resolve-cache-options.js'
import { Coherence } from '../coherence/coherence.js'
import { ClusterTracking } from '../stores/cluster-tracking.js'
import { RedisClusterStore } from '../stores/redis-cluster-store.js'
import { RedisStore } from '../stores/redis-store.js'
import { RedisTracking, type TrackingListener } from '../stores/redis-tracking.js'
import { InvalidOptionsError, L2UnavailableError } from '../errors.js'
import { assertValidKey, assertValidPattern } from '../shared/key.js'
import { type EntryInspection, inspectStoredEntry } from './entry-inspection.js'
import { type ScanKeysOptions, resolveScanBatchSize, scanNamespace } from './key-scan.js'
import { type RekeyOptions, type RekeyResult, resolveRekeyOptions } from './rekey.js'
import { type ExportedEntry, type ExportOptions, exportNamespace, resolveExportOptions } from './entry-export.js'
import { type ImportEntry, type ImportOptions, type ImportResult, assertEntrySource, importInto, resolveImportOptions } from './entry-import.js'
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

  /**
   * Every entry of this namespace as Redis stores it, for backups and other tools: the envelope
   * bytes as they are (compressed or encrypted entries stay so), the absolute expiry of the Redis
   * TTL, the tags and the codec ids. SCANs every master on a cluster; memory stays at one batch.
   * Entries this cache cannot decode (an encryption key it lacks, foreign bytes) are yielded with
   * `decoded: false` and no tags. A key that SCAN returns twice may be yielded twice.
   *
   * Throws `E_INVALID_OPTIONS` for bad options, and `E_L2_UNAVAILABLE` when Redis fails on the
   * way (whatever `suppressL2Errors` says: a partial export must not look complete).
   */
  async *exportEntries(options?: ExportOptions): AsyncGenerator<ExportedEntry, void, undefined> {
    const resolved = resolveExportOptions(options)
    for await (const batch of exportNamespace(this.#tier().exportSource(), resolved)) yield* batch
  }

  /**
   * Writes stored entries (as `exportEntries()` yields them) back, bytes as they are, with a
   * TTL from their absolute expiry (entries already expired are skipped) and into their tag
   * indexes, through the same write path as `set()`. Existing keys are kept unless `overwrite`.
   * Reads the entries as they come, one batch in memory. Running it twice changes nothing.
   * Encrypted entries are bound to their namespace: imported under another one, they cannot be
   * read (reads delete them).
   *
   * Rejects with `E_INVALID_OPTIONS` for bad options, and with `E_L2_UNAVAILABLE` when Redis
   * fails (batches written before stay written).
   */
  async importEntries(entries: Iterable<ImportEntry> | AsyncIterable<ImportEntry>, options?: ImportOptions): Promise<ImportResult> {
    const resolved = resolveImportOptions(options)
    assertEntrySource(entries)
    return importInto(this.#tier().importTarget((keys) => this.forgetLocal(keys)), entries, resolved)
  }

  /** How this cache reaches Redis: one server, a Cluster, or a master named by Sentinel. */
  get topology(): 'standalone' | 'cluster' | 'sentinel' {
    const { redis } = this.#resolved
    if (redis.cluster !== undefined) return 'cluster'
    return redis.sentinel === undefined ? 'standalone' : 'sentinel'
  }

  #tier(): NonNullable<TieredCache['remoteTier']> {
    return this.remoteTier!
  }

  /**
   * Describes one stored entry without going through L1 and without changing anything: its
   * size, physical TTL, envelope header (codec ids, encryption key id) and, when this cache can
   * decode it, its metadata (expiry, grace, tags, fresh/stale/expired) and value. Unlike a read,
   * an entry it cannot decode (encrypted under a key it lacks, corrupt, foreign) is left in place
   * and reported with `decodable: false` and the reason. Resolves `undefined` when the key does
   * not exist. Sends GET and PTTL, each with the read deadline.
   *
   * Rejects with `E_INVALID_KEY` for an invalid key and `E_L2_UNAVAILABLE` when Redis cannot be
   * reached or fails (whatever `suppressL2Errors` says: an inspection must not look like a miss).
   */
  async inspectEntry(key: string): Promise<EntryInspection | undefined> {
    assertValidKey(key)
    const store = await readyStore({ remote: this.remoteTier, resolved: this.#resolved }, 'inspect')
    try {
      return await inspectStoredEntry({ store, options: this.#resolved, timeoutMs: this.#resolved.l2TimeoutMs.read }, key)
    } catch (error) {
      throw new L2UnavailableError('inspect', error)
    }
  }

  /**
   * Keys of this namespace matching a glob (as `getKeys`), streamed one SCAN batch at a time, so
   * a caller can stop after the first N keys of a huge namespace without scanning it all (the
   * scan stops when the loop does). Keys come without the namespace prefix; a key may come
   * twice while Redis resizes its tables. Each SCAN round trip has the read deadline.
   *
   * The iteration rejects with `E_INVALID_KEY` for an invalid pattern, `E_INVALID_OPTIONS` for a
   * bad `batchSize`, and `E_L2_UNAVAILABLE` when Redis cannot be reached or fails on the way.
   *
   * @example
   * for await (const key of cache.scanKeys('user:*')) if (++n > 100) break
   */
  async *scanKeys(pattern: string, options?: ScanKeysOptions): AsyncGenerator<string, void, undefined> {
    assertValidPattern(pattern)
    const batchSize = resolveScanBatchSize(options)
    const store = await readyStore({ remote: this.remoteTier, resolved: this.#resolved }, 'scan')
    try {
      yield* scanNamespace({ store, namespace: this.#resolved.namespace, timeoutMs: this.#resolved.l2TimeoutMs.read }, pattern, batchSize)
    } catch (error) {
      throw error instanceof L2UnavailableError ? error : new L2UnavailableError('scan', error)
    }
  }
}

/**
 * The connected store of a cache's L2 tier, for the inspection methods (which bypass the
 * breaker: they are operator tools, and report a failure instead of answering a miss).
 */
async function readyStore(cache: { remote: RemoteTier | undefined; resolved: ResolvedRedisCacheOptions }, operation: string) {
  const tier = cache.remote
  if (tier === undefined) throw new L2UnavailableError(operation, new Error('this cache has no Redis tier'))
  if (!tier.store.isReady && !(await tier.connect(cache.resolved.connectTimeoutMs))) {
    const why = tier.store.lastError
    throw new L2UnavailableError(operation, new Error(why === undefined ? `not connected within ${cache.resolved.connectTimeoutMs}ms` : `${why.code}: ${why.message}`))
  }
  return tier.store
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
