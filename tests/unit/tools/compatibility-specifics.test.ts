/**
 * What the adapters add to or change from the originals, each stated in the README section
 * "Moving from keyv or cache-manager": the stored form of Keyv entries, sharing entries with
 * strata code, strata's key rules and error reporting, and the namespace-only `clear`.
 */
import { Keyv } from 'keyv'
import { describe, expect, it } from 'vitest'

import { CacheCompatibilityWrapper, InMemoryCache, KEYV_SERIALIZED, errors } from '../../../src/index.js'

const plainKeyv = (cache: InMemoryCache): Keyv => {
  const keyv = new Keyv({ store: CacheCompatibilityWrapper.keyvStore(cache) })
  keyv.serialize = undefined
  keyv.deserialize = undefined
  return keyv
}

describe('KeyvStrataStore', () => {
  it("keeps Keyv's serialized string opaque, readable back only through Keyv", async () => {
    const cache = new InMemoryCache()
    const keyv = new Keyv({ store: CacheCompatibilityWrapper.keyvStore(cache) })
    await keyv.set('user', { id: 1 })
    const stored = await cache.get<Record<string, string>>('keyv:user')
    expect(Object.keys(stored ?? {})).toEqual([KEYV_SERIALIZED])
    expect(JSON.parse(stored?.[KEYV_SERIALIZED] ?? '')).toEqual({ value: { id: 1 } })
  })

  it("with Keyv's serializer off, stores the value itself: strata types survive and strata code shares the entries", async () => {
    const cache = new InMemoryCache()
    const keyv = plainKeyv(cache)
    const value = { at: new Date(0), tags: new Set(['a']), big: 10n ** 20n, bytes: Buffer.from('hi') }
    await keyv.set('rich', value, 60_000)
    expect(await keyv.get('rich')).toEqual(value)
    expect(await cache.get('keyv:rich')).toEqual(value)
    expect(await cache.getTtl('keyv:rich')).toBeGreaterThan(59_000)
    await cache.set('keyv:from-strata', 'written by strata')
    expect(await keyv.get('from-strata')).toBe('written by strata')
  })

  it('a raw string value is a value, not a serialized entry', async () => {
    const cache = new InMemoryCache()
    const keyv = plainKeyv(cache)
    await keyv.set('s', '{"value":1}')
    expect(await keyv.get('s')).toBe('{"value":1}')
    expect(await cache.get('keyv:s')).toBe('{"value":1}')
  })

  it('a negative ttl or an undefined value leaves nothing to read, as on Keyv, where strata would reject', async () => {
    const cache = new InMemoryCache()
    const keyv = plainKeyv(cache)
    await keyv.set('gone', 1)
    expect(await keyv.set('gone', 2, -1)).toBe(true)
    expect(await keyv.get('gone')).toBeUndefined()
    await keyv.set('void', 1)
    expect(await keyv.set('void', undefined)).toBe(true)
    expect(await keyv.has('void')).toBe(false)
  })

  it('no ttl means never expires, not the cache defaultTtl', async () => {
    const cache = new InMemoryCache({ defaultTtl: '1s' })
    await new Keyv({ store: CacheCompatibilityWrapper.keyvStore(cache) }).set('k', 1)
    expect(await cache.getTtl('keyv:k')).toBe(Infinity)
  })

  it('clear escapes glob characters of the namespace', async () => {
    const cache = new InMemoryCache()
    const star = new Keyv({ store: CacheCompatibilityWrapper.keyvStore(cache), namespace: 'a*' })
    const plain = new Keyv({ store: CacheCompatibilityWrapper.keyvStore(cache), namespace: 'ab' })
    await star.set('k', 1)
    await plain.set('k', 2)
    await star.clear()
    expect(await star.get('k')).toBeUndefined()
    expect(await plain.get('k')).toBe(2)
  })

  it('disconnect disconnects the strata cache', async () => {
    const cache = new InMemoryCache()
    let disconnected = false
    const original = cache.disconnect.bind(cache)
    cache.disconnect = async () => {
      disconnected = true
      await original()
    }
    await new Keyv({ store: CacheCompatibilityWrapper.keyvStore(cache) }).disconnect()
    expect(disconnected).toBe(true)
  })

  it('a key strata refuses is a Keyv error event and an undefined, or a rejection with throwOnErrors', async () => {
    const cache = new InMemoryCache()
    const keyv = new Keyv({ store: CacheCompatibilityWrapper.keyvStore(cache) })
    const long = 'x'.repeat(2000)
    expect(await keyv.get(long)).toBeUndefined()
    keyv.throwOnErrors = true
    await expect(keyv.set(long, 1)).rejects.toBeInstanceOf(errors.E_INVALID_KEY)
  })
})

