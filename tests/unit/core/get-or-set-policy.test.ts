import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { InMemoryCache } from '../../../src/core/in-memory-cache.js'
import { errors } from '../../../src/errors.js'
import type { InMemoryCacheOptions } from '../../../src/options/cache-options.js'

// Fake timers drive both the loader timeouts (setTimeout) and the cache clock (Date.now).
const clock = { now: () => Date.now() }

function cache(options: InMemoryCacheOptions = {}) {
  const errorsSeen: string[] = []
  const instance = new InMemoryCache({ clock, ...options })
  instance.on('cache:error', ({ error }) => errorsSeen.push(error.code))
  return { cache: instance, errorsSeen }
}

/** A loader that resolves `value` after `ms` of fake time, counting its calls. */
function slowLoader<T>(value: T, ms: number) {
  const loader = Object.assign(
    async () => {
      loader.calls++
      await new Promise((resolve) => setTimeout(resolve, ms))
      return value
    },
    { calls: 0 },
  )
  return loader
}

function failingLoader(error: Error) {
  return async () => {
    throw error
  }
}

describe('getOrSet policy', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
  })
  afterEach(() => {
    vi.useRealTimers()
  })

  it('serves the stale value within grace when the loader fails, and reports the error', async () => {
    const { cache: c, errorsSeen } = cache({ grace: '1h' })
    await c.set('k', 'old', { ttl: '1m' })
    vi.advanceTimersByTime(61_000)
    expect(await c.get('k')).toBeUndefined()
    expect(await c.getOrSet('k', failingLoader(new Error('db down')))).toBe('old')
    expect(errorsSeen).toEqual(['E_FACTORY_ERROR'])
  })

  it('without grace, a failing loader rejects with E_FACTORY_ERROR carrying the cause', async () => {
    const { cache: c } = cache()
    const boom = new Error('db down')
    await c.set('k', 'old', { ttl: '1m' })
    vi.advanceTimersByTime(61_000)
    await expect(c.getOrSet('k', failingLoader(boom))).rejects.toMatchObject({ code: 'E_FACTORY_ERROR', cause: boom })
  })

  it('stops serving stale values once grace has passed', async () => {
    const { cache: c } = cache({ grace: '10m' })
    await c.set('k', 'old', { ttl: '1m' })
    vi.advanceTimersByTime(11 * 60_000 + 1)
    await expect(c.getOrSet('k', failingLoader(new Error('x')))).rejects.toBeInstanceOf(errors.E_FACTORY_ERROR)
  })

  it('soft timeout answers stale at once; the loader finishes in the background and updates the cache', async () => {
    const { cache: c } = cache({ grace: '1h', timeout: { soft: 100 } })
    await c.set('k', 'old', { ttl: '1m' })
    vi.advanceTimersByTime(61_000)
    const loader = slowLoader('new', 1_000)
    const answer = c.getOrSet('k', loader)
    await vi.advanceTimersByTimeAsync(100)
    expect(await answer).toBe('old')
    // The reload is known to be slow: later callers get the stale value at once, without a new load.
    expect(await c.getOrSet('k', loader)).toBe('old')
    expect(loader.calls).toBe(1)
    await vi.advanceTimersByTimeAsync(900)
    expect(await c.get('k')).toBe('new')
  })

  it('soft timeout without a stale value keeps waiting for the loader', async () => {
    const { cache: c } = cache({ timeout: { soft: 100 } })
    const answer = c.getOrSet('k', slowLoader('v', 500))
    await vi.advanceTimersByTimeAsync(500)
    expect(await answer).toBe('v')
  })

  it('hard timeout without a stale value rejects with E_FACTORY_TIMEOUT; the late result is still cached', async () => {
    const { cache: c, errorsSeen } = cache({ timeout: { hard: 200 } })
    const answer = c.getOrSet('k', slowLoader('late', 1_000))
    const rejected = expect(answer).rejects.toMatchObject({ code: 'E_FACTORY_TIMEOUT', timeoutMs: 200 })
    await vi.advanceTimersByTimeAsync(200)
    await rejected
    expect(errorsSeen).toEqual(['E_FACTORY_TIMEOUT'])
    await vi.advanceTimersByTimeAsync(800)
    expect(await c.get('k')).toBe('late')
  })

  it('hard timeout with a stale value answers it', async () => {
    const { cache: c } = cache({ grace: '1h' })
    await c.set('k', 'old', { ttl: '1m' })
    vi.advanceTimersByTime(61_000)
    const answer = c.getOrSet('k', slowLoader('new', 1_000), { timeout: { hard: 300 } })
    await vi.advanceTimersByTimeAsync(300)
    expect(await answer).toBe('old')
  })

  it('eager refresh: a hit past the fraction starts exactly one background reload', async () => {
    const { cache: c } = cache({ eagerRefresh: 0.5 })
    const first = slowLoader('v1', 0)
    const answer = c.getOrSet('k', first, { ttl: '10s' })
    await vi.advanceTimersByTimeAsync(0)
    expect(await answer).toBe('v1')
    vi.advanceTimersByTime(4_000)
    const refresh = slowLoader('v2', 100)
    expect(await c.getOrSet('k', refresh, { ttl: '10s' })).toBe('v1')
    expect(refresh.calls).toBe(0)
    vi.advanceTimersByTime(1_500)
    const hits = await Promise.all(Array.from({ length: 10 }, () => c.getOrSet('k', refresh, { ttl: '10s' })))
    expect(hits.every((v) => v === 'v1')).toBe(true)
    expect(refresh.calls).toBe(1)
    await vi.advanceTimersByTimeAsync(100)
    expect(await c.get('k')).toBe('v2')
    expect(await c.getTtl('k')).toBe(10_000)
  })

  it('forceFresh runs the loader even when a fresh value is cached', async () => {
    const { cache: c } = cache()
    await c.set('k', 'cached')
    expect(await c.getOrSet('k', () => 'loaded', { forceFresh: true })).toBe('loaded')
    expect(await c.get('k')).toBe('loaded')
  })

  it('ttlJitter shortens each ttl by up to the given fraction, using the injected randomness', async () => {
    const { cache: c } = cache({ ttlJitter: 0.2, random: () => 0.5 })
    await c.getOrSet('k', () => 'v', { ttl: '10s' })
    expect(await c.getTtl('k')).toBe(9_000)
  })

  it('lets the loader set the ttl and tags from the value, or decline to cache', async () => {
    const { cache: c } = cache()
    await c.getOrSet('short', (ctx) => {
      ctx.setTtl('5s')
      ctx.setTags(['computed'])
      return 'v'
    })
    expect(await c.getTtl('short')).toBe(5_000)
    expect(await c.invalidateTags(['computed'])).toBe(1)
    const empty: string[] = []
    expect(await c.getOrSet('empty', (ctx) => (empty.length === 0 ? (ctx.skipCache(), empty) : empty))).toBe(empty)
    expect(await c.exists('empty')).toBe(false)
  })

  it('gives the loader the stale value through its context', async () => {
    const { cache: c } = cache({ grace: '1h' })
    await c.set('k', 1, { ttl: '1m' })
    vi.advanceTimersByTime(61_000)
    expect(await c.getOrSet<number>('k', (ctx) => (ctx.staleValue ?? 0) + 1)).toBe(2)
  })

  it('rejects invalid per-call policy options with every problem listed', async () => {
    const { cache: c } = cache()
    await expect(
      c.getOrSet('k', () => 1, { grace: 'soon' as never, eagerRefresh: 1.5, ttlJitter: -1, timeout: { hard: 'x' as never } }),
    ).rejects.toThrow(/grace[\s\S]*timeout\.hard[\s\S]*eagerRefresh[\s\S]*ttlJitter/)
  })
})

