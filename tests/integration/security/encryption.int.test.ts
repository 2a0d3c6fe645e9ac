/**
 * Encryption at rest against a real redis-server: every serializer type round-trips through
 * Redis encrypted; bytes swapped between keys or copied to another namespace, and entries under
 * an unknown key id, are misses with a coded event and a deleted key; lazy re-encryption and
 * `rekey()` rewrite under the current key with compare-and-set and keep TTLs; no key material
 * reaches events, errors, stats or inspection.
 */
import { randomBytes } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { inspect } from 'node:util'

import { RESP_TYPES, createClient } from '@redis/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { type CacheEvents, type EncryptionOptions, GenericRedisCache, type GenericRedisCacheOptions, type OptionIssue } from '../../../src/index.js'
import { resolveRedisConnection } from '../../../src/options/redis-options.js'
import { RedisStore } from '../../../src/stores/redis-store.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'
import { secret } from '../../helpers/secrets.js'

const hasRedis = requireRedis()
const KEY_1 = randomBytes(32)
const KEY_2 = randomBytes(32)
const SECRET = secret('the key-derivation secret', `s-${randomBytes(20).toString('hex')}`)
for (const [label, key] of [['encryption key 1', KEY_1], ['encryption key 2', KEY_2]] as const) {
  for (const encoding of ['base64', 'hex', 'base64url'] as const) secret(`${label} (${encoding})`, key.toString(encoding))
}
const BOTH: EncryptionOptions = { keys: { 1: KEY_1, 2: KEY_2 }, current: 1 }

async function eventually(check: () => Promise<boolean>, ms = 2000): Promise<void> {
  const until = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > until) throw new Error('condition not met in time')
    await sleep(10)
  }
}

