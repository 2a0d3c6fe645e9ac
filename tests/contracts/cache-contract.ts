import { afterEach, describe, expect, it } from 'vitest'
import type { CacheInterface } from '../../src/core/cache-interface.js'
import { errors } from '../../src/errors.js'
import { FakeClock, uniqueNamespace } from '../helpers/fake-clock.js'

/** How the contract builds a cache under test. */
export interface CacheContractTarget {
  /** Builds a connected cache on `namespace` using `clock`. */
  make(params: { namespace: string; clock: FakeClock }): Promise<CacheInterface>
  /** Whether two caches built with different namespaces share one backend (Redis). */
  sharedBackend: boolean
}

/**
 * The behaviour every `CacheInterface` implementation must have, whatever its tiers. Each test
 * makes its own namespace, so suites can share one Redis.
 */
export function registerCacheContract(name: string, target: CacheContractTarget): void {
  describe(`${name}: cache contract`, () => {
    const opened: CacheInterface[] = []
    const clock = new FakeClock()

    async function make(namespace = uniqueNamespace()): Promise<CacheInterface> {
      const cache = await target.make({ namespace, clock })
      opened.push(cache)
      return cache
    }

    afterEach(async () => {
      for (const cache of opened.splice(0)) {
        await cache.clear()
        await cache.disconnect()
      }
    })

    it('returns undefined on a miss and the value after set', async () => {
      const cache = await make()
      expect(await cache.get('a')).toBeUndefined()
      await cache.set('a', { n: 1 })
      expect(await cache.get('a')).toEqual({ n: 1 })
    })

    it('stores null as a value and refuses undefined with E_UNDEFINED_VALUE', async () => {
      const cache = await make()
      await cache.set('n', null)
      expect(await cache.get('n')).toBeNull()
      expect(await cache.exists('n')).toBe(true)
      await expect(cache.set('u', undefined)).rejects.toBeInstanceOf(errors.E_UNDEFINED_VALUE)
      expect(await cache.exists('u')).toBe(false)
    })

    it('rejects (never throws synchronously) empty and non-string keys with E_INVALID_KEY', async () => {
      const cache = await make()
      await expect(cache.get('')).rejects.toBeInstanceOf(errors.E_INVALID_KEY)
      await expect(cache.set('', 1)).rejects.toMatchObject({ code: 'E_INVALID_KEY' })
      await expect(cache.get(42 as unknown as string)).rejects.toBeInstanceOf(errors.E_INVALID_KEY)
      await expect(cache.getOrSet('', () => 1)).rejects.toMatchObject({ code: 'E_INVALID_KEY' })
      await expect(cache.deleteMany(['ok', ''])).rejects.toMatchObject({ code: 'E_INVALID_KEY' })
      await expect(cache.exists('')).rejects.toMatchObject({ code: 'E_INVALID_KEY' })
      // A .catch() chain sees it too: nothing escapes as a synchronous throw.
      expect(await cache.get('').catch((error: { code: string }) => error.code)).toBe('E_INVALID_KEY')
    })

    it('refuses a bad ttl with E_INVALID_OPTIONS naming the option', async () => {
      const cache = await make()
      await expect(cache.set('k', 1, { ttl: '10 minutes' as never })).rejects.toThrow(/ttl/)
      await expect(cache.set('k', 1, { ttl: -1 })).rejects.toMatchObject({ code: 'E_INVALID_OPTIONS' })
    })

    it('expires entries after their ttl and reports the remaining ttl', async () => {
      const cache = await make()
      await cache.set('t', 'v', { ttl: '10s' })
      await cache.set('forever', 'v', { ttl: 0 })
      const ttl = await cache.getTtl('t')
      expect(ttl).toBeGreaterThan(9_000)
      expect(ttl).toBeLessThanOrEqual(10_000)
      expect(await cache.getTtl('forever')).toBe(Infinity)
      expect(await cache.getTtl('missing')).toBeUndefined()
      clock.advance(10_001)
      expect(await cache.get('t')).toBeUndefined()
      expect(await cache.exists('t')).toBe(false)
      expect(await cache.get('forever')).toBe('v')
    })

    it('deletes a key and says whether it existed', async () => {
      const cache = await make()
      await cache.set('d', 1)
      expect(await cache.delete('d')).toBe(true)
      expect(await cache.get('d')).toBeUndefined()
      expect(await cache.delete('d')).toBe(false)
    })

    it('getMany aligns values with keys and setMany/deleteMany work in batches', async () => {
      const cache = await make()
      await cache.setMany([
        { key: 'm1', value: 1 },
        { key: 'm2', value: 'two', ttl: '1m' },
        { key: 'm3', value: null },
      ])
      expect(await cache.getMany(['m1', 'nope', 'm2', 'm3'])).toEqual([1, undefined, 'two', null])
      expect(await cache.deleteMany(['m1', 'm2', 'nope'])).toBe(2)
      expect(await cache.getMany(['m1', 'm2', 'm3'])).toEqual([undefined, undefined, null])
    })

    it('setMany validates every entry before writing any', async () => {
      const cache = await make()
      await expect(
        cache.setMany([
          { key: 'ok', value: 1 },
          { key: 'bad', value: undefined },
        ]),
      ).rejects.toMatchObject({ code: 'E_UNDEFINED_VALUE' })
      expect(await cache.get('ok')).toBeUndefined()
    })

    it('lists and invalidates keys by Redis-style glob', async () => {
      const cache = await make()
      await cache.setMany(['user:1', 'user:2', 'user:10', 'post:1', 'user*x'].map((key) => ({ key, value: key })))
      expect((await cache.getKeys('user:?')).sort()).toEqual(['user:1', 'user:2'])
      expect((await cache.getKeys('user:*')).sort()).toEqual(['user:1', 'user:10', 'user:2'])
      expect(await cache.getKeys('user\\*x')).toEqual(['user*x'])
      expect((await cache.getKeys('[pu]*:1')).sort()).toEqual(['post:1', 'user:1'])
      expect(await cache.invalidatePattern('user:*')).toBe(3)
      expect(await cache.get('user:1')).toBeUndefined()
      expect(await cache.get('post:1')).toBe('post:1')
    })

    it('invalidates every key carrying a tag', async () => {
      const cache = await make()
      await cache.set('a', 1, { tags: ['users'] })
      await cache.set('b', 2, { tags: ['users', 'admins'] })
      await cache.set('c', 3, { tags: ['posts'] })
      expect(await cache.invalidateTags(['users'])).toBe(2)
      expect(await cache.getMany(['a', 'b', 'c'])).toEqual([undefined, undefined, 3])
      await expect(cache.invalidateTags([''])).rejects.toMatchObject({ code: 'E_INVALID_OPTIONS' })
    })

    it('clear() empties this cache', async () => {
      const cache = await make()
      await cache.setMany([
        { key: 'x', value: 1, tags: ['t'] },
        { key: 'y', value: 2 },
      ])
      await cache.clear()
      expect(await cache.getMany(['x', 'y'])).toEqual([undefined, undefined])
      expect(await cache.getKeys('*')).toEqual([])
    })

    it('isolates namespaces: neither sees nor clears the other', async () => {
      const ns = uniqueNamespace('iso')
      const a = await make(`${ns}-a`)
      const b = await make(`${ns}-a*`)
      await a.set('k', 'from-a')
      await b.set('k', 'from-b')
      expect(await a.get('k')).toBe('from-a')
      expect(await b.getKeys('*')).toEqual(['k'])
      await b.clear()
      expect(await a.get('k')).toBe('from-a')
      expect(await b.invalidatePattern('*')).toBe(0)
      await a.invalidateTags(['none'])
      expect(await a.getKeys('*')).toEqual(['k'])
      if (target.sharedBackend) {
        const again = await make(`${ns}-a`)
        expect(await again.get('k')).toBe('from-a')
      }
    })

    it('getOrSet runs the loader once for 1,000 concurrent callers and caches the value', async () => {
      const cache = await make()
      let calls = 0
      const loader = async () => {
        calls++
        await new Promise((resolve) => setTimeout(resolve, 20))
        return { loaded: true }
      }
      const results = await Promise.all(Array.from({ length: 1000 }, () => cache.getOrSet('cold', loader)))
      expect(calls).toBe(1)
      expect(results.every((r) => r.loaded)).toBe(true)
      expect(await cache.getOrSet('cold', loader)).toEqual({ loaded: true })
      expect(calls).toBe(1)
    })

    it('getOrSet passes a loader error to every waiter as E_FACTORY_ERROR and caches nothing', async () => {
      const cache = await make()
      const boom = new Error('db down')
      let calls = 0
      const loader = async () => {
        calls++
        await new Promise((resolve) => setTimeout(resolve, 5))
        throw boom
      }
      const settled = await Promise.allSettled(Array.from({ length: 50 }, () => cache.getOrSet('e', loader)))
      expect(calls).toBe(1)
      for (const result of settled) {
        expect(result.status).toBe('rejected')
        const reason = (result as PromiseRejectedResult).reason as { code: string; cause: unknown }
        expect(reason.code).toBe('E_FACTORY_ERROR')
        expect(reason.cause).toBe(boom)
      }
      expect(await cache.exists('e')).toBe(false)
      expect(await cache.getOrSet('e', () => 'recovered')).toBe('recovered')
    })

    it('getOrSet does not cache a loader result of undefined', async () => {
      const cache = await make()
      expect(await cache.getOrSet('none', () => undefined)).toBeUndefined()
      expect(await cache.exists('none')).toBe(false)
    })

    it('a delete during a load keeps the stale result out of the cache', async () => {
      const cache = await make()
      let release!: () => void
      const pending = cache.getOrSet('race', () => new Promise<string>((resolve) => (release = () => resolve('old'))))
      await new Promise((resolve) => setTimeout(resolve, 10))
      await cache.delete('race')
      release()
      expect(await pending).toBe('old')
      expect(await cache.get('race')).toBeUndefined()
    })

    it('emits typed events and survives a listener that throws', async () => {
      const cache = await make()
      const seen: string[] = []
      cache.on('cache:set', ({ key }) => seen.push(`set:${key}`))
      cache.on('cache:hit', () => {
        throw new Error('listener bug')
      })
      cache.on('cache:miss', ({ key }) => seen.push(`miss:${key}`))
      cache.on('cache:delete', ({ key }) => seen.push(`delete:${key}`))
      await cache.set('ev', 1)
      expect(await cache.get('ev')).toBe(1)
      await cache.get('nope')
      await cache.delete('ev')
      expect(seen).toEqual(['set:ev', 'miss:nope', 'delete:ev'])
    })

    it('counts hits, misses, sets and deletes in getStats()', async () => {
      const cache = await make()
      await cache.set('s', 1)
      await cache.get('s')
      await cache.get('s')
      await cache.get('absent')
      await cache.delete('s')
      const stats = cache.getStats()
      expect(stats.hits).toBe(2)
      expect(stats.misses).toBe(1)
      expect(stats.hitRatio).toBeCloseTo(2 / 3)
      expect(stats.sets).toBe(1)
      expect(stats.deletes).toBe(1)
    })
  })
}
