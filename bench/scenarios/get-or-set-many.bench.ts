/**
 * getOrSetMany of 100 keys of which 50 are missing, beside 100 single getOrSet calls.
 *
 * Target (issue): one loader call and one MGET per getOrSetMany; report its ops/s beside
 * `Promise.all` of 100 getOrSet calls.
 *
 * One op is one batch of 100 fresh keys: 50 already in Redis (written beforehand, never read
 * before) and 50 never seen (missing). Contenders, each on its own GenericRedisCache with L1
 * off (so every batch reads Redis) and with L1 on (10,000 entries):
 * - `cache.getOrSetMany(keys, loadMissing)`: one L1 pass, one MGET, one loader call that
 *   returns a Map for the 50 missing keys, then their writes;
 * - `Promise.all(keys.map((k) => cache.getOrSet(k, loadOne)))`: 100 GETs, 50 loader calls,
 *   50 writes.
 * The 50 "present" keys of a batch are the 50 keys a batch of the same case loaded and wrote
 * earlier (a FIFO of `in flight + 128` batches, primed by a separate writer): each key is read
 * as present exactly once. With L1 on, that lag is more than 12,800 L1 inserts, so the present
 * keys have left the 10,000-entry L1 and are read from Redis (checked: L1 hits per batch).
 * Written entries live 30 s, so the keys the run leaves behind expire on their own.
 *
 * After the timed rounds, a counted run per case reads `INFO commandstats` (MGET, GET, SET
 * calls) before and after, beside the loader calls and the cache's own counters.
 */
import { createClient } from '@redis/client'

import type { GenericRedisCache } from '../../src/index.js'
import { strataRedis } from '../contenders.js'
import {
  type BenchCase,
  type Payload,
  type Scenario,
  type TargetCheck,
  check,
  fmtRatio,
  info,
  payload,
  rate,
  runCases,
  runLoad,
} from '../helpers.js'

const BATCH = 100
const HALF = BATCH / 2
const TTL = '30s'
/** Batches kept ready beyond those in flight; see the header for why 128 with L1 on. */
const POOL_EXTRA = 128
const CONCURRENCY = [1, 8] as const
const MANY = 'strata getOrSetMany'
const SINGLE = `strata ${BATCH} x getOrSet (Promise.all)`
const NAME = 'gosmany'

interface Tally {
  loaderCalls: number
  loadedKeys: number
  /** A key loaded that was not missing in its batch, or an answer that is not the value (undefined). */
  wrong: number
}

interface Contender {
  label: string
  many: boolean
  l1: boolean
  concurrency: number
  workload: string
  cache: GenericRedisCache
  tally: Tally
  op: () => Promise<void>
  prepare: () => Promise<void>
}

