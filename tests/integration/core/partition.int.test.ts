/**
 * A network partition between one app instance (A, with an L1, behind a proxy) and Redis, while
 * another client (B, no L1, direct) still reaches Redis. Invalidations made during the partition
 * must take effect in A at once, be queued, and reach Redis once the partition heals, so that no
 * instance serves the invalidated values afterwards.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/core/generic-redis-cache.js'
import type { GenericRedisCacheOptions, L1Options } from '../../../src/options/cache-options.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'
import { type TcpProxy, startTcpProxy } from '../../helpers/tcp-proxy.js'

const hasRedis = requireRedis()

const WRITE_DEADLINE_MS = 200
/** Slack on top of a deadline for timers and scheduling on a loaded machine. */
const SLACK_MS = 250
/** How long the queue may take to drain once the partition heals. */
const RECOVERY_MS = 5_000

/**
 * Connection timings for A, so a dead connection is noticed within a few hundred ms. The same
 * settings under both spellings in use: `…Ms` numbers, and the duration names of the engine
 * being rewritten (`socketTimeout`, …); the first one the build accepts is used.
 */
const FAST_FAILOVER: NonNullable<GenericRedisCacheOptions['redis']> = {
  socketTimeout: 300,
  pingInterval: 100,
  connectTimeout: 300,
  reconnectMinDelay: 20,
  reconnectMaxDelay: 100,
}

function l2Of(cache: GenericRedisCache) {
  const l2 = cache.getStats().l2
  if (l2 === undefined) throw new Error('cache has no L2 tier')
  return l2
}

interface SeenError {
  code: string | undefined
  operation: string
  key: string | undefined
}

/**
 * Reads `read()` every `intervalMs` until `done` holds or `timeoutMs` passes; resolves the last
 * reading either way, so the caller asserts on it (and a failure shows what was last seen).
 */
async function pollUntil<T>(read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs: number, intervalMs = 50): Promise<T> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const value = await read()
    if (done(value) || performance.now() >= deadline) return value
    await sleep(intervalMs)
  }
}

/** Resolves how long `run` took, in ms. */
async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now()
  await run()
  return performance.now() - started
}

