/**
 * TLS vs plaintext: 1 KB get and set with L1 off at 64 in flight, strata over TLS (a TLS-only
 * redis-server the bench starts, with certificates made by `openssl` at run time) beside strata
 * over plain TCP to the bench's private server. Report only (security issue): no target.
 */
import { deepStrictEqual } from 'node:assert/strict'

import { GenericRedisCache } from '../../src/index.js'
import { startRedis } from '../../tests/helpers/redis-server.js'
import { writeTlsFixture } from '../../tests/helpers/tls-certs.js'
import { KEY_PREFIX, strataL2Failures, strataRedis } from '../contenders.js'
import { type BenchCase, type Scenario, countMisses, info, payload, rate, runCases } from '../helpers.js'

const READ_KEYS = 64
const WRITE_KEYS = 1000
const readKey = (i: number): string => `tls1kb:${i % READ_KEYS}`
const writeKey = (i: number): string => `tlsset1kb:${i % WRITE_KEYS}`

export const scenario: Scenario = {
  name: 'tls',
  title: 'TLS vs plaintext, 1 KB get and set, L1 off, 64 in flight (report only)',
  async run({ redis, config, log }) {
    log('  starting a TLS-only redis-server')
    const certs = writeTlsFixture()
    const server = await startRedis({ tls: certs })
    const value = payload('1KB')
    const plain = await strataRedis(redis, 'tlsoff', { l1: false })
    const tls = new GenericRedisCache({ redisUrl: server.url, namespace: `${KEY_PREFIX}_strata_tlson`, l1: false, redis: { socket: { tls: { ca: certs.ca, servername: certs.serverName } } } })
    const contenders = [
      ['strata, plain TCP', plain],
      ['strata, TLS', tls],
    ] as const
    try {
      if (!(await tls.connect())) throw new Error('strata could not connect to the bench TLS server')
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
      const ratio = (workload: string): number => rate(results, workload, 'strata, TLS', concurrency) / rate(results, workload, 'strata, plain TCP', concurrency)
      return {
        cases: results,
        checks: [
          info(this.name, 'get 1 KB over TLS vs plain TCP (64 in flight)', 'TLS / plain, L2 get', ratio('L2 get 1KB (L1 off)')),
          info(this.name, 'set 1 KB over TLS vs plain TCP (64 in flight)', 'TLS / plain, set', ratio('set 1KB (L1 off)')),
        ],
        notes: ['TLS: a second redis-server on 127.0.0.1 (`--port 0 --tls-port`), certificates from openssl, TLS 1.3 with Node defaults'],
      }
    } finally {
      await plain.disconnect()
      await tls.disconnect()
      await server.stop()
      certs.remove()
    }
  },
}