export const scenario: Scenario = {
  name: 'get-or-set-many',
  title: `getOrSetMany of ${BATCH} keys (${HALF} missing) vs ${BATCH} getOrSet calls`,
  async run({ redis, config, log }) {
    const value = payload('100B')
    const writer = await strataRedis(redis, NAME, { l1: false })
    const admin = createClient({ url: redis.url })
    admin.on('error', () => undefined)
    await admin.connect()
    const contenders: Contender[] = []
    try {
      for (const l1 of [false, true]) {
        for (const many of [true, false]) {
          for (const concurrency of CONCURRENCY) {
            const tag = `${many ? 'm' : 's'}${l1 ? 1 : 0}c${concurrency}`
            const cache = await strataRedis(redis, NAME, l1 ? {} : { l1: false })
            const tally: Tally = { loaderCalls: 0, loadedKeys: 0, wrong: 0 }
            const ready: string[][] = []
            let next = 0
            const fresh = (): string[] => Array.from({ length: HALF }, () => `${tag}:${next++}`)
            const op = async (): Promise<void> => {
              const present = ready.shift()
              if (present === undefined) throw new Error(`get-or-set-many: no prepared batch left for ${tag}`)
              const missing = fresh()
              const expected = new Set(missing)
              const keys = [...present, ...missing]
              // Loaders check that they are asked for exactly the missing keys of this batch.
              const loadMany = (asked: string[]): Map<string, Payload> => {
                tally.loaderCalls++
                tally.loadedKeys += asked.length
                for (const k of asked) if (!expected.has(k)) tally.wrong++
                return new Map(asked.map((k) => [k, value]))
              }
              const loadOne = ({ key }: { key: string }): Payload => {
                tally.loaderCalls++
                tally.loadedKeys++
                if (!expected.has(key)) tally.wrong++
                return value
              }
              const got = many
                ? await cache.getOrSetMany<Payload>(keys, loadMany, { ttl: TTL })
                : await Promise.all(keys.map((k) => cache.getOrSet<Payload>(k, loadOne, { ttl: TTL })))
              for (let i = 0; i < BATCH; i++) if (got[i]?.id !== value.id || got[i]?.bio !== value.bio) tally.wrong++
              ready.push(missing)
            }
            const prepare = async (): Promise<void> => {
              const batches = concurrency + POOL_EXTRA
              for (let b = 0; b < batches; b += 10) {
                const chunk = Array.from({ length: Math.min(10, batches - b) }, fresh)
                await writer.setMany(chunk.flat().map((key) => ({ key, value, ttl: TTL })))
                ready.push(...chunk)
              }
            }
            contenders.push({
              label: many ? MANY : SINGLE,
              many,
              l1,
              concurrency,
              workload: `${BATCH} keys, ${HALF} missing, 100B (L1 ${l1 ? 'on' : 'off'})`,
              cache,
              tally,
              op,
              prepare,
            })
          }
        }
      }
      const cases: BenchCase[] = contenders.map((c) => ({
        workload: c.workload,
        contender: c.label,
        concurrency: c.concurrency,
        prepare: c.prepare,
        op: { async: c.op },
        failures: () => c.tally.wrong,
        note: 'ops/s = batches of 100 keys per second',
      }))
      const results = await runCases(this.name, cases, config)

      // Counted run: commands per batch from Redis' own counters.
      const commandCalls = async (): Promise<Record<string, number>> => {
        const text = await admin.info('commandstats')
        const calls = (cmd: string): number => Number(new RegExp(`cmdstat_${cmd}:calls=(\\d+)`).exec(text)?.[1] ?? 0)
        return { mget: calls('mget'), get: calls('get'), set: calls('set') }
      }
      const countedOps = config.quick ? 40 : 200
      const counted = []
      for (const c of contenders) {
        const tallyBefore = { ...c.tally }
        const statsBefore = c.cache.getStats()
        const cmdBefore = await commandCalls()
        const r = await runLoad(c.op, { concurrency: c.concurrency, maxOps: countedOps })
        const cmdAfter = await commandCalls()
        const statsAfter = c.cache.getStats()
        const per = (n: number): number => n / r.ops
        counted.push({
          contender: c.label,
          l1: c.l1,
          concurrency: c.concurrency,
          ops: r.ops,
          loaderCalls: per(c.tally.loaderCalls - tallyBefore.loaderCalls),
          loadedKeys: per(c.tally.loadedKeys - tallyBefore.loadedKeys),
          wrong: c.tally.wrong - tallyBefore.wrong,
          mget: per((cmdAfter.mget ?? 0) - (cmdBefore.mget ?? 0)),
          get: per((cmdAfter.get ?? 0) - (cmdBefore.get ?? 0)),
          set: per((cmdAfter.set ?? 0) - (cmdBefore.set ?? 0)),
          l1Hits: per((statsAfter.l1?.hits ?? 0) - (statsBefore.l1?.hits ?? 0)),
          l2Hits: per((statsAfter.l2?.hits ?? 0) - (statsBefore.l2?.hits ?? 0)),
          l2Failed: statsAfter.l2 && statsBefore.l2 ? statsAfter.l2.errors + statsAfter.l2.skipped - statsBefore.l2.errors - statsBefore.l2.skipped : 0,
        })
      }

      const checks: TargetCheck[] = []
      for (const row of counted.filter((r) => r.contender === MANY)) {
        const where = `L1 ${row.l1 ? 'on' : 'off'}, ${row.concurrency} in flight`
        checks.push(
          check(this.name, `getOrSetMany: one loader call per batch (${where})`, `loader calls / batches over ${row.ops} batches`, row.loaderCalls, '==', 1),
          check(this.name, `getOrSetMany: one MGET per batch (${where})`, `INFO commandstats MGET calls / batches over ${row.ops} batches`, row.mget, '==', 1),
        )
      }
      for (const l1 of [false, true]) {
        for (const n of CONCURRENCY) {
          const workload = contenders.find((c) => c.l1 === l1)?.workload ?? ''
          checks.push(
            info(this.name, `getOrSetMany vs ${BATCH} getOrSet (L1 ${l1 ? 'on' : 'off'}, ${n} in flight)`, `${MANY} / ${SINGLE} batches/s`, rate(results, workload, MANY, n) / rate(results, workload, SINGLE, n)),
          )
        }
      }
      const fmt = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(2))
      const table = {
        headers: ['contender', 'L1', ' in flight', ' batches counted', ' loader calls / batch', ' keys loaded / batch', ' MGET / batch', ' GET / batch', ' SET / batch', ' L1 hits / batch', ' L2 hits / batch', ' wrong answers', ' L2 errors + skipped'],
        rows: counted.map((r) => [
          r.contender,
          r.l1 ? 'on' : 'off',
          String(r.concurrency),
          String(r.ops),
          fmt(r.loaderCalls),
          fmt(r.loadedKeys),
          fmt(r.mget),
          fmt(r.get),
          fmt(r.set),
          fmt(r.l1Hits),
          fmt(r.l2Hits),
          String(r.wrong),
          String(r.l2Failed),
        ]),
      }
      const ratios = checks.filter((c) => c.op === 'info').map((c) => `${c.target.replace(/^getOrSetMany vs \d+ getOrSet /, '')} ${fmtRatio(c.value)}`)
      const notes = [
        `one op = one batch of ${BATCH} fresh keys (${HALF} in Redis, ${HALF} missing), 100 B values, written with ttl ${TTL}; ops/s above are batches per second (x${BATCH} for keys per second)`,
        `getOrSetMany / ${BATCH} x getOrSet, batches/s: ${ratios.join(', ')}`,
        `commands per batch from Redis INFO commandstats deltas around ${countedOps} counted batches per case${process.env.REDIS_URL ? ' (REDIS_URL: other clients of that Redis would be counted too)' : ''}`,
      ]
      if (counted.some((r) => r.wrong > 0 || r.l2Failed > 0)) log('  get-or-set-many: wrong answers or L2 failures in the counted run, see the table')
      return { cases: results, checks, notes, table, extra: { batch: BATCH, missing: HALF, ttl: TTL, counted } }
    } finally {
      await writer.clear().catch(() => undefined)
      await writer.disconnect()
      for (const c of contenders) await c.cache.disconnect()
      await admin.close()
    }
  },
}
