/**
 * Backup of a namespace spread over a 3-master cluster holds every master's entries; it restores
 * byte for byte into a cluster and into a standalone server, with TTLs and working tags.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { CacheMigrationManager, GenericRedisCache, type GenericRedisCacheOptions } from '../../../src/index.js'
import { compareSnapshots, rawCluster, type RawRedis, rawRedis, sampleKey, sampleOptions, sampleValue, seed, snapshot } from '../../helpers/backup-data.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedisCli, useRedisCluster } from '../../helpers/redis-cluster.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasCluster = requireRedis() && requireRedisCli()
const COUNT = 30_000

describe.skipIf(!hasCluster)('backup and restore on a 3-master cluster', { timeout: 180_000 }, () => {
  const cluster = useRedisCluster({ masters: 3 })
  const standalone = useRedisServer()
  const dir = mkdtempSync(join(tmpdir(), 'strata-cluster-backup-'))
  const manager = new CacheMigrationManager()
  const namespace = uniqueNamespace('cl')
  const caches: GenericRedisCache[] = []
  let source: Awaited<ReturnType<typeof rawCluster>>
  let single: RawRedis

  const clusterOptions = (): GenericRedisCacheOptions => ({ cluster: { rootNodes: cluster.rootNodes.map(({ url }) => ({ host: '127.0.0.1', port: Number(new URL(url).port) })) } })
  const cacheOf = (where: GenericRedisCacheOptions, ns = namespace): GenericRedisCache => {
    const cache = new GenericRedisCache({ ...where, namespace: ns, l1: false, compression: { threshold: 1024 }, l2Timeout: '2s', suppressL2Errors: false })
    caches.push(cache)
    return cache
  }

  beforeAll(async () => {
    source = await rawCluster(cluster.rootNodes)
    single = await rawRedis(standalone.url)
    await seed(cacheOf(clusterOptions()), 0, COUNT)
  }, 120_000)

  afterAll(async () => {
    for (const cache of caches) await cache.disconnect()
    await source.close()
    await single.close()
    rmSync(dir, { recursive: true, force: true })
  })

  it("holds every master's entries and restores them into another cluster namespace and into a standalone server", async () => {
    const perMaster = await source.keysPerMaster(`${namespace}:*`)
    expect(perMaster).toHaveLength(3)
    for (const count of perMaster) expect(count).toBeGreaterThan(COUNT / 5)
    const startedAt = Date.now()
    const before = await snapshot(source, namespace)
    const file = join(dir, 'cluster.backup')
    const backup = await manager.createBackup(cacheOf(clusterOptions()), file)
    expect(backup).toMatchObject({ entries: COUNT, header: { topology: 'cluster', namespace } })

    // Into a standalone server, same namespace.
    const intoSingle = cacheOf({ redisUrl: standalone.url })
    expect(await manager.restoreBackup(file, intoSingle)).toMatchObject({ restored: COUNT, failed: 0 })
    expect(compareSnapshots(before, await snapshot(single, namespace), Date.now() - startedAt)).toEqual([])

    // Into the cluster, after a clear of the namespace.
    const intoCluster = cacheOf(clusterOptions())
    await intoCluster.clear()
    expect(await manager.restoreBackup(file, intoCluster)).toMatchObject({ restored: COUNT, skippedExisting: 0, failed: 0 })
    expect(compareSnapshots(before, await snapshot(source, namespace), Date.now() - startedAt)).toEqual([])

    for (const cache of [intoSingle, intoCluster]) {
      const sample = Array.from({ length: 500 }, (_, j) => j * 37)
      expect(await cache.getMany(sample.map(sampleKey))).toEqual(sample.map(sampleValue))
      const tagged = Array.from({ length: COUNT }, (_, i) => i).filter((i) => sampleOptions(i).tags.includes('tag3'))
      expect(await cache.invalidateTags(['tag3'])).toBe(tagged.length)
      expect(await cache.get(sampleKey(tagged[0]!))).toBeUndefined()
    }
  })
})
