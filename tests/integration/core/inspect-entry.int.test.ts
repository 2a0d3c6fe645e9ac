import { randomBytes } from 'node:crypto'

import { describe, expect, it } from 'vitest'

import { GenericRedisCache, type GenericRedisCacheOptions, InvalidKeyError, InvalidOptionsError, L2UnavailableError } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { redisCommand } from '../../helpers/redis-cluster.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'
import { secret } from '../../helpers/secrets.js'

const hasRedis = requireRedis()
const KEY_1 = secret('inspect key 1', randomBytes(32).toString('base64'))

describe.skipIf(!hasRedis)('GenericRedisCache.inspectEntry and scanKeys', () => {
  const server = useRedisServer()

  function cacheFor(namespace: string, options: Partial<GenericRedisCacheOptions> = {}): GenericRedisCache {
    return new GenericRedisCache({ redisUrl: server.url, namespace, l1: false, coherence: false, ...options })
  }

  const raw = (...args: string[]) => redisCommand(server.port, args)

  it('reports header, metadata and value of a plain entry, and undefined for an absent key', async () => {
    const namespace = uniqueNamespace('insp')
    await using cache = cacheFor(namespace, { serializer: 'json' })
    await cache.set('a', { n: 1 }, { ttl: '1h', tags: ['t'] })
    const entry = await cache.inspectEntry('a')
    expect(entry).toMatchObject({ key: 'a', storedKey: `${namespace}:a`, decodable: true, problem: undefined, value: { n: 1 } })
    expect(entry?.header).toEqual({ formatVersion: 1, serializerId: 2, serializer: 'json', compressorId: 0, compressor: 'none', encrypted: false, keyId: undefined })
    expect(entry?.metadata).toMatchObject({ tags: ['t'], state: 'fresh', staleUntil: undefined })
    expect(entry?.sizeBytes).toBe(await raw('STRLEN', `${namespace}:a`))
    expect(await cache.inspectEntry('absent')).toBeUndefined()
  })

  it('leaves foreign bytes and an entry it cannot decrypt in place, with the reason', async () => {
    const namespace = uniqueNamespace('insp')
    await raw('SET', `${namespace}:foreign`, 'hello, these bytes are not ours')
    const encrypted = cacheFor(namespace, { encryption: { keys: { 1: KEY_1 }, current: 1 } })
    await encrypted.set('enc', 'v')
    await encrypted.disconnect()
    await using cache = cacheFor(namespace)
    const foreign = await cache.inspectEntry('foreign')
    expect(foreign).toMatchObject({ header: undefined, metadata: undefined, decodable: false, sizeBytes: 31 })
    expect(foreign?.problem).toMatch(/not a strata-cache entry/)
    const enc = await cache.inspectEntry('enc')
    expect(enc).toMatchObject({ decodable: false, metadata: undefined, header: { encrypted: true, keyId: 1 } })
    expect(enc).not.toHaveProperty('value')
    expect(await raw('EXISTS', `${namespace}:foreign`, `${namespace}:enc`)).toBe(2)
  })

  it('reports an unencrypted entry as undecodable by a cache with encryption, metadata shown', async () => {
    const namespace = uniqueNamespace('insp')
    const plain = cacheFor(namespace)
    await plain.set('p', 1, { tags: ['x'] })
    await plain.disconnect()
    await using cache = cacheFor(namespace, { encryption: { keys: { 1: KEY_1 }, current: 1 } })
    const entry = await cache.inspectEntry('p')
    expect(entry).toMatchObject({ decodable: false, metadata: { tags: ['x'] } })
    expect(entry?.problem).toMatch(/not encrypted/)
  })

  it('streams keys and stops scanning when the loop stops', async () => {
    const namespace = uniqueNamespace('scan')
    await using cache = cacheFor(namespace)
    await cache.setMany(Array.from({ length: 50 }, (_, i) => ({ key: `k${i}`, value: i })))
    const all = new Set<string>()
    for await (const key of cache.scanKeys('k*', { batchSize: 10 })) all.add(key)
    expect(all.size).toBe(50)
    let seen = 0
    for await (const key of cache.scanKeys('*', { batchSize: 5 })) {
      expect(key).toMatch(/^k\d+$/)
      if (++seen === 3) break
    }
    expect(seen).toBe(3)
  })

  it('rejects bad arguments with coded errors and an unreachable Redis with E_L2_UNAVAILABLE', async () => {
    await using cache = cacheFor(uniqueNamespace('scan'))
    await expect(cache.inspectEntry('')).rejects.toBeInstanceOf(InvalidKeyError)
    await expect(cache.scanKeys('').next()).rejects.toBeInstanceOf(InvalidKeyError)
    await expect(cache.scanKeys('*', { batchSize: 0 }).next()).rejects.toBeInstanceOf(InvalidOptionsError)
    await using down = new GenericRedisCache({ redisUrl: 'redis://127.0.0.1:1', l1: false, coherence: false, connectTimeout: 200 })
    await expect(down.inspectEntry('k')).rejects.toBeInstanceOf(L2UnavailableError)
    await expect(down.scanKeys('*').next()).rejects.toBeInstanceOf(L2UnavailableError)
  })
})
