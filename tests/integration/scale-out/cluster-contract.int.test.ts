/**
 * The cache contract on a Redis Cluster of 3 masters: given a few nodes of the cluster
 * (`cluster: { rootNodes }`), the cache routes every key to the shard that owns its slot and
 * behaves exactly as on a standalone server, with and without L1: batches, globs, tags, clear,
 * namespaces and single-flight included; and no command of the whole file met a CROSSSLOT error.
 */
import { describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/index.js'
import { registerCacheContract } from '../../contracts/cache-contract.js'
import { crossSlotErrors, requireRedisCli, useRedisCluster } from '../../helpers/redis-cluster.js'
import { requireRedis } from '../../helpers/redis-server.js'

const hasRedis = requireRedis() && requireRedisCli()

describe.skipIf(!hasRedis)('GenericRedisCache on a Redis Cluster', () => {
  const cluster = useRedisCluster({ masters: 3, replicasPerMaster: 0 })

  for (const l1 of [{ maxEntries: 1000 }, false] as const) {
    registerCacheContract(`GenericRedisCache via Redis Cluster (L1 ${l1 ? 'on' : 'off'})`, {
      sharedBackend: true,
      make: async ({ namespace, clock }) => {
        const rootNodes = cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }))
        const cache = new GenericRedisCache({ cluster: { rootNodes }, namespace, clock, l1 })
        if (!(await cache.connect())) throw new Error('the Redis Cluster did not answer')
        return cache
      },
    })
  }

  // Runs last: a multi-key command across slots fails silently in the contract (L2 errors are
  // suppressed and show as misses), so each node's error counters say whether one happened.
  it('met no CROSSSLOT error on any node during this file', async () => {
    const stats = await crossSlotErrors(cluster.nodes)
    expect(stats.filter(({ crossSlot }) => crossSlot > 0)).toEqual([])
  })
})
