/**
 * `strata stats --sentinel <name>` on a Sentinel set: given a sentinel's URL, it reads the master
 * that sentinel names, and an unknown name is a one-line failure (exit 1).
 */
import { describe, expect, it } from 'vitest'
import type { StatsReport } from '../../../src/cli/commands/stats-report.js'
import { run } from '../../../src/cli/main.js'
import { GenericRedisCache } from '../../../src/index.js'
import { captureIo } from '../../helpers/cli-io.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis } from '../../helpers/redis-server.js'
import { useRedisSentinel } from '../../helpers/redis-sentinel.js'

const hasRedis = requireRedis()

describe.skipIf(!hasRedis)('strata stats --sentinel against a real Sentinel set', () => {
  const set = useRedisSentinel()

  it('reads the master the sentinel names, and fails in one line for an unknown name', { timeout: 30_000 }, async () => {
    const namespace = uniqueNamespace('sstats')
    const cache = new GenericRedisCache({ sentinel: { name: set.masterName, sentinels: set.sentinelNodes }, namespace, l1: false })
    try {
      expect(await cache.connect()).toBe(true)
      await cache.setMany(Array.from({ length: 12 }, (_, i) => ({ key: `k${i}`, value: i })))
      const sentinelUrl = `redis://127.0.0.1:${set.sentinelNodes[0]!.port}`
      const io = captureIo()
      expect(await run(['stats', '--json', '--sentinel', set.masterName, '--url', sentinelUrl, '--namespace', namespace], io)).toBe(0)
      const report = JSON.parse(io.out) as StatsReport
      const master = await set.currentMaster()
      expect(report.namespace.keys).toBe(12)
      expect(report.target.url).toContain(`:${master.port}`)
      const unknown = captureIo()
      expect(await run(['stats', '--sentinel', 'nosuchmaster', '--url', sentinelUrl, '--namespace', namespace], unknown)).toBe(1)
      expect(unknown.err).toMatch(/knows no master named nosuchmaster/)
    } finally {
      await cache.disconnect()
    }
  })
})
