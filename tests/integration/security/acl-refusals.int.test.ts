/**
 * What a user gets from a Redis ACL that is not enough, on a private redis-server: the
 * documented rule set minus one rule is reported by `getSecurityStatus()` with exactly that rule
 * as the fix; a cache command it refuses is a coded error naming the command (or the script and
 * its commands) and the rule to add; a wrong password fails within connectTimeout, coded, and no
 * message quotes a password.
 */
import { createClient } from '@redis/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GenericRedisCache, RedisCacheSecurityManager } from '../../../src/index.js'
import { documentedAclRulesFor } from '../../helpers/acl-rules.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'
import { secret } from '../../helpers/secrets.js'

const hasRedis = requireRedis()
const PASSWORD = secret('the ACL password', 'refusals-pw-4f1c')

describe.skipIf(!hasRedis)('ACL refusals', () => {
  const server = useRedisServer()
  let admin: ReturnType<typeof createClient>
  const caches: GenericRedisCache[] = []

  beforeAll(async () => {
    admin = createClient({ url: server.url })
    await admin.connect()
  })

  afterAll(async () => {
    for (const cache of caches) await cache.disconnect()
    await admin?.quit()
  })

  /** A user of `namespace` with the documented rules except `without`. */
  async function userWithout(namespace: string, without: string): Promise<string> {
    const user = `u-${namespace}`
    const rules = documentedAclRulesFor(namespace)
    expect(rules).toContain(without)
    await admin.sendCommand(['ACL', 'SETUSER', user, 'reset', 'on', `>${PASSWORD}`, ...rules.filter((rule) => rule !== without)])
    return user
  }

  function cacheOf(namespace: string, user: string, password = PASSWORD): GenericRedisCache {
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace, security: { aclUsername: user, aclPassword: password }, connectTimeout: 1000, redis: { connectTimeout: 500 } })
    caches.push(cache)
    return cache
  }

  for (const dropped of ['+publish', '+subscribe', '+client|tracking', '+evalsha', '+hincrby', '+zadd', '+time', '+pttl', '~NS#gone:*', '~NS#lock:*', '&NS#lock-released']) {
    it(`getSecurityStatus names the missing ${dropped} and the rule to add`, async () => {
      const namespace = uniqueNamespace('drop')
      const rule = dropped.replace('NS', namespace)
      const user = await userWithout(namespace, rule)
      const status = await new RedisCacheSecurityManager({ redisUrl: server.url, namespace, security: { aclUsername: user, aclPassword: PASSWORD } }).getSecurityStatus({ admin })
      expect(status.permissions.status).toBe('missing')
      const missing = status.permissions.status === 'missing' ? status.permissions.report.missing : []
      expect(missing.length).toBeGreaterThan(0)
      expect(new Set(missing.map((m) => m.rule))).toEqual(new Set([rule]))
      expect(missing[0]?.fix).toBe(`ACL SETUSER ${user} ${rule}`)
    })
  }

  it('a refused command is a coded error naming the command and the rule to add', async () => {
    const namespace = uniqueNamespace('noset')
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace, coherence: false, suppressL2Errors: false, security: { aclUsername: await userWithout(namespace, '+set'), aclPassword: PASSWORD } })
    caches.push(cache)
    expect(await cache.connect()).toBe(true)
    const error = await cache.set('k', 1).then(() => undefined, (e: unknown) => e)
    expect(error).toMatchObject({ code: 'E_L2_UNAVAILABLE' })
    expect((error as Error).message).toMatch(/may not run SET: add \+set/)
  })

  it('a command refused inside a script names the script, its commands and the rules to add', async () => {
    const namespace = uniqueNamespace('nohincr')
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace, coherence: false, security: { aclUsername: await userWithout(namespace, '+hincrby'), aclPassword: PASSWORD } })
    caches.push(cache)
    const events: Array<{ code: string; message: string }> = []
    cache.on('cache:error', ({ error }) => events.push({ code: error.code, message: error.message }))
    expect(await cache.connect()).toBe(true)
    await cache.delete('k')
    expect(events[0]?.code).toBe('E_L2_UNAVAILABLE')
    expect(events[0]?.message).toMatch(/the script DELETE_MARKED .*HINCRBY.*\+hincrby/)
  })

  it('a wrong password fails within connectTimeout with WRONGPASS and the fix, quoting no password', async () => {
    const namespace = uniqueNamespace('wrongpw')
    const user = await userWithout(namespace, '+info')
    const cache = cacheOf(namespace, user, 'not-the-password-9d2e')
    const events: string[] = []
    cache.on('cache:error', ({ error }) => events.push(`${error.code} ${error.message}`))
    const started = Date.now()
    expect(await cache.connect()).toBe(false)
    expect(Date.now() - started).toBeLessThan(1500)
    expect(cache.getStats().l2?.lastError?.code).toBe('WRONGPASS')
    // The coherence connection may report its own refusal first.
    expect(events.find((e) => e.startsWith('E_L2_UNAVAILABLE'))).toMatch(/WRONGPASS.*aclPassword/)

    const managerStarted = Date.now()
    const manager = new RedisCacheSecurityManager({ redisUrl: server.url, connectTimeout: 1000, security: { aclUsername: user, aclPassword: 'not-the-password-9d2e' } })
    const error = await manager.createSecureConnection().then(() => undefined, (e: unknown) => e as Error)
    expect(Date.now() - managerStarted).toBeLessThan(1000)
    expect(error).toMatchObject({ code: 'E_L2_UNAVAILABLE' })
    expect(error?.message).toMatch(/WRONGPASS.*aclPassword/)
    for (const text of [...events, error?.message ?? '', JSON.stringify(cache.getStats())]) {
      expect(text).not.toContain('not-the-password-9d2e')
      expect(text).not.toContain(PASSWORD)
    }
  })
})
