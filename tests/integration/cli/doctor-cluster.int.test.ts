/**
 * `strata doctor --cluster` on a 3-master Redis Cluster: given one node's URL, it runs every
 * check on every master, and a setting wrong on one master alone is reported for that master.
 */
import { describe, expect, it } from 'vitest'
import type { DoctorReport } from '../../../src/cli/commands/doctor-report.js'
import { run } from '../../../src/cli/main.js'
import { POSTURE_CHECK_IDS } from '../../../src/index.js'
import { captureIo } from '../../helpers/cli-io.js'
import { redisCommand, requireRedisCli, useRedisCluster } from '../../helpers/redis-cluster.js'
import { requireRedis } from '../../helpers/redis-server.js'

const hasRedis = requireRedis() && requireRedisCli()

describe.skipIf(!hasRedis)('strata doctor --cluster against a real Redis Cluster', () => {
  const cluster = useRedisCluster({ masters: 3, args: ['--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru'] })

  it('checks every master and names the one whose eviction policy is wrong', { timeout: 30_000 }, async () => {
    const odd = cluster.nodes[1]!
    await redisCommand(odd.port, ['CONFIG', 'SET', 'maxmemory-policy', 'noeviction'])
    try {
      const io = captureIo()
      const code = await run(['doctor', '--cluster', '--json', '--url', `redis://127.0.0.1:${cluster.nodes[0]!.port}`], io)
      expect(io.err).toBe('')
      const report = JSON.parse(io.out) as DoctorReport
      expect(code).toBe(2)
      const nodes = [...new Set(report.checks.map((c) => c.node))].sort()
      expect(nodes).toEqual(cluster.nodes.map((node) => `127.0.0.1:${node.port}`).sort())
      expect(report.checks).toHaveLength(3 * POSTURE_CHECK_IDS.length)
      const eviction = report.checks.filter((c) => c.id === 'eviction-policy')
      expect(eviction.filter((c) => c.status === 'fail').map((c) => c.node)).toEqual([`127.0.0.1:${odd.port}`])
      expect(eviction.filter((c) => c.status === 'pass')).toHaveLength(2)
      // The cluster's own commands are part of what the user must be able to run.
      expect(report.checks.filter((c) => c.id === 'required-permissions').every((c) => c.status === 'pass')).toBe(true)
    } finally {
      await redisCommand(odd.port, ['CONFIG', 'SET', 'maxmemory-policy', 'allkeys-lru'])
    }
  })
})
