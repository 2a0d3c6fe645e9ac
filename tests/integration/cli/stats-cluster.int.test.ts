/**
 * `strata stats --cluster` on a 3-master Redis Cluster: given one node's URL, it counts the
 * namespace's keys on every master and adds the server figures up; without `--cluster` it counts
 * that node only, as the help says.
 */
import { describe, expect, it } from 'vitest'
import type { StatsReport } from '../../../src/cli/commands/stats-report.js'
import { run } from '../../../src/cli/main.js'
import { GenericRedisCache } from '../../../src/index.js'
import { captureIo } from '../../helpers/cli-io.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { redisCommand, requireRedisCli, useRedisCluster } from '../../helpers/redis-cluster.js'
import { requireRedis } from '../../helpers/redis-server.js'

const hasRedis = requireRedis() && requireRedisCli()

async function stats(args: string[]): Promise<StatsReport> {
  const io = captureIo()
  const code = await run(['stats', '--json', ...args], io)
  expect(io.err).toBe('')
  expect(code).toBe(0)
  return JSON.parse(io.out) as StatsReport
}

describe.skipIf(!hasRedis)('strata stats --cluster against a real Redis Cluster', () => {
  const cluster = useRedisCluster({ masters: 3 })

  it('counts every master\'s keys of the namespace and adds up DBSIZE and memory', { timeout: 30_000 }, async () => {
    const rootNodes = cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }))
    const namespace = uniqueNamespace('cstats')
    const cache = new GenericRedisCache({ cluster: { rootNodes }, namespace, l1: false })
    try {
      expect(await cache.connect()).toBe(true)
      await cache.setMany(Array.from({ length: 90 }, (_, i) => ({ key: `k${i}`, value: i, tags: i < 10 ? ['t'] : [] })))
      const url = `redis://127.0.0.1:${cluster.nodes[0]!.port}`
      const all = await stats(['--cluster', '--url', url, '--namespace', namespace])
      expect(all.namespace.keys).toBe(90)
      expect(all.namespace.tagIndexKeys).toBe(1)
      expect(all.namespace.memory.estimatedBytes).toBeGreaterThan(0)
      const sizes = await Promise.all(cluster.nodes.map((node) => redisCommand(node.port, ['DBSIZE'])))
      expect(all.server.databaseKeys).toBe(sizes.reduce((total: number, n) => total + Number(n), 0))
      expect(all.server.scope).toMatch(/3 masters/)
      const io = captureIo()
      expect(await run(['stats', '--cluster', '--url', url, '--namespace', namespace], io)).toBe(0)
      expect(io.out).toMatch(/3 masters/)
      // One node alone holds only its share.
      const one = await stats(['--url', url, '--namespace', namespace])
      expect(one.namespace.keys).toBeGreaterThan(0)
      expect(one.namespace.keys).toBeLessThan(90)
    } finally {
      await cache.disconnect()
    }
  })
})
