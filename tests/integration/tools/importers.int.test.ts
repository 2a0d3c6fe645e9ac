/**
 * Each importer on data written by the real package into a private redis-server: after
 * `migrate`, every live entry reads back from strata as the package itself reads it (0
 * differences), TTLs are the package's remaining TTL (within the time elapsed), and
 * `validateDataConsistency` between the source and the target finds nothing.
 */
import KeyvRedis, { createKeyv } from '@keyv/redis'
import { BentoCache, bentostore } from 'bentocache'
import { redisDriver } from 'bentocache/drivers/redis'
import { caching } from 'cache-manager-5'
import { redisStore } from 'cache-manager-redis-yet'
import Keyv from 'keyv'
import { describe, expect, it } from 'vitest'

import { bentocacheSource, cacheManagerSource, GenericRedisCache, keyvSource, type MigrationSource, migrate, validateDataConsistency } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()

/** Values of every JSON type, nested, with strings that keyv escapes (leading `:`). */
const VALUES: ReadonlyArray<readonly [string, unknown]> = [
  ['str', 'hello'],
  ['colon', ':starts with a colon'],
  ['num', 42.5],
  ['zero', 0],
  ['bool', false],
  ['null', null],
  ['arr', [1, 'two', { three: 3 }, [4]]],
  ['obj', { user: { id: 1, name: 'Ada', roles: ['admin'], meta: null } }],
  ['unicode', 'héllo ✓ 日本'],
  ['empty', ''],
]

/** TTLs in ms per key index: some never expire. */
const TTLS = [60_000, undefined, 5_000, 3_600_000, undefined, 120_000, 30_000, undefined, 86_400_000, 10_000]

