/**
 * Credentials reach every node of a cluster, not only the root nodes: with the default user
 * turned off on every node, a cache given an ACL user in `redisUrl` and a single root node reads
 * and writes keys of every master, and a cache without credentials is refused with the reason.
 * The documented least-privilege rules for a cluster (`leastPrivilegeRules({ cluster: true })`)
 * are enough for every feature: batches, tags, clear, the lock and coherence, with no refusal in
 * any node's `ACL LOG`.
 */
import { describe, expect, it } from 'vitest'
import { GenericRedisCache, leastPrivilegeRules } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { redisCommand, requireRedisCli, useRedisCluster } from '../../helpers/redis-cluster.js'
import { requireRedis } from '../../helpers/redis-server.js'

const hasRedis = requireRedis() && requireRedisCli()

describe.skipIf(!hasRedis)('a Redis Cluster with ACL users', () => {
  const cluster = useRedisCluster({ masters: 3 })

  it('the least-privilege rules for a cluster are enough: batches, tags, clear, the lock and coherence', { timeout: 30_000 }, async () => {
    const namespace = uniqueNamespace('least')
    const rules = leastPrivilegeRules({ namespace, cluster: true })
    for (const node of cluster.nodes) {
      await redisCommand(node.port, ['ACL', 'SETUSER', 'least', 'reset', 'on', '>l3ast', ...rules])
      await redisCommand(node.port, ['ACL', 'LOG', 'RESET'])
    }
    const rootNodes = [{ host: '127.0.0.1', port: cluster.nodes[0]!.port }]
    const open = () => new GenericRedisCache({ cluster: { rootNodes }, redisUrl: 'redis://least:l3ast@ignored', namespace, suppressL2Errors: false, lock: true, l2Timeout: { read: '2s', write: '5s' } })
    const a = open()
    const b = open()
    try {
      expect(await a.connect()).toBe(true)
      expect(await b.connect()).toBe(true)
      await expect.poll(() => [a.getStats().coherence?.state, b.getStats().coherence?.state], { timeout: 5000 }).toEqual(['verified', 'verified'])
      const keys = Array.from({ length: 60 }, (_, i) => `k${i}`)
      await a.setMany(keys.map((key, i) => ({ key, value: i, tags: [`t${i % 3}`] })))
      expect(await b.getMany(keys)).toEqual(keys.map((_, i) => i))
      expect(await b.getOrSet('loaded', async () => 'v', { tags: ['t0'] })).toBe('v')
      await a.invalidateTags(['t0'])
      await expect.poll(() => b.getMany(['k0', 'k1', 'k3']), { timeout: 2000 }).toEqual([undefined, 1, undefined])
      expect(await a.get('loaded')).toBeUndefined()
      await a.deleteMany(['k1'])
      expect(await b.getKeys('k*')).toHaveLength(keys.length - 21)
      await a.clear()
      expect(await b.getKeys('*')).toEqual([])
      expect(a.getStats().l2?.errors).toBe(0)
      expect(b.getStats().l2?.errors).toBe(0)
      for (const node of cluster.nodes) expect(await redisCommand(node.port, ['ACL', 'LOG']), `ACL LOG of :${node.port}`).toEqual([])
    } finally {
      await a.disconnect()
      await b.disconnect()
    }
  })

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
