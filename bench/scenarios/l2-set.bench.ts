/**
 * set of a 1 KB object at 64 in flight, over 1,000 keys, every write with a 1 h TTL.
 * Contenders: strata GenericRedisCache with L1 off and on (encode + deflate + SET PX, then the
 * L1 fill), raw @redis/client SET PX + msgpack encode, bentocache tiered, cacheable tiered.
 * Target (engine issue): at least 0.7x raw SET + encode, with L1 off and on.
 */
import { bentocache, cacheable, rawRedis, strataL2Failures, strataRedis } from '../contenders.js'
import { type BenchCase, type Scenario, check, info, payload, rate, runCases } from '../helpers.js'

const KEYS = 1000
const key = (i: number): string => `set1kb:${i % KEYS}`

export const scenario: Scenario = {
  name: 'l2-set',
  title: 'set, 1 KB object, 64 in flight',
  async run({ redis, config }) {
    const value = payload('1KB')
    const strataNoL1 = await strataRedis(redis, 'setnol1', { l1: false })
    const strataL1 = await strataRedis(redis, 'setl1')
    const raw = await rawRedis(redis)
    const bento = bentocache(redis)
    const cable = await cacheable(redis)
    try {
      const workload = 'set 1KB'
      const concurrency = 64
      const cases: BenchCase[] = [
        {
          workload,
          concurrency,
          contender: 'strata GenericRedisCache (L1 off)',
          op: { async: (i) => strataNoL1.set(key(i), value) },
          failures: strataL2Failures(strataNoL1),
        },
        {
          workload,
          concurrency,
          contender: 'strata GenericRedisCache (L1 on)',
          op: { async: (i) => strataL1.set(key(i), value) },
          failures: strataL2Failures(strataL1),
        },
        { workload, concurrency, contender: 'raw @redis/client SET + msgpack', op: { async: (i) => raw.set(key(i), value) } },
        { workload, concurrency, contender: 'bentocache tiered', op: { async: (i) => bento.cache.set({ key: key(i), value }) } },
        { workload, concurrency, contender: 'cacheable tiered', op: { async: (i) => cable.tiered.set(key(i), value) } },
      ]
      const results = await runCases(this.name, cases, config)
      const r = (contender: string): number => rate(results, workload, contender, concurrency)
      const checks = [
        check(this.name, 'set 1 KB >= 0.7x raw SET + encode (L1 off)', 'strata (L1 off) / raw', r('strata GenericRedisCache (L1 off)') / r('raw @redis/client SET + msgpack'), '>=', 0.7),
        check(this.name, 'set 1 KB >= 0.7x raw SET + encode (L1 on)', 'strata (L1 on) / raw', r('strata GenericRedisCache (L1 on)') / r('raw @redis/client SET + msgpack'), '>=', 0.7),
        info(this.name, 'set vs bentocache tiered', 'strata (L1 on) / bentocache tiered', r('strata GenericRedisCache (L1 on)') / r('bentocache tiered')),
        info(this.name, 'set vs cacheable tiered', 'strata (L1 on) / cacheable tiered', r('strata GenericRedisCache (L1 on)') / r('cacheable tiered')),
      ]
      const failed = strataL2Failures(strataNoL1)() + strataL2Failures(strataL1)()
      return {
        cases: results,
        checks,
        notes: [`strata L2 writes that failed or were skipped, warm-up included: ${failed} (with suppressL2Errors they are silent)`],
      }
    } finally {
      await strataNoL1.disconnect()
      await strataL1.disconnect()
      await raw.close()
      await bento.close()
      await cable.close()
    }
  },
}