describe('CacheManagerAdapter', () => {
  it('rejects a key strata refuses with E_INVALID_KEY and emits the error, on reads and writes', async () => {
    const adapter = CacheCompatibilityWrapper.cacheManager(new InMemoryCache())
    const seen: unknown[] = []
    for (const event of ['get', 'mget', 'set', 'mset', 'del', 'mdel'] as const) adapter.on(event, (data: { error?: unknown }) => seen.push(data.error))
    const long = 'x'.repeat(2000)
    await expect(adapter.get(long)).rejects.toBeInstanceOf(errors.E_INVALID_KEY)
    await expect(adapter.mget([long])).rejects.toBeInstanceOf(errors.E_INVALID_KEY)
    await expect(adapter.set(long, 1)).rejects.toBeInstanceOf(errors.E_INVALID_KEY)
    await expect(adapter.mset([{ key: long, value: 1 }, { key: 'ok', value: 2 }])).rejects.toBeInstanceOf(errors.E_INVALID_KEY)
    await expect(adapter.del(long)).rejects.toBeInstanceOf(errors.E_INVALID_KEY)
    await expect(adapter.mdel([long])).rejects.toBeInstanceOf(errors.E_INVALID_KEY)
    expect(seen).toHaveLength(6)
    for (const error of seen) expect(error).toBeInstanceOf(errors.E_INVALID_KEY)
  })

  it('clear deletes only the strata namespace, and a failed clear is emitted and rejected', async () => {
    const cache = new InMemoryCache({ namespace: 'mine' })
    const adapter = CacheCompatibilityWrapper.cacheManager(cache)
    await adapter.set('k', 1)
    expect(await adapter.clear()).toBe(true)
    expect(await adapter.get('k')).toBeUndefined()
    const failure = new Error('clear failed')
    cache.clear = () => Promise.reject(failure)
    const seen: unknown[] = []
    adapter.on('clear', (error) => seen.push(error))
    await expect(adapter.clear()).rejects.toBe(failure)
    expect(seen).toEqual([failure])
  })

  it('wrap with raw: true on a miss resolves { value, expires }, expires undefined without a ttl', async () => {
    const adapter = CacheCompatibilityWrapper.cacheManager(new InMemoryCache())
    const before = Date.now()
    const raw = await adapter.wrap('k', () => 1, { ttl: 10_000, raw: true })
    expect(raw.value).toBe(1)
    expect(raw.expires).toBeGreaterThanOrEqual(before + 10_000)
    expect(await adapter.wrap('forever', () => 1, { raw: true })).toEqual({ value: 1, expires: undefined })
  })

  it('a negative ttl or an undefined value deletes the key (nothing readable, as on cache-manager)', async () => {
    const adapter = CacheCompatibilityWrapper.cacheManager(new InMemoryCache())
    await adapter.set('k', 1)
    expect(await adapter.set('k', 2, -1)).toBe(2)
    expect(await adapter.get('k')).toBeUndefined()
    await adapter.set('u', 1)
    expect(await adapter.set('u', undefined)).toBeUndefined()
    expect(await adapter.get('u')).toBeUndefined()
    expect(await adapter.wrap('neg', () => 'v', -1)).toBe('v')
    expect(await adapter.get('neg')).toBeUndefined()
  })

  it('disconnect disconnects the strata cache', async () => {
    const cache = new InMemoryCache()
    const adapter = CacheCompatibilityWrapper.cacheManager(cache)
    let disconnected = false
    cache.disconnect = async () => {
      disconnected = true
    }
    await adapter.disconnect()
    expect(disconnected).toBe(true)
  })
})
