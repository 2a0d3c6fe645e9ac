/**
 * A Sentinel failover under load is a non-event for callers: while the master is killed (SIGKILL)
 * under 50 concurrent `getOrSet` loops, every call settles within its deadlines plus a margin,
 * none returns another key's value, graced values are served while Redis (and the source of
 * truth) are away, writes resume
 * by themselves once a replica is promoted, and the scripts (tags, delete marks) and the lock work
 * on the new master.
 */
import { describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { redisCommand } from '../../helpers/redis-cluster.js'
import { requireRedis } from '../../helpers/redis-server.js'
import { useRedisSentinel } from '../../helpers/redis-sentinel.js'

const hasRedis = requireRedis()

const READ_MS = 250
const WRITE_MS = 500
/** A call reads, may load, and writes: two deadlines, plus room for a loaded machine's timers. */
const CALL_BOUND_MS = READ_MS + WRITE_MS + 500
const LOOPS = 50
/** The caches' default `coherence.maxStaleness`. */
const MAX_STALENESS_MS = 100
const KEYS = 200
const SOURCE_DOWN = 'the source is down too'

/** Whether `error` (or one of its causes) is the loader's own failure while the source was down. */
function causedBySource(error: unknown): boolean {
  for (let e = error; e instanceof Error; e = e.cause) if (e.message.includes(SOURCE_DOWN)) return true
  return false
}

describe.skipIf(!hasRedis)('a Sentinel failover under load', () => {
  const set = useRedisSentinel()

  it('settles every call in time, returns no wrong value, serves graced values, and resumes writes on the promoted replica', { timeout: 60_000 }, async () => {
    const sentinel = { name: set.masterName, sentinels: set.sentinelNodes }
    const namespace = uniqueNamespace('sfail')
    const options = { sentinel, namespace, l2Timeout: { read: READ_MS, write: WRITE_MS } }
    const cache = new GenericRedisCache(options)
    const other = new GenericRedisCache(options)
    try {
      expect(await cache.connect()).toBe(true)
      expect(await other.connect()).toBe(true)
      const first = await set.currentMaster()

      let running = true
      let loads = 0
      // The source of truth fails too while the master is away (a shared outage), so expired
      // entries can only be answered from grace. Without that, a loader that keeps working
      // rightly serves fresh values, and whether any graced value shows up depends on timing.
      let sourceDown = false
      // Rejections are counted only while the source works: while it is down, a key whose graced
      // value is gone (L1 is fenced when the invalidation connection drops, Redis is away) has
      // nothing to answer with.
      const stats = { calls: 0, wrong: 0, slow: 0, rejected: 0, rejectedWhileSourceDown: 0, maxMs: 0, stale: 0 }
      const loop = async (): Promise<void> => {
        while (running) {
          const key = `k${Math.floor(Math.random() * KEYS)}`
          const started = performance.now()
          try {
            const load = () => {
              if (sourceDown) throw new Error(SOURCE_DOWN)
              return { key, n: ++loads, at: Date.now() }
            }
            const value = await cache.getOrSet(key, load, { ttl: '150ms', grace: '1m' })
            if (value.key !== key) stats.wrong++
            if (Date.now() - value.at > 150) stats.stale++
          } catch (error) {
            if (causedBySource(error)) stats.rejectedWhileSourceDown++
            else stats.rejected++
          }
          const ms = performance.now() - started
          stats.calls++
          stats.maxMs = Math.max(stats.maxMs, ms)
          if (ms > CALL_BOUND_MS) stats.slow++
          await new Promise((resolve) => setImmediate(resolve))
        }
      }
      const loops = Array.from({ length: LOOPS }, loop)
      await new Promise((resolve) => setTimeout(resolve, 1000))
      const killedAt = performance.now()
      sourceDown = true
      await set.nodeAt(first.port).kill()
      const promoted = await set.waitForFailover(first.port, 20_000)
      const promotedAt = performance.now()
      sourceDown = false

      // Writes resume by themselves: a set lands on the promoted replica.
      let resumedAt = 0
      for (let n = 0; resumedAt === 0 && performance.now() - promotedAt < 10_000; n++) {
        await cache.set('probe', n)
        if ((await redisCommand(promoted.port, ['EXISTS', `${namespace}:probe`])) === 1) resumedAt = performance.now()
        else await new Promise((resolve) => setTimeout(resolve, 50))
      }
      await new Promise((resolve) => setTimeout(resolve, 500))
      running = false
      await Promise.all(loops)

      const summary = { ...stats, failoverMs: Math.round(promotedAt - killedAt), resumedAfterPromotionMs: Math.round(resumedAt - promotedAt) }
      console.log(`[sentinel failover] ${JSON.stringify(summary)}`)
      expect(stats.calls).toBeGreaterThan(1000)
      expect(stats.wrong).toBe(0)
      expect(stats.rejected).toBe(0)
      expect(stats.slow, `calls over ${CALL_BOUND_MS} ms (max ${Math.round(stats.maxMs)} ms)`).toBe(0)
      expect(stats.stale, 'graced values served while the master was away').toBeGreaterThan(0)
      expect(resumedAt, 'writes resumed on the promoted replica').toBeGreaterThan(0)
      expect(resumedAt - promotedAt).toBeLessThan(2_000)

      // The scripts and the lock on the new master: tags, delete marks, a cross-instance lock.
      await cache.set('tagged', 1, { tags: ['t'] })
      expect(await other.get('tagged')).toBe(1)
      await other.invalidateTags(['t'])
      // Another instance's L1 may answer the old value for up to maxStaleness (100 ms by default).
      await new Promise((resolve) => setTimeout(resolve, MAX_STALENESS_MS))
      expect(await cache.get('tagged')).toBeUndefined()
      await cache.set('gone', 1)
      await other.delete('gone')
      // Another instance's L1 may answer the old value for up to maxStaleness (100 ms by default).
      await new Promise((resolve) => setTimeout(resolve, MAX_STALENESS_MS))
      expect(await cache.get('gone')).toBeUndefined()
      let lockedLoads = 0
      const locked = () => new Promise<number>((resolve) => setTimeout(() => resolve(++lockedLoads), 100))
      const results = await Promise.all([cache.getOrSet('locked', locked, { lock: true }), other.getOrSet('locked', locked, { lock: true })])
      expect(results).toEqual([1, 1])
      expect(lockedLoads).toBe(1)
    } finally {
      await cache.disconnect()
      await other.disconnect()
    }
  })
})
