/**
 * The same cache on a 3-master Redis Cluster (started by the bench, like the private server):
 * - L2 hit with L1 off, 1 KB object, 64 in flight: strata on the cluster vs a raw @redis/client
 *   cluster client GET + msgpack decode, with strata on the single server beside it;
 * - getMany of 100 keys (L1 off), on the cluster and on the single server, with the calls each
 *   batch sends, counted by `INFO commandstats` on every master;
 * - a mixed workload, zipf(1.0) over 10,000 keys, 90% getOrSet / 10% set of 1 KB objects, L1 on,
 *   64 in flight, on the cluster and on the single server.
 *
 * Target (issue: scale-out): strata >= 80% of the raw cluster client at 64 in flight.
 */
import { deepStrictEqual } from 'node:assert/strict'

import { createCluster, RESP_TYPES } from '@redis/client'
import { Packr } from 'msgpackr'

import { GenericRedisCache } from '../../src/index.js'
import { keySlot } from '../../src/stores/cluster/key-slot.js'
import { prng } from '../../tests/helpers/prng.js'
import { redisText, startRedisCluster } from '../../tests/helpers/redis-cluster.js'
import { KEY_PREFIX, strataRedis } from '../contenders.js'
import { type BenchCase, STRATA_MSGPACK_OPTIONS, type Scenario, check, countMisses, info, infoValue, payload, rate, runCases, zipfSequence } from '../helpers.js'

const KEYS = 1000
const BATCH = 100
const key = (i: number): string => `ck:${i % KEYS}`
const ZIPF_KEYS = 10_000
const ZIPF_SEQUENCE = 1 << 16
const SET_SHARE = 0.1

