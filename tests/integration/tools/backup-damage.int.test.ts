/**
 * Damaged backup files (flipped bytes, cuts at many offsets, wrong magic, wrong checksum,
 * records moved) fail with E_BACKUP_FORMAT naming the byte offset and record, and how many
 * entries were restored before; the committed format-v1 fixtures restore; a restore is idempotent.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync, crc32 } from 'node:zlib'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import type { BackupFormatError} from '../../../src/index.js';
import { CacheMigrationManager, GenericRedisCache, errors } from '../../../src/index.js'
import { compareSnapshots, type RawRedis, rawRedis, sampleKey, seed, snapshot, TEST_ENCRYPTION } from '../../helpers/backup-data.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()
const COUNT = 300
const FIXTURES = new URL('../../fixtures/backup/', import.meta.url)

describe.skipIf(!hasRedis)('damaged backup files', () => {
  const server = useRedisServer()
  const dir = mkdtempSync(join(tmpdir(), 'strata-damage-'))
  const manager = new CacheMigrationManager()
  const namespace = uniqueNamespace('src')
  const caches: GenericRedisCache[] = []
  let raw: RawRedis
  let plain: Buffer
  let gzipped: Buffer

  const cacheOf = (ns: string, options: { encryption?: typeof TEST_ENCRYPTION } = {}): GenericRedisCache => {
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace: ns, l1: false, l2Timeout: '2s', suppressL2Errors: false, ...options })
    caches.push(cache)
    return cache
  }
  const file = (name: string, bytes: Buffer): string => {
    const path = join(dir, name)
    writeFileSync(path, bytes)
    return path
  }

  beforeAll(async () => {
    raw = await rawRedis(server.url)
    await seed(cacheOf(namespace), 0, COUNT)
    await manager.createBackup(cacheOf(namespace), join(dir, 'plain.backup'), { gzip: false })
    await manager.createBackup(cacheOf(namespace), join(dir, 'gzipped.backup'))
    plain = readFileSync(join(dir, 'plain.backup'))
    gzipped = readFileSync(join(dir, 'gzipped.backup'))
  })

  afterAll(async () => {
    for (const cache of caches) await cache.disconnect()
    await raw.close()
    rmSync(dir, { recursive: true, force: true })
  })

  /** Restores `bytes` into a fresh namespace and resolves the E_BACKUP_FORMAT it must fail with. */
  async function damaged(bytes: Buffer, options: { dryRun?: boolean } = {}): Promise<{ error: BackupFormatError; ns: string }> {
    const ns = uniqueNamespace('dst')
    const error: unknown = await manager.restoreBackup(file(`${ns}.backup`, bytes), cacheOf(ns), { batchSize: 50, ...options }).then(
      () => undefined,
      (e: unknown) => e,
    )
    expect(error).toBeInstanceOf(errors.E_BACKUP_FORMAT)
    const coded = error as BackupFormatError
    expect(coded.code).toBe('E_BACKUP_FORMAT')
    expect(coded.message).toMatch(new RegExp(`at byte ${coded.offset} \\(record ${coded.record}\\).*${coded.restored} entries were restored before it`))
    return { error: coded, ns }
  }

  /** Start offsets of the entry records of a raw backup stream. */
  function recordStarts(bytes: Buffer): number[] {
    const starts: number[] = []
    for (let at = 9; at < bytes.length; at += 9 + bytes.readUInt32BE(at + 1)) starts.push(at)
    return starts
  }

  it('refuses a file without the magic at byte 0', async () => {
    const bytes = Buffer.from(plain)
    bytes[0] = 0x58
    const { error } = await damaged(bytes)
    expect(error).toMatchObject({ offset: 0, record: 0, restored: 0 })
    expect(error.message).toMatch(/not a strata backup file/)
  })

  it('names the record and offset of a flipped byte, after restoring the entries before it', async () => {
    const starts = recordStarts(plain)
    const target = starts[101]! // the 101st entry (starts[0] is the header)
    const bytes = Buffer.from(plain)
    bytes[target + 20]! ^= 0x10
    const { error, ns } = await damaged(bytes)
    expect(error).toMatchObject({ offset: target, record: 101, restored: 100 })
    expect(error.message).toMatch(/CRC-32 mismatch/)
    expect((await snapshot(raw, ns)).size).toBe(100)
  })

  it('restores nothing in a dry run of a damaged file', async () => {
    const bytes = Buffer.from(plain)
    bytes[recordStarts(plain)[7]! + 12]! ^= 0xff
    const { error, ns } = await damaged(bytes, { dryRun: true })
    expect(error).toMatchObject({ record: 7, restored: 0 })
    expect((await snapshot(raw, ns)).size).toBe(0)
  })

  it('reports a cut at any offset as truncated, never as a whole file', async () => {
    const starts = recordStarts(plain)
    const cuts = [0, 4, 9, 12, starts[1]!, starts[1]! + 3, starts[150]! + 30, plain.length - 41, plain.length - 20, plain.length - 1]
    for (const cut of cuts) {
      const { error } = await damaged(plain.subarray(0, cut))
      expect(error.offset).toBeLessThanOrEqual(cut)
      expect(error.message).toMatch(/truncated|shorter than its 9-byte preamble|empty/)
    }
  })

  it('reports a cut or flipped gzip file as damaged', async () => {
    for (const cut of [10, Math.floor(gzipped.length / 2), gzipped.length - 4]) {
      const { error } = await damaged(gzipped.subarray(0, cut))
      expect(error.message).toMatch(/gzip stream is damaged|truncated/)
    }
    const flipped = Buffer.from(gzipped)
    flipped[Math.floor(gzipped.length / 2)]! ^= 0x5a
    await damaged(flipped)
  })

  it('refuses a trailer whose checksum does not match, and records moved or dropped', async () => {
    const trailerAt = plain.length - 49
    const wrong = Buffer.from(plain)
    wrong[trailerAt + 5 + 8]! ^= 0x01
    wrong.writeUInt32BE(crc32(wrong.subarray(trailerAt, trailerAt + 45)), trailerAt + 45)
    expect((await damaged(wrong)).error.message).toMatch(/checksum mismatch/)

    const starts = recordStarts(plain)
    const [a, b, c] = [starts[3]!, starts[4]!, starts[5]!]
    const swapped = Buffer.concat([plain.subarray(0, a), plain.subarray(b, c), plain.subarray(a, b), plain.subarray(c)])
    const moved = await damaged(swapped)
    expect(moved.error).toMatchObject({ record: COUNT + 1, restored: COUNT })
    expect(moved.error.message).toMatch(/checksum mismatch/)

    const dropped = Buffer.concat([plain.subarray(0, a), plain.subarray(b)])
    expect((await damaged(dropped)).error.message).toMatch(/counts 300 entries, the file holds 299/)
    expect((await damaged(Buffer.concat([plain, Buffer.of(0)]))).error.message).toMatch(/data after the trailer/)
  })

  it('refuses a newer format version with a message that says so', async () => {
    const bytes = Buffer.from(plain)
    bytes[8] = 2
    expect((await damaged(bytes)).error.message).toMatch(/format version 2 is not one this version reads/)
  })

  it('restores a file twice without changing anything, with or without overwrite', async () => {
    const ns = uniqueNamespace('twice')
    const path = file(`${ns}.backup`, gzipped)
    const cache = cacheOf(namespace)
    const startedAt = Date.now()
    const original = await snapshot(raw, namespace)
    await cache.clear()
    expect(await manager.restoreBackup(path, cache)).toMatchObject({ restored: COUNT, skippedExisting: 0 })
    expect(await manager.restoreBackup(path, cache)).toMatchObject({ restored: 0, skippedExisting: COUNT })
    expect(await manager.restoreBackup(path, cache, { overwrite: true })).toMatchObject({ restored: COUNT, skippedExisting: 0 })
    expect(compareSnapshots(original, await snapshot(raw, namespace), Date.now() - startedAt)).toEqual([])
    expect(await cache.get(sampleKey(2))).toEqual({ id: 2, name: 'user 2', roles: ['a', 'b'], nested: { deep: [2, null, true] } })
  })

  it('restores the committed format version 1 fixture, raw and gzipped, skipping its expired entry', async () => {
    for (const name of ['format-v1.backup', 'format-v1.backup.gz']) {
      const cache = cacheOf('fixture', { encryption: TEST_ENCRYPTION })
      await cache.clear()
      const path = join(dir, name)
      writeFileSync(path, readFileSync(new URL(name, FIXTURES)))
      const result = await manager.restoreBackup(path, cache)
      expect(result).toMatchObject({ entries: 5, restored: 4, skippedExpired: 1, failed: 0, header: { formatVersion: 1, namespace: 'fixture', libraryVersion: '0.1.0' } })
      expect(await cache.get('encrypted')).toEqual({ card: '4111' })
      // Unencrypted entries are read by a cache without encryption.
      const open = cacheOf('fixture')
      expect(await open.get('tagged')).toEqual({ id: 1, name: 'Ada', since: new Date(Date.UTC(2026, 0, 1)) })
      expect(await open.get('compressed')).toBe('lorem ipsum dolor sit amet '.repeat(75))
      expect(await open.getTtl('plain')).toBe(Infinity)
      expect(await open.invalidateTags(['users'])).toBe(2)
      expect(await open.get('tagged')).toBeUndefined()
    }
  })

  it('a dry run verifies and counts without writing', async () => {
    const ns = uniqueNamespace('dry')
    const result = await manager.restoreBackup(file(`${ns}.gz`, gzipSync(plain)), cacheOf(ns), { dryRun: true })
    expect(result).toMatchObject({ dryRun: true, entries: COUNT, restored: COUNT, skippedExisting: 0 })
    expect((await snapshot(raw, ns)).size).toBe(0)
  })
})
