/**
 * Backup and restore of 100,000 entries (mixed types, sizes, tags and TTLs; some compressed,
 * some encrypted) between two real redis-servers: every value reads back the same through the
 * cache, every stored byte and tag index member is the same, TTLs shrank by no more than the time
 * elapsed, tag invalidation works on restored entries, and a second restore changes nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { CacheMigrationManager, GenericRedisCache } from '../../../src/index.js'
import { compareSnapshots, type RawRedis, rawRedis, sampleKey, sampleOptions, sampleValue, seed, snapshot, TAG_POOL, TEST_ENCRYPTION } from '../../helpers/backup-data.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()
const PLAIN = 80_000
const ENCRYPTED = 20_000

describe.skipIf(!hasRedis)('backup and restore round trip (100,000 entries)', { timeout: 240_000 }, () => {
  const source = useRedisServer()
  const target = useRedisServer()
  const dir = mkdtempSync(join(tmpdir(), 'strata-backup-'))
  const manager = new CacheMigrationManager()
  const plainNs = uniqueNamespace('plain')
  const secretNs = uniqueNamespace('secret')
  const caches: GenericRedisCache[] = []
  let rawSource: RawRedis
  let rawTarget: RawRedis

  const cacheOf = (url: string, namespace: string, encrypted: boolean): GenericRedisCache => {
    const cache = new GenericRedisCache({ redisUrl: url, namespace, l1: false, compression: { threshold: 1024 }, l2Timeout: '2s', suppressL2Errors: false, ...(encrypted && { encryption: TEST_ENCRYPTION }) })
    caches.push(cache)
    return cache
  }

  beforeAll(async () => {
    rawSource = await rawRedis(source.url)
    rawTarget = await rawRedis(target.url)
    await Promise.all([seed(cacheOf(source.url, plainNs, false), 0, PLAIN), seed(cacheOf(source.url, secretNs, true), PLAIN, PLAIN + ENCRYPTED)])
  }, 120_000)

  afterAll(async () => {
    for (const cache of caches) await cache.disconnect()
    await rawSource.close()
    await rawTarget.close()
    rmSync(dir, { recursive: true, force: true })
  })

  async function roundTrip(namespace: string, encrypted: boolean, count: number, first: number): Promise<void> {
    // From the first PTTL read: a TTL may shrink by the time from there to the last read after.
    const startedAt = Date.now()
    const before = await snapshot(rawSource, namespace)
    expect(before.size).toBe(count)
    const tagsBefore = await Promise.all(TAG_POOL.map((tag) => rawSource.members(`${namespace}#tag:${tag}`)))
    const file = join(dir, `${namespace}.backup`)
    const backup = await manager.createBackup(cacheOf(source.url, namespace, encrypted), file)
    expect(backup).toMatchObject({ path: file, entries: count, expiredSkipped: 0, undecoded: 0 })
    expect(backup.checksum).toMatch(/^[0-9a-f]{64}$/)
    expect(backup.header).toMatchObject({ formatVersion: 1, namespace, topology: 'standalone' })

    const restoring = cacheOf(target.url, namespace, encrypted)
    const restored = await manager.restoreBackup(file, restoring)
    expect(restored).toMatchObject({ restored: count, skippedExpired: 0, skippedExisting: 0, failed: 0, entries: count, dryRun: false })
    const after = await snapshot(rawTarget, namespace)
    const elapsedMs = Date.now() - startedAt
    expect(compareSnapshots(before, after, elapsedMs)).toEqual([])

    // Tag indexes hold the same members (their scores are the target server's clock).
    const tagsAfter = await Promise.all(TAG_POOL.map((tag) => rawTarget.members(`${namespace}#tag:${tag}`)))
    tagsAfter.forEach((members, i) => expect(new Set(members)).toEqual(new Set(tagsBefore[i])))

    // Every value reads back through the cache as written, with its TTL.
    for (let start = first; start < first + count; start += 1000) {
      const indexes = Array.from({ length: Math.min(1000, first + count - start) }, (_, j) => start + j)
      expect(await restoring.getMany(indexes.map(sampleKey))).toEqual(indexes.map(sampleValue))
    }
    expect(await restoring.getTtl(sampleKey(first + 3))).toBe(Infinity)
    // The logical expiry inside the payload came along: 1 h from the seeding, minutes ago.
    const ttl = await restoring.getTtl(sampleKey(first + 1))
    expect(ttl).toBeGreaterThan(50 * 60_000)
    expect(ttl).toBeLessThanOrEqual(60 * 60_000)

    // A restored entry is found by its tags.
    const tag = TAG_POOL[5]!
    const tagged = Array.from({ length: count }, (_, j) => first + j).filter((i) => sampleOptions(i).tags.includes(tag))
    expect(await restoring.invalidateTags([tag])).toBe(tagged.length)
    expect(await restoring.getMany(tagged.slice(0, 50).map(sampleKey))).toEqual(tagged.slice(0, 50).map(() => undefined))

    // Restoring again changes nothing: every key is kept as it is (those invalidated come back).
    const again = await manager.restoreBackup(file, restoring)
    expect(again).toMatchObject({ restored: tagged.length, skippedExisting: count - tagged.length, failed: 0 })
    const third = await manager.restoreBackup(file, restoring)
    expect(third).toMatchObject({ restored: 0, skippedExisting: count })
    expect(compareSnapshots(before, await snapshot(rawTarget, namespace), Date.now() - startedAt)).toEqual([])
  }

  it('restores 80,000 plain and compressed entries byte for byte, with TTLs and tags', async () => {
    await roundTrip(plainNs, false, PLAIN, 0)
  })

  it('restores 20,000 encrypted entries byte for byte, readable with the same key', async () => {
    await roundTrip(secretNs, true, ENCRYPTED, PLAIN)
  })
})