export const scenario: Scenario = {
  name: 'cluster',
  title: 'Redis Cluster (3 masters): L2 hit at 64 in flight vs a raw cluster client, getMany of 100 keys',
  async run({ redis, config, log }) {
    log('  starting a 3-master cluster')
    const cluster = await startRedisCluster({ masters: 3 })
    const rootNodes = cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }))
    const value = payload('1KB')
    const onCluster = new GenericRedisCache({ cluster: { rootNodes }, namespace: `${KEY_PREFIX}_strata_cl`, l1: false })
    const single = await strataRedis(redis, 'cl1', { l1: false })
    const mixOnCluster = new GenericRedisCache({ cluster: { rootNodes }, namespace: `${KEY_PREFIX}_strata_clmix` })
    const mixSingle = await strataRedis(redis, 'cl1mix')
    const raw = createCluster({ rootNodes: rootNodes.map((socket) => ({ socket })), commandOptions: { timeout: 0 } })
    raw.on('error', () => undefined)
    try {
      if (!(await onCluster.connect()) || !(await mixOnCluster.connect())) throw new Error('strata could not connect to the bench cluster')
      await raw.connect()
      const rawBytes = raw.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
      const packr = new Packr(STRATA_MSGPACK_OPTIONS)
      const unpackr = new Packr(STRATA_MSGPACK_OPTIONS)
      const rawGet = async (k: string): Promise<unknown> => {
        const bytes = await rawBytes.get(`${KEY_PREFIX}_raw:${k}`)
        return bytes === null ? undefined : (unpackr.unpack(bytes) as unknown)
      }
      const fill = async (set: (k: string) => Promise<unknown>, get: (k: string) => Promise<unknown>): Promise<void> => {
        for (let i = 0; i < KEYS; i++) await set(key(i))
        deepStrictEqual(await get(key(0)), value)
      }
      const reader = (contender: string, get: (k: string) => Promise<unknown>, prepare: () => Promise<void>): BenchCase => {
        const counted = countMisses((i) => get(key(i)))
        return { workload: 'L2 get 1KB (L1 off), 1,000 keys', contender, concurrency: 64, prepare, op: { async: counted.op }, failures: counted.misses }
      }
      const batch = (i: number): string[] => Array.from({ length: BATCH }, (_, j) => key(i * BATCH + j))
      const batcher = (contender: string, cache: GenericRedisCache): BenchCase => {
        const counted = countMisses(async (i) => ((await cache.getMany(batch(i))).includes(undefined) ? undefined : 1))
        return { workload: `getMany ${BATCH} keys (L1 off)`, contender, concurrency: 8, batch: BATCH, op: { async: counted.op }, failures: counted.misses }
      }
      // The mix: the same seeded sequence of keys and of operations for both.
      const sequence = zipfSequence(ZIPF_KEYS, 1.0, ZIPF_SEQUENCE, 0x5c1)
      const kinds = new Uint8Array(ZIPF_SEQUENCE)
      const rand = prng(0x7a3)
      for (let j = 0; j < ZIPF_SEQUENCE; j++) kinds[j] = rand() < SET_SHARE ? 1 : 0
      const mixWorkload = 'zipf(1) 10,000 keys, 90% getOrSet / 10% set, 1KB, L1 on'
      const mixer = (contender: string, cache: GenericRedisCache): BenchCase => {
        const load = (): Promise<unknown> => Promise.resolve(value)
        const op = (i: number): Promise<unknown> => {
          const j = i % ZIPF_SEQUENCE
          const k = `z:${sequence[j]}`
          return kinds[j] === 1 ? cache.set(k, value).then(() => 1) : cache.getOrSet(k, load)
        }
        const counted = countMisses(op)
        return { workload: mixWorkload, contender, concurrency: 64, op: { async: counted.op }, failures: counted.misses }
      }
      const strataName = 'strata GenericRedisCache on the cluster (L1 off)'
      const rawName = 'raw @redis/client cluster GET + msgpack'
      const cases = [
        reader(strataName, (k) => onCluster.get(k), () => fill((k) => onCluster.set(k, value), (k) => onCluster.get(k))),
        reader(rawName, rawGet, () => fill((k) => rawBytes.set(`${KEY_PREFIX}_raw:${k}`, packr.pack(value)), rawGet)),
        reader('strata GenericRedisCache, one server (L1 off)', (k) => single.get(k), () => fill((k) => single.set(k, value), (k) => single.get(k))),
        batcher('strata getMany on the cluster', onCluster),
        batcher('strata getMany, one server', single),
        mixer('strata on the cluster', mixOnCluster),
        mixer('strata, one server', mixSingle),
      ]
      const results = await runCases(this.name, cases, config)
      const r = (workload: string, contender: string): number => rate(results, workload, contender)

      // Calls per batch on the cluster (scripts and MGETs), from every master's commandstats around counted batches.
      const reads = async (): Promise<number> => {
        const texts = await Promise.all((await cluster.masters()).map((master) => redisText(master.port, ['INFO', 'commandstats'])))
        const calls = (text: string, command: string): number => Number(new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(text)?.[1] ?? 0)
        return texts.reduce((sum, text) => sum + calls(text, 'mget') + calls(text, 'evalsha') + calls(text, 'eval'), 0)
      }
      const counted = 50
      const before = await reads()
      for (let i = 0; i < counted; i++) await onCluster.getMany(batch(i))
      const callsPerBatch = ((await reads()) - before) / counted
      const slotsPerBatch = new Set(batch(0).map((k) => keySlot(`${KEY_PREFIX}_strata_cl:${k}`))).size
      const getWorkload = 'L2 get 1KB (L1 off), 1,000 keys'
      const manyWorkload = `getMany ${BATCH} keys (L1 off)`
      return {
        cases: results,
        checks: [
          check(this.name, 'L2 hit on a cluster >= 80% of a raw cluster client GET + decode (64 in flight)', `${strataName} / ${rawName}`, r(getWorkload, strataName) / r(getWorkload, rawName), '>=', 0.8),
          info(this.name, 'L2 hit, cluster vs one server (64 in flight)', 'strata on the cluster / strata on one server', r(getWorkload, strataName) / r(getWorkload, 'strata GenericRedisCache, one server (L1 off)')),
          info(this.name, 'getMany of 100 keys, cluster vs one server', 'batches/s on the cluster / on one server', r(manyWorkload, 'strata getMany on the cluster') / r(manyWorkload, 'strata getMany, one server')),
          infoValue(this.name, 'getMany of 100 keys on a 3-master cluster: calls per batch (one per master)', `EVALSHA + EVAL + MGET in INFO commandstats on every master over ${counted} batches`, callsPerBatch, 'calls'),
          info(this.name, 'mixed zipf workload, cluster vs one server (64 in flight)', 'ops/s on the cluster / on one server', r(mixWorkload, 'strata on the cluster') / r(mixWorkload, 'strata, one server')),
        ],
        notes: [
          `cluster: 3 masters on 127.0.0.1, started by the bench; a getMany of ${BATCH} plain keys spans ${slotsPerBatch} slots and is read with one script per master`,
        ],
      }
    } finally {
      await onCluster.disconnect()
      await single.disconnect()
      await mixOnCluster.disconnect()
      await mixSingle.disconnect()
      raw.destroy()
      await cluster.stop()
    }
  },
}
