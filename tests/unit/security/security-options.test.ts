/**
 * `security` resolved by the one option resolver (into the same TLS options and credentials the
 * stores use, for one server, Sentinel and Cluster), its refusals (each an E_INVALID_OPTIONS issue
 * naming the option, never a secret), and `validateSecurityConfig`'s errors, warnings and
 * recommendations, with certificates made by openssl.
 */
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { GenericRedisCache, InvalidOptionsError, RedisCacheSecurityManager } from '../../../src/index.js'
import { resolveRedisCacheOptions } from '../../../src/options/resolve-cache-options.js'
import { makeSecurityTlsFixture, requireOpenssl } from '../../helpers/tls-certs.js'

const hasOpenssl = requireOpenssl()
const SECRET = 'pw-never-shown-7c1d'

function issuesOf(run: () => unknown): Array<{ path: string; message: string }> {
  try {
    run()
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expect((error as Error).message).not.toContain(SECRET)
    return [...(error as InvalidOptionsError).issues]
  }
  throw new Error('expected E_INVALID_OPTIONS')
}

describe.skipIf(!hasOpenssl)('security options', () => {
  const certs = hasOpenssl ? makeSecurityTlsFixture() : undefined

  it('resolves into the connection the stores use: files read once, credentials, TLS settings', () => {
    const c = certs!
    const { redis } = resolveRedisCacheOptions({
      redisUrl: 'redis://10.0.0.5:6380',
      security: { aclUsername: 'app', aclPassword: SECRET, useTls: true, tlsCaPath: c.caFile, tlsCertPath: c.client.certFile, tlsKeyPath: c.client.keyFile, servername: 'redis.internal', minTlsVersion: 'TLSv1.3' },
    })
    expect(redis.username).toBe('app')
    expect(redis.password).toBe(SECRET)
    expect(redis.tls).toMatchObject({ servername: 'redis.internal', minVersion: 'TLSv1.3' })
    const tls = redis.tls as { ca: Buffer; cert: Buffer; key: Buffer; rejectUnauthorized?: boolean }
    expect(tls.ca.equals(readFileSync(c.caFile))).toBe(true)
    expect(tls.cert.equals(readFileSync(c.client.certFile))).toBe(true)
    expect(tls.key.equals(readFileSync(c.client.keyFile))).toBe(true)
    expect(tls.rejectUnauthorized).toBeUndefined()
    expect(resolveRedisCacheOptions({ security: { useTls: true, rejectUnauthorized: false } }).redis.tls).toEqual({ rejectUnauthorized: false })
    expect(resolveRedisCacheOptions({ security: { redisAuth: SECRET } }).redis).toMatchObject({ username: undefined, password: SECRET, tls: false })
    expect(resolveRedisCacheOptions({ redisUrl: 'rediss://h:1', security: { tlsCaPath: c.caFile } }).redis.tls).toHaveProperty('ca')
  })

  it('applies to every node of a cluster and, unless sentinel.tls is given, to the sentinels', () => {
    const security = { useTls: true, tlsCaPath: certs!.caFile, aclUsername: 'app', aclPassword: SECRET }
    const cluster = resolveRedisCacheOptions({ cluster: { rootNodes: [{ host: '10.0.0.1', port: 7000 }] }, security }).redis
    expect(cluster).toMatchObject({ username: 'app', password: SECRET })
    expect(cluster.tls).toHaveProperty('ca')
    const sentinel = resolveRedisCacheOptions({ sentinel: { name: 'm', sentinels: [{ host: '10.0.0.1', port: 26379 }] }, security }).redis
    expect(sentinel.tls).toHaveProperty('ca')
    expect(sentinel.sentinel?.tls).toBe(sentinel.tls)
    const own = resolveRedisCacheOptions({ sentinel: { name: 'm', sentinels: [{ host: '10.0.0.1', port: 26379 }], tls: false }, security }).redis
    expect(own.sentinel?.tls).toBe(false)
  })

  it('refuses conflicts and unusable settings, every one at once, naming the option and never the secret', () => {
    const c = certs!
    const issues = issuesOf(() => new GenericRedisCache({
      redisUrl: `rediss://someone:${SECRET}@h:1`,
      redis: { socket: { tls: { ca: 'x' } } },
      security: { aclUsername: 'app', aclPassword: SECRET, redisAuth: SECRET, useTls: false, tlsCaPath: '/nonexistent/ca.pem', tlsKeyPath: c.client.keyFile, minTlsVersion: 'TLSv1.1' as never, bogus: 1 } as never,
    }))
    const byPath = (path: string): string => issues.filter((i) => i.path === path).map((i) => i.message).join(' | ')
    expect(byPath('security.bogus')).toMatch(/unknown option/)
    expect(byPath('security.minTlsVersion')).toMatch(/TLSv1.2.*TLSv1.3/)
    expect(byPath('security.redisAuth')).toMatch(/aclPassword/)
    expect(byPath('security.aclPassword')).toMatch(/redisUrl/)
    expect(byPath('security.aclUsername')).toMatch(/differs/)
    expect(byPath('security.useTls')).toMatch(/rediss/)
    expect(byPath('security.tlsKeyPath')).toMatch(/also given in redis.socket.tls/)
    const unreadable = issuesOf(() => resolveRedisCacheOptions({ security: { useTls: true, tlsCaPath: '/nonexistent/ca.pem' } }))
    expect(unreadable).toEqual([{ path: 'security.tlsCaPath', message: 'cannot read /nonexistent/ca.pem (ENOENT): check the path and that this process may read it' }])
  })

  it('refuses TLS settings while TLS is off, so a TLS configuration never runs in clear', () => {
    const issues = issuesOf(() => resolveRedisCacheOptions({ redisUrl: 'redis://h:1', security: { tlsCaPath: certs!.caFile } }))
    expect(issues).toEqual([{ path: 'security.tlsCaPath', message: expect.stringMatching(/TLS is off.*useTls: true/) }])
  })

  it('refuses half a client certificate, a key of another certificate, and a file that is no certificate', () => {
    const c = certs!
    expect(issuesOf(() => resolveRedisCacheOptions({ security: { useTls: true, tlsKeyPath: c.client.keyFile } }))[0]?.path).toBe('security.tlsKeyPath')
    expect(issuesOf(() => resolveRedisCacheOptions({ security: { useTls: true, tlsCertPath: c.client.certFile } }))[0]?.path).toBe('security.tlsCertPath')
    expect(issuesOf(() => resolveRedisCacheOptions({ security: { useTls: true, tlsCertPath: c.client.certFile, tlsKeyPath: c.server.keyFile } }))[0]?.message).toMatch(/does not belong/)
    expect(issuesOf(() => resolveRedisCacheOptions({ security: { useTls: true, tlsCaPath: c.client.keyFile } }))[0]?.message).toMatch(/not a PEM certificate/)
    expect(issuesOf(() => resolveRedisCacheOptions({ security: { aclPassword: SECRET } }))[0]?.path).toBe('security.aclPassword')
  })

  describe('validateSecurityConfig', () => {
    const manager = new RedisCacheSecurityManager()
    const codes = (list: ReadonlyArray<{ code: string }>): string[] => list.map((f) => f.code)

    it('warns of plain TCP to another host, of no password, and recommends an ACL user', () => {
      const result = manager.validateSecurityConfig({}, { redisUrl: 'redis://10.1.2.3:6379' })
      expect(result.valid).toBe(true)
      expect(codes(result.warnings)).toEqual(['PLAINTEXT_REMOTE', 'NO_AUTH'])
      expect(codes(result.recommendations)).toEqual(['USE_ACL_USER'])
      expect(codes(manager.validateSecurityConfig({}, { redisUrl: 'redis://127.0.0.1:6379' }).warnings)).toEqual(['NO_AUTH'])
    })

    it('warns of rejectUnauthorized: false and of a certificate expiring within 30 days; an expired one is an error', () => {
      const c = certs!
      const soon = manager.validateSecurityConfig({ useTls: true, rejectUnauthorized: false, tlsCaPath: c.caFile, aclUsername: 'app', aclPassword: SECRET }, { redisUrl: 'redis://10.1.2.3:6379' })
      expect(codes(soon.warnings)).toEqual(['CERT_EXPIRES_SOON', 'TLS_VERIFY_OFF'])
      expect(codes(soon.recommendations)).toEqual(['TLS13', 'MUTUAL_TLS'])
      const expired = manager.validateSecurityConfig({ useTls: true, tlsCaPath: c.caFile, tlsCertPath: c.expiredServer.certFile, tlsKeyPath: c.expiredServer.keyFile })
      expect(expired.valid).toBe(false)
      expect(expired.errors).toEqual([expect.objectContaining({ code: 'CERT_EXPIRED', path: 'security.tlsCertPath' })])
      const later = manager.validateSecurityConfig({ useTls: true, tlsCaPath: c.caFile }, { now: Date.now() - 40 * 86_400_000 })
      expect(codes(later.errors)).toEqual(['CERT_NOT_YET_VALID'])
    })

    it('reports a password in both the URL and the config, a key without a cert, an unreadable file and TLS below 1.2, without quoting the password', () => {
      const result = manager.validateSecurityConfig(
        { redisAuth: SECRET, useTls: true, tlsKeyPath: certs!.client.keyFile, tlsCaPath: '/nonexistent.pem', minTlsVersion: 'TLSv1' as never },
        { redisUrl: `redis://:${SECRET}@127.0.0.1:6379` },
      )
      expect(result.valid).toBe(false)
      expect(codes(result.errors).sort()).toEqual(['FILE_UNREADABLE', 'KEY_WITHOUT_CERT', 'PASSWORD_TWICE', 'TLS_VERSION_TOO_OLD'])
      expect(JSON.stringify(result)).not.toContain(SECRET)
    })

    it('turns other option problems into INVALID_OPTION errors, and never throws', () => {
      const result = manager.validateSecurityConfig('nope' as never, { redisUrl: 'http://x' })
      expect(codes(result.errors)).toEqual(['INVALID_OPTION', 'INVALID_VALUE'])
    })
  })
})
