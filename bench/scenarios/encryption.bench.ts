/**
 * Encryption at rest: 1 KB get and set with L1 off at 64 in flight, strata with
 * `encryption: { keys: { 1: key }, current: 1 }` (AES-256-GCM, associated data, random IV per
 * write) beside the same cache without it. Both with the defaults otherwise (msgpack, no
 * compression), 64 keys for reads and 1,000 for writes.
 *
 * Target (security issue): encryption on / off >= 0.85 for get and for set.
 */
import { deepStrictEqual } from 'node:assert/strict'
import { createHash } from 'node:crypto'

import { strataKey, strataL2Failures, strataRedis } from '../contenders.js'
import { type BenchCase, type Scenario, check, countMisses, payload, rate, runCases } from '../helpers.js'

const READ_KEYS = 64
const WRITE_KEYS = 1000
const readKey = (i: number): string => `enc1kb:${i % READ_KEYS}`
const writeKey = (i: number): string => `encset1kb:${i % WRITE_KEYS}`
/** A fixed bench key (never a real one): the same bytes on every run. */
const KEY = createHash('sha256').update('strata-cache bench key').digest()

export const scenario: Scenario = {
  name: 'encryption',
  title: 'encryption at rest on vs off, 1 KB get and set, L1 off, 64 in flight',
  async run({ redis, config }) {
    const value = payload('1KB')
    const plain = await strataRedis(redis, 'encoff', { l1: false })
    const sealed = await strataRedis(redis, 'encon', { l1: false, encryption: { keys: { 1: KEY }, current: 1 } })
    const contenders = [
      ['strata, encryption off', plain],
      ['strata, encryption on (AES-256-GCM)', sealed],
    ] as const
    try {
      const concurrency = 64
      const cases: BenchCase[] = []
      for (const [contender, cache] of contenders) {
        const prepare = async (): Promise<void> => {
          for (let i = 0; i < READ_KEYS; i++) await cache.set(readKey(i), value)
          deepStrictEqual(await cache.get(readKey(0)), value, `${contender} did not read back the value`)
        }
        const counted = countMisses((i) => cache.get(readKey(i)))
        cases.push({ workload: 'L2 get 1KB (L1 off)', contender, concurrency, prepare, op: { async: counted.op }, failures: counted.misses })
      }
      for (const [contender, cache] of contenders) {
        cases.push({ workload: 'set 1KB (L1 off)', contender, concurrency, op: { async: (i) => cache.set(writeKey(i), value) }, failures: strataL2Failures(cache) })
      }
      const results = await runCases(this.name, cases, config)
      const ratio = (workload: string): number =>
        rate(results, workload, 'strata, encryption on (AES-256-GCM)', concurrency) / rate(results, workload, 'strata, encryption off', concurrency)
      const checks = [
        check(this.name, 'get 1 KB, encryption on >= 0.85x off (64 in flight)', 'on / off, L2 get', ratio('L2 get 1KB (L1 off)'), '>=', 0.85),
        check(this.name, 'set 1 KB, encryption on >= 0.85x off (64 in flight)', 'on / off, set', ratio('set 1KB (L1 off)'), '>=', 0.85),
      ]
      const sizes = { off: await redis.strlen(strataKey('encoff', readKey(0))), on: await redis.strlen(strataKey('encon', readKey(0))) }
      const notes = [`bytes stored in Redis per 1KB value: encryption off ${sizes.off}, on ${sizes.on} (12-byte IV and 16-byte tag)`]
      return { cases: results, checks, notes, extra: { storedBytes: sizes } }
    } finally {
      await plain.disconnect()
      await sealed.disconnect()
    }
  },
}
