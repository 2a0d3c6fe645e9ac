/**
 * Issue 10 findings on a memory cache: values the serializer cannot carry, nesting that would
 * overflow the stack, durations Redis cannot take, batch calls given something other than a list,
 * and connection options in a shape the cache does not read. Each is a coded error, and nothing
 * is stored.
 */
import { describe, expect, it } from 'vitest'
import { GenericRedisCache, InMemoryCache } from '../../../src/index.js'

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise
    return undefined
  } catch (error) {
    return (error as { code?: string }).code ?? (error as Error).constructor.name
  }
}

function nested(depth: number): unknown {
  let value: unknown = 1
  for (let i = 0; i < depth; i++) value = { d: value }
  return value
}

describe('hardening: values and durations a memory cache refuses', () => {
  it('refuses functions and symbols anywhere in a value with E_CODEC_ENCODE, and stores nothing', async () => {
    const cache = new InMemoryCache()
    expect(await codeOf(cache.set('fn', () => 42))).toBe('E_CODEC_ENCODE')
    expect(await codeOf(cache.set('obj', { a: () => 1, b: 2 }))).toBe('E_CODEC_ENCODE')
    expect(await codeOf(cache.set('sym', { s: Symbol('x') }))).toBe('E_CODEC_ENCODE')
    expect(await codeOf(cache.set('map', new Map([[1, () => 1]])))).toBe('E_CODEC_ENCODE')
    expect(await codeOf(cache.getOrSet('loaded', () => ({ f: () => 1 })))).toBe('E_CODEC_ENCODE')
    for (const key of ['fn', 'obj', 'sym', 'map', 'loaded']) expect(await cache.get(key)).toBeUndefined()
  })

  it('refuses a 20,000-deep value (and a cycle) with E_CODEC_ENCODE instead of a RangeError; shared references are fine', async () => {
    const cache = new InMemoryCache()
    expect(await codeOf(cache.set('deep', nested(20_000)))).toBe('E_CODEC_ENCODE')
    const cyclic: { self?: unknown } = {}
    cyclic.self = cyclic
    expect(await codeOf(cache.set('cyclic', cyclic))).toBe('E_CODEC_ENCODE')
    const shared = { x: 1 }
    await cache.set('dag', { a: shared, b: shared, c: [shared, shared] })
    expect(await cache.get('dag')).toEqual({ a: { x: 1 }, b: { x: 1 }, c: [{ x: 1 }, { x: 1 }] })
    await cache.set('ok', nested(500))
    expect(await cache.get('ok')).toEqual(nested(500))
  })

  it('refuses a ttl or grace Redis could not take, up front, with E_INVALID_OPTIONS naming it', async () => {
    const cache = new InMemoryCache()
    expect(await codeOf(cache.set('t', 1, { ttl: 1e20 }))).toBe('E_INVALID_OPTIONS')
    expect(await codeOf(cache.set('t', 1, { ttl: '999999999999d' }))).toBe('E_INVALID_OPTIONS')
    expect(await codeOf(cache.getOrSet('t', () => 1, { grace: 1e20 }))).toBe('E_INVALID_OPTIONS')
    expect(() => new InMemoryCache({ defaultTtl: 1e20 })).toThrow(/defaultTtl/)
    // The largest accepted ttl still works.
    await cache.set('t', 1, { ttl: Number.MAX_SAFE_INTEGER })
    expect(await cache.get('t')).toBe(1)
  })

  it('rejects batch calls given something other than a list with E_INVALID_OPTIONS, never a TypeError', async () => {
    const cache = new InMemoryCache()
    const anyList = (value: unknown) => value as string[]
    expect(await codeOf(cache.getMany(anyList('abc')))).toBe('E_INVALID_OPTIONS')
    expect(await codeOf(cache.getMany(anyList(null)))).toBe('E_INVALID_OPTIONS')
    expect(await codeOf(cache.setMany(anyList(null) as never))).toBe('E_INVALID_OPTIONS')
    expect(await codeOf(cache.setMany([null] as never))).toBe('E_INVALID_OPTIONS')
    expect(await codeOf(cache.deleteMany(anyList(undefined)))).toBe('E_INVALID_OPTIONS')
    expect(await codeOf(cache.getOrSetMany(anyList('ab'), () => new Map()))).toBe('E_INVALID_OPTIONS')
  })

  it('rejects unknown connection options with their path (the ioredis shape would have gone to the URL)', () => {
    const ioredisShape = { redisUrl: 'redis://127.0.0.1:1', redis: { host: '127.0.0.1', port: 2 } }
    expect(() => new GenericRedisCache(ioredisShape as never)).toThrow(/redis\.host: unknown option[\s\S]*redis\.port: unknown option/)
    expect(() => new GenericRedisCache({ redis: { socket: { host: 'a', prot: 1 } as never } })).toThrow(/redis\.socket\.prot: unknown option/)
  })
})