describe.skipIf(!hasRedis)('GenericRedisCache across a network partition', () => {
  const server = useRedisServer()
  let proxy: TcpProxy
  const opened: GenericRedisCache[] = []

  beforeEach(async () => {
    proxy = await startTcpProxy(server.port)
  })

  afterEach(async () => {
    proxy.heal()
    for (const cache of opened.splice(0)) await cache.disconnect()
    await proxy.close()
  })

  /** A: L1 on, through the proxy, noticing a dead connection within a few hundred ms. */
  async function makeA(namespace: string, extra: Partial<GenericRedisCacheOptions> = {}): Promise<GenericRedisCache> {
    const cache = new GenericRedisCache({
      redisUrl: proxy.url,
      namespace,
      l1: { maxEntries: 100 },
      defaultTtl: '10m',
      l2Timeout: WRITE_DEADLINE_MS,
      redis: FAST_FAILOVER,
      ...extra,
    })
    opened.push(cache)
    expect(await cache.connect()).toBe(true)
    return cache
  }

  /** A client straight to Redis; with `l1: false` it shows what Redis holds. */
  async function makeDirect(namespace: string, l1: L1Options | false): Promise<GenericRedisCache> {
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace, l1, defaultTtl: '10m' })
    opened.push(cache)
    expect(await cache.connect()).toBe(true)
    return cache
  }

  function recordErrors(cache: GenericRedisCache): SeenError[] {
    const seen: SeenError[] = []
    cache.on('cache:error', ({ error, operation, key }) => {
      seen.push({ code: (error as { code?: string }).code, operation, key })
    })
    return seen
  }

  /** Values of `keys` as `get` answers them (`undefined` for a miss). */
  async function values(cache: GenericRedisCache, keys: readonly string[]): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {}
    for (const key of keys) out[key] = await cache.get(key)
    return out
  }

  async function waitDisconnected(cache: GenericRedisCache): Promise<void> {
    await expect.poll(() => l2Of(cache).connected, { timeout: 2_000, interval: 10 }).toBe(false)
  }

  it('drops invalidated keys from L1 at once, queues them, and applies them to Redis after the heal', async () => {
    const namespace = uniqueNamespace('partition')
    const a = await makeA(namespace)
    const b = await makeDirect(namespace, false)
    await a.set('k1', 'v1')
    await a.set('k2', 'v2', { tags: ['t'] })
    await a.set('k3', 'v3', { tags: ['t'] })
    await a.set('k4', 'v4')
    await a.set('k5', 'v5', { tags: ['other'] })
    const all = ['k1', 'k2', 'k3', 'k4', 'k5']
    const before = { k1: 'v1', k2: 'v2', k3: 'v3', k4: 'v4', k5: 'v5' }
    expect(await values(a, all)).toEqual(before)
    expect(await values(b, all)).toEqual(before)
    expect.soft(l2Of(a).pendingInvalidations).toBe(0)
    const errors = recordErrors(a)

    proxy.cut()
    // Called at once, before A can know: the DEL is written to a connection that is gone.
    const deleteMs = await timed(() => a.delete('k1'))
    expect.soft(deleteMs).toBeLessThan(WRITE_DEADLINE_MS + SLACK_MS)
    expect.soft(await a.get('k1')).toBeUndefined()
    const afterDelete = errors.filter((e) => e.code === 'E_L2_UNAVAILABLE')
    expect.soft(afterDelete.length, JSON.stringify(errors)).toBeGreaterThan(0)

    // Now with the outage known: the invalidation is skipped, not attempted.
    await waitDisconnected(a)
    const seenBefore = errors.length
    const tagsMs = await timed(() => a.invalidateTags(['t']))
    expect.soft(tagsMs).toBeLessThan(WRITE_DEADLINE_MS + SLACK_MS)
    expect.soft(await values(a, ['k1', 'k2', 'k3'])).toEqual({ k1: undefined, k2: undefined, k3: undefined })
    expect.soft(errors.slice(seenBefore).filter((e) => e.code === 'E_L2_UNAVAILABLE').length, JSON.stringify(errors)).toBeGreaterThan(0)
    // Keys nobody invalidated are still served from L1 during the outage.
    expect.soft(await values(a, ['k4', 'k5'])).toEqual({ k4: 'v4', k5: 'v5' })
    // Redis itself has not heard of the invalidations yet; A knows it owes them.
    expect.soft(await values(b, ['k1', 'k2', 'k3'])).toEqual({ k1: 'v1', k2: 'v2', k3: 'v3' })
    expect.soft(l2Of(a).pendingInvalidations).toBeGreaterThan(0)
    expect.soft(l2Of(a).queuedInvalidations).toBeGreaterThanOrEqual(2)

    proxy.heal()
    const settled = await pollUntil(
      async () => ({
        pending: l2Of(a).pendingInvalidations,
        inRedis: Object.entries(await values(b, ['k1', 'k2', 'k3'])).filter(([, v]) => v !== undefined),
      }),
      (seen) => seen.pending === 0 && seen.inRedis.length === 0,
      RECOVERY_MS,
    )
    expect.soft(settled, 'queue drained and Redis no longer has the invalidated keys').toEqual({ pending: 0, inRedis: [] })

    // No instance serves the old values: not A, not Redis, not a new instance with a cold L1.
    const fresh = await makeDirect(namespace, { maxEntries: 100 })
    const after = { k1: undefined, k2: undefined, k3: undefined, k4: 'v4', k5: 'v5' }
    expect.soft(await values(a, all)).toEqual(after)
    expect.soft(await values(b, all)).toEqual(after)
    expect.soft(await values(fresh, all)).toEqual(after)
    // Writes after the heal win over the replayed invalidations.
    await a.set('k1', 'v1-new', { tags: ['t'] })
    expect.soft(await b.get('k1')).toBe('v1-new')
    expect.soft(l2Of(a).connected).toBe(true)
  })

  it('applies a queued pattern invalidation before a write made as soon as Redis is back', async () => {
    const namespace = uniqueNamespace('partition-order')
    const a = await makeA(namespace)
    const b = await makeDirect(namespace, false)
    // Enough keys for the replayed pattern to take many SCAN round trips.
    // Written straight to Redis: a burst this large through A's proxy, with its 300 ms socket
    // timeout, could be cut short on a loaded machine.
    await b.setMany(Array.from({ length: 5000 }, (_, i) => ({ key: `p:${i}`, value: 'old' })))
    proxy.cut()
    await waitDisconnected(a)
    await a.invalidatePattern('p:*')
    expect(l2Of(a).pendingInvalidations).toBe(1)
    proxy.heal()
    await expect.poll(() => l2Of(a).connected, { timeout: RECOVERY_MS, interval: 1 }).toBe(true)
    // Written while the queued pattern is being applied: it must land after it, not be erased by it.
    await a.set('p:0', 'new')
    expect(await b.get('p:0')).toBe('new')
    expect(await b.get('p:1')).toBeUndefined()
  })

  it('with suppressL2Errors: false, delete rejects with E_L2_UNAVAILABLE yet still takes effect everywhere', async () => {
    const namespace = uniqueNamespace('partition-strict')
    const a = await makeA(namespace, { suppressL2Errors: false })
    const b = await makeDirect(namespace, false)
    await a.set('k', 'old')
    expect(await a.get('k')).toBe('old')
    expect(await b.get('k')).toBe('old')

    proxy.cut()
    await waitDisconnected(a)
    const started = performance.now()
    const outcome = await a.delete('k').then(
      (deleted) => ({ resolved: deleted }),
      (error: { code?: string }) => ({ code: error.code }),
    )
    expect.soft(outcome).toEqual({ code: 'E_L2_UNAVAILABLE' })
    expect.soft(performance.now() - started).toBeLessThan(WRITE_DEADLINE_MS + SLACK_MS)
    // Gone from L1: a read now goes to L2, which cannot answer (a rejection), never the old value.
    const answer = await a.get('k').then(
      (value) => ({ value }),
      (error: { code?: string }) => ({ code: error.code }),
    )
    expect.soft([{ value: undefined }, { code: 'E_L2_UNAVAILABLE' }]).toContainEqual(answer)
    expect.soft(l2Of(a).pendingInvalidations).toBeGreaterThan(0)

    proxy.heal()
    const settled = await pollUntil(
      async () => ({ pending: l2Of(a).pendingInvalidations, inRedis: await b.get('k') }),
      (seen) => seen.pending === 0 && seen.inRedis === undefined,
      RECOVERY_MS,
    )
    expect.soft(settled, 'queue drained and Redis no longer has the key').toEqual({ pending: 0, inRedis: undefined })
    expect.soft(await a.get('k')).toBeUndefined()
    const fresh = await makeDirect(namespace, { maxEntries: 100 })
    expect.soft(await fresh.get('k')).toBeUndefined()
  })
})
