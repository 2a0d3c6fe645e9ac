/**
 * cache-manager 7's documented behaviour (node_modules/cache-manager/README.md and its types), as
 * one suite run against `createCache()` with its default Keyv memory store and against
 * `CacheCompatibilityWrapper.cacheManager()`, so the suite encodes what cache-manager does.
 */
import { describe, expect, it } from 'vitest'

/** The part of cache-manager 7's `Cache` both subjects share. */
export interface CacheManagerLike {
  get<T>(key: string): Promise<T | undefined>
  mget<T>(keys: string[]): Promise<Array<T | undefined>>
  ttl(key: string): Promise<number | undefined>
  set<T>(key: string, value: T, ttl?: number): Promise<T>
  mset<T>(list: Array<{ key: string; value: T; ttl?: number }>): Promise<Array<{ key: string; value: T; ttl?: number }>>
  del(key: string): Promise<boolean>
  mdel(keys: string[]): Promise<boolean>
  clear(): Promise<boolean>
  wrap<T>(key: string, fnc: () => T | Promise<T>, ttl?: number | ((value: T) => number), refreshThreshold?: number | ((value: T) => number)): Promise<T>
  wrap<T>(key: string, fnc: () => T | Promise<T>, options: { ttl?: number; refreshThreshold?: number; raw: true }): Promise<{ value: T; expires?: number | undefined } | undefined>
  on(event: string, listener: (...args: never[]) => void): unknown
  off(event: string, listener: (...args: never[]) => void): unknown
  disconnect(): Promise<undefined>
  cacheId(): string
}

export interface CacheManagerSubject {
  cache: CacheManagerLike
  cleanup?: () => Promise<void>
}

export interface CacheManagerContractOptions {
  make(options?: { ttl?: number; refreshThreshold?: number; cacheId?: string }): Promise<CacheManagerSubject>
  advance(ms: number): Promise<void>
  ttlMs: number
}