describe('getOrSetMany', () => {
  it('makes one loader call for the missing keys and caches only what it returned', async () => {
    const c = new InMemoryCache()
    await c.set('a', 'A')
    const calls: string[][] = []
    const loader = async (keys: string[]) => {
      calls.push(keys)
      return new Map(keys.filter((k) => k !== 'missing').map((k) => [k, k.toUpperCase()]))
    }
    expect(await c.getOrSetMany(['a', 'b', 'missing', 'c', 'b'], loader)).toEqual(['A', 'B', undefined, 'C', 'B'])
    expect(calls).toEqual([['b', 'missing', 'c']])
    expect(await c.getMany(['b', 'c', 'missing'])).toEqual(['B', 'C', undefined])
  })

  it('shares keys with a concurrent getOrSet instead of loading them twice', async () => {
    const c = new InMemoryCache()
    let singleCalls = 0
    const single = c.getOrSet('x', async () => {
      singleCalls++
      await new Promise((resolve) => setTimeout(resolve, 20))
      return 'from-single'
    })
    let batchStarted!: () => void
    const started = new Promise<void>((resolve) => (batchStarted = resolve))
    const batchKeys: string[][] = []
    const many = c.getOrSetMany(['x', 'y'], async (keys) => {
      batchKeys.push(keys)
      batchStarted()
      await new Promise((resolve) => setTimeout(resolve, 10))
      return new Map(keys.map((k) => [k, `from-many-${k}`]))
    })
    await started
    const joining = c.getOrSet('y', () => 'must not run')
    expect(await many).toEqual(['from-single', 'from-many-y'])
    expect(await single).toBe('from-single')
    expect(await joining).toBe('from-many-y')
    expect(singleCalls).toBe(1)
    expect(batchKeys).toEqual([['y']])
  })

  it('rejects every waiting key with E_FACTORY_ERROR when the loader fails, caching nothing', async () => {
    const c = new InMemoryCache()
    const boom = new Error('db down')
    await expect(
      c.getOrSetMany(['p', 'q'], async () => {
        throw boom
      }),
    ).rejects.toMatchObject({ code: 'E_FACTORY_ERROR', cause: boom })
    expect(await c.getMany(['p', 'q'])).toEqual([undefined, undefined])
  })
})
