/**
 * L2 hit with L1 off: a 1 KB object read from Redis and decoded, at 1 and at 64 calls in flight,
 * over 64 keys written beforehand.
 * Contenders: strata GenericRedisCache({ l1: false }) with its defaults (msgpack + deflate at
 * 1 KB), the same with compression off (to show what deflate costs), raw @redis/client GET +
 * msgpack decode with strata's options, bentocache (L2-only store), cacheable (redis only).
 *
 * Target (DESIGN.md, Performance): strata >= 80% of raw @redis/client GET + decode at 64 in flight.
 */
import { deepStrictEqual } from 'node:assert/strict'

import { RAW_PREFIX, bentocache, cacheable, rawRedis, strataKey, strataRedis } from '../contenders.js'
import { type BenchCase, type Scenario, check, countMisses, info, payload, rate, runCases } from '../helpers.js'

const KEYS = 64
const key = (i: number): string => `get1kb:${i % KEYS}`

export const scenario: Scenario = {
  name: 'l2-get',
  title: 'L2 hit with L1 off, 1 KB object, 1 and 64 in flight',
  async run({ redis, config }) {
    const value = payload('1KB')
    const strata = await strataRedis(redis, 'l2get', { l1: false })
    const strataPlain = await strataRedis(redis, 'l2getnc', { l1: false, compression: false })
    const raw = await rawRedis(redis)
    const bento = bentocache(redis)
    const bentoL2 = bento.cache.use('l2only')
    const cable = await cacheable(redis)
    const fill = async (who: string, set: (k: string) => Promise<unknown>, get: (k: string) => Promise<unknown>): Promise<void> => {
      for (let i = 0; i < KEYS; i++) await set(key(i))
      deepStrictEqual(await get(key(0)), value, `${who} did not read back the value`)
    }
    /** One case per concurrency; a fresh miss counter per case. */
    const reader = (
      contender: string,
      get: (k: string) => Promise<unknown>,
      prepare: () => Promise<void>,
      note?: string,
    ): ((workload: string, concurrency: number) => BenchCase) => {
      return (workload, concurrency) => {
        const counted = countMisses((i) => get(key(i)))
        return { workload, contender, concurrency, prepare, op: { async: counted.op }, failures: counted.misses, ...(note ? { note } : {}) }
      }
    }
    try {
      const contenders = [
        reader('strata GenericRedisCache (L1 off)', (k) => strata.get(k), () => fill('strata', (k) => strata.set(k, value), (k) => strata.get(k))),
        reader(
          'strata (L1 off, no compression)',
          (k) => strataPlain.get(k),
          () => fill('strata nc', (k) => strataPlain.set(k, value), (k) => strataPlain.get(k)),
          'informational: strata without deflate',
        ),
        reader('raw @redis/client GET + msgpack', (k) => raw.get(k), () => fill('raw', (k) => raw.set(k, value), (k) => raw.get(k))),
        reader(
          'bentocache L2-only',
          (k) => bentoL2.get({ key: k }),
          () => fill('bentocache', (k) => bentoL2.set({ key: k, value }), (k) => bentoL2.get({ key: k })),
        ),
        reader(
          'cacheable redis-only',
          (k) => cable.l2only.get(k),
          () => fill('cacheable', (k) => cable.l2only.set(k, value), (k) => cable.l2only.get(k)),
        ),
      ]
      const workload = 'L2 get 1KB (L1 off)'
      const cases: BenchCase[] = []
      for (const concurrency of [1, 64]) for (const c of contenders) cases.push(c(workload, concurrency))
      const results = await runCases(this.name, cases, config)
      const strataName = 'strata GenericRedisCache (L1 off)'
      const rawName = 'raw @redis/client GET + msgpack'
      const r = (contender: string, n: number): number => rate(results, workload, contender, n)
      const checks = [
        check(this.name, 'L2 hit >= 80% of raw GET + decode (64 in flight)', `${strataName} / raw, 64 in flight`, r(strataName, 64) / r(rawName, 64), '>=', 0.8),
        info(this.name, 'L2 hit vs raw (1 in flight)', `${strataName} / raw, 1 in flight`, r(strataName, 1) / r(rawName, 1)),
        info(this.name, 'L2 hit vs raw, no compression (64 in flight)', 'strata (L1 off, no compression) / raw, 64', r('strata (L1 off, no compression)', 64) / r(rawName, 64)),
        info(this.name, 'L2 hit vs raw, no compression (1 in flight)', 'strata (L1 off, no compression) / raw, 1', r('strata (L1 off, no compression)', 1) / r(rawName, 1)),
        info(this.name, 'L2 hit vs bentocache (64 in flight)', `${strataName} / bentocache L2-only`, r(strataName, 64) / r('bentocache L2-only', 64)),
        info(this.name, 'L2 hit vs cacheable (64 in flight)', `${strataName} / cacheable redis-only`, r(strataName, 64) / r('cacheable redis-only', 64)),
      ]
      // Bytes each contender keeps in Redis for the same value.
      const sizes = {
        strata: await redis.strlen(strataKey('l2get', key(0))),
        'strata no compression': await redis.strlen(strataKey('l2getnc', key(0))),
        raw: await redis.strlen(RAW_PREFIX + key(0)),
      }
      const stats = strata.getStats().l2
      const notes = [
        `bytes stored in Redis per 1KB value: ${Object.entries(sizes).map(([k, v]) => `${k} ${v}`).join(', ')} (bentocache and cacheable store JSON)`,
        `strata L2 counters after the run: hits ${stats?.hits ?? 0}, misses ${stats?.misses ?? 0}, errors ${stats?.errors ?? 0}, skipped ${stats?.skipped ?? 0}`,
      ]
      return { cases: results, checks, notes, extra: { storedBytes: sizes } }
    } finally {
      await strata.disconnect()
      await strataPlain.disconnect()
      await raw.close()
      await bento.close()
      await cable.close()
    }
  },
}
