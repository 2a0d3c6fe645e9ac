/**
 * Credentials reach every node of a cluster, not only the root nodes: with the default user
 * turned off on every node, a cache given an ACL user in `redisUrl` and a single root node reads
 * and writes keys of every master, and a cache without credentials is refused with the reason.
 */
import { describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { redisCommand, requireRedisCli, useRedisCluster } from '../../helpers/redis-cluster.js'
import { requireRedis } from '../../helpers/redis-server.js'

const hasRedis = requireRedis() && requireRedisCli()

describe.skipIf(!hasRedis)('a Redis Cluster with ACL users', () => {
  const cluster = useRedisCluster({ masters: 3 })

  it('passes the URL\'s credentials to every node it discovers, and names the refusal without them', { timeout: 30_000 }, async () => {
    // Last in this file: the helper's own checks use the default user, which is turned off here.
    for (const node of cluster.nodes) {
      await redisCommand(node.port, ['ACL', 'SETUSER', 'app', 'on', '>s3cret', '~*', '&*', '+@all'])
    }
    const namespace = uniqueNamespace('acl')
    const keys = Array.from({ length: 60 }, (_, i) => `k${i}`)
    const slots = await Promise.all(keys.map(async (key) => Number(await redisCommand(cluster.nodes[0]!.port, ['CLUSTER', 'KEYSLOT', `${namespace}:${key}`]))))
    for (const node of cluster.nodes) await redisCommand(node.port, ['ACL', 'SETUSER', 'default', 'off'])
    const rootNodes = [{ host: '127.0.0.1', port: cluster.nodes[0]!.port }]
    const cache = new GenericRedisCache({ cluster: { rootNodes }, redisUrl: 'redis://app:s3cret@ignored', namespace, l1: false })
    const anonymous = new GenericRedisCache({ cluster: { rootNodes }, namespace, l1: false, connectTimeout: 1000 })
    try {
      expect(await cache.connect()).toBe(true)
      await cache.setMany(keys.map((key, i) => ({ key, value: i })))
      expect(await cache.getMany(keys)).toEqual(keys.map((_, i) => i))
      expect(cache.getStats().l2?.errors).toBe(0)
      // 60 keys land on every master (slots from CLUSTER KEYSLOT before the default user went
      // off): reading them all back went through connections to every master, each authenticated.
      expect(new Set(slots.map((slot) => Math.floor(slot / 5462))).size).toBe(3)
      expect(await anonymous.connect()).toBe(false)
      expect(anonymous.getStats().l2?.lastError?.code).toMatch(/NOAUTH|WRONGPASS/)
    } finally {
      await cache.disconnect()
      await anonymous.disconnect()
    }
  })
})
