import { tracingChannel } from 'node:diagnostics_channel'
import { describe, expect, it } from 'vitest'

import { InMemoryCache, errors } from '../../../src/index.js'
import { FakeClock } from '../../helpers/fake-clock.js'

/** A promise and the function that resolves it. */
function deferred<T>() {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

describe('per-call options', () => {
  it('rejects an unknown option of set, setMany and getOrSet, naming it', async () => {
    const cache = new InMemoryCache()
    for (const call of [
      () => cache.set('k', 1, { tll: '1s' } as never),
      () => cache.setMany([{ key: 'k', value: 1, tll: '1s' } as never]),
      () => cache.getOrSet('k', () => 1, { tll: '1s' } as never),
    ]) {
      const error = await call().then(
        () => undefined,
        (e: unknown) => e,
      )
      expect(error).toBeInstanceOf(errors.E_INVALID_OPTIONS)
      expect((error as InstanceType<typeof errors.E_INVALID_OPTIONS>).issues.map((i) => i.path)).toEqual(['tll'])
    }
    expect(await cache.get('k')).toBeUndefined()
  })

  it('rejects set-only calls that carry getOrSet options', async () => {
    const cache = new InMemoryCache()
    await expect(cache.set('k', 1, { grace: '1m' } as never)).rejects.toMatchObject({ code: 'E_INVALID_OPTIONS' })
  })

  it('applies a per-call ttl given as a duration string, on every call', async () => {
    const clock = new FakeClock()
    const cache = new InMemoryCache({ clock, defaultTtl: '1h' })
    await cache.set('a', 1, { ttl: '1m' })
    await cache.getOrSet('b', () => 2, { ttl: '1m', tags: ['t'] })
    expect(await cache.getTtl('a')).toBe(60_000)
    expect(await cache.getTtl('b')).toBe(60_000)
    clock.advance(60_000)
    expect(await cache.get('a')).toBeUndefined()
    expect(await cache.get('b')).toBeUndefined()
  })
})

describe('accounting', () => {
  it('counts each traced get and getOrSet once', async () => {
    const cache = new InMemoryCache()
    const handlers = { start() {}, end() {}, asyncStart() {}, asyncEnd() {}, error() {} }
    const channels = ['get', 'getOrSet'].map((op) => tracingChannel(`strata-cache:${op}`))
    channels.forEach((channel) => channel.subscribe(handlers))
    try {
      await cache.set('k', 1)
      for (let i = 0; i < 10; i++) await cache.get('k')
      for (let i = 0; i < 5; i++) await cache.getOrSet('k', () => 2)
    } finally {
      channels.forEach((channel) => channel.unsubscribe(handlers))
    }
    expect(cache.getStats().operations).toBe(16)
    expect(cache.getStats().l1?.hits).toBe(15)
  })
})

describe('maxValueBytes', () => {
  it('means the encoded size in memory as on Redis: 600 ASCII characters fit in 1,000 bytes', async () => {
    const cache = new InMemoryCache({ maxValueBytes: 1000 })
    await cache.set('fits', 'x'.repeat(600))
    expect(await cache.get('fits')).toHaveLength(600)
    await expect(cache.set('big', 'x'.repeat(1200))).rejects.toMatchObject({ code: 'E_VALUE_TOO_LARGE' })
    // Three UTF-8 bytes a character: 400 characters are 1,200 bytes once encoded.
    await expect(cache.set('wide', '€'.repeat(400))).rejects.toMatchObject({ code: 'E_VALUE_TOO_LARGE' })
  })

  it('reaches getOrSet callers as E_VALUE_TOO_LARGE, not as a loader failure', async () => {
    const cache = new InMemoryCache({ maxValueBytes: 100 })
    await expect(cache.getOrSet('k', () => 'x'.repeat(500))).rejects.toMatchObject({ code: 'E_VALUE_TOO_LARGE' })
  })
})

describe('invalidations against running loads', () => {
  it('a delete that resolves during a load keeps its result out of the cache, and later calls do not join it', async () => {
    const cache = new InMemoryCache()
    const first = deferred<string>()
    let calls = 0
    const old = cache.getOrSet('k', () => (calls++, first.promise))
    await cache.delete('k')
    const fresh = cache.getOrSet('k', () => (calls++, 'new'))
    first.resolve('old')
    expect(await old).toBe('old')
    expect(await fresh).toBe('new')
    expect(calls).toBe(2)
    expect(await cache.get('k')).toBe('new')
  })

  it('invalidateTags marks a running load of a tagged entry, and later calls start a new load', async () => {
    const cache = new InMemoryCache()
    const first = deferred<string>()
    let calls = 0
    const old = cache.getOrSet('k', () => (calls++, first.promise), { tags: ['users'] })
    await cache.invalidateTags(['users'])
    first.resolve('old')
    expect(await old).toBe('old')
    expect(await cache.get('k')).toBeUndefined()
    expect(await cache.getOrSet('k', () => (calls++, 'new'), { tags: ['users'] })).toBe('new')
    expect(calls).toBe(2)
  })

  it('invalidateTags reaches a load whose loader set the tag itself', async () => {
    const cache = new InMemoryCache()
    const gate = deferred<void>()
    const old = cache.getOrSet('k', async (ctx) => {
      ctx.setTags(['users'])
      await gate.promise
      return 'old'
    })
    await Promise.resolve()
    await cache.invalidateTags(['users'])
    gate.resolve()
    expect(await old).toBe('old')
    expect(await cache.get('k')).toBeUndefined()
  })

  it('a set that resolves during a load wins over the load', async () => {
    const cache = new InMemoryCache()
    const first = deferred<string>()
    const load = cache.getOrSet('k', () => first.promise)
    await cache.set('k', 'written')
    first.resolve('loaded')
    await load
    expect(await cache.get('k')).toBe('written')
  })

  it('caches a load that 12,000 writes of other keys overlapped (the ordering table stays bounded without dropping it)', async () => {
    const cache = new InMemoryCache({ maxEntries: 20_000 })
    const gate = deferred<string>()
    const load = cache.getOrSet('k', () => gate.promise)
    await cache.setMany(Array.from({ length: 12_000 }, (_, i) => ({ key: `other${i}`, value: i })))
    gate.resolve('loaded')
    expect(await load).toBe('loaded')
    expect(await cache.get('k')).toBe('loaded')
  })

  it('still drops a load overtaken by a delete when 12,000 writes of other keys followed the delete', async () => {
    const cache = new InMemoryCache({ maxEntries: 20_000 })
    const gate = deferred<string>()
    const load = cache.getOrSet('k', () => gate.promise)
    await cache.delete('k')
    await cache.setMany(Array.from({ length: 12_000 }, (_, i) => ({ key: `other${i}`, value: i })))
    gate.resolve('before the delete')
    expect(await load).toBe('before the delete')
    expect(await cache.get('k')).toBeUndefined()
  })

  it('a hard timeout releases the key: the next call runs its own loader', async () => {
    const cache = new InMemoryCache()
    const never = new Promise<string>(() => {})
    await expect(cache.getOrSet('k', () => never, { timeout: { hard: 20 } })).rejects.toMatchObject({ code: 'E_FACTORY_TIMEOUT' })
    expect(await cache.getOrSet('k', () => 'next')).toBe('next')
  })
})

describe('getOrSetMany', () => {
  it('answers graced values for the keys whose batch loader failed, and the error for the others', async () => {
    const clock = new FakeClock()
    const cache = new InMemoryCache({ clock })
    const policy = { ttl: 1000, grace: '1h' } as const
    await cache.getOrSetMany(['a', 'b'], () => new Map([['a', 'v-a'], ['b', 'v-b']]), policy)
    clock.advance(2000)
    expect(await cache.get('a')).toBeUndefined()
    const failing = () => Promise.reject(new Error('db down'))
    expect(await cache.getOrSetMany(['a', 'b'], failing, policy)).toEqual(['v-a', 'v-b'])
    await expect(cache.getOrSetMany(['a', 'c'], failing, policy)).rejects.toMatchObject({ code: 'E_FACTORY_ERROR' })
  })
})
