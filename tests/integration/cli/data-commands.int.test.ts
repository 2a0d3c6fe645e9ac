import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'

import { afterAll, describe, expect, it } from 'vitest'

import { run } from '../../../src/cli/main.js'
import { GenericRedisCache, type GenericRedisCacheOptions } from '../../../src/index.js'
import { captureIo } from '../../helpers/cli-io.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { parseInfo, redisText } from '../../helpers/redis-cluster.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'
import { secret } from '../../helpers/secrets.js'

const hasRedis = requireRedis()
const KEY_1 = secret('encryption key 1', randomBytes(32).toString('base64'))

describe.skipIf(!hasRedis)('strata keys, inspect and get against a real Redis', () => {
  const server = useRedisServer()
  const dir = mkdtempSync(join(tmpdir(), 'strata-data-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  async function withCache(namespace: string, options: Partial<GenericRedisCacheOptions>, work: (cache: GenericRedisCache) => Promise<void>): Promise<void> {
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace, l1: false, coherence: false, ...options })
    try {
      await work(cache)
    } finally {
      await cache.disconnect()
    }
  }

  function keysFile(): string {
    const path = join(dir, `${uniqueNamespace('keys')}.json`)
    writeFileSync(path, JSON.stringify({ keys: { 1: KEY_1 }, current: 1 }), { mode: 0o600 })
    return path
  }

  async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
    const io = { ...captureIo(), env }
    Object.assign(io, { stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) })
    const code = await run(args, io)
    return { code, out: io.out, err: io.err }
  }

  it('lists keys matching a glob without the namespace prefix, and never keys of another namespace', async () => {
    const namespace = uniqueNamespace('keys')
    await withCache(namespace, {}, async (cache) => {
      await cache.setMany([...Array.from({ length: 30 }, (_, i) => ({ key: `user:${i}`, value: i })), { key: 'order:1', value: 1 }])
    })
    await withCache(`${namespace}x`, {}, (cache) => cache.set('user:99', 1))
    const text = await cli(['keys', 'user:*', '--url', server.url, '--namespace', namespace])
    expect(text.code).toBe(0)
    expect(text.out.trim().split('\n').sort()).toEqual(Array.from({ length: 30 }, (_, i) => `user:${i}`).sort())
    expect(text.err).toBe('')
    const json = await cli(['keys', '--url', server.url, '--namespace', namespace, '--json'])
    expect(json.code).toBe(0)
    const doc = JSON.parse(json.out) as { count: number; truncated: boolean; keys: string[]; pattern: string }
    expect(doc).toMatchObject({ namespace, pattern: '*', count: 31, truncated: false })
    expect(doc.keys).toContain('order:1')
  })

  it('stops at --limit without scanning the whole namespace, and says more keys match', async () => {
    const namespace = uniqueNamespace('keys')
    await withCache(namespace, {}, (cache) => cache.setMany(Array.from({ length: 5000 }, (_, i) => ({ key: `k${i}`, value: i }))))
    const before = await scanCalls(server.port)
    const limited = await cli(['keys', '--url', server.url, '--namespace', namespace, '--limit', '10', '--json'])
    const scans = (await scanCalls(server.port)) - before
    expect(limited.code).toBe(0)
    expect(JSON.parse(limited.out)).toMatchObject({ count: 10, truncated: true })
    expect(limited.err).toMatch(/stopped at --limit 10; more keys match/)
    // SCAN with COUNT 1000 over 5,000 keys takes about 5 steps: stopping early takes 1 or 2.
    expect(scans).toBeLessThanOrEqual(2)
    const all = await cli(['keys', '--url', server.url, '--namespace', namespace, '--limit', '5000', '--json'])
    expect(JSON.parse(all.out)).toMatchObject({ count: 5000, truncated: false })
  })

  it('inspects a fresh compressed entry with tags: size, TTLs, codec ids, state', async () => {
    const namespace = uniqueNamespace('inspect')
    await withCache(namespace, { compression: { threshold: 100 } }, (cache) => cache.set('big', 'x'.repeat(5000), { ttl: '10m', tags: ['users', 'admins'] }))
    const { code, out } = await cli(['inspect', 'big', '--url', server.url, '--namespace', namespace, '--json'])
    expect(code).toBe(0)
    const doc = JSON.parse(out) as Record<string, unknown> & { ttlMs: number; physicalTtlMs: number; sizeBytes: number }
    expect(doc).toMatchObject({ key: 'big', found: true, storedKey: `${namespace}:big`, state: 'fresh', tags: ['users', 'admins'], decodable: true, problem: null })
    expect(doc.format).toEqual({ version: 1, serializerId: 1, serializer: 'msgpack', compressorId: 1, compressor: 'deflate' })
    expect(doc.encryption).toEqual({ encrypted: false, keyId: null, keysGiven: false })
    expect(doc.sizeBytes).toBeLessThan(200)
    expect(doc.ttlMs).toBeGreaterThan(590_000)
    expect(doc.physicalTtlMs).toBeGreaterThan(590_000)
    expect(doc).not.toHaveProperty('value')
    const table = await cli(['inspect', 'big', '--url', server.url, '--namespace', namespace])
    expect(table.out).toMatch(/compressor\s+deflate \(id 1\)/)
    expect(table.out).toMatch(/tags\s+users, admins/)
    expect(table.out).toMatch(/state\s+fresh, [\d,]+ ms left/)
  })

  it('inspects a stale entry within grace: logical TTL past, physical TTL left', async () => {
    const namespace = uniqueNamespace('inspect')
    await withCache(namespace, { grace: '10m' }, (cache) => cache.set('old', { a: 1 }, { ttl: '200ms' }))
    await sleep(300)
    const { code, out } = await cli(['inspect', 'old', '--url', server.url, '--namespace', namespace, '--json'])
    expect(code).toBe(0)
    const doc = JSON.parse(out) as { state: string; ttlMs: number; physicalTtlMs: number; staleUntil: string }
    expect(doc.state).toBe('stale')
    expect(doc.ttlMs).toBe(0)
    expect(doc.physicalTtlMs).toBeGreaterThan(500_000)
    expect(typeof doc.staleUntil).toBe('string')
    // get treats it as the library does: a miss.
    const got = await cli(['get', 'old', '--url', server.url, '--namespace', namespace])
    expect(got.code).toBe(1)
    expect(got.err).toMatch(/is stale \(past its TTL, within grace\): a read misses it/)
  })

  it('inspects an encrypted entry without keys (header facts, left in place) and with keys (metadata)', async () => {
    const namespace = uniqueNamespace('inspect')
    await withCache(namespace, { encryption: { keys: { 1: KEY_1 }, current: 1 } }, (cache) => cache.set('secret', { card: 'x' }, { tags: ['pay'] }))
    const without = await cli(['inspect', 'secret', '--url', server.url, '--namespace', namespace, '--json'])
    expect(without.code).toBe(0)
    expect(JSON.parse(without.out)).toMatchObject({ state: null, tags: null, decodable: false, encryption: { encrypted: true, keyId: 1, keysGiven: false } })
    expect(JSON.parse(without.out).problem).toMatch(/encrypted with key id 1; give the encryption keys/)
    const table = await cli(['inspect', 'secret', '--url', server.url, '--namespace', namespace])
    expect(table.out).toMatch(/encrypted\s+yes, key id 1 \(no keys given\)/)
    // get without keys reports it and leaves it: a cache read would have deleted it.
    const got = await cli(['get', 'secret', '--url', server.url, '--namespace', namespace])
    expect(got.code).toBe(1)
    expect(got.err).toMatch(/cannot decode .* encrypted with key id 1.*\(left in place\)/)
    const withKeys = await cli(['inspect', 'secret', '--url', server.url, '--namespace', namespace, '--keys-file', keysFile(), '--json'])
    expect(JSON.parse(withKeys.out)).toMatchObject({ state: 'fresh', tags: ['pay'], decodable: true, encryption: { encrypted: true, keyId: 1, keysGiven: true } })
    const fromEnv = await cli(['get', 'secret', '--url', server.url, '--namespace', namespace], { STRATA_ENCRYPTION_KEYS: JSON.stringify({ keys: { 1: KEY_1 }, current: 1 }) })
    expect(fromEnv.code).toBe(0)
    expect(JSON.parse(fromEnv.out)).toEqual({ card: 'x' })
  })

  it('prints values as JSON, with Map, Set, BigInt, Buffer and Date in their tagged form', async () => {
    const namespace = uniqueNamespace('get')
    const value = { when: new Date('2024-05-01T12:00:00.000Z'), m: new Map([['a', 1n]]), s: new Set([1, 2]), b: Buffer.from('hi'), n: null, list: [1, 'two'] }
    await withCache(namespace, {}, (cache) => cache.set('v', value, { ttl: '1h' }))
    const plain = await cli(['get', 'v', '--url', server.url, '--namespace', namespace])
    expect(plain.code).toBe(0)
    expect(JSON.parse(plain.out)).toEqual({ when: { $date: '2024-05-01T12:00:00.000Z' }, m: { $map: [['a', { $bigint: '1' }]] }, s: { $set: [1, 2] }, b: { $bytes: 'aGk=' }, n: null, list: [1, 'two'] })
    const json = await cli(['get', 'v', '--url', server.url, '--namespace', namespace, '--json'])
    expect(JSON.parse(json.out)).toMatchObject({ key: 'v', found: true, state: 'fresh', value: { n: null } })
  })

  it('reports a miss as exit 1 with one line (and found: false with --json)', async () => {
    const namespace = uniqueNamespace('get')
    const miss = await cli(['get', 'nope', '--url', server.url, '--namespace', namespace, '--json'])
    expect(miss.code).toBe(1)
    expect(JSON.parse(miss.out)).toEqual({ key: 'nope', found: false, state: null })
    expect(miss.err).toBe(`strata get: no key "nope" in namespace "${namespace}"\n`)
    const inspect = await cli(['inspect', 'nope', '--url', server.url, '--namespace', namespace])
    expect(inspect.code).toBe(1)
    expect(inspect.err).toMatch(/no key "nope"/)
  })

  it('refuses bad arguments and bad keys with exit 2, sending nothing to Redis', async () => {
    const cases: string[][] = [
      ['keys', '--limit', '0'],
      ['keys', '--limit', 'lots'],
      ['keys', ''],
      ['inspect', 'k', '--keys-file', join(dir, 'missing.json')],
      ['get', 'k', '--keys-env', 'NO_SUCH_VARIABLE'],
      ['inspect', 'k', '--namespace', 'a:b'],
      ['get'],
    ]
    const probe = await probeCost(server.port)
    for (const args of cases) {
      const before = await commandsProcessed(server.port)
      const result = await cli([...args, '--url', server.url])
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.err).toMatch(/E_INVALID_OPTIONS|E_INVALID_KEY|missing required argument/)
      expect((await commandsProcessed(server.port)) - before, args.join(' ')).toBe(probe)
    }
  })

  it('exits 1 within the timeout when Redis is unreachable', async () => {
    for (const args of [['keys'], ['inspect', 'k'], ['get', 'k']]) {
      const startedAt = performance.now()
      const result = await cli([...args, '--url', 'redis://:pw@127.0.0.1:1', '--timeout', '300ms'])
      expect(result.code).toBe(1)
      expect(result.err).toMatch(/cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1 within 300ms/)
      expect(performance.now() - startedAt).toBeLessThan(2000)
    }
  })
})

/** SCAN calls the server has answered so far. */
export async function scanCalls(port: number): Promise<number> {
  const stats = parseInfo(await redisText(port, ['INFO', 'commandstats']))
  return Number(/calls=(\d+)/.exec(stats.get('cmdstat_scan') ?? '')?.[1] ?? 0)
}

/** `total_commands_processed` of the server; asking costs commands too (see {@link probeCost}). */
export async function commandsProcessed(port: number): Promise<number> {
  return Number(parseInfo(await redisText(port, ['INFO', 'stats'])).get('total_commands_processed'))
}

/** What one {@link commandsProcessed} call adds to the count itself (its connection and INFO). */
export async function probeCost(port: number): Promise<number> {
  const first = await commandsProcessed(port)
  return (await commandsProcessed(port)) - first
}
