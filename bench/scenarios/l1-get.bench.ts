/**
 * L1 hit: the same hot key, already cached, read over and over with one call in flight.
 * Contenders: strata InMemoryCache, strata GenericRedisCache (L1 on), bare lru-cache (sync, the
 * floor), lru-cache behind an already-resolved promise (what any async API costs at least),
 * bentocache tiered, cacheable tiered.
 *
 * Targets (DESIGN.md, Performance): within 2x of a bare lru-cache get (ratio >= 0.5), and
 * faster than every peer's L1 hit.
 */
import { deepStrictEqual } from 'node:assert/strict'

import { CachePerformanceMonitor, InMemoryCache } from '../../src/index.js'
import { bareLru, bentocache, cacheable, strataMemory, strataRedis } from '../contenders.js'
import { type BenchCase, type Scenario, check, info, payload, rate, runCases, yieldingEvery } from '../helpers.js'

const KEY = 'hot'
const CALL_OPTIONS = { ttl: '1m', tags: ['users'] } as const
/** Calls timed together: one call is well below the timer's cost. */
const BATCH = 64
/** Every awaited row turns the event loop once per this many calls (see `yieldingEvery`). */
const YIELD_EVERY = 1024

export const scenario: Scenario = {
  name: 'l1-get',
  title: 'L1 hit, 1 KB object, same hot key, 1 in flight',
  async run({ redis, config }) {
    const value = payload('1KB')
    const workload = 'L1 hit 1KB'
    const mem = strataMemory()
    // The same cache with a CachePerformanceMonitor attached and no exporter (issue target: >= 90%).
    const monitor = new CachePerformanceMonitor()
    const monitored = new InMemoryCache({ namespace: 'sbench_mon', maxEntries: 10_000, monitor })
    const tieredStrata = await strataRedis(redis, 'l1get')
    const lru = bareLru()
    const bento = bentocache(redis)
    const cable = await cacheable(redis)
    try {
      const expectHit = async (got: unknown, who: string): Promise<void> => {
        const v = await got
        deepStrictEqual(v, value, `${who} did not return the cached value`)
      }
      const cases: BenchCase[] = [
        {
          workload,
          contender: 'strata InMemoryCache',
          concurrency: 1,
          batch: BATCH,
          prepare: async () => {
            await mem.set(KEY, value)
            await expectHit(mem.get(KEY), 'strata InMemoryCache')
          },
          op: { async: yieldingEvery(YIELD_EVERY, () => mem.get(KEY)) },
        },
        {
          workload,
          contender: 'strata InMemoryCache + monitor',
          concurrency: 1,
          batch: BATCH,
          note: 'CachePerformanceMonitor attached, no exporter',
          prepare: async () => {
            await monitored.set(KEY, value)
            await expectHit(monitored.get(KEY), 'strata InMemoryCache + monitor')
          },
          op: { async: yieldingEvery(YIELD_EVERY, () => monitored.get(KEY)) },
        },
        {
          workload,
          contender: 'strata getOrSet',
          concurrency: 1,
          batch: BATCH,
          note: 'InMemoryCache getOrSet answered from L1, no per-call options',
          op: { async: yieldingEvery(YIELD_EVERY, () => mem.getOrSet(KEY, () => value)) },
        },
        {
          workload,
          contender: 'strata getOrSet + per-call options',
          concurrency: 1,
          batch: BATCH,
          note: "the same with { ttl: '1m', tags: ['users'] } held in a constant",
          op: { async: yieldingEvery(YIELD_EVERY, () => mem.getOrSet(KEY, () => value, CALL_OPTIONS)) },
        },
        {
          workload,
          contender: 'strata getOrSet + literal options',
          concurrency: 1,
          batch: BATCH,
          note: "a new { ttl: '1m', tags: ['users'] } literal on every call (the caller allocates it)",
          op: { async: yieldingEvery(YIELD_EVERY, () => mem.getOrSet(KEY, () => value, { ttl: '1m', tags: ['users'] })) },
        },
        {
          workload,
          contender: 'strata GenericRedisCache (L1)',
          concurrency: 1,
          batch: BATCH,
          prepare: async () => {
            await tieredStrata.set(KEY, value)
            await expectHit(tieredStrata.get(KEY), 'strata GenericRedisCache')
          },
          op: { async: yieldingEvery(YIELD_EVERY, () => tieredStrata.get(KEY)) },
        },
        {
          workload,
          contender: 'lru-cache get (sync)',
          concurrency: 1,
          batch: BATCH,
          prepare: async () => {
            lru.set(KEY, value)
            await expectHit(lru.get(KEY), 'lru-cache')
          },
          op: { sync: () => lru.get(KEY) },
        },
        {
          workload,
          contender: 'lru-cache get + await',
          concurrency: 1,
          batch: BATCH,
          note: 'await Promise.resolve(lru.get(k)): the floor for any async get',
          op: { async: yieldingEvery(YIELD_EVERY, () => Promise.resolve(lru.get(KEY))) },
        },
        {
          workload,
          contender: 'bentocache tiered',
          concurrency: 1,
          batch: BATCH,
          prepare: async () => {
            await bento.cache.set({ key: KEY, value })
            await expectHit(bento.cache.get({ key: KEY }), 'bentocache')
          },
          op: { async: yieldingEvery(YIELD_EVERY, () => bento.cache.get({ key: KEY })) },
        },
        {
          workload,
          contender: 'cacheable tiered',
          concurrency: 1,
          batch: BATCH,
          prepare: async () => {
            await cable.tiered.set(KEY, value)
            await expectHit(cable.tiered.get(KEY), 'cacheable')
          },
          op: { async: yieldingEvery(YIELD_EVERY, () => cable.tiered.get(KEY)) },
        },
      ]
      const results = await runCases(this.name, cases, config)
      const r = (contender: string): number => rate(results, workload, contender)
      const lruSync = r('lru-cache get (sync)')
      const checks = []
      for (const strata of ['strata InMemoryCache', 'strata GenericRedisCache (L1)']) {
        const short = strata.replace('strata ', '')
        // DESIGN.md says "within 2x of a bare lru-cache get". Read literally (a synchronous get),
        // no promise-returning API can meet it: one await costs more than the lookup. Both
        // readings are checked so the table shows which one fails and by how much.
        checks.push(check(this.name, `L1 hit within 2x of lru-cache, strict: sync get (${short})`, `${strata} / lru-cache get (sync)`, r(strata) / lruSync, '>=', 0.5))
        checks.push(check(this.name, `L1 hit within 2x of lru-cache, async API: awaited get (${short})`, `${strata} / lru-cache get + await`, r(strata) / r('lru-cache get + await'), '>=', 0.5))
        for (const peer of ['bentocache tiered', 'cacheable tiered']) {
          checks.push(check(this.name, `L1 hit faster than ${peer} (${short})`, `${strata} / ${peer}`, r(strata) / r(peer), '>', 1))
        }
      }
      for (const strata of ['strata InMemoryCache', 'strata GenericRedisCache (L1)']) {
        checks.push(check(this.name, `L1 hit >= 0.75x an awaited lru-cache get (${strata.replace('strata ', '')})`, `${strata} / lru-cache get + await`, r(strata) / r('lru-cache get + await'), '>=', 0.75))
      }
      checks.push(check(this.name, 'L1 hit with per-call options >= 80% of without (getOrSet)', 'strata getOrSet + per-call options / strata getOrSet', r('strata getOrSet + per-call options') / r('strata getOrSet'), '>=', 0.8))
      checks.push(info(this.name, 'L1 hit with a new options literal per call (getOrSet)', 'strata getOrSet + literal options / strata getOrSet', r('strata getOrSet + literal options') / r('strata getOrSet')))
      checks.push(check(this.name, 'L1 hit with a monitor attached (no exporter) >= 90% of without', 'strata InMemoryCache + monitor / strata InMemoryCache', r('strata InMemoryCache + monitor') / r('strata InMemoryCache'), '>=', 0.9))
      checks.push(info(this.name, 'async floor vs sync lru-cache get', 'lru-cache get + await / lru-cache get (sync)', r('lru-cache get + await') / lruSync))
      const stats = tieredStrata.getStats()
      return {
        cases: results,
        checks,
        notes: [`strata GenericRedisCache (L1) stats after the run: l1 hits ${stats.l1?.hits ?? 0}, l2 hits ${stats.l2?.hits ?? 0}, l2 errors ${stats.l2?.errors ?? 0}`],
      }
    } finally {
      await mem.disconnect()
      await monitored.disconnect()
      await tieredStrata.disconnect()
      await bento.close()
      await cable.close()
    }
  },
}
