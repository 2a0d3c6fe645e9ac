/**
 * `migrate` and `validateDataConsistency` between strata caches on real servers: memory to
 * Redis, namespace to namespace, standalone to a 3-master cluster with a transform and a dry
 * run, a rate limit; and every kind of mismatch the validator must find.
 */
import { describe, expect, it } from 'vitest'

import { GenericRedisCache, InMemoryCache, migrate, validateDataConsistency } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedisCli, useRedisCluster } from '../../helpers/redis-cluster.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()
const hasCluster = hasRedis && requireRedisCli()

/** Mixed types (msgpack keeps them), TTLs (some none) and tags. */
async function seed(cache: InMemoryCache | GenericRedisCache, count: number): Promise<void> {
  await cache.setMany(
    Array.from({ length: count }, (_, i) => ({
      key: `k:${i}`,
      value: i % 4 === 0 ? { id: i, at: new Date(1_700_000_000_000 + i), tags: new Set([i]) } : i % 4 === 1 ? `text ${i}` : i % 4 === 2 ? BigInt(i) * 10n ** 20n : [i, null, Buffer.from([i % 256])],
      ttl: i % 3 === 0 ? 0 : 60_000 + i * 1000,
      tags: i % 5 === 0 ? ['fifth'] : [],
    })),
  )
}

describe.skipIf(!hasRedis)('migrate and validateDataConsistency on one server', () => {
  const server = useRedisServer()
  const redis = (namespace: string) => new GenericRedisCache({ redisUrl: server.url, namespace, l1: false, suppressL2Errors: false })

  it('copies memory to Redis with values, TTLs and tags, and the copy validates with 0 mismatches', async () => {
    const memory = new InMemoryCache({ maxEntries: 1000 })
    await seed(memory, 200)
    const target = redis(uniqueNamespace('m2r'))
    const result = await migrate(memory, target, { batchSize: 64 })
    expect(result).toMatchObject({ scanned: 200, migrated: 200, skipped: 0, failed: 0, dryRun: false })
    expect(await target.get('k:4')).toEqual({ id: 4, at: new Date(1_700_000_000_004), tags: new Set([4]) })
    expect(await target.getTtl('k:3')).toBe(Infinity)
    // Tags are not readable from an InMemoryCache: the memory source passes none, so check the effect.
    const check = await validateDataConsistency(memory, target)
    expect(check).toMatchObject({ isConsistent: true, keyCountMatch: true, sourceKeyCount: 200, targetKeyCount: 200 })
    await target.clear()
    await target.disconnect()
  })

  it('copies namespace to namespace (tags and codec ids compared through the entry API) and finds 0 mismatches', async () => {
    const from = redis(uniqueNamespace('src'))
    const to = redis(uniqueNamespace('dst'))
    await seed(from, 300)
    const result = await migrate(from, to)
    expect(result).toMatchObject({ scanned: 300, migrated: 300, failed: 0 })
    const check = await validateDataConsistency(from, to)
    expect(check).toMatchObject({ isConsistent: true, comparedMetadata: { tags: true, codec: true } })
    expect(await to.invalidateTags(['fifth'])).toBe(60)
    await Promise.all([from.clear(), to.clear()])
    await Promise.all([from.disconnect(), to.disconnect()])
  })

  it('finds each injected mismatch: missing, extra, value, ttl, tags and codec, with full counts and bounded lists', async () => {
    const from = redis(uniqueNamespace('src'))
    const to = redis(uniqueNamespace('dst'))
    await seed(from, 50)
    await migrate(from, to)
    await to.delete('k:1')
    await to.delete('k:2')
    await to.set('extra', 'not in source')
    await to.set('k:5', 'changed', { ttl: 65_000, tags: ['fifth'] })
    await to.set('k:8', { id: 8, at: new Date(1_700_000_000_008), tags: new Set([8]) }, { ttl: 600_000 })
    await to.set('k:7', [7, null, Buffer.from([7])], { ttl: 67_000, tags: ['other'] })
    const check = await validateDataConsistency(from, to, { maxReported: 1 })
    expect(check.isConsistent).toBe(false)
    expect(check.keyCountMatch).toBe(false)
    expect(check).toMatchObject({ sourceKeyCount: 50, targetKeyCount: 49 })
    expect(check.counts).toEqual({ missingInTarget: 2, extraInTarget: 1, valueMismatches: 1, ttlMismatches: 1, metadataMismatches: 1 })
    expect(check.missingInTarget).toHaveLength(1)
    expect(['k:1', 'k:2']).toContain(check.missingInTarget[0])
    expect(check.extraInTarget).toEqual(['extra'])
    expect(check.valueMismatches).toEqual([{ key: 'k:5', sourceValue: 'text 5', targetValue: 'changed' }])
    expect(check.ttlMismatches[0]).toMatchObject({ key: 'k:8' })
    expect(check.ttlMismatches[0]!.targetTtlMs! - check.ttlMismatches[0]!.sourceTtlMs!).toBeGreaterThan(500_000)
    expect(check.metadataMismatches).toEqual([{ key: 'k:7', field: 'tags', source: [], target: ['other'] }])
    // A tolerance wider than the TTL gap accepts it.
    const lenient = await validateDataConsistency(from, to, { ttlTolerance: '10m' })
    expect(lenient.counts.ttlMismatches, JSON.stringify(lenient.ttlMismatches)).toBe(0)
    await Promise.all([from.clear(), to.clear()])
    await Promise.all([from.disconnect(), to.disconnect()])
  })

  it('reports a different serializer as a codec mismatch', async () => {
    const namespace = uniqueNamespace('codec')
    const msgpack = redis(namespace)
    const viaJson = new GenericRedisCache({ redisUrl: server.url, namespace: uniqueNamespace('codec'), l1: false, serializer: 'json' })
    await msgpack.set('a', { x: 1 })
    await migrate(msgpack, viaJson)
    const check = await validateDataConsistency(msgpack, viaJson)
    expect(check.metadataMismatches).toEqual([{ key: 'a', field: 'serializerId', source: 1, target: 2 }])
    expect(check.counts.valueMismatches).toBe(0)
    await Promise.all([msgpack.clear(), viaJson.clear()])
    await Promise.all([msgpack.disconnect(), viaJson.disconnect()])
  })

  it('throttles to the rate: 30 entries at 10/s take at least 2 s', async () => {
    const memory = new InMemoryCache()
    await seed(memory, 30)
    const target = redis(uniqueNamespace('rate'))
    const startedAt = performance.now()
    const result = await migrate(memory, target, { rate: 10 })
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(1950)
    expect(result.migrated).toBe(30)
    await target.clear()
    await target.disconnect()
  })

  it('keeps existing entries with overwrite: false, and rejects bad options before reading', async () => {
    const memory = new InMemoryCache()
    await seed(memory, 10)
    const target = redis(uniqueNamespace('keep'))
    await target.set('k:1', 'newer')
    const result = await migrate(memory, target, { overwrite: false })
    expect(result).toMatchObject({ migrated: 9, skipped: 1 })
    expect(await target.get('k:1')).toBe('newer')
    await expect(migrate(memory, target, { batchSize: 0, rate: -1 })).rejects.toMatchObject({ code: 'E_INVALID_OPTIONS', issues: [{ path: 'batchSize' }, { path: 'rate' }] })
    await expect(validateDataConsistency(memory, target, { ttlTolerance: 'soon' as never })).rejects.toMatchObject({ code: 'E_INVALID_OPTIONS' })
    await target.clear()
    await target.disconnect()
  })
})

