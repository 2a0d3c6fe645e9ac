/**
 * TLS end to end on a Redis Cluster whose nodes listen on TLS alone (`port 0`, `tls-cluster yes`):
 * a cache given ONE root node and `redis.socket.tls` (CA, server name) reads and writes keys of
 * every master (so the TLS options reach the nodes it discovers, not only the root), runs tags and
 * `clear()` across shards, and its invalidation tracking reaches every master (coherence
 * `verified`, another instance's write seen). With a CA that did not sign the nodes' certificate,
 * or without the server name the certificate carries, `connect()` resolves `false` within its
 * deadline with the certificate's code in `getStats().l2.lastError`, calls settle within their
 * deadlines (suppressed: a miss and a skipped write; unsuppressed: `E_L2_UNAVAILABLE`), and
 * `disconnect()` returns promptly: a refused certificate never hangs a caller.
 */
import { describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { redisCommand, requireRedisCli, useRedisCluster } from '../../helpers/redis-cluster.js'
import { requireRedis } from '../../helpers/redis-server.js'
import { makeTlsFixture, requireOpenssl } from '../../helpers/tls-certs.js'

const ready = requireRedis() && requireRedisCli() && requireOpenssl()

/** Codes Node gives a certificate signed by a CA it was not told to trust. */
const UNKNOWN_CA_CODES = ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY']
const CONNECT_TIMEOUT_MS = 1500
/** Room for timers on a loaded, shared machine: generous, yet far below a hang. */
const MARGIN_MS = 3000

describe.skipIf(!ready)('TLS on a Redis Cluster (TLS-only nodes)', () => {
  const certs = ready ? makeTlsFixture() : undefined
  const cluster = useRedisCluster({ masters: 3, tls: certs })

  /** `EXISTS` of each key on the master that owns it, one TLS connection at a time (each is a handshake). */
  async function existing(namespace: string, keys: string[], owners: Array<{ port: number }>): Promise<unknown[]> {
    const found: unknown[] = []
    for (const [i, key] of keys.entries()) found.push(await redisCommand(owners[i]!.port, ['EXISTS', `${namespace}:${key}`], 5000))
    return found
  }

  function cacheOn(tls: object, extra: Record<string, unknown> = {}): GenericRedisCache {
    // One root node: the two other masters are only known from the slot map it returns.
    const rootNodes = [{ host: '127.0.0.1', port: cluster.nodes[0]!.port }]
    return new GenericRedisCache({ cluster: { rootNodes }, redisUrl: 'rediss://127.0.0.1', redis: { socket: { tls } }, ...extra })
  }

  it('SecurityConfig (useTls, tlsCaPath, servername) reaches every node it discovers', { timeout: 30_000 }, async () => {
    const namespace = uniqueNamespace('csec')
    const rootNodes = [{ host: '127.0.0.1', port: cluster.nodes[0]!.port }]
    const security = { useTls: true, tlsCaPath: certs!.caFile, servername: certs!.serverName }
    const cache = new GenericRedisCache({ cluster: { rootNodes }, security, namespace, l1: false, suppressL2Errors: false })
    try {
      expect(await cache.connect()).toBe(true)
      const keys = Array.from({ length: 30 }, (_, i) => `s${i}`)
      const owners = await Promise.all(keys.map((key) => cluster.masterForKey(`${namespace}:${key}`)))
      expect(new Set(owners.map((node) => node.port)).size).toBe(3)
      await cache.setMany(keys.map((key, i) => ({ key, value: i })))
      expect(await cache.getMany(keys)).toEqual(keys.map((_, i) => i))
    } finally {
      await cache.disconnect()
    }
  })

  it('serves every shard over TLS from one root node: set, get, getMany, tags, clear and coherence', { timeout: 60_000 }, async () => {
    const good = { ca: certs!.ca, servername: certs!.serverName }
    const namespace = uniqueNamespace('ctls')
    const cache = cacheOn(good, { namespace, l1: false })
    const withL1 = cacheOn(good, { namespace })
    try {
      // The nodes listen on TLS alone and talk TLS on the cluster bus: nothing here can go in the clear.
      for (const node of cluster.nodes) {
        expect(await redisCommand(node.port, ['CONFIG', 'GET', 'port'], 5000)).toEqual(['port', '0'])
        expect(await redisCommand(node.port, ['CONFIG', 'GET', 'tls-cluster'], 5000)).toEqual(['tls-cluster', 'yes'])
      }
      expect(await cache.connect()).toBe(true)
      expect(await withL1.connect()).toBe(true)
      const keys = Array.from({ length: 60 }, (_, i) => `k${i}`)
      const owners = await Promise.all(keys.map((key) => cluster.masterForKey(`${namespace}:${key}`)))
      // The keys spread over all three masters, two of which the cache was never told about.
      expect(new Set(owners.map((node) => node.port)).size).toBe(3)
      expect(owners.some((node) => node.port !== cluster.nodes[0]!.port)).toBe(true)

      await cache.setMany(keys.map((key, i) => ({ key, value: { i } })))
      expect(await cache.getMany(keys)).toEqual(keys.map((_, i) => ({ i })))
      for (const [i, key] of keys.entries()) expect(await cache.get(key)).toEqual({ i })
      // Each entry is on the master that owns its slot, read back over the helper's own TLS link.
      expect(await existing(namespace, keys, owners)).toEqual(keys.map(() => 1))

      // Tags: entries of one tag on every shard, invalidated together.
      const tagged = keys.slice(0, 30)
      await cache.setMany(tagged.map((key) => ({ key, value: 'tagged', tags: ['t'] })))
      expect(await cache.getMany(tagged)).toEqual(tagged.map(() => 'tagged'))
      await cache.invalidateTags(['t'])
      expect(await cache.getMany(tagged)).toEqual(tagged.map(() => undefined))
      expect(await cache.get(keys[40]!)).toEqual({ i: 40 })

      // Coherence: the tracking connections reach every master over TLS (a session needs all of
      // them), and a write by another instance reaches this L1.
      await expect.poll(() => withL1.getStats().coherence?.state, { timeout: 10_000, interval: 100 }).toBe('verified')
      expect(await withL1.get(keys[40]!)).toEqual({ i: 40 })
      await cache.set(keys[40]!, 'rewritten')
      await expect.poll(() => withL1.get(keys[40]!), { timeout: 5000, interval: 50 }).toBe('rewritten')

      // clear() visits every master: no entry of the namespace is left on any of them.
      await cache.clear()
      expect(await cache.getMany(keys)).toEqual(keys.map(() => undefined))
      expect(await existing(namespace, keys, owners)).toEqual(keys.map(() => 0))
      expect(cache.getStats().l2?.errors).toBe(0)
      expect(cache.getStats().l2?.lastError).toBeUndefined()
    } finally {
      await cache.disconnect()
      await withL1.disconnect()
    }
  })

  const refusals = [
    { what: 'a CA that did not sign the certificate', tls: () => ({ ca: certs!.otherCa, servername: certs!.serverName }), codes: UNKNOWN_CA_CODES },
    // The certificate names redis.test only; the nodes are reached as 127.0.0.1.
    { what: 'no server name (the certificate names another host)', tls: () => ({ ca: certs!.ca }), codes: ['ERR_TLS_CERT_ALTNAME_INVALID'] },
  ]
  for (const { what, tls, codes } of refusals) {
    it(`${what} is a coded error within the deadlines, never a hang`, { timeout: 30_000 }, async () => {
      const namespace = uniqueNamespace('ctlsbad')
      const options = { namespace, l1: false as const, connectTimeout: CONNECT_TIMEOUT_MS, l2Timeout: { read: 1000, write: 1000 } }
      const suppressed = cacheOn(tls(), options)
      const strict = cacheOn(tls(), { ...options, suppressL2Errors: false })
      const events: string[] = []
      suppressed.on('cache:error', ({ error }) => events.push(`${error.code} ${String((error.cause as { code?: string } | undefined)?.code)}`))
      try {
        let started = performance.now()
        expect(await suppressed.connect()).toBe(false)
        expect(performance.now() - started).toBeLessThan(CONNECT_TIMEOUT_MS + MARGIN_MS)
        expect(codes).toContain(suppressed.getStats().l2?.lastError?.code)
        expect(suppressed.getStats().l2?.lastError?.message).toBeTruthy()
        expect(events.some((event) => event.startsWith('E_L2_UNAVAILABLE'))).toBe(true)

        started = performance.now()
        await expect(suppressed.set('k', 1)).resolves.toBeUndefined()
        await expect(suppressed.get('k')).resolves.toBeUndefined()
        expect(performance.now() - started).toBeLessThan(2000 + MARGIN_MS)

        expect(await strict.connect()).toBe(false)
        expect(codes).toContain(strict.getStats().l2?.lastError?.code)
        started = performance.now()
        const error = await strict.get('k').then(() => undefined, (e: unknown) => e as { code?: string; message?: string })
        expect(performance.now() - started).toBeLessThan(1000 + MARGIN_MS)
        expect(error?.code).toBe('E_L2_UNAVAILABLE')
        const writeError = await strict.set('k', 1).then(() => undefined, (e: unknown) => e as { code?: string })
        expect(writeError?.code).toBe('E_L2_UNAVAILABLE')
        // Nothing reached any node.
        const owner = await cluster.masterForKey(`${namespace}:k`)
        expect(await redisCommand(owner.port, ['EXISTS', `${namespace}:k`], 5000)).toBe(0)
      } finally {
        const started = performance.now()
        await suppressed.disconnect()
        await strict.disconnect()
        expect(performance.now() - started).toBeLessThan(MARGIN_MS)
      }
    })
  }
})
