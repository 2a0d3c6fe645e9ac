/**
 * The least-privilege ACL rule set the README documents, applied word for word (read from
 * README.md) to a private redis-server: the whole cache contract passes as that user with L1,
 * coherence and the cross-instance lock on (and with L1 off), two instances stay coherent and
 * share the lock, and afterwards `ACL LOG` holds no refusal and no cache reported one.
 */
import { createClient } from '@redis/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GenericRedisCache, RedisCacheSecurityManager } from '../../../src/index.js'
import { registerCacheContract } from '../../contracts/cache-contract.js'
import { documentedAclRulesFor } from '../../helpers/acl-rules.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'
import { secret } from '../../helpers/secrets.js'

const hasRedis = requireRedis()
const PASSWORD = secret('the ACL password', 'least-privilege-pw')

describe.skipIf(!hasRedis)('the documented least-privilege ACL user', () => {
  const server = useRedisServer()
  let admin: ReturnType<typeof createClient>
  /** Every cache:error that is an ACL refusal, from every cache of this file. */
  const refusals: string[] = []
  const caches: GenericRedisCache[] = []

  beforeAll(async () => {
    admin = createClient({ url: server.url })
    await admin.connect()
    await admin.sendCommand(['ACL', 'LOG', 'RESET'])
  })

  afterAll(async () => {
    for (const cache of caches) await cache.disconnect()
    await admin?.quit()
  })

  /** A user of `namespace` with exactly the documented rules, and a cache of that user. */
  async function cacheAs(namespace: string, options: Partial<ConstructorParameters<typeof GenericRedisCache>[0]> = {}): Promise<GenericRedisCache> {
    const user = `user-${namespace}`
    await admin.sendCommand(['ACL', 'SETUSER', user, 'on', `>${PASSWORD}`, ...documentedAclRulesFor(namespace)])
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace, lock: true, security: { aclUsername: user, aclPassword: PASSWORD }, ...options })
    cache.on('cache:error', ({ error }) => {
      if (/NOPERM|user executing the script|E_COHERENCE_UNAVAILABLE/.test(`${error.code} ${error.message}`)) refusals.push(error.message)
    })
    return cache
  }

  for (const l1 of [{ maxEntries: 1000 }, false] as const) {
    registerCacheContract(`GenericRedisCache as the least-privilege user (L1 ${l1 ? 'on, coherence' : 'off'}, lock)`, {
      sharedBackend: true,
      make: async ({ namespace, clock }) => {
        const cache = await cacheAs(namespace, { clock, l1 })
        if (!(await cache.connect())) throw new Error(`refused: ${JSON.stringify(cache.getStats().l2?.lastError)}`)
        if (l1 !== false) await expect.poll(() => cache.getStats().coherence?.state).toBe('verified')
        return cache
      },
    })
  }

  it('two instances of that user stay coherent and share the lock: one loader call across both', async () => {
    const namespace = uniqueNamespace('acl-lock')
    const a = await cacheAs(namespace)
    const b = await cacheAs(namespace)
    caches.push(a, b)
    await Promise.all([a.connect(), b.connect()])
    await expect.poll(() => [a.getStats().coherence?.state, b.getStats().coherence?.state]).toEqual(['verified', 'verified'])
    let calls = 0
    const load = async (): Promise<string> => {
      calls++
      await new Promise((resolve) => setTimeout(resolve, 200))
      return 'loaded'
    }
    const results = await Promise.all([...Array.from({ length: 10 }, () => a.getOrSet('k', load)), ...Array.from({ length: 10 }, () => b.getOrSet('k', load))])
    expect(new Set(results)).toEqual(new Set(['loaded']))
    expect(calls).toBe(1)
    await a.set('k', 'changed')
    await expect.poll(() => b.get('k')).toBe('changed')
    await b.invalidateTags(['none'])
    await a.clear()
    // Another instance's L1 follows within maxStaleness (100 ms).
    await expect.poll(() => b.get('k'), { timeout: 1000 }).toBeUndefined()
  })

  it('getSecurityStatus of that user, checked by an admin, finds nothing missing', async () => {
    const namespace = uniqueNamespace('acl-status')
    await cacheAs(namespace)
    const manager = new RedisCacheSecurityManager({ redisUrl: server.url, namespace, security: { aclUsername: `user-${namespace}`, aclPassword: PASSWORD } })
    const status = await manager.getSecurityStatus({ admin })
    expect(status.user.name).toBe(`user-${namespace}`)
    expect(status.permissions).toMatchObject({ status: 'ok', report: { missing: [] } })
    // On its own, the user may run neither ACL WHOAMI nor ACL DRYRUN: said, not guessed.
    const alone = await manager.getSecurityStatus()
    expect(alone.user).toEqual({ name: `user-${namespace}`, source: 'configuration' })
    expect(alone.permissions.status).toBe('unknown')
  })

  // Runs last: everything above ran as least-privilege users.
  it('no command of this file was refused: ACL LOG is empty and no cache reported a refusal', async () => {
    const log = await admin.sendCommand<Array<{ object: string; username: string }>>(['ACL', 'LOG', '128'])
    // The status test's own `ACL WHOAMI` and `ACL DRYRUN`, refused as they should be, aside.
    const refused = log.filter((entry) => !['acl|whoami', 'acl|dryrun'].includes(entry.object)).map(({ object, username }) => `${username}: ${object}`)
    expect(refused).toEqual([])
    expect(refusals).toEqual([])
  })
})
