/**
 * Stampede: 1,000 concurrent getOrSet calls on one cold key, in one tick. The loader takes
 * 10 ms (a database call) and returns the 1 KB object. Each round uses a fresh key.
 * Reports the loader calls per round and the time until all 1,000 callers have their value.
 * Contenders: strata InMemoryCache, GenericRedisCache (L1 on and off), bentocache tiered
 * getOrSet, cacheable tiered getOrSet.
 *
 * Target (DESIGN.md, Performance): exactly one loader call.
 */
import { performance } from 'node:perf_hooks'

import { bentocache, cacheable, strataMemory, strataRedis } from '../contenders.js'
import { type Scenario, check, fmtUs, payload, sleep } from '../helpers.js'

const CALLERS = 1000
const LOADER_MS = 10

interface Row {
  contender: string
  strata: boolean
  loaderCalls: number[]
  settleMs: number[]
  /** Callers that received the loaded value, per round. */
  served: number[]
}

export const scenario: Scenario = {
  name: 'get-or-set-stampede',
  title: `${CALLERS.toLocaleString('en-US')} concurrent getOrSet on one cold key (loader ${LOADER_MS} ms)`,
  async run({ redis, config, log }) {
    const value = payload('1KB')
    const rounds = config.quick ? 2 : 5
    const mem = strataMemory()
    const tiered = await strataRedis(redis, 'stampede')
    const noL1 = await strataRedis(redis, 'stampedenol1', { l1: false })
    const bento = bentocache(redis)
    const cable = await cacheable(redis)
    type GetOrSet = (key: string, loader: () => Promise<typeof value>) => Promise<unknown>
    const contenders: Array<{ contender: string; strata: boolean; getOrSet: GetOrSet }> = [
      { contender: 'strata InMemoryCache', strata: true, getOrSet: (k, l) => mem.getOrSet(k, l) },
      { contender: 'strata GenericRedisCache (L1 on)', strata: true, getOrSet: (k, l) => tiered.getOrSet(k, l) },
      { contender: 'strata GenericRedisCache (L1 off)', strata: true, getOrSet: (k, l) => noL1.getOrSet(k, l) },
      { contender: 'bentocache tiered getOrSet', strata: false, getOrSet: (k, l) => bento.cache.getOrSet({ key: k, factory: l }) },
      { contender: 'cacheable tiered getOrSet', strata: false, getOrSet: (k, l) => cable.tiered.getOrSet(k, l) },
    ]
    try {
      const rows: Row[] = contenders.map((c) => ({ contender: c.contender, strata: c.strata, loaderCalls: [], settleMs: [], served: [] }))
      for (let round = 0; round < rounds; round++) {
        for (const [i, c] of contenders.entries()) {
          const row = rows[i] as Row
          const key = `stampede:${round}:${Date.now().toString(36)}`
          let calls = 0
          const loader = async (): Promise<typeof value> => {
            calls++
            await sleep(LOADER_MS)
            return value
          }
          const t0 = performance.now()
          const got = await Promise.allSettled(Array.from({ length: CALLERS }, () => c.getOrSet(key, loader)))
          row.settleMs.push(performance.now() - t0)
          row.loaderCalls.push(calls)
          row.served.push(got.filter((g) => g.status === 'fulfilled' && (g.value as { id?: unknown } | undefined)?.id === value.id).length)
          const failed = got.find((g): g is PromiseRejectedResult => g.status === 'rejected')
          if (failed) log(`  ${c.contender}: a caller failed: ${String(failed.reason)}`)
        }
      }
      const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN
      const checks = rows
        .filter((r) => r.strata)
        .map((r) => check(this.name, `one loader call per cold key (${r.contender.replace('strata ', '')})`, `max loader calls over ${rounds} rounds`, Math.max(...r.loaderCalls), '==', 1))
      const table = {
        headers: ['contender', ' rounds', 'loader calls per round', ' ms until all settled (median)', ' callers served (min)'],
        rows: rows.map((r) => [
          r.contender,
          String(rounds),
          r.loaderCalls.join(', '),
          fmtUs(median(r.settleMs)),
          `${Math.min(...r.served)} / ${CALLERS}`,
        ]),
      }
      return { cases: [], checks, notes: [], table, extra: { callers: CALLERS, loaderMs: LOADER_MS, rows } }
    } finally {
      await mem.disconnect()
      await tiered.disconnect()
      await noL1.disconnect()
      await bento.close()
      await cable.close()
    }
  },
}
