/**
 * TLS end to end on a Sentinel set whose master, replica and sentinels all listen on TLS alone
 * (`port 0`; replication and the sentinels' links over TLS): a cache given the sentinels and
 * `redis.socket.tls` (CA, server name; `sentinel.tls` explicit, or inherited from the data nodes)
 * asks the sentinels over TLS, writes and reads on the master over TLS, runs tags and coherence
 * (`verified`), and still does all of it after a Sentinel failover (master killed, replica
 * promoted). A CA that did not sign the certificate, for the sentinels, for the data nodes or for
 * both, is a coded reason in `getStats().l2.lastError` within a deadline: `connect()` resolves
 * `false` in time, calls settle within their deadlines (`E_L2_UNAVAILABLE` when not suppressed),
 * `disconnect()` returns promptly; nothing hangs.
 */
import type { ConnectionOptions } from 'node:tls'
import { afterAll, describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { redisCommand } from '../../helpers/redis-cluster.js'
import { requireRedis } from '../../helpers/redis-server.js'
import { useRedisSentinel } from '../../helpers/redis-sentinel.js'
import { startTcpProxy } from '../../helpers/tcp-proxy.js'
import { makeTlsFixture, requireOpenssl } from '../../helpers/tls-certs.js'

const ready = requireRedis() && requireOpenssl()

/** Codes Node gives a certificate signed by a CA it was not told to trust. */
const UNKNOWN_CA_CODES = ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']
const CONNECT_TIMEOUT_MS = 1500
/** `redis.connectTimeout`: how long one attempt (a sentinel's TLS handshake included) may take. */
const ATTEMPT_TIMEOUT_MS = 1000
/** Room for timers on a loaded, shared machine: generous, yet far below a hang. */
const MARGIN_MS = 3000
/** The caches' default `coherence.maxStaleness`. */
const MAX_STALENESS_MS = 100

describe.skipIf(!ready)('TLS through a Sentinel set (TLS-only master, replica and sentinels)', () => {
  const certs = ready ? makeTlsFixture() : undefined
  const set = useRedisSentinel({ tls: certs })
  const good = (): ConnectionOptions => ({ ca: certs!.ca, servername: certs!.serverName })
  const bad = (): ConnectionOptions => ({ ca: certs!.otherCa, servername: certs!.serverName })

  function cacheOn(params: { data: ConnectionOptions; sentinels?: ConnectionOptions }, extra: Record<string, unknown> = {}): GenericRedisCache {
    const sentinel = { name: set.masterName, sentinels: set.sentinelNodes, ...(params.sentinels === undefined ? {} : { tls: params.sentinels }) }
    const redis = { socket: { tls: params.data }, connectTimeout: ATTEMPT_TIMEOUT_MS }
    return new GenericRedisCache({ sentinel, redisUrl: 'rediss://127.0.0.1', redis, ...extra })
  }

  const refusals = [
    { what: 'for the sentinels and the data nodes', data: bad, sentinels: undefined },
    { what: 'for the sentinels only', data: good, sentinels: bad },
    { what: 'for the data nodes only', data: bad, sentinels: good },
  ]
  for (const { what, data, sentinels } of refusals) {
    it(`a CA that did not sign the certificate, ${what}, is a coded error within the deadlines, never a hang`, { timeout: 30_000 }, async () => {
      const namespace = uniqueNamespace('stlsbad')
      const options = { namespace, l1: false as const, connectTimeout: CONNECT_TIMEOUT_MS, l2Timeout: { read: 1000, write: 1000 } }
      const params = { data: data(), ...(sentinels === undefined ? {} : { sentinels: sentinels() }) }
      const suppressed = cacheOn(params, options)
      const strict = cacheOn(params, { ...options, suppressL2Errors: false })
      try {
        let started = performance.now()
        expect(await suppressed.connect()).toBe(false)
        expect(performance.now() - started).toBeLessThan(CONNECT_TIMEOUT_MS + MARGIN_MS)
        // The reason, coded, within one attempt's deadline of the first try.
        await expect.poll(() => suppressed.getStats().l2?.lastError?.code, { timeout: ATTEMPT_TIMEOUT_MS + MARGIN_MS, interval: 50 }).toBeOneOf(UNKNOWN_CA_CODES)
        expect(suppressed.getStats().l2?.lastError?.message).toBeTruthy()

        started = performance.now()
        await expect(suppressed.set('k', 1)).resolves.toBeUndefined()
        await expect(suppressed.get('k')).resolves.toBeUndefined()
        expect(performance.now() - started).toBeLessThan(2000 + MARGIN_MS)

        expect(await strict.connect()).toBe(false)
        started = performance.now()
        const error = await strict.get('k').then(() => undefined, (e: unknown) => e as { code?: string })
        expect(performance.now() - started).toBeLessThan(1000 + MARGIN_MS)
        expect(error?.code).toBe('E_L2_UNAVAILABLE')
        const writeError = await strict.set('k', 1).then(() => undefined, (e: unknown) => e as { code?: string })
        expect(writeError?.code).toBe('E_L2_UNAVAILABLE')
        await expect.poll(() => strict.getStats().l2?.lastError?.code, { timeout: ATTEMPT_TIMEOUT_MS + MARGIN_MS, interval: 50 }).toBeOneOf(UNKNOWN_CA_CODES)
        const master = await set.currentMaster()
        expect(await redisCommand(master.port, ['EXISTS', `${namespace}:k`], 5000)).toBe(0)
      } finally {
        const started = performance.now()
        await suppressed.disconnect()
        await strict.disconnect()
        expect(performance.now() - started).toBeLessThan(MARGIN_MS)
      }
    })
  }

  it('SecurityConfig (useTls, tlsCaPath, servername) reaches the sentinels and the master', { timeout: 30_000 }, async () => {
    const security = { useTls: true, tlsCaPath: certs!.caFile, servername: certs!.serverName }
    const sentinel = { name: set.masterName, sentinels: set.sentinelNodes }
    const cache = new GenericRedisCache({ sentinel, security, namespace: uniqueNamespace('ssec'), l1: false, suppressL2Errors: false })
    try {
      expect(await cache.connect()).toBe(true)
      await cache.set('k', 'v')
      expect(await cache.get('k')).toBe('v')
    } finally {
      await cache.disconnect()
    }
  })

  it('a refused sentinel certificate is retried with a backoff, not several times a second', { timeout: 30_000 }, async () => {
    // Only one sentinel, reached through a proxy that records every connection accepted.
    const proxy = await startTcpProxy(set.sentinelNodes[0]!.port)
    const sentinel = { name: set.masterName, sentinels: [{ host: '127.0.0.1', port: proxy.port }], tls: bad() }
    const cache = new GenericRedisCache({ sentinel, redisUrl: 'rediss://127.0.0.1', redis: { socket: { tls: good() }, connectTimeout: ATTEMPT_TIMEOUT_MS }, namespace: uniqueNamespace('stlsretry'), l1: false })
    try {
      expect(await cache.connect()).toBe(false)
      await new Promise((resolve) => setTimeout(resolve, 5000))
      expect(cache.getStats().l2?.lastError?.code).toBeOneOf(UNKNOWN_CA_CODES)
      // Each attempt opens two connections (queries and +switch-master), and each retries on its
      // own: with waits from 1 s, doubling, that was 18 connections in 5 s here; with the fast
      // backoff of ordinary failures, 81.
      expect(proxy.acceptedAt.length, `connections accepted in 5 s: ${proxy.acceptedAt.length}`).toBeLessThanOrEqual(30)
    } finally {
      await cache.disconnect()
      await proxy.close()
    }
  })

  // Shared by the two tests below, which run in order: the second fails the master over under them.
  const namespace = uniqueNamespace('stls')
  const caches: GenericRedisCache[] = []
  afterAll(async () => {
    for (const cache of caches) await cache.disconnect()
  })

  it('serves through TLS sentinels from the TLS master: set, get, tags and coherence', { timeout: 30_000 }, async () => {
    // `sentinel.tls` given for one, inherited from `redis.socket.tls` for the other.
    const cache = cacheOn({ data: good(), sentinels: good() }, { namespace, l1: false })
    const withL1 = cacheOn({ data: good() }, { namespace })
    caches.push(cache, withL1)
    // The data nodes listen on TLS alone and replicate over TLS: nothing here can go in the clear.
    for (const node of [set.master, ...set.replicas]) {
      expect(await redisCommand(node.port, ['CONFIG', 'GET', 'port'], 5000)).toEqual(['port', '0'])
      expect(await redisCommand(node.port, ['CONFIG', 'GET', 'tls-replication'], 5000)).toEqual(['tls-replication', 'yes'])
    }
    expect(await cache.connect()).toBe(true)
    expect(await withL1.connect()).toBe(true)
    const master = await set.currentMaster()
    expect(master.port).toBe(set.master.port)

    await cache.set('k', { v: 1 })
    expect(await redisCommand(master.port, ['EXISTS', `${namespace}:k`], 5000)).toBe(1)
    expect(await cache.get('k')).toEqual({ v: 1 })
    expect(await withL1.get('k')).toEqual({ v: 1 })
    await cache.set('tagged', 1, { tags: ['t'] })
    await cache.invalidateTags(['t'])
    expect(await cache.get('tagged')).toBeUndefined()

    await expect.poll(() => withL1.getStats().coherence?.state, { timeout: 10_000, interval: 100 }).toBe('verified')
    await cache.set('k', { v: 2 })
    await new Promise((resolve) => setTimeout(resolve, MAX_STALENESS_MS))
    expect(await withL1.get('k')).toEqual({ v: 2 })
    expect(cache.getStats().l2?.errors).toBe(0)
    expect(cache.getStats().l2?.lastError).toBeUndefined()
  })

  it('still serves over TLS after a Sentinel failover: writes land on the promoted replica', { timeout: 60_000 }, async () => {
    const [cache, withL1] = caches
    if (cache === undefined || withL1 === undefined) throw new Error('the previous test did not make its caches')
    const first = await set.currentMaster()
    await set.nodeAt(first.port).kill()
    const promoted = await set.waitForFailover(first.port, 30_000)
    expect(promoted.port).not.toBe(first.port)

    // Writes resume by themselves, on the promoted replica, over TLS.
    await expect.poll(async () => {
      await cache.set('after', 'failover')
      return redisCommand(promoted.port, ['EXISTS', `${namespace}:after`], 5000)
    }, { timeout: 15_000, interval: 200 }).toBe(1)
    expect(await cache.get('after')).toBe('failover')
    await cache.set('tagged', 2, { tags: ['t'] })
    expect(await cache.get('tagged')).toBe(2)
    await cache.invalidateTags(['t'])
    expect(await cache.get('tagged')).toBeUndefined()

    // The tracking connection followed the master too: coherence verified again, writes seen.
    await expect.poll(() => withL1.getStats().coherence?.state, { timeout: 15_000, interval: 100 }).toBe('verified')
    expect(await withL1.get('after')).toBe('failover')
    await cache.set('after', 'rewritten')
    await new Promise((resolve) => setTimeout(resolve, MAX_STALENESS_MS))
    expect(await withL1.get('after')).toBe('rewritten')
  })
})
