import { createClient } from '@redis/client'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/core/generic-redis-cache.js'
import type { GenericRedisCacheOptions } from '../../../src/options/cache-options.js'
import { errors } from '../../../src/errors.js'
import { FakeClock, uniqueNamespace } from '../../helpers/fake-clock.js'
import { type RedisServer, requireRedis, startRedis } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()

describe.skipIf(!hasRedis)('GenericRedisCache on Redis', () => {
  let server: RedisServer
  let raw: ReturnType<typeof createClient>
  const opened: GenericRedisCache[] = []

  beforeAll(async () => {
    server = await startRedis()
    raw = createClient({ url: server.url })
    await raw.connect()
  })
  afterEach(async () => {
    for (const cache of opened.splice(0)) await cache.disconnect()
  })
  afterAll(async () => {
    await raw?.close()
    await server?.stop()
  })

  async function make(options: GenericRedisCacheOptions = {}): Promise<GenericRedisCache> {
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace: uniqueNamespace(), ...options })
    opened.push(cache)
    expect(await cache.connect()).toBe(true)
    return cache
  }

  async function commandCalls(command: string): Promise<number> {
    const info = await raw.info('commandstats')
    const match = new RegExp(`cmdstat_${command}:calls=(\\d+)`).exec(info)
    return match ? Number(match[1]) : 0
  }

  it('returns the same types from Redis as from L1', async () => {
    const value = {
      date: new Date(1_700_000_000_123),
      map: new Map<unknown, unknown>([['a', 1], [2, new Set(['x'])]]),
      set: new Set([1, 'two']),
      big: 2n ** 80n,
      buffer: Buffer.from('bytes'),
      u8: new Uint8Array([1, 2, 3]),
      nothing: null,
      nested: [{ deep: { list: [1, 2, 3] } }],
    }
    const writer = await make()
    await writer.set('typed', value)
    const reader = await make({ namespace: writer.namespace, l1: false })
    const back = (await reader.get<typeof value>('typed'))!
    expect(back).toEqual(value)
    expect(back.date).toBeInstanceOf(Date)
    expect(back.map).toBeInstanceOf(Map)
    expect(back.map.get(2)).toBeInstanceOf(Set)
    expect(back.set).toBeInstanceOf(Set)
    expect(typeof back.big).toBe('bigint')
    expect(Buffer.isBuffer(back.buffer)).toBe(true)
    expect(back.u8.constructor).toBe(Uint8Array)
  })

  it('fills L1 from Redis with the remaining ttl, never the full one', async () => {
    const clock = new FakeClock()
    const writer = await make({ clock })
    await writer.set('k', 'v', { ttl: '10s' })
    clock.advance(4_000)
    const reader = await make({ clock, namespace: writer.namespace })
    expect(await reader.get('k')).toBe('v')
    expect(reader.getStats().l2?.hits).toBe(1)
    const ttl = (await reader.getTtl('k'))!
    expect(ttl).toBeLessThanOrEqual(6_000)
    expect(ttl).toBeGreaterThan(5_000)
    clock.advance(6_001)
    expect(await reader.get('k')).toBeUndefined()
  })

  it('answers corrupt, truncated and foreign bytes as a miss, reports them and deletes the key', async () => {
    const cache = await make({ l1: false })
    await cache.set('good', { a: 1 })
    const ns = cache.namespace
    const good = (await raw.sendCommand(['GET', `${ns}:good`], { typeMapping: { 36: Buffer } })) as unknown as Buffer
    await raw.set(`${ns}:truncated`, good.subarray(0, good.length - 3))
    await raw.set(`${ns}:foreign`, '{"a":1}')
    const flipped = Buffer.from(good)
    flipped.writeUInt8(flipped.readUInt8(flipped.length - 1) ^ 0xff, flipped.length - 1)
    await raw.set(`${ns}:flipped`, flipped)
    const seen: string[] = []
    cache.on('cache:error', ({ error, key }) => seen.push(`${key}:${error.code}`))
    for (const key of ['truncated', 'foreign', 'flipped']) {
      expect(await cache.get(key)).toBeUndefined()
    }
    expect(seen.sort()).toEqual(['flipped:E_CODEC_DECODE', 'foreign:E_CODEC_DECODE', 'truncated:E_CODEC_DECODE'])
    expect(cache.getStats().l2?.decodeErrors).toBe(3)
    await expect.poll(() => raw.exists([`${ns}:truncated`, `${ns}:foreign`, `${ns}:flipped`])).toBe(0)
    expect(await cache.get('good')).toEqual({ a: 1 })
  })

  it('refuses to write a value over maxValueBytes and misses on one stored by a laxer cache', async () => {
    const strict = await make({ maxValueBytes: 1024, compression: false })
    await expect(strict.set('big', 'x'.repeat(2000))).rejects.toBeInstanceOf(errors.E_VALUE_TOO_LARGE)
    expect(await raw.exists(`${strict.namespace}:big`)).toBe(0)
    const lax = await make({ namespace: strict.namespace, compression: false })
    await lax.set('big', 'x'.repeat(2000))
    const strictReader = await make({ namespace: strict.namespace, maxValueBytes: 1024, l1: false })
    expect(await strictReader.get('big')).toBeUndefined()
    expect(strictReader.getStats().l2?.decodeErrors).toBe(1)
  })

  it('compresses values above the threshold only', async () => {
    const cache = await make({ compression: { threshold: 1024 } })
    const ns = cache.namespace
    await cache.set('small', 'y'.repeat(100))
    await cache.set('large', 'z'.repeat(100_000))
    expect(await raw.strLen(`${ns}:small`)).toBeGreaterThan(100)
    expect(await raw.strLen(`${ns}:large`)).toBeLessThan(5_000)
    const reader = await make({ namespace: ns, l1: false })
    expect(await reader.get('large')).toBe('z'.repeat(100_000))
  })

  it('getMany makes one MGET after the L1 pass; patterns never use KEYS or FLUSH', async () => {
    const cache = await make()
    await cache.setMany(Array.from({ length: 20 }, (_, i) => ({ key: `k${i}`, value: i })))
    const reader = await make({ namespace: cache.namespace })
    await reader.get('k0')
    const [mgetBefore, getBefore] = [await commandCalls('mget'), await commandCalls('get')]
    const values = await reader.getMany(Array.from({ length: 20 }, (_, i) => `k${i}`))
    expect(values).toEqual(Array.from({ length: 20 }, (_, i) => i))
    expect(await commandCalls('mget')).toBe(mgetBefore + 1)
    expect(await commandCalls('get')).toBe(getBefore)
    await reader.getKeys('k*')
    await reader.invalidatePattern('k1*')
    await reader.clear()
    for (const command of ['keys', 'flushdb', 'flushall']) expect(await commandCalls(command)).toBe(0)
  })

  it('serves a stale entry kept in Redis for grace when the loader fails (L1 off)', async () => {
    const clock = new FakeClock()
    const cache = await make({ clock, l1: false, grace: '1h' })
    await cache.set('k', 'old', { ttl: '1m' })
    const ns = cache.namespace
    expect(await raw.pTTL(`${ns}:k`)).toBeGreaterThan(60 * 60_000)
    clock.advance(61_000)
    expect(await cache.get('k')).toBeUndefined()
    const failing = async () => {
      throw new Error('db down')
    }
    expect(await cache.getOrSet('k', failing)).toBe('old')
    expect(await cache.getOrSet('k', () => 'new')).toBe('new')
    expect(await cache.get('k')).toBe('new')
  })

  it('getOrSetMany makes one MGET and one loader call for 100 keys with 50 missing', async () => {
    const cache = await make({ l1: false })
    const keys = Array.from({ length: 100 }, (_, i) => `m${i}`)
    await cache.setMany(keys.slice(0, 50).map((key) => ({ key, value: key })))
    const mgetBefore = await commandCalls('mget')
    const calls: string[][] = []
    const values = await cache.getOrSetMany(keys, async (missing) => {
      calls.push(missing)
      return new Map(missing.map((key) => [key, key]))
    })
    expect(values).toEqual(keys)
    expect(calls).toHaveLength(1)
    expect(calls[0]).toHaveLength(50)
    expect(await commandCalls('mget')).toBe(mgetBefore + 1)
  })

  it('connect() resolves false on a closed port, then uses Redis by itself once it starts', async () => {
    const later = await startRedis()
    const port = later.port
    await later.stop()
    const cache = new GenericRedisCache({
      redisUrl: `redis://127.0.0.1:${port}`,
      namespace: uniqueNamespace(),
      connectTimeout: '200ms',
    })
    opened.push(cache)
    const started = Date.now()
    expect(await cache.connect()).toBe(false)
    expect(Date.now() - started).toBeLessThan(1_000)
    expect(await cache.getOrSet('k', () => 'from-loader')).toBe('from-loader')
    await later.restart()
    try {
      await expect.poll(() => cache.getStats().l2?.connected, { timeout: 5_000 }).toBe(true)
      await cache.set('after', 1)
      const reader = await make({ redisUrl: later.url, namespace: cache.namespace, l1: false })
      expect(await reader.get('after')).toBe(1)
    } finally {
      await later.stop()
    }
  })

  it('disconnect() is not an outage: no circuit transition, no error event', async () => {
    const cache = await make()
    const seen: string[] = []
    cache.on('circuit:change', ({ to }) => seen.push(`circuit:${to}`))
    cache.on('cache:error', ({ error }) => seen.push(error.code))
    await cache.set('k', 1)
    await cache.disconnect()
    await new Promise((resolve) => setTimeout(resolve, 50))
    expect(seen).toEqual([])
    expect(cache.getStats().l2?.circuit).toBe('closed')
  })

  it('raises E_L2_UNAVAILABLE instead of missing when suppressL2Errors is false', async () => {
    const cache = new GenericRedisCache({
      redisUrl: 'redis://127.0.0.1:1',
      namespace: uniqueNamespace(),
      connectTimeout: '100ms',
      suppressL2Errors: false,
    })
    opened.push(cache)
    expect(await cache.connect()).toBe(false)
    await expect(cache.get('k')).rejects.toBeInstanceOf(errors.E_L2_UNAVAILABLE)
  })
})
