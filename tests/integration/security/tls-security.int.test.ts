/**
 * TLS and mutual TLS configured through `security` (certificate files, `useTls`, `servername`),
 * against real redis-servers with a TLS port beside their plain one: the cache contract passes
 * over TLS and over mutual TLS; a wrong CA, a wrong servername, a missing or foreign client
 * certificate, an expired server certificate, TLS against a plain port and plain TCP against a
 * TLS port are each refused within connectTimeout with a coded reason and a fix, and nothing is
 * ever written over plain TCP. `RedisCacheSecurityManager` reports what was negotiated.
 * (tests/integration/stores/tls.int.test.ts covers the `redis.socket.tls` form and the backoff.)
 */
import { readFileSync } from 'node:fs'

import { createClient } from '@redis/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GenericRedisCache, RedisCacheSecurityManager, type SecurityConfig } from '../../../src/index.js'
import { registerCacheContract } from '../../contracts/cache-contract.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { freePort, requireRedis, startRedis, type RedisServer } from '../../helpers/redis-server.js'
import { makeSecurityTlsFixture, requireOpenssl } from '../../helpers/tls-certs.js'

const ready = requireRedis() && requireOpenssl()

/** How long connect() waits (connectTimeout); each attempt has a shorter one (redis.connectTimeout), so its reason is known by then. */
const CONNECT_TIMEOUT_MS = 1500
const ATTEMPT_TIMEOUT_MS = 1000

