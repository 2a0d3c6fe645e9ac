/**
 * Value sizes: L2 get and set with L1 off for 100 B, 10 KB and 200 KB objects, strata (defaults,
 * and without compression for reference) beside raw @redis/client + msgpack. Gets read 64 keys
 * written beforehand; sets cycle over the same 64 keys.
 *
 * 64 in flight for 100 B and 10 KB; 8 for 200 KB, because 64 × 200 KB queue up for longer than
 * strata's default 250 ms deadline on a small machine, and the rows would then measure misses.
 * No target in DESIGN.md: the ratios are for tracking (compression is on by default from 1 KB,
 * which the raw path skips).
 */
import { deepStrictEqual } from 'node:assert/strict'

import { RAW_PREFIX, rawRedis, strataKey, strataL2Failures, strataRedis } from '../contenders.js'
import {
  type BenchCase,
  type PayloadSize,
  type Scenario,
  countMisses,
  info,
  payload,
  rate,
  runCases,
} from '../helpers.js'

const KEYS = 64
const SIZES: ReadonlyArray<{ size: PayloadSize; concurrency: number }> = [
  { size: '100B', concurrency: 64 },
  { size: '10KB', concurrency: 64 },
  { size: '200KB', concurrency: 8 },
]

export const scenario: Scenario = {
  name: 'l2-value-sizes',
  title: 'L2 get and set by value size (100 B, 10 KB at 64 in flight; 200 KB at 8), L1 off',
  async run({ redis, config }) {
    const strata = await strataRedis(redis, 'sizes', { l1: false })
    const strataPlain = await strataRedis(redis, 'sizesnc', { l1: false, compression: false })
    const raw = await rawRedis(redis)
    try {
      const cases: BenchCase[] = []
      const stored: Record<string, Record<string, number>> = {}
      for (const { size, concurrency } of SIZES) {
        const value = payload(size)
        const key = (i: number): string => `size${size}:${i % KEYS}`
        const getW = `L2 get ${size} (L1 off)`
        const setW = `set ${size} (L1 off)`
        const fill = async (who: string, set: (k: string) => Promise<unknown>, get: (k: string) => Promise<unknown>): Promise<void> => {
          for (let i = 0; i < KEYS; i++) await set(key(i))
          deepStrictEqual(await get(key(0)), value, `${who} did not read back the ${size} value`)
        }
        const sGet = countMisses((i) => strata.get(key(i)))
        const ncGet = countMisses((i) => strataPlain.get(key(i)))
        const rawGet = countMisses((i) => raw.get(key(i)))
        cases.push(
          {
            workload: getW,
            contender: 'strata',
            concurrency,
            prepare: () => fill('strata', (k) => strata.set(k, value), (k) => strata.get(k)),
            op: { async: sGet.op },
            failures: sGet.misses,
          },
          {
            workload: getW,
            contender: 'strata (no compression)',
            concurrency,
            note: 'informational',
            prepare: () => fill('strata nc', (k) => strataPlain.set(k, value), (k) => strataPlain.get(k)),
            op: { async: ncGet.op },
            failures: ncGet.misses,
          },
          {
            workload: getW,
            contender: 'raw @redis/client + msgpack',
            concurrency,
            prepare: () => fill('raw', (k) => raw.set(k, value), (k) => raw.get(k)),
            op: { async: rawGet.op },
            failures: rawGet.misses,
          },
          {
            workload: setW,
            contender: 'strata',
            concurrency,
            op: { async: (i) => strata.set(key(i), value) },
            failures: strataL2Failures(strata),
          },
          {
            workload: setW,
            contender: 'strata (no compression)',
            concurrency,
            note: 'informational',
            op: { async: (i) => strataPlain.set(key(i), value) },
            failures: strataL2Failures(strataPlain),
          },
          { workload: setW, contender: 'raw @redis/client + msgpack', concurrency, op: { async: (i) => raw.set(key(i), value) } },
        )
      }
      const results = await runCases(this.name, cases, config)
      const checks = []
      for (const { size } of SIZES) {
        for (const op of ['get', 'set'] as const) {
          const w = op === 'get' ? `L2 get ${size} (L1 off)` : `set ${size} (L1 off)`
          const rawRate = rate(results, w, 'raw @redis/client + msgpack')
          checks.push(info(this.name, `${op} ${size} vs raw`, 'strata / raw', rate(results, w, 'strata') / rawRate))
          checks.push(info(this.name, `${op} ${size} vs raw, no compression`, 'strata (no compression) / raw', rate(results, w, 'strata (no compression)') / rawRate))
        }
        stored[size] = {
          strata: await redis.strlen(strataKey('sizes', `size${size}:0`)),
          'strata no compression': await redis.strlen(strataKey('sizesnc', `size${size}:0`)),
          raw: await redis.strlen(`${RAW_PREFIX}size${size}:0`),
        }
      }
      const failed = strataL2Failures(strata)() + strataL2Failures(strataPlain)()
      const notes = [
        `bytes stored in Redis: ${Object.entries(stored).map(([size, s]) => `${size}: ${Object.entries(s).map(([k, v]) => `${k} ${v}`).join(', ')}`).join('; ')}`,
        `strata L2 calls that failed or were skipped, warm-up included: ${failed}`,
      ]
      return { cases: results, checks, notes, extra: { storedBytes: stored } }
    } finally {
      await strata.disconnect()
      await strataPlain.disconnect()
      await raw.close()
    }
  },
}
