/**
 * TLS and a full server against a real redis-server: a working TLS connection, and the failures
 * that used to look exactly like an unreachable Redis (a certificate from an unknown CA, a
 * certificate for another name, `maxclients` reached) each reach an event and `getStats().l2` with
 * their own code; refused certificates back off instead of hammering the server.
 */
import { createClient } from '@redis/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { freePort, requireRedis, startRedis, type RedisServer } from '../../helpers/redis-server.js'
import { startTcpProxy, type TcpProxy } from '../../helpers/tcp-proxy.js'
import { makeTlsFixture, requireOpenssl } from '../../helpers/tls-certs.js'

const ready = requireRedis() && requireOpenssl()

describe.skipIf(!ready)('TLS and connection refusals against a real redis-server', () => {
  const certs = ready ? makeTlsFixture() : undefined
  let server: RedisServer
  let tlsPort: number
  // TLS clients connect through this proxy, which counts their connect attempts (Redis' own
  // counter leaves out connections whose handshake failed).
  let proxy: TcpProxy
  let admin: ReturnType<typeof createClient>
  const caches: GenericRedisCache[] = []

  beforeAll(async () => {
    tlsPort = await freePort()
    const { certFile, keyFile, caFile } = certs!
    server = await startRedis({
      args: ['--tls-port', String(tlsPort), '--tls-cert-file', certFile, '--tls-key-file', keyFile, '--tls-ca-cert-file', caFile, '--tls-auth-clients', 'no'],
    })
    admin = createClient({ url: server.url })
    await admin.connect()
    proxy = await startTcpProxy(tlsPort)
  })

  afterAll(async () => {
    for (const cache of caches) await cache.disconnect()
    await admin.quit()
    await proxy.close()
    await server.stop()
  })

  function tlsCache(tls: object, coherence?: false): GenericRedisCache {
    const c = new GenericRedisCache({
      redisUrl: `rediss://127.0.0.1:${proxy.port}`,
      redis: { socket: { tls }, connectTimeout: 1000 },
      namespace: uniqueNamespace('tls'),
      ...(coherence === undefined ? {} : { coherence }),
    })
    caches.push(c)
    return c
  }

  async function expectRefused(c: GenericRedisCache, codes: string[]): Promise<void> {
    const events: string[] = []
    c.on('cache:error', ({ error }) => events.push(`${error.code} ${String((error.cause as Error | undefined)?.message)}`))
    const before = proxy.acceptedAt.length
    expect(await c.connect()).toBe(false)
    await new Promise((resolve) => setTimeout(resolve, 2500))
    const attempts = proxy.acceptedAt.slice(before)
    const lastError = c.getStats().l2?.lastError
    expect(codes).toContain(lastError?.code)
    expect(lastError?.message).toBeTruthy()
    // One event per distinct reason, not one per attempt.
    expect(events.filter((e) => e.startsWith('E_L2_UNAVAILABLE'))).toHaveLength(1)
    // Backing off: the n-th wait is 50–100 % of 1 s × 2^n (it was 50–500 ms, flat).
    expect(attempts.length).toBeGreaterThanOrEqual(3)
    attempts.slice(1).forEach((at, n) => {
      expect(at - attempts[n]!).toBeGreaterThanOrEqual(500 * 2 ** n - 50)
    })
    await expect(c.set('k', 1)).resolves.toBeUndefined()
    expect(await admin.keys(`${c.namespace}:*`)).toEqual([])
    // Its retries would go on through the shared proxy and mix with the next test's attempts.
    await c.disconnect()
  }

  it('serves over TLS with the right CA and server name, with coherence on', async () => {
    const c = tlsCache({ ca: certs!.ca, servername: certs!.serverName }, undefined)
    expect(await c.connect()).toBe(true)
    await c.set('k', { v: 1 })
    expect(await admin.exists(`${c.namespace}:k`)).toBe(1)
    expect(await c.get('k')).toEqual({ v: 1 })
    expect(c.getStats().l2?.lastError).toBeUndefined()
    await expect.poll(() => c.getStats().coherence?.state).toBe('verified')
  })

  it('a certificate from an unknown CA is a coded reason, and retries back off', async () => {
    const c = tlsCache({ ca: certs!.otherCa, servername: certs!.serverName }, false)
    await expectRefused(c, ['UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY'])
  })

  it('a certificate for another name is a coded reason, and retries back off', async () => {
    // The certificate names redis.test only; the URL's host is 127.0.0.1.
    const c = tlsCache({ ca: certs!.ca }, false)
    await expectRefused(c, ['ERR_TLS_CERT_ALTNAME_INVALID'])
  })

  it('a full server (maxclients) is a coded reason, and the cache connects once a slot frees', async () => {
    const full = await startRedis({ args: ['--maxclients', '2'] })
    const fillers = [createClient({ url: full.url }), createClient({ url: full.url })]
    try {
      for (const f of fillers) await f.connect()
      const c = new GenericRedisCache({ redisUrl: full.url, namespace: uniqueNamespace('full'), coherence: false, redis: { connectTimeout: 500 } })
      caches.push(c)
      const events: string[] = []
      c.on('cache:error', ({ error }) => events.push(String((error.cause as Error | undefined)?.message)))
      expect(await c.connect()).toBe(false)
      const lastError = c.getStats().l2?.lastError
      expect(lastError?.code).toBe('ERR')
      expect(lastError?.message).toMatch(/max number of clients/)
      expect(events.some((m) => /max number of clients/.test(m))).toBe(true)
      await fillers.pop()!.quit()
      await expect.poll(async () => {
        await c.set('k', 1)
        return c.getStats().l2?.circuit === 'closed' && (await c.get('k')) === 1 && c.getStats().l2?.lastError === undefined
      }, { timeout: 8000, interval: 200 }).toBe(true)
    } finally {
      for (const f of fillers) await f.quit()
      await full.stop()
    }
  })
})
