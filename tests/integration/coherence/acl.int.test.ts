/**
 * Coherence under Redis ACLs: a category-based rule set (the README's least-privilege line is
 * proved in tests/integration/security/acl.int.test.ts) lets it verify
 * and invalidate across instances; a user without `client|tracking` gets E_COHERENCE_UNAVAILABLE
 * through `cache:error`, and that instance never serves an L1 hit (reads go to Redis).
 */
import { createClient } from '@redis/client'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()

/** What the cache's own commands need (reads, writes, scripts, scans, INFO), on its namespace only. */
const CACHE_RULES = ['resetchannels', '-@all', '+@read', '+@write', '+@keyspace', '+@scripting', '+info', '+ping', '+hello', '+select', '+client|setname']
/** What coherence adds: tracking on the data connection, and the invalidation connection's id. */
const COHERENCE_RULES = ['+client|tracking', '+client|id']

async function waitFor(check: () => boolean, ms = 5000): Promise<void> {
  const until = Date.now() + ms
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

describe.skipIf(!hasRedis)('coherence under ACLs', () => {
  const server = useRedisServer()
  const caches: GenericRedisCache[] = []
  const namespace = uniqueNamespace('acl')

  beforeAll(async () => {
    const admin = createClient({ url: server.url })
    await admin.connect()
    const keys = [`~${namespace}:*`, `~${namespace}#*`]
    await admin.sendCommand(['ACL', 'SETUSER', 'coherent', 'on', '>pw', ...keys, ...CACHE_RULES, ...COHERENCE_RULES])
    await admin.sendCommand(['ACL', 'SETUSER', 'notrack', 'on', '>pw', ...keys, ...CACHE_RULES, '+client|id'])
    await admin.quit()
  })

  afterEach(async () => {
    for (const cache of caches.splice(0)) await cache.disconnect()
  })

  function cache(user: string): GenericRedisCache {
    const c = new GenericRedisCache({ redisUrl: server.url.replace('redis://', `redis://${user}:pw@`), namespace })
    caches.push(c)
    return c
  }

  it('works under the documented least-privilege rules: verified, and a write on one instance reaches the other', async () => {
    const a = cache('coherent')
    const b = cache('coherent')
    const errors: string[] = []
    b.on('cache:error', ({ error }) => errors.push(error.message))
    await a.connect()
    await b.connect()
    await waitFor(() => a.getStats().coherence?.state === 'verified' && b.getStats().coherence?.state === 'verified')
    await a.set('k', 1)
    expect(await b.get('k')).toBe(1)
    // An L1 hit needs a barrier answered within maxStaleness: on a loaded machine, retry.
    await waitFor(() => {
      void b.get('k')
      return (b.getStats().l1?.hits ?? 0) > 0
    })
    // The invalidation of this write, not an earlier one, must have been applied.
    const received = b.getStats().coherence?.invalidationsReceived ?? 0
    await a.set('k', 2)
    await waitFor(() => (b.getStats().coherence?.invalidationsReceived ?? 0) > received)
    expect(await b.get('k')).toBe(2)
    expect(errors).toEqual([])
  })

  it('without client|tracking: a coded error, never verified, and no L1 hit ever', async () => {
    const c = cache('notrack')
    const codes: string[] = []
    c.on('cache:error', ({ error }) => codes.push(error.code))
    await c.connect()
    await waitFor(() => codes.includes('E_COHERENCE_UNAVAILABLE'))
    await c.set('k', 'v')
    for (let i = 0; i < 20; i++) expect(await c.get('k')).toBe('v')
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(await c.get('k')).toBe('v')
    const stats = c.getStats()
    expect(stats.coherence?.state).toBe('unverified')
    expect(stats.l1?.hits).toBe(0)
    expect(stats.l2?.hits).toBe(21)
  })
})