export function registerCacheManagerContract(name: string, opts: CacheManagerContractOptions): void {
  const T = opts.ttlMs
  const tolerance = Math.max(T / 4, 1)
  const refreshed = (cache: CacheManagerLike) =>
    new Promise<Record<string, unknown>>((resolve) => cache.on('refresh', (data: Record<string, unknown>) => resolve(data)))

  describe(name, () => {
    it('get resolves undefined for a missing key, and the value once set (null is a value)', async () => {
      const { cache, cleanup } = await opts.make()
      expect(await cache.get('foo')).toBeUndefined()
      expect(await cache.set('foo', 'bar')).toBe('bar')
      expect(await cache.get('foo')).toBe('bar')
      await cache.set('obj', { a: [1, { b: null }] })
      expect(await cache.get('obj')).toEqual({ a: [1, { b: null }] })
      await cache.set('nil', null)
      expect(await cache.get('nil')).toBeNull()
      await cleanup?.()
    })

    it('set with a ttl in ms expires after it', async () => {
      const { cache, cleanup } = await opts.make()
      await cache.set('key 2', 'value 2', T)
      await opts.advance(T / 2)
      expect(await cache.get('key 2')).toBe('value 2')
      await opts.advance(T)
      expect(await cache.get('key 2')).toBeUndefined()
      await cleanup?.()
    })

    it('without a ttl nothing expires, and the ttl option is the default', async () => {
      const plain = await opts.make()
      await plain.cache.set('forever', 1)
      expect(await plain.cache.ttl('forever')).toBeUndefined()
      await opts.advance(2 * T)
      expect(await plain.cache.get('forever')).toBe(1)
      await plain.cleanup?.()
      const withDefault = await opts.make({ ttl: T })
      await withDefault.cache.set('default', 1)
      await withDefault.cache.mset([{ key: 'default-m', value: 2 }])
      await opts.advance(T + T / 2)
      expect(await withDefault.cache.mget(['default', 'default-m'])).toEqual([undefined, undefined])
      await withDefault.cleanup?.()
    })

    it('ttl resolves the expiration time in epoch ms, and undefined for a missing key', async () => {
      const { cache, cleanup } = await opts.make()
      const before = Date.now()
      await cache.set('key', 'value', 10 * T)
      const expires = await cache.ttl('key')
      expect(expires).toBeGreaterThanOrEqual(before + 10 * T - tolerance)
      expect(expires).toBeLessThanOrEqual(Date.now() + 10 * T + tolerance)
      expect(await cache.ttl('foo')).toBeUndefined()
      await cleanup?.()
    })

    it('mset stores every entry and resolves the list with each ttl; mget aligns values with keys', async () => {
      const { cache, cleanup } = await opts.make({ ttl: 100 * T })
      const list = await cache.mset([
        { key: 'key-1', value: 'value 1' },
        { key: 'key-2', value: 'value 2', ttl: T },
      ])
      expect(list).toEqual([
        { key: 'key-1', value: 'value 1', ttl: 100 * T },
        { key: 'key-2', value: 'value 2', ttl: T },
      ])
      expect(await cache.mget(['key-1', 'key-2', 'key-3'])).toEqual(['value 1', 'value 2', undefined])
      await opts.advance(T + T / 2)
      expect(await cache.mget(['key-1', 'key-2'])).toEqual(['value 1', undefined])
      await cleanup?.()
    })

    it('del resolves true, for a missing key too, and the key is gone', async () => {
      const { cache, cleanup } = await opts.make()
      await cache.set('key', 'value')
      expect(await cache.del('key')).toBe(true)
      expect(await cache.get('key')).toBeUndefined()
      expect(await cache.del('key')).toBe(true)
      await cleanup?.()
    })

    it('mdel resolves true and deletes every key', async () => {
      const { cache, cleanup } = await opts.make()
      await cache.mset([{ key: 'key-1', value: 1 }, { key: 'key-2', value: 2 }, { key: 'key-3', value: 3 }])
      expect(await cache.mdel(['key-1', 'key-2'])).toBe(true)
      expect(await cache.mget(['key-1', 'key-2', 'key-3'])).toEqual([undefined, undefined, 3])
      await cleanup?.()
    })

    it('clear resolves true and flushes the data', async () => {
      const { cache, cleanup } = await opts.make()
      await cache.set('key-1', 'value 1')
      await cache.set('key-2', 'value 2')
      expect(await cache.clear()).toBe(true)
      expect(await cache.mget(['key-1', 'key-2'])).toEqual([undefined, undefined])
      await cleanup?.()
    })

    it('wrap calls the function on a miss, caches its result and serves it without calling again', async () => {
      const { cache, cleanup } = await opts.make()
      const fn = vi_fn((n: number) => n)
      expect(await cache.wrap('key', () => fn.call(1), 10 * T)).toBe(1)
      expect(await cache.wrap('key', () => fn.call(2), 10 * T)).toBe(1)
      expect(fn.calls).toBe(1)
      expect(await cache.get('key')).toBe(1)
      await cleanup?.()
    })

    it('wrap runs the function once for concurrent calls of one key', async () => {
      const { cache, cleanup } = await opts.make()
      let calls = 0
      const slow = async () => {
        calls++
        await new Promise((resolve) => setImmediate(resolve))
        return 'once'
      }
      const results = await Promise.all(Array.from({ length: 20 }, () => cache.wrap('cold', slow, 10 * T)))
      expect(results).toEqual(Array.from({ length: 20 }, () => 'once'))
      expect(calls).toBe(1)
      await cleanup?.()
    })

    it('wrap caches for its ttl (a number or a function of the value), then calls again', async () => {
      const { cache, cleanup } = await opts.make()
      expect(await cache.wrap('n', () => 'a', T)).toBe('a')
      expect(await cache.wrap('f', () => ({ ttl: T }), (value) => value.ttl)).toEqual({ ttl: T })
      await opts.advance(T / 2)
      expect(await cache.wrap('n', () => 'b', T)).toBe('a')
      await opts.advance(T)
      expect(await cache.wrap('n', () => 'c', T)).toBe('c')
      expect(await cache.wrap('f', () => ({ ttl: 1 }), (value) => value.ttl)).toEqual({ ttl: 1 })
      await cleanup?.()
    })

    it('wrap rejects with the error of the function and caches nothing', async () => {
      const { cache, cleanup } = await opts.make()
      const failure = new Error('failed')
      await expect(cache.wrap('error', () => Promise.reject(failure))).rejects.toBe(failure)
      await expect(
        cache.wrap('error', () => {
          throw failure
        }),
      ).rejects.toBe(failure)
      expect(await cache.get('error')).toBeUndefined()
      expect(await cache.wrap('error', () => 'ok')).toBe('ok')
      await cleanup?.()
    })

    it('wrap returns the cached value and refreshes it in the background once under refreshThreshold', async () => {
      const { cache, cleanup } = await opts.make()
      expect(await cache.wrap('key', () => 1, 4 * T, 2 * T)).toBe(1)
      expect(await cache.wrap('key', () => 2, 4 * T, 2 * T)).toBe(1)
      await opts.advance(3 * T)
      const refresh = refreshed(cache)
      let calls = 0
      const reload = () => {
        calls++
        return 2
      }
      const [first, second] = await Promise.all([cache.wrap('key', reload, 4 * T, 2 * T), cache.wrap('key', reload, 4 * T, 2 * T)])
      expect([first, second]).toEqual([1, 1])
      expect(await refresh).toMatchObject({ key: 'key', value: 2 })
      expect(calls).toBe(1)
      expect(await cache.wrap('key', () => 3, 4 * T, 2 * T)).toBe(2)
      await cleanup?.()
    })

    it('wrap refreshes under the refreshThreshold option, and a failed refresh keeps the value and emits it', async () => {
      const { cache, cleanup } = await opts.make({ refreshThreshold: 2 * T })
      expect(await cache.wrap('key', () => 'old', 4 * T)).toBe('old')
      await opts.advance(3 * T)
      const refresh = refreshed(cache)
      const failure = new Error('reload failed')
      expect(await cache.wrap('key', () => Promise.reject(failure), 4 * T)).toBe('old')
      expect(await refresh).toMatchObject({ key: 'key', value: 'old', error: failure })
      expect(await cache.get('key')).toBe('old')
      await cleanup?.()
    })

    it('wrap does not refresh with more than refreshThreshold left, nor an entry without a ttl', async () => {
      const { cache, cleanup } = await opts.make()
      await cache.wrap('fresh', () => 1, 10 * T, T)
      await cache.wrap('forever', () => 1)
      await opts.advance(T)
      let calls = 0
      const reload = () => {
        calls++
        return 2
      }
      expect(await cache.wrap('fresh', reload, 10 * T, T)).toBe(1)
      expect(await cache.wrap('forever', reload, undefined, T)).toBe(1)
      await new Promise((resolve) => setImmediate(resolve))
      expect(calls).toBe(0)
      await cleanup?.()
    })

    it('wrap with raw: true resolves { value, expires } on a hit', async () => {
      const { cache, cleanup } = await opts.make()
      await cache.wrap('key', () => 1, 10 * T)
      const raw = await cache.wrap('key', () => 2, { ttl: 10 * T, refreshThreshold: T, raw: true })
      expect(raw?.value).toBe(1)
      expect(raw?.expires).toBeGreaterThan(Date.now() + 9 * T)
      await cleanup?.()
    })

    it('wrap caches nothing when the function resolves undefined', async () => {
      const { cache, cleanup } = await opts.make()
      let calls = 0
      const nothing = () => {
        calls++
        return undefined
      }
      expect(await cache.wrap('void', nothing)).toBeUndefined()
      expect(await cache.wrap('void', nothing)).toBeUndefined()
      expect(calls).toBe(2)
      await cleanup?.()
    })

    it('emits set, del, clear, get on a hit, and mget, with their payloads; off removes a listener', async () => {
      const { cache, cleanup } = await opts.make()
      const seen: Array<[string, unknown]> = []
      const on = (event: string) => {
        const listener = (data: unknown) => seen.push([event, data])
        cache.on(event, listener)
        return listener
      }
      for (const event of ['set', 'del', 'clear', 'mget']) on(event)
      const get = on('get')
      await cache.set('key', 'value')
      await cache.get('key')
      await cache.get('missing')
      await cache.mget(['key', 'missing'])
      await cache.del('key')
      await cache.clear()
      cache.off('get', get)
      await cache.get('key')
      expect(seen).toEqual([
        ['set', { key: 'key', value: 'value', store: 'primary' }],
        ['set', { key: 'key', value: 'value' }],
        ['get', { key: 'key', value: 'value', store: 'primary' }],
        ['mget', { keys: ['key', 'missing'], values: ['value', undefined] }],
        ['del', { key: 'key' }],
        ['clear', undefined],
      ])
      await cleanup?.()
    })

    it('cacheId returns the cacheId option, else a random id per cache', async () => {
      const named = await opts.make({ cacheId: 'my-cache-id' })
      expect(named.cache.cacheId()).toBe('my-cache-id')
      const a = await opts.make()
      const b = await opts.make()
      expect(a.cache.cacheId()).not.toBe(b.cache.cacheId())
      await Promise.all([named.cleanup?.(), a.cleanup?.(), b.cleanup?.()])
    })

    it('disconnect resolves undefined', async () => {
      const { cache } = await opts.make()
      expect(await cache.disconnect()).toBeUndefined()
    })
  })
}

/** A counting function without vitest's mock typing noise. */
function vi_fn<A, R>(impl: (arg: A) => R): { call(arg: A): R; calls: number } {
  const counted = {
    calls: 0,
    call(arg: A): R {
      counted.calls++
      return impl(arg)
    },
  }
  return counted
}
