/**
 * Deterministic entries for the backup and restore tests, and raw views of what Redis holds
 * (bytes, PTTL, tag index members), read without going through a cache.
 */
import { createClient, createCluster, RESP_TYPES } from '@redis/client'

import type { GenericRedisCache } from '../../src/index.js'

/** A fixed test key (not a secret: it only protects test data). */
export const TEST_ENCRYPTION = Object.freeze({ keys: { 1: Buffer.alloc(32, 7) }, current: 1 })

export const TAG_POOL = Array.from({ length: 20 }, (_, i) => `tag${i}`)

/** Entry `i`: mixed types and sizes (every eighth one a 2 KB compressible text). */
export function sampleValue(i: number): unknown {
  switch (i % 8) {
    case 0:
      return `value ${i}`
    case 1:
      return i % 16 === 1 ? BigInt(i) * 10n ** 20n : i * 1.5
    case 2:
      return { id: i, name: `user ${i}`, roles: ['a', 'b'], nested: { deep: [i, null, true] } }
    case 3:
      return new Date(1_700_000_000_000 + i)
    case 4:
      return new Map<string, number>([['a', i], ['b', i + 1]])
    case 5:
      return Buffer.alloc(64, i % 251)
    case 6:
      return null
    default:
      return `lorem ipsum dolor sit amet ${i} `.repeat(64)
  }
}

/** Entry `i`'s TTL (some never expire) and tags (none, one or two of {@link TAG_POOL}). */
export function sampleOptions(i: number): { ttl: number | '10m' | '1h' | '2h'; tags: string[] } {
  const ttl = (['10m', '1h', '2h', 0] as const)[i % 4]!
  const tags = i % 3 === 0 ? [] : i % 3 === 1 ? [TAG_POOL[i % 20]!] : [TAG_POOL[i % 20]!, TAG_POOL[(i + 7) % 20]!]
  return { ttl, tags }
}

export const sampleKey = (i: number): string => `item:${i}`

/** Writes entries `from` to `to` (excluded) through the cache, 1,000 per `setMany`. */
export async function seed(cache: GenericRedisCache, from: number, to: number): Promise<void> {
  for (let start = from; start < to; start += 1000) {
    const entries = []
    for (let i = start; i < Math.min(to, start + 1000); i++) entries.push({ key: sampleKey(i), value: sampleValue(i), ...sampleOptions(i) })
    await cache.setMany(entries)
  }
}

/** One stored key as Redis holds it. */
export interface RawEntry {
  readonly bytes: Buffer
  /** PTTL: -1 when it never expires. */
  readonly pttl: number
}

/** Raw access to one server or a cluster, bytes as Buffers. */
export interface RawRedis {
  /** Every key matching `match`, on every master. */
  keys(match: string): Promise<string[]>
  /** Bytes and PTTL of each key, aligned; `undefined` when missing. */
  read(keys: readonly string[]): Promise<Array<RawEntry | undefined>>
  /** Members of a sorted set. */
  members(key: string): Promise<string[]>
  /** Pipelined plain `SET key bytes PX ttl`, as another client would write them. */
  setMany(entries: ReadonlyArray<{ key: string; bytes: Buffer; px: number }>): Promise<void>
  close(): Promise<void>
}

const BYTES = { [RESP_TYPES.BLOB_STRING]: Buffer } as const

export async function rawRedis(url: string): Promise<RawRedis> {
  const client = createClient({ url }).withTypeMapping(BYTES)
  await client.connect()
  return {
    async keys(match) {
      const found = new Set<string>()
      for await (const batch of client.scanIterator({ MATCH: match, COUNT: 1000 })) for (const key of batch) found.add(String(key))
      return [...found]
    },
    async read(keys) {
      const out: Array<RawEntry | undefined> = []
      for (let i = 0; i < keys.length; i += 1000) {
        const chunk = keys.slice(i, i + 1000)
        const [values, ttls] = await Promise.all([client.mGet(chunk), Promise.all(chunk.map((key) => client.pTTL(key)))])
        values.forEach((bytes, j) => out.push(bytes === null ? undefined : { bytes: bytes, pttl: ttls[j]! }))
      }
      return out
    },
    async members(key) {
      return (await client.zRange(key, 0, -1)).map(String)
    },
    async setMany(entries) {
      await Promise.all(entries.map(({ key, bytes, px }) => client.set(key, bytes, { expiration: { type: 'PX', value: px } })))
    },
    close: async () => client.destroy(),
  }
}

export async function rawCluster(rootNodes: ReadonlyArray<{ url: string }>): Promise<RawRedis & { keysPerMaster(match: string): Promise<number[]> }> {
  const cluster = createCluster({ rootNodes: [...rootNodes] }).withTypeMapping(BYTES)
  await cluster.connect()
  const keysPerMaster = async (match: string): Promise<string[][]> => {
    const out: string[][] = []
    for (const master of cluster.masters) {
      const client = await cluster.nodeClient(master)
      const found: string[] = []
      for await (const batch of client.scanIterator({ MATCH: match, COUNT: 1000 })) for (const key of batch) found.push(String(key))
      out.push(found)
    }
    return out
  }
  return {
    keysPerMaster: async (match) => (await keysPerMaster(match)).map((keys) => new Set(keys).size),
    keys: async (match) => [...new Set((await keysPerMaster(match)).flat())],
    async read(keys) {
      const out: Array<RawEntry | undefined> = []
      for (let i = 0; i < keys.length; i += 1000) {
        const chunk = keys.slice(i, i + 1000)
        const [values, ttls] = await Promise.all([Promise.all(chunk.map((key) => cluster.get(key))), Promise.all(chunk.map((key) => cluster.pTTL(key)))])
        values.forEach((bytes, j) => out.push(bytes === null ? undefined : { bytes: bytes, pttl: ttls[j]! }))
      }
      return out
    },
    async members(key) {
      return (await cluster.zRange(key, 0, -1)).map(String)
    },
    async setMany(entries) {
      await Promise.all(entries.map(({ key, bytes, px }) => cluster.set(key, bytes, { expiration: { type: 'PX', value: px } })))
    },
    close: async () => cluster.destroy(),
  }
}

/** Every entry of `namespace`, by full key. */
export async function snapshot(raw: RawRedis, namespace: string): Promise<Map<string, RawEntry>> {
  const keys = await raw.keys(`${namespace}:*`)
  const values = await raw.read(keys)
  const out = new Map<string, RawEntry>()
  keys.forEach((key, i) => {
    const value = values[i]
    if (value !== undefined) out.set(key, value)
  })
  return out
}

/**
 * Checks that `after` holds exactly `before`'s entries, byte for byte, each with a TTL that
 * shrank by no more than `elapsedMs` (never grew, with 5 ms for rounding). Returns the problems.
 */
export function compareSnapshots(before: ReadonlyMap<string, RawEntry>, after: ReadonlyMap<string, RawEntry>, elapsedMs: number): string[] {
  const problems: string[] = []
  if (after.size !== before.size) problems.push(`${after.size} entries after, ${before.size} before`)
  for (const [key, was] of before) {
    const now = after.get(key)
    if (now === undefined) problems.push(`${key}: missing`)
    else if (!now.bytes.equals(was.bytes)) problems.push(`${key}: bytes differ`)
    else if (was.pttl === -1 ? now.pttl !== -1 : now.pttl > was.pttl + 5 || now.pttl < was.pttl - elapsedMs - 5) problems.push(`${key}: pttl ${now.pttl}, was ${was.pttl} (elapsed ${elapsedMs} ms)`)
    if (problems.length > 10) break
  }
  return problems
}