describe.skipIf(!hasRedis)('encryption at rest against a real redis-server', () => {
  const server = useRedisServer()
  let admin: ReturnType<typeof createClient>
  let bytes: ReturnType<typeof admin.withTypeMapping<{ [RESP_TYPES.BLOB_STRING]: BufferConstructor }>>
  const caches: GenericRedisCache[] = []
  /** Every event payload and error seen, to scan for key material at the end. */
  const seen: string[] = []

  beforeAll(async () => {
    admin = createClient({ url: server.url })
    await admin.connect()
    bytes = admin.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
  })

  afterAll(async () => {
    for (const cache of caches) await cache.disconnect()
    await admin.quit()
  })

  function cache(options: GenericRedisCacheOptions = {}): GenericRedisCache & { errors: Array<CacheEvents['cache:error']> } {
    const c = new GenericRedisCache({ redisUrl: server.url, namespace: uniqueNamespace('enc'), l1: false, encryption: BOTH, ...options })
    const errors: Array<CacheEvents['cache:error']> = []
    c.on('cache:error', (event) => {
      errors.push(event)
      seen.push(inspect(event, { depth: 10, showHidden: true }), event.error.message, String(event.error.stack))
    })
    caches.push(c)
    return Object.assign(c, { errors })
  }

  it('round-trips every type the serializer supports, encrypted in Redis', async () => {
    const c = cache({ compression: { threshold: 256 } })
    const values: Record<string, unknown> = {
      date: new Date(1_700_000_000_123),
      map: new Map<unknown, unknown>([[1, 'a'], ['b', new Set([2n])]]),
      set: new Set([1, 'a', null]),
      bigint: [0n, -(2n ** 100n)],
      buffer: Buffer.from([0, 1, 255]),
      uint8array: new Uint8Array([9, 8, 7]),
      null: null,
      nested: { a: [1, { b: 'c', d: [null, [true]] }], when: new Date(5), m: new Map([['x', { y: 1 }]]) },
      unicode: 'héllo 日本語 🎉 \u{10FFFF}',
      large: { text: 'strata-cache '.repeat(20_000), noise: randomBytes(5000) },
    }
    for (const [key, value] of Object.entries(values)) await c.set(key, value)
    for (const [key, value] of Object.entries(values)) {
      expect(await c.get(key)).toStrictEqual(value)
      const stored = (await bytes.get(`${c.namespace}:${key}`))!
      expect(stored[5]).toBe(1) // the encrypted flag
      expect(stored[6]).toBe(1) // key id 1
    }
    const large = (await bytes.get(`${c.namespace}:large`))!
    expect(large[4]).toBe(1) // compressed (deflate) before it was encrypted
    expect(large.length).toBeLessThan(60_000)
    expect(large.includes(Buffer.from('strata-cache'))).toBe(false)
    expect(c.errors).toEqual([])
  })

  it('swapping the stored bytes of two keys gives two misses, two E_DECRYPT_FAILED events and both keys deleted', async () => {
    const c = cache()
    await c.set('a', 'value of a')
    await c.set('b', 'value of b')
    const [a, b] = [`${c.namespace}:a`, `${c.namespace}:b`]
    const [bytesA, bytesB] = [(await bytes.get(a))!, (await bytes.get(b))!]
    await bytes.set(a, bytesB)
    await bytes.set(b, bytesA)
    expect(await c.get('a')).toBeUndefined()
    expect(await c.get('b')).toBeUndefined()
    expect(c.errors.map((e) => [e.error.code, e.key])).toEqual([['E_DECRYPT_FAILED', 'a'], ['E_DECRYPT_FAILED', 'b']])
    await eventually(async () => (await admin.exists([a, b])) === 0)
    expect(c.getStats().l2?.decodeErrors).toBe(2)
  })

  it('a value copied to the same key of another namespace is a miss, E_DECRYPT_FAILED and a deleted key; the original still reads', async () => {
    const source = cache()
    const target = cache()
    await source.set('user:1', { name: 'Ada' })
    const copied = (await bytes.get(`${source.namespace}:user:1`))!
    await bytes.set(`${target.namespace}:user:1`, copied)
    expect(await target.get('user:1')).toBeUndefined()
    expect(target.errors.map((e) => e.error.code)).toEqual(['E_DECRYPT_FAILED'])
    await eventually(async () => (await admin.exists(`${target.namespace}:user:1`)) === 0)
    expect(await source.get('user:1')).toEqual({ name: 'Ada' })
  })

  it('an entry under a key id not listed is a miss, one E_UNKNOWN_KEY_ID event and a deleted key', async () => {
    const namespace = uniqueNamespace('enc')
    const writer = cache({ namespace, encryption: { keys: { 7: { secret: SECRET } }, current: 7 } })
    const reader = cache({ namespace })
    await writer.set('k', 'under key 7')
    expect(await reader.get('k')).toBeUndefined()
    expect(reader.errors).toHaveLength(1)
    expect(reader.errors[0]?.error.code).toBe('E_UNKNOWN_KEY_ID')
    expect(reader.errors[0]?.error.message).toMatch(/key id 7, which is not in encryption.keys/)
    await eventually(async () => (await admin.exists(`${namespace}:k`)) === 0)
  })

  it('an encrypted entry read by a cache without encryption is E_CODEC_DECODE and a miss; a cleartext entry read with encryption is E_DECRYPT_FAILED', async () => {
    const namespace = uniqueNamespace('enc')
    const encrypted = cache({ namespace })
    const clear = new GenericRedisCache({ redisUrl: server.url, namespace, l1: false })
    caches.push(clear)
    const codes: string[] = []
    clear.on('cache:error', ({ error }) => codes.push(error.code))
    await encrypted.set('e', 1)
    expect(await clear.get('e')).toBeUndefined()
    expect(codes).toEqual(['E_CODEC_DECODE'])
    await clear.set('c', 'planted in clear')
    expect(await encrypted.get('c')).toBeUndefined()
    expect(encrypted.errors.map((e) => e.error.code)).toEqual(['E_DECRYPT_FAILED'])
  })

  it('rekeyOnRead rewrites an entry read under an older key with the current one, keeping its TTL', async () => {
    const namespace = uniqueNamespace('enc')
    const old = cache({ namespace, encryption: { keys: { 1: KEY_1 }, current: 1 } })
    const next = cache({ namespace, encryption: { keys: { 1: KEY_1, 2: KEY_2 }, current: 2, rekeyOnRead: true } })
    await old.set('k', { v: 1 }, { ttl: '1h' })
    const fullKey = `${namespace}:k`
    await admin.pExpire(fullKey, 3_000_000)
    expect(await next.get('k')).toEqual({ v: 1 })
    await eventually(async () => (await bytes.get(fullKey))?.[6] === 2)
    const ttl = await admin.pTTL(fullKey)
    expect(ttl).toBeGreaterThan(2_900_000)
    expect(ttl).toBeLessThanOrEqual(3_000_000)
    expect(await next.get('k')).toEqual({ v: 1 })
    expect(next.errors).toEqual([])
  })

  it('rekey() rewrites every older entry of its namespace under the current key, keeps TTLs, and touches no other namespace', async () => {
    const namespace = uniqueNamespace('enc')
    const neighbour = `${namespace}x`
    const old = cache({ namespace, encryption: { keys: { 1: KEY_1 }, current: 1 } })
    const beside = cache({ namespace: neighbour, encryption: { keys: { 1: KEY_1 }, current: 1 } })
    for (let i = 0; i < 120; i++) await old.set(`k${i}`, { i }, i % 2 === 0 ? { ttl: '1h', tags: ['even'] } : { ttl: 0 })
    await beside.set('k0', 'neighbour')
    const both = cache({ namespace, encryption: { keys: { 1: KEY_1, 2: KEY_2 }, current: 2 } })
    for (let i = 0; i < 10; i++) await both.set(`new${i}`, i)
    await admin.set(`${namespace}:foreign`, 'not a strata entry')
    const neighbourBefore = await bytes.get(`${neighbour}:k0`)
    const ttlBefore = await admin.pTTL(`${namespace}:k0`)
    const progress: number[] = []
    const result = await both.rekey({ batchSize: 25, onProgress: (p) => progress.push(p.scanned) })
    expect(result).toEqual({ scanned: 131, rewritten: 120, alreadyCurrent: 10, failed: 1, changed: 0 })
    expect(progress.at(-1)).toBe(131)
    expect(progress.length).toBeGreaterThan(1)
    expect(Buffer.compare((await bytes.get(`${neighbour}:k0`))!, neighbourBefore!)).toBe(0)
    expect(await admin.pTTL(`${namespace}:k1`)).toBe(-1)
    expect(Math.abs((await admin.pTTL(`${namespace}:k0`)) - ttlBefore)).toBeLessThan(5_000)
    const only2 = cache({ namespace, encryption: { keys: { 2: KEY_2 }, current: 2 } })
    for (let i = 0; i < 120; i++) expect(await only2.get(`k${i}`)).toEqual({ i })
    expect(await only2.invalidateTags(['even'])).toBe(60)
    expect(await both.rekey()).toEqual({ scanned: 71, rewritten: 0, alreadyCurrent: 70, failed: 1, changed: 0 })
  })

  it('the re-encryption write is a compare-and-set that keeps the TTL: a newer value or a delete wins', async () => {
    const issues: OptionIssue[] = []
    const store = new RedisStore(resolveRedisConnection(server.url, undefined, issues))
    try {
      expect(issues).toEqual([])
      expect(await store.connect(2000)).toBe(true)
      const key = `${uniqueNamespace('enc')}:k`
      const [old, newer, rekeyed] = [Buffer.from('old'), Buffer.from('newer'), Buffer.from('rekeyed')]
      await bytes.set(key, newer, { PX: 60_000 })
      expect(await store.replaceIfEquals(key, old, rekeyed)).toBe(false)
      expect(await bytes.get(key)).toEqual(newer)
      await bytes.set(key, old, { PX: 60_000 })
      expect(await store.replaceIfEquals(key, old, rekeyed)).toBe(true)
      expect(await bytes.get(key)).toEqual(rekeyed)
      expect(await admin.pTTL(key)).toBeGreaterThan(50_000)
      await admin.del(key)
      expect(await store.replaceIfEquals(key, rekeyed, old)).toBe(false)
      expect(await admin.exists(key)).toBe(0)
    } finally {
      await store.disconnect()
    }
  })

  it('rekey() rejects E_INVALID_OPTIONS without encryption or with a bad batch size', async () => {
    const plain = new GenericRedisCache({ redisUrl: server.url, namespace: uniqueNamespace('enc'), l1: false })
    caches.push(plain)
    await expect(plain.rekey()).rejects.toMatchObject({ code: 'E_INVALID_OPTIONS', message: expect.stringMatching(/encryption/) as unknown })
    await expect(cache().rekey({ batchSize: 0 })).rejects.toMatchObject({ code: 'E_INVALID_OPTIONS' })
  })

  it('keeps key material out of every event, error, stats and inspection seen in this file', () => {
    const material = [KEY_1, KEY_2].flatMap((k) => [k.toString('base64'), k.toString('hex'), k.toString('base64url')]).concat(SECRET)
    const outputs = [...seen, ...caches.flatMap((c) => [JSON.stringify(c.getStats()), inspect(c, { depth: 20, showHidden: true })])]
    expect(seen.length).toBeGreaterThan(5)
    for (const text of outputs) for (const secret of material) expect(text).not.toContain(secret)
  })
})
