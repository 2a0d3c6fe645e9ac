/**
 * On a cluster the namespace's tag state lives on one master, and a load's write checks it after
 * writing (see `RedisClusterStore`). When that master dies between the load's epoch read and the
 * check, the write cannot be checked, so it must not stay: it is removed (compare-and-delete on
 * its own, healthy, master), and the caller still gets the loaded value.
 */
import { describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { redisCommand, requireRedisCli, useRedisCluster } from '../../helpers/redis-cluster.js'
import { requireRedis } from '../../helpers/redis-server.js'

const hasRedis = requireRedis() && requireRedisCli()

describe.skipIf(!hasRedis)('a cluster whose tag-state master dies during a load', () => {
  const cluster = useRedisCluster({ masters: 3 })

  it('removes the write it could not check, and still answers the loaded value', { timeout: 30_000 }, async () => {
    // A namespace whose tag state is on one master, and a key of it on another.
    let namespace = ''
    let stateMaster = cluster.nodes[0]!
    let keyMaster = cluster.nodes[0]!
    for (let i = 0; stateMaster.port === keyMaster.port; i++) {
      namespace = uniqueNamespace(`ts${i}`)
      stateMaster = await cluster.masterForKey(`${namespace}#tags`)
      keyMaster = await cluster.masterForKey(`${namespace}:k`)
    }
    const rootNodes = [{ host: '127.0.0.1', port: keyMaster.port }]
    const cache = new GenericRedisCache({ cluster: { rootNodes }, namespace, l1: false })
    try {
      expect(await cache.connect()).toBe(true)
      const value = await cache.getOrSet('k', async () => {
        await stateMaster.kill()
        return 'loaded'
      })
      expect(value).toBe('loaded')
      // The write went to the healthy master, could not be checked, and was taken back.
      await expect.poll(() => redisCommand(keyMaster.port, ['EXISTS', `${namespace}:k`]), { timeout: 3000 }).toBe(0)
    } finally {
      await cache.disconnect()
    }
  })
})