describe.skipIf(!hasCluster)('migrate from one server to a Redis Cluster', () => {
  const server = useRedisServer()
  const cluster = useRedisCluster({ masters: 3 })

  it('dry-runs (nothing written), then copies with a transform that renames, changes and skips entries; the result validates', async () => {
    const namespace = uniqueNamespace('sc')
    const from = new GenericRedisCache({ redisUrl: server.url, namespace, l1: false })
    const to = new GenericRedisCache({ cluster: { rootNodes: cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })) }, namespace, l1: false, suppressL2Errors: false })
    await seed(from, 120)
    const transform = (entry: { key: string; value: unknown; ttlMs: number | undefined; tags?: readonly string[] | undefined }) =>
      entry.key.endsWith('7') ? undefined : entry.key === 'k:1' ? { ...entry, key: 'renamed:1', value: 'transformed' } : entry
    const dry = await migrate(from, to, { transform, dryRun: true })
    expect(dry).toMatchObject({ scanned: 120, migrated: 108, skipped: 12, failed: 0, dryRun: true })
    expect(await to.getKeys('*')).toEqual([])
    const result = await migrate(from, to, { transform, batchSize: 50 })
    expect(result).toMatchObject({ scanned: 120, migrated: 108, skipped: 12, failed: 0, dryRun: false })
    expect(await to.get('renamed:1')).toBe('transformed')
    expect(await to.get('k:1')).toBeUndefined()
    expect(await to.get('k:17')).toBeUndefined()
    expect(await to.get('k:8')).toEqual(await from.get('k:8'))
    // Every master holds a share of the keys.
    const check = await validateDataConsistency(from, to)
    expect(check.counts).toEqual({ missingInTarget: 13, extraInTarget: 1, valueMismatches: 0, ttlMismatches: 0, metadataMismatches: 0 })
    expect(check.extraInTarget).toEqual(['renamed:1'])
    await Promise.all([from.clear(), to.clear()])
    await Promise.all([from.disconnect(), to.disconnect()])
  })
})
