import { setTimeout as sleep } from 'node:timers/promises'

import { createClient } from '@redis/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { GenericRedisCache, type GenericRedisCacheOptions } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()

describe.skipIf(!hasRedis)('GenericRedisCache engine behaviour on a real server', () => {
  const server = useRedisServer()
  const caches: GenericRedisCache[] = []
  let admin: ReturnType<typeof createClient>

  beforeAll(async () => {
    admin = createClient({ url: server.url })
    // The last test restarts the server; the admin client reconnects by itself.
    admin.on('error', () => undefined)
    await admin.connect()
  })

  afterAll(async () => {
    await Promise.all(caches.map((cache) => cache.disconnect()))
    admin.destroy()
  })

  function cache(options: GenericRedisCacheOptions = {}): GenericRedisCache {
    const created = new GenericRedisCache({ redisUrl: server.url, namespace: uniqueNamespace('engine'), ...options })
    caches.push(created)
    return created
  }

  it('connects on first use: without connect() a write reaches Redis', async () => {
    const c = cache()
    await c.set('k', 'v')
    expect(await admin.exists(`${c.namespace}:k`)).toBe(1)
    expect(c.getStats().l2?.connected).toBe(true)
  })

  it('uses a client the caller passes, and leaves it open on disconnect', async () => {
    const client = createClient({ url: server.url, disableOfflineQueue: true })
    await client.connect()
    try {
      const c = cache({ client })
      expect(await c.connect()).toBe(true)
      await c.set('k', 'v', { tags: ['t'] })
      expect(await client.exists(`${c.namespace}:k`)).toBe(1)
      expect(await c.invalidateTags(['t'])).toBe(1)
      await c.disconnect()
      expect(client.isReady).toBe(true)
      expect(await client.ping()).toBe('PONG')
    } finally {
      client.destroy()
    }
  })

  it('rejects a client option that is not a node-redis client, with its path', () => {
    expect(() => new GenericRedisCache({ client: {} as never })).toThrow(/client: expected a client created by createClient/)
  })

  it('leaves no stale L1 value when a delete races a set: 200 of 200 keys', async () => {
    const a = cache()
    const b = cache({ namespace: a.namespace, l1: false })
    const keys = Array.from({ length: 200 }, (_, i) => `race${i}`)
    await Promise.all(keys.map((key) => Promise.all([a.set(key, 'old'), a.delete(key)])))
    const seenByA = await Promise.all(keys.map((key) => a.get(key)))
    const seenByB = await Promise.all(keys.map((key) => b.get(key)))
    expect(seenByA.filter((v) => v !== undefined)).toEqual([])
    expect(seenByB.filter((v) => v !== undefined)).toEqual([])
  })

  it('accepts the same values as the memory cache under maxValueBytes', async () => {
    const c = cache({ maxValueBytes: 1000 })
    await c.set('fits', 'x'.repeat(600))
    expect(await c.get('fits')).toHaveLength(600)
    await expect(c.set('big', 'x'.repeat(1200))).rejects.toMatchObject({ code: 'E_VALUE_TOO_LARGE' })
  })

  it('gives getOrSet callers E_L2_UNAVAILABLE, not a loader failure, when Redis is down and errors are not suppressed', async () => {
    const down = new GenericRedisCache({ redisUrl: 'redis://127.0.0.1:1', suppressL2Errors: false, l2Timeout: 100, connectTimeout: 100 })
    caches.push(down)
    let loaderRan = false
    const error = await down.getOrSet('k', () => ((loaderRan = true), 'v')).catch((e: unknown) => e)
    expect(error).toMatchObject({ code: 'E_L2_UNAVAILABLE' })
    expect(loaderRan).toBe(false)
  })

  it('gives getOrSet callers E_LOCK_TIMEOUT when another instance holds the lock past lock.wait', async () => {
    const holder = cache()
    const waiter = cache({ namespace: holder.namespace })
    const lock = { lease: '2s', wait: 100 } as const
    const slow = holder.getOrSet('k', async () => (await sleep(600), 'v'), { lock })
    // The holder has the lock once its key exists.
    const lockKey = `${holder.namespace}#lock:k`
    await expect.poll(() => admin.exists(lockKey), { timeout: 2000, interval: 5 }).toBe(1)
    await expect(waiter.getOrSet('k', () => 'w', { lock })).rejects.toMatchObject({ code: 'E_LOCK_TIMEOUT' })
    expect(await slow).toBe('v')
  })

  it('keeps a tag index bounded: after 10,000 tagged keys expired, it holds the live ones only', async () => {
    const c = cache({ l1: false })
    // Long enough for the batch to be written in full even on a loaded machine.
    const ttl = 3000
    const batch = Array.from({ length: 10_000 }, (_, i) => ({ key: `gone${i}`, value: i, ttl, tags: ['t'] }))
    await c.setMany(batch)
    const written = Date.now()
    expect(await admin.zCard(`${c.namespace}#tag:t`)).toBe(10_000)
    await sleep(written + ttl + 100 - Date.now())
    await c.set('live', 1, { tags: ['t'], ttl: '1m' })
    expect(await admin.zCard(`${c.namespace}#tag:t`)).toBe(1)
    // The index expires with its last member: nothing outlives the entries it points to.
    expect(await admin.pTTL(`${c.namespace}#tag:t`)).toBeLessThanOrEqual(60_001)
  })

  it('removes a key rewritten without a tag from L1 too when Redis\' index still names it', async () => {
    const c = cache()
    await c.set('k', 1, { tags: ['a'] })
    await c.set('k', 2)
    expect(await c.invalidateTags(['a'])).toBe(1)
    expect(await c.get('k')).toBeUndefined()
  })

  it('deletes a tag index once its tag is invalidated', async () => {
    const c = cache()
    await c.set('a', 1, { tags: ['t'] })
    expect(await c.invalidateTags(['t'])).toBe(1)
    expect(await admin.exists(`${c.namespace}#tag:t`)).toBe(0)
    expect(await c.get('a')).toBeUndefined()
  })

  it("clear() of namespace 'a*' leaves namespace 'a' and its tag indexes alone", async () => {
    const base = uniqueNamespace('ns')
    const a = cache({ namespace: base })
    const star = cache({ namespace: `${base}*` })
    await a.set('k', 1, { tags: ['t'] })
    await star.set('k', 2, { tags: ['t'] })
    await star.clear()
    expect(await admin.exists(`${base}#tag:t`)).toBe(1)
    expect(await a.invalidateTags(['t'])).toBe(1)
    expect(await a.get('k')).toBeUndefined()
  })

  it('refuses a load that another instance overtook with invalidateTags', async () => {
    const b = cache()
    const a = cache({ namespace: b.namespace })
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const load = b.getOrSet('k', async () => (await gate, 'before'), { tags: ['users'] })
    await sleep(30)
    await a.invalidateTags(['users'])
    release()
    expect(await load).toBe('before')
    expect(await admin.exists(`${b.namespace}:k`)).toBe(0)
    expect(await a.get('k')).toBeUndefined()
  })

  it('never reads back a value whose invalidation Redis refused, while it waits in the queue', async () => {
    // A user that may read and write but not delete: every delete fails and stays queued.
    await admin.sendCommand(['ACL', 'SETUSER', 'nounlink', 'on', '>pw', '~*', '&*', '+@all', '-unlink'])
    const url = server.url.replace('redis://', 'redis://nounlink:pw@')
    const c = cache({ redisUrl: url })
    const errorsSeen: string[] = []
    c.on('cache:error', ({ error }) => errorsSeen.push(error.code))
    await c.set('k', 'old')
    await c.delete('k')
    expect(await admin.exists(`${c.namespace}:k`)).toBe(1)
    expect(c.getStats().l2?.pendingInvalidations).toBe(1)
    expect(await c.get('k')).toBeUndefined()
    expect(await c.getOrSet('k', () => 'reloaded')).toBe('reloaded')
    expect(errorsSeen).toContain('E_L2_UNAVAILABLE')
  })

  it('closes the breaker when a health PING is answered after a stall, without waiting for openDuration', async () => {
    const c = cache({
      l1: false,
      l2Timeout: 50,
      circuitBreaker: { failureThreshold: 2, openDuration: '1h' },
      redis: { pingInterval: 200, socketTimeout: '3s' },
    })
    await c.set('k', 1)
    server.pause()
    try {
      await Promise.all([c.get('a'), c.get('b'), c.get('c')])
      expect(c.getStats().l2?.circuit).toBe('open')
    } finally {
      server.resume()
    }
    // The connection never dropped (the stall was shorter than socketTimeout): only the PING can tell.
    await waitFor(() => c.getStats().l2?.circuit === 'closed', 3000)
    expect(c.getStats().l2?.connected).toBe(true)
    expect(await c.get('k')).toBe(1)
  })

  it('closes the breaker as soon as the connection is back, without waiting for openDuration', async () => {
    const c = cache({ l1: false, circuitBreaker: { openDuration: '1h' }, redis: { reconnectMaxDelay: 100 } })
    await c.set('k', 1)
    await server.kill()
    await waitFor(() => c.getStats().l2?.circuit === 'open')
    await server.restart()
    await waitFor(() => c.getStats().l2?.connected === true)
    expect(c.getStats().l2?.circuit).toBe('closed')
    await c.set('after', 2)
    expect(await c.get('after')).toBe(2)
  })
})

async function waitFor(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await sleep(10)
  }
}