describe.skipIf(!ready)('TLS configured through security', () => {
  const certs = ready ? makeSecurityTlsFixture() : undefined
  const servers: RedisServer[] = []
  /** TLS ports: one-way TLS, mutual TLS, and a server presenting an expired certificate. */
  const port = { tls: 0, mutual: 0, expired: 0 }
  let plain: RedisServer
  let admin: ReturnType<typeof createClient>
  const caches: GenericRedisCache[] = []

  beforeAll(async () => {
    const c = certs!
    for (const [name, opts] of [['tls', {}], ['mutual', { mutual: true }], ['expired', { cert: c.expiredServer }]] as const) {
      port[name] = await freePort()
      servers.push(await startRedis({ args: c.serverArgs(port[name], opts) }))
    }
    plain = servers[0]!
    admin = createClient({ url: plain.url })
    await admin.connect()
  })

  afterAll(async () => {
    for (const cache of caches) await cache.disconnect()
    await admin?.quit()
    for (const server of servers) await server.stop()
  })

  const url = (p: number): string => `redis://127.0.0.1:${p}`
  const oneWay = (): SecurityConfig => ({ useTls: true, tlsCaPath: certs!.caFile })
  const mutual = (): SecurityConfig => ({ ...oneWay(), tlsCertPath: certs!.client.certFile, tlsKeyPath: certs!.client.keyFile })

  for (const [name, security, l1] of [
    ['TLS, L1 on', oneWay, { maxEntries: 1000 }],
    ['TLS, L1 off', oneWay, false],
    ['mutual TLS, L1 on, with the lock', mutual, { maxEntries: 1000 }],
  ] as const) {
    registerCacheContract(`GenericRedisCache over ${name} (security)`, {
      sharedBackend: true,
      make: async ({ namespace, clock }) => {
        const p = security === mutual ? port.mutual : port.tls
        const cache = new GenericRedisCache({ redisUrl: url(p), security: security(), namespace, clock, l1, ...(security === mutual && { lock: true }) })
        if (!(await cache.connect())) throw new Error(`no TLS connection: ${JSON.stringify(cache.getStats().l2?.lastError)}`)
        return cache
      },
    })
  }

  it('serves over mutual TLS with coherence verified, and the data is in Redis', async () => {
    const cache = new GenericRedisCache({ redisUrl: url(port.mutual), security: mutual(), namespace: uniqueNamespace('mtls') })
    caches.push(cache)
    expect(await cache.connect()).toBe(true)
    await cache.set('k', { v: 1 })
    const direct = createClient({ socket: { host: '127.0.0.1', port: port.mutual, tls: true, ca: readPem(certs!.caFile), cert: readPem(certs!.client.certFile), key: readPem(certs!.client.keyFile) } })
    await direct.connect()
    expect(await direct.exists(`${cache.namespace}:k`)).toBe(1)
    await direct.quit()
    await expect.poll(() => cache.getStats().coherence?.state).toBe('verified')
  })

  it('getSecurityStatus reports the negotiated TLS version, cipher, certificates and user', async () => {
    const manager = new RedisCacheSecurityManager({ redisUrl: url(port.mutual), security: { ...mutual(), minTlsVersion: 'TLSv1.3' }, namespace: 'app' })
    const status = await manager.getSecurityStatus()
    expect(status.tls).toMatchObject({ enabled: true, version: 'TLSv1.3', clientCertificate: true })
    expect(status.tls.enabled && status.tls.cipher).toMatch(/^TLS_/)
    expect(status.tls.enabled && status.tls.serverCertificate).toMatchObject({ subject: 'CN=server', issuer: 'CN=strata-ca' })
    expect(status.user).toEqual({ name: 'default', source: 'ACL WHOAMI' })
    expect(status.permissions).toMatchObject({ status: 'ok' })
    const plainStatus = await new RedisCacheSecurityManager({ redisUrl: plain.url }).getSecurityStatus()
    expect(plainStatus.tls).toEqual({ enabled: false })
  })

  it('rejectUnauthorized: false is honoured (a certificate from an unknown CA is then accepted)', async () => {
    const cache = track(new GenericRedisCache({ redisUrl: url(port.tls), security: { useTls: true, tlsCaPath: certs!.otherCaFile, rejectUnauthorized: false }, namespace: uniqueNamespace('noverify'), coherence: false }))
    expect(await cache.connect()).toBe(true)
  })

  /** Each refusal: connect() false, a coded reason and a fix by then, nothing written in clear; the manager rejects sooner. */
  const refusals: Array<{ name: string; port: () => number; security: () => SecurityConfig | undefined; codes: RegExp; fix: RegExp }> = [
    { name: 'a server certificate from a CA the client does not trust', port: () => port.tls, security: () => ({ useTls: true, tlsCaPath: certs!.otherCaFile }), codes: /^(SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY)$/, fix: /tlsCaPath/ },
    { name: 'a servername the certificate does not hold', port: () => port.tls, security: () => ({ ...oneWay(), servername: 'redis.elsewhere' }), codes: /^ERR_TLS_CERT_ALTNAME_INVALID$/, fix: /servername/ },
    { name: 'no client certificate under mutual TLS', port: () => port.mutual, security: oneWay, codes: /CERTIFICATE_REQUIRED|ECONNRESET/, fix: /tlsCertPath|TLS port/ },
    { name: 'a client certificate from another CA under mutual TLS', port: () => port.mutual, security: () => ({ ...oneWay(), tlsCertPath: certs!.otherClient.certFile, tlsKeyPath: certs!.otherClient.keyFile }), codes: /UNKNOWN_CA|BAD_CERTIFICATE|ECONNRESET|CERTIFICATE_REQUIRED/, fix: /tlsCertPath|TLS port/ },
    { name: 'an expired server certificate', port: () => port.expired, security: oneWay, codes: /^CERT_HAS_EXPIRED$/, fix: /expired/ },
    // A plain server reads the TLS hello as the start of an inline command and waits for its end:
    // the attempt ends at redis.connectTimeout, never as a plain-text session.
    { name: 'a TLS configuration against a plain port', port: () => plain.port, security: oneWay, codes: /^(ERR_SSL_|ETIMEDOUT|UNKNOWN)/, fix: /speaks TLS/ },
    { name: 'a plain configuration against a TLS port', port: () => port.tls, security: () => undefined, codes: /^(ECONNRESET|SocketClosedUnexpectedlyError|UNKNOWN|Socket)/, fix: /useTls/ },
  ]

  for (const refusal of refusals) {
    it(`refuses ${refusal.name} within connectTimeout, coded, never in clear`, async () => {
      const security = refusal.security()
      const options = { redisUrl: url(refusal.port()), ...(security && { security }), connectTimeout: CONNECT_TIMEOUT_MS, redis: { connectTimeout: ATTEMPT_TIMEOUT_MS } }
      const cache = track(new GenericRedisCache({ ...options, namespace: uniqueNamespace('refused'), coherence: false }))
      const events: Array<{ code: string; message: string }> = []
      cache.on('cache:error', ({ error }) => events.push({ code: error.code, message: error.message }))
      const started = Date.now()
      expect(await cache.connect()).toBe(false)
      expect(Date.now() - started).toBeLessThan(CONNECT_TIMEOUT_MS + 500)
      expect(cache.getStats().l2?.lastError?.code).toMatch(refusal.codes)
      expect(events[0]?.code).toBe('E_L2_UNAVAILABLE')
      expect(events[0]?.message).toMatch(refusal.fix)
      await cache.set('k', 1)
      expect(await admin.keys(`${cache.namespace}:*`)).toEqual([])
      await cache.disconnect()

      const managerStarted = Date.now()
      const error = await new RedisCacheSecurityManager(options).createSecureConnection().then(() => undefined, (e: unknown) => e)
      expect(Date.now() - managerStarted).toBeLessThan(CONNECT_TIMEOUT_MS + 100)
      expect(error).toMatchObject({ code: 'E_L2_UNAVAILABLE' })
      expect((error as Error).message).toMatch(refusal.fix)
    })
  }

  function track(cache: GenericRedisCache): GenericRedisCache {
    caches.push(cache)
    return cache
  }
})

function readPem(file: string): string {
  return readFileSync(file, 'utf8')
}