describe.skipIf(!hasRedis)('importers on data written by the real packages', () => {
  const server = useRedisServer()

  function target(namespace: string): GenericRedisCache {
    return new GenericRedisCache({ redisUrl: server.url, namespace, l1: false, suppressL2Errors: false })
  }

  /** Migrates, then checks each expected entry against strata and the validator. */
  async function importAndCompare(source: MigrationSource, expected: Map<string, { value: unknown; ttlMs: number | undefined }>, writtenAt: number): Promise<void> {
    const cache = target(uniqueNamespace('imp'))
    try {
      const result = await migrate(source, cache)
      expect(result.failed).toBe(0)
      expect(result.migrated).toBe(expected.size)
      const elapsed = Date.now() - writtenAt
      const differences: string[] = []
      for (const [key, want] of expected) {
        const got = await cache.get(key)
        if (JSON.stringify(got) !== JSON.stringify(want.value) || got === undefined) differences.push(`${key}: ${JSON.stringify(got)} != ${JSON.stringify(want.value)}`)
        const ttl = await cache.getTtl(key)
        if (want.ttlMs === undefined) expect(ttl, key).toBe(Infinity)
        else {
          expect(ttl, key).toBeLessThanOrEqual(want.ttlMs)
          expect(ttl, key).toBeGreaterThanOrEqual(want.ttlMs - elapsed - 50)
        }
      }
      expect(differences).toEqual([])
      expect(await cache.getKeys('*')).toHaveLength(expected.size)
      const check = await validateDataConsistency(source, cache)
      expect(check.isConsistent, JSON.stringify(check)).toBe(true)
      expect(check.sourceKeyCount).toBe(expected.size)
    } finally {
      await cache.clear()
      await cache.disconnect()
      await source.close()
    }
  }

  it('keyv with @keyv/redis (<ns>::<ns>:key): values as keyv reads them, TTLs from "expires"', async () => {
    const namespace = uniqueNamespace('kv')
    const keyv = new Keyv({ store: new KeyvRedis(server.url), namespace })
    const writtenAt = Date.now()
    const expected = new Map<string, { value: unknown; ttlMs: number | undefined }>()
    for (const [i, [key, value]] of VALUES.entries()) {
      await keyv.set(key, value, TTLS[i])
      expected.set(key, { value: await keyv.get(key), ttlMs: TTLS[i] })
    }
    await keyv.set('gone', 'expired soon', 1)
    await keyv.set('bytes', Buffer.from([0, 1, 2, 250]))
    expected.set('bytes', { value: await keyv.get('bytes'), ttlMs: undefined })
    await new Promise((resolve) => setTimeout(resolve, 20))
    await keyv.disconnect()
    await importAndCompare(keyvSource({ url: server.url, namespace }), expected, writtenAt)
  })

  it('keyv from createKeyv(url, { namespace }) (<ns>::key) with useKeyPrefix: false', async () => {
    const namespace = uniqueNamespace('ck')
    const keyv = createKeyv(server.url, { namespace })
    const writtenAt = Date.now()
    const expected = new Map<string, { value: unknown; ttlMs: number | undefined }>()
    for (const [i, [key, value]] of VALUES.entries()) {
      await keyv.set(key, value, TTLS[i])
      expected.set(key, { value: await keyv.get(key), ttlMs: TTLS[i] })
    }
    await keyv.disconnect()
    await importAndCompare(keyvSource({ url: server.url, namespace, useKeyPrefix: false }), expected, writtenAt)
  })

  it('cache-manager 5 with cache-manager-redis-yet (keyPrefix, PX ttl in ms, ttl 0 = none)', async () => {
    const keyPrefix = uniqueNamespace('cm')
    const cm = await caching(redisStore, { url: server.url, keyPrefix, ttl: 45_000 })
    const writtenAt = Date.now()
    const expected = new Map<string, { value: unknown; ttlMs: number | undefined }>()
    for (const [i, [key, value]] of VALUES.entries()) {
      if (value === null) continue // the store refuses null (isCacheable)
      const ttl = TTLS[i] ?? 0
      await cm.set(key, value, ttl)
      expected.set(key, { value: await cm.get(key), ttlMs: TTLS[i] })
    }
    await cm.set('defaulted', { ttl: 'store default' })
    expected.set('defaulted', { value: await cm.get('defaulted'), ttlMs: 45_000 })
    await cm.store.client.quit()
    await importAndCompare(cacheManagerSource({ url: server.url, keyPrefix }), expected, writtenAt)
  })

  it('bentocache (prefix, namespace, tags, grace): fresh entries with their logical TTL and tags; stale, tag-invalidated and tag keys skipped', async () => {
    const prefix = uniqueNamespace('bento')
    const bento = new BentoCache({ default: 'r', prefix, stores: { r: bentostore().useL2Layer(redisDriver({ connection: { host: '127.0.0.1', port: server.port } })) } })
    const writtenAt = Date.now()
    const expected = new Map<string, { value: unknown; ttlMs: number | undefined }>()
    for (const [i, [key, value]] of VALUES.entries()) {
      const ttl = TTLS[i] ?? null
      await bento.set({ key, value, ttl, tags: i % 2 === 0 ? ['even', `k${i}`] : [] })
      expected.set(key, { value: await bento.get({ key }), ttlMs: TTLS[i] })
    }
    // Graced: Redis keeps it for 6h, bentocache reads it as fresh for 1m only.
    await bento.set({ key: 'graced', value: { g: 1 }, ttl: '1m', grace: '6h' })
    expected.set('graced', { value: { g: 1 }, ttlMs: 60_000 })
    await bento.namespace('users').set({ key: 'u1', value: { id: 1 }, ttl: '10m' })
    expected.set('users:u1', { value: { id: 1 }, ttlMs: 600_000 })
    // Stale: past its logical expiry, kept by grace.
    await bento.set({ key: 'stale', value: 'old', ttl: 1, grace: '1h' })
    // Invalidated by its tag: bentocache would not return it.
    await bento.set({ key: 'dropped', value: 'x', ttl: '1h', tags: ['gone'] })
    await new Promise((resolve) => setTimeout(resolve, 5))
    await bento.deleteByTag({ tags: ['gone'] })
    await bento.disconnectAll()

    const cache = target(uniqueNamespace('imp'))
    const source = bentocacheSource({ url: server.url, prefix })
    try {
      const result = await migrate(source, cache)
      expect(result).toMatchObject({ failed: 0, migrated: expected.size, skipped: 3 })
      for (const [key, want] of expected) expect(await cache.get(key), key).toEqual(want.value)
      const even = await cache.getKeys('*')
      expect(even).toHaveLength(expected.size)
      // Tags came along: invalidating one removes exactly the entries bentocache tagged with it.
      expect(await cache.invalidateTags(['even'])).toBe(5)
      expect(await cache.get('str')).toBeUndefined()
      expect(await cache.get('colon')).toEqual(':starts with a colon')
      const elapsed = Date.now() - writtenAt
      const ttl = await cache.getTtl('graced')
      expect(ttl).toBeLessThanOrEqual(60_000)
      expect(ttl).toBeGreaterThanOrEqual(60_000 - elapsed - 50)
      expect(await cache.getTtl('colon')).toBe(Infinity)
    } finally {
      await cache.clear()
      await cache.disconnect()
      await source.close()
    }
  })

  it('bentocache: validateDataConsistency compares tags and finds 0 differences after migrate', async () => {
    const prefix = uniqueNamespace('bento')
    const bento = new BentoCache({ default: 'r', prefix, stores: { r: bentostore().useL2Layer(redisDriver({ connection: { host: '127.0.0.1', port: server.port } })) } })
    for (const [i, [key, value]] of VALUES.entries()) await bento.set({ key, value, ttl: TTLS[i] ?? null, tags: [`t${i % 3}`] })
    // Stale (kept by grace only): neither imported nor expected in the target.
    await bento.set({ key: 'stale', value: 'old', ttl: 1, grace: '1h' })
    await new Promise((resolve) => setTimeout(resolve, 5))
    await bento.disconnectAll()
    const source = bentocacheSource({ url: server.url, prefix })
    const cache = target(uniqueNamespace('imp'))
    try {
      await migrate(source, cache)
      const check = await validateDataConsistency(source, cache)
      expect(check).toMatchObject({ isConsistent: true, sourceKeyCount: VALUES.length, targetKeyCount: VALUES.length, comparedMetadata: { tags: true } })
    } finally {
      await cache.clear()
      await cache.disconnect()
      await source.close()
    }
  })
})
