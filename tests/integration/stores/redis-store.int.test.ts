import { randomBytes, randomUUID } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'

import { createClient } from '@redis/client'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'

import { InvalidOptionsError, type OptionIssue } from '../../../src/errors.js'
import { type RedisConnectionOptions, resolveRedisConnection } from '../../../src/options/redis-options.js'
import { RedisStore } from '../../../src/stores/redis-store.js'
import { type RedisServer, requireRedis, startRedis } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()

/** Upper bound for noticing a SIGSTOPped server: pingIntervalMs + socketTimeoutMs + slack. */
const FROZEN_DETECTION_BOUND_MS = 1000 + 1500 + 500

const stores: RedisStore[] = []
const servers: RedisServer[] = []

/** The store's settings through the cache's own resolver (the only one). */
function storeOptions({ url, ...rest }: RedisConnectionOptions & { url: string }) {
  const issues: OptionIssue[] = []
  const resolved = resolveRedisConnection(url, rest, issues)
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  return resolved
}

function newStore(options: RedisConnectionOptions & { url: string }): RedisStore {
  const store = new RedisStore(storeOptions(options))
  stores.push(store)
  return store
}

async function newServer(): Promise<RedisServer> {
  const server = await startRedis()
  servers.push(server)
  return server
}

/** Resolves how a promise settled and after how many ms, or 'pending' after `limitMs`. */
async function settleWithin<T>(promise: Promise<T>, limitMs: number) {
  const started = performance.now()
  const outcome = await Promise.race([
    promise.then(
      (value) => ({ status: 'resolved' as const, value }),
      (error: unknown) => ({ status: 'rejected' as const, error }),
    ),
    sleep(limitMs).then(() => ({ status: 'pending' as const })),
  ])
  return { ...outcome, ms: performance.now() - started }
}

async function waitFor(condition: () => boolean, limitMs: number): Promise<number> {
  const started = performance.now()
  while (!condition()) {
    if (performance.now() - started > limitMs) throw new Error(`condition not met within ${limitMs} ms`)
    await sleep(5)
  }
  return performance.now() - started
}

/** Unique key prefix per test, so tests never see each other's keys. */
const prefix = (): string => `t:${randomUUID()}:`

afterEach(async () => {
  await Promise.all(stores.splice(0).map((store) => store.disconnect()))
})

afterAll(async () => {
  await Promise.all(servers.splice(0).map((server) => server.stop()))
})

describe('RedisStore options', () => {
  it('reports every invalid connection option at once, with its path', () => {
    const bad = { url: 'http://x', connectTimeout: -1, pingInterval: 2000, socketTimeout: 1000, database: 1.5 } as never
    const error = (() => {
      try {
        storeOptions(bad)
      } catch (e) {
        return e
      }
    })()
    expect(error).toBeInstanceOf(InvalidOptionsError)
    const paths = (error as InvalidOptionsError).issues.map((issue) => issue.path)
    expect(paths).toEqual(expect.arrayContaining(['redisUrl', 'redis.connectTimeout', 'redis.socketTimeout', 'redis.database']))
  })

  it('never echoes a URL, which may carry a password', () => {
    expect(() => storeOptions({ url: 'http://user:s3cret@host' })).toThrow(/redisUrl: expected a redis/)
    expect(() => storeOptions({ url: 'http://user:s3cret@host' })).not.toThrow(/s3cret/)
  })

  it('rejects commands at once before connect() was called', async () => {
    const store = newStore({ url: 'redis://127.0.0.1:1' })
    const outcome = await settleWithin(store.get('k'), 100)
    expect(outcome.status).toBe('rejected')
    expect(store.isReady).toBe(false)
  })

  it('sends no command for empty batches, so they work even without a connection', async () => {
    const store = newStore({ url: 'redis://127.0.0.1:1' })
    expect(await store.getMany([])).toEqual([])
    await store.setMany([])
    expect(await store.deleteMany([])).toBe(0)
  })
})

describe.skipIf(!hasRedis)('RedisStore against a running server', () => {
  let server: RedisServer
  let store: RedisStore
  let admin: ReturnType<typeof createClient>

  beforeAll(async () => {
    server = await newServer()
    admin = createClient({ url: server.url })
    await admin.connect()
  })
  afterAll(() => admin.destroy())

  beforeEach(async () => {
    store = newStore({ url: server.url })
    expect(await store.connect(2000)).toBe(true)
  })

  it('connects once even when connect() is called again, and reports ready', async () => {
    const changes: boolean[] = []
    store.onReadyChange((ready) => changes.push(ready))
    expect(await store.connect(2000)).toBe(true)
    expect(store.isReady).toBe(true)
    expect(changes).toEqual([])
  })

  it('answers undefined on a miss and the stored bytes on a hit', async () => {
    const p = prefix()
    expect(await store.get(`${p}missing`)).toBeUndefined()
    await store.set(`${p}k`, new Uint8Array([1, 2, 3]))
    const value = await store.get(`${p}k`)
    expect(value).toBeInstanceOf(Uint8Array)
    expect([...(value ?? [])]).toEqual([1, 2, 3])
  })

  it('round-trips all 256 byte values, an empty value and a 1 MB value unchanged', async () => {
    const p = prefix()
    const all = Uint8Array.from({ length: 256 }, (_, i) => i)
    const big = randomBytes(1024 * 1024)
    await store.set(`${p}all`, all)
    await store.set(`${p}empty`, new Uint8Array(0))
    await store.set(`${p}big`, big)
    expect(Buffer.compare(Buffer.from((await store.get(`${p}all`)) ?? []), Buffer.from(all))).toBe(0)
    expect((await store.get(`${p}empty`))?.byteLength).toBe(0)
    expect(Buffer.compare(Buffer.from((await store.get(`${p}big`)) ?? []), big)).toBe(0)
    // Stored as raw bytes: Redis sees the same length, not base64 or UTF-8 expanded.
    expect(await admin.strLen(`${p}all`)).toBe(256)
    expect(await admin.strLen(`${p}big`)).toBe(1024 * 1024)
  })

  it('stores exactly the bytes of a Uint8Array view into a larger buffer', async () => {
    const p = prefix()
    const backing = Uint8Array.from({ length: 16 }, (_, i) => i)
    await store.set(`${p}view`, backing.subarray(4, 8))
    expect([...((await store.get(`${p}view`)) ?? [])]).toEqual([4, 5, 6, 7])
  })

  it('getMany answers in key order with undefined for misses', async () => {
    const p = prefix()
    await store.set(`${p}a`, Buffer.from([0xff]))
    await store.set(`${p}c`, Buffer.from([0x00]))
    const values = await store.getMany([`${p}a`, `${p}b`, `${p}c`])
    expect(values.map((v) => (v === undefined ? undefined : [...v]))).toEqual([[0xff], undefined, [0x00]])
  })

  it('sets a TTL in ms, rounds fractions up, and the key expires', async () => {
    const p = prefix()
    await store.set(`${p}short`, Buffer.from('x'), 60)
    await store.set(`${p}long`, Buffer.from('x'), 5000.2)
    const ttl = await store.ttl(`${p}long`)
    expect(ttl).toBeGreaterThan(4500)
    expect(ttl).toBeLessThanOrEqual(5001)
    expect(await admin.pTTL(`${p}long`)).toBeLessThanOrEqual(5001)
    await sleep(150)
    expect(await store.get(`${p}short`)).toBeUndefined()
  })

  it('ttl answers undefined for a missing key and Infinity for a key without expiry', async () => {
    const p = prefix()
    expect(await store.ttl(`${p}none`)).toBeUndefined()
    await store.set(`${p}forever`, Buffer.from('x'))
    expect(await store.ttl(`${p}forever`)).toBe(Number.POSITIVE_INFINITY)
    await store.set(`${p}inf`, Buffer.from('x'), Number.POSITIVE_INFINITY)
    expect(await store.ttl(`${p}inf`)).toBe(Number.POSITIVE_INFINITY)
  })

  it('overwriting without a TTL removes the previous TTL', async () => {
    const p = prefix()
    await store.set(`${p}k`, Buffer.from('1'), 10_000)
    await store.set(`${p}k`, Buffer.from('2'))
    expect(await store.ttl(`${p}k`)).toBe(Number.POSITIVE_INFINITY)
  })

  it('rejects a TTL that is not a positive number of ms with E_INVALID_OPTIONS', async () => {
    for (const ttl of [0, -5, Number.NaN]) {
      await expect(store.set('never-written', Buffer.from('x'), ttl)).rejects.toMatchObject({ code: 'E_INVALID_OPTIONS' })
    }
    await expect(store.setMany([{ key: 'never-written', value: Buffer.from('x'), ttlMs: -1 }])).rejects.toBeInstanceOf(
      InvalidOptionsError,
    )
    expect(await admin.exists('never-written')).toBe(0)
  })

  it('setMany writes every entry with its own TTL', async () => {
    const p = prefix()
    const entries = Array.from({ length: 300 }, (_, i) => ({
      key: `${p}${i}`,
      value: Buffer.from([i % 256]),
      ...(i % 2 === 0 ? { ttlMs: 60_000 } : {}),
    }))
    await store.setMany(entries)
    const values = await store.getMany(entries.map((e) => e.key))
    expect(values.map((v) => v?.[0])).toEqual(entries.map((_, i) => i % 256))
    expect(await store.ttl(`${p}0`)).toBeGreaterThan(59_000)
    expect(await store.ttl(`${p}1`)).toBe(Number.POSITIVE_INFINITY)
  })

  it('deleteMany counts only keys that existed, across chunks of many keys', async () => {
    const p = prefix()
    const keys = Array.from({ length: 1200 }, (_, i) => `${p}${i}`)
    await store.setMany(keys.map((key) => ({ key, value: Buffer.from('v') })))
    expect(await store.deleteMany([...keys, `${p}absent`])).toBe(1200)
    expect(await admin.exists(keys.slice(0, 10))).toBe(0)
    expect(await store.deleteMany(keys.slice(0, 3))).toBe(0)
  })

  it('scan finds every key matching the pattern across more than 1000 keys, and no other', async () => {
    const p = prefix()
    const wanted = Array.from({ length: 1500 }, (_, i) => `${p}user:${i}`)
    await store.setMany(wanted.map((key) => ({ key, value: Buffer.from('u') })))
    await store.setMany(Array.from({ length: 200 }, (_, i) => ({ key: `${p}post:${i}`, value: Buffer.from('p') })))
    const seen = new Set<string>()
    let batches = 0
    for await (const batch of store.scan(`${p}user:*`, 200)) {
      batches++
      expect(Array.isArray(batch)).toBe(true)
      for (const key of batch) seen.add(key) // SCAN may repeat a key; a Set tolerates it
    }
    expect(batches).toBeGreaterThan(1)
    expect([...seen].sort()).toEqual([...wanted].sort())
  })

  it('scan of a pattern with no match yields nothing', async () => {
    const batches: string[][] = []
    for await (const batch of store.scan(`${prefix()}*`)) batches.push(batch)
    expect(batches).toEqual([])
  })

  it('deleteIfEquals removes a key only while it holds exactly the given bytes', async () => {
    const p = prefix()
    const stale = new Uint8Array([0, 1, 2, 255])
    await store.set(`${p}k`, new Uint8Array([9, 9]))
    expect(await store.deleteIfEquals(`${p}k`, stale)).toBe(false)
    expect([...((await store.get(`${p}k`)) ?? [])]).toEqual([9, 9])
    await store.set(`${p}k`, stale)
    expect(await store.deleteIfEquals(`${p}k`, stale)).toBe(true)
    expect(await store.get(`${p}k`)).toBeUndefined()
    expect(await store.deleteIfEquals(`${p}missing`, stale)).toBe(false)
  })

  /** A tagged write through `SET_ENTRY`, as the L2 tier sends it. */
  function tagged(p: string, key: string, tags: string[], ttlMs?: number, sinceEpoch?: number) {
    const names = tags
    return {
      key: `${p}${key}`,
      value: Buffer.from(key),
      ttlMs,
      tagging: { stateKey: `${p}#tags`, markKey: `${p}#gone:${key}`, names, indexKeys: names.map((t) => `${p}#tag:${t}`), sinceEpoch },
    }
  }

  it('writes a tagged entry and its index atomically; the index lives as long as its longest member', async () => {
    const p = prefix()
    expect(await store.setMany([tagged(p, 'a', ['t'], 5000), tagged(p, 'b', ['t'], 60_000)])).toBeUndefined()
    expect((await admin.zRange(`${p}#tag:t`, 0, -1)).sort()).toEqual([`${p}a`, `${p}b`])
    expect(await store.ttl(`${p}#tag:t`)).toBeGreaterThan(59_000)
    await store.setMany([tagged(p, 'c', ['t'])])
    expect(await store.ttl(`${p}#tag:t`)).toBe(Number.POSITIVE_INFINITY)
  })

  it('prunes expired members on every tagged write, so an index holds its live entries only', async () => {
    const p = prefix()
    await store.setMany(Array.from({ length: 300 }, (_, i) => tagged(p, `old${i}`, ['t'], 20)))
    await sleep(40)
    await store.setMany([tagged(p, 'live', ['t'], 60_000)])
    expect(await admin.zRange(`${p}#tag:t`, 0, -1)).toEqual([`${p}live`])
  })

  it('invalidates a tag in bounded steps, even past the script cache being emptied', async () => {
    const p = prefix()
    await admin.scriptFlush()
    await store.setMany(Array.from({ length: 1200 }, (_, i) => tagged(p, `k${i}`, ['big'], 60_000)))
    const { removed, keys } = await store.invalidateTag({ indexKey: `${p}#tag:big`, stateKey: `${p}#tags`, name: 'big' })
    expect(removed).toBe(1200)
    expect(new Set(keys).size).toBe(1200)
    expect(await admin.exists(`${p}#tag:big`)).toBe(0)
    expect(await admin.exists(`${p}k7`)).toBe(0)
  })

  it('refuses a conditional write when one of its tags was invalidated after its epoch', async () => {
    const p = prefix()
    const epoch = await store.tagEpoch(`${p}#tags`)
    await store.invalidateTag({ indexKey: `${p}#tag:t`, stateKey: `${p}#tags`, name: 't' })
    expect(await store.setMany([tagged(p, 'late', ['t'], 60_000, epoch), tagged(p, 'other', ['u'], 60_000, epoch)])).toEqual([false, true])
    expect(await store.get(`${p}late`)).toBeUndefined()
    expect(await store.tagEpoch(`${p}#tags`)).toBe(epoch + 1)
  })

  it('refuses a conditional write after the namespace was marked cleared', async () => {
    const p = prefix()
    const epoch = await store.tagEpoch(`${p}#tags`)
    await store.markCleared(`${p}#tags`)
    const untagged = { key: `${p}x`, value: Buffer.from('x'), tagging: { stateKey: `${p}#tags`, markKey: `${p}#gone:x`, names: [], indexKeys: [], sinceEpoch: epoch } }
    expect(await store.setMany([untagged])).toEqual([false])
    expect(await store.setMany([{ ...untagged, tagging: { ...untagged.tagging, sinceEpoch: epoch + 1 } }])).toBeUndefined()
  })

  it('refuses a conditional write of a key deleted after its epoch, and only of that key', async () => {
    const p = prefix()
    await store.setMany([tagged(p, 'gone', [], 60_000)])
    const epoch = await store.tagEpoch(`${p}#tags`)
    const marks = { stateKey: `${p}#tags`, lifetimeMs: 5000 }
    expect(await store.deleteMarked([{ key: `${p}gone`, markKey: `${p}#gone:gone` }, { key: `${p}never`, markKey: `${p}#gone:never` }], marks)).toBe(1)
    expect(await store.tagEpoch(`${p}#tags`)).toBe(epoch + 1)
    expect(await store.ttl(`${p}#gone:never`)).toBeLessThanOrEqual(5000)
    // A key that did not exist is marked too: a load of it may be running somewhere.
    expect(await store.setMany([tagged(p, 'never', [], 60_000, epoch), tagged(p, 'other', [], 60_000, epoch)])).toEqual([false, true])
    expect(await store.setMany([tagged(p, 'never', [], 60_000, epoch + 1)])).toBeUndefined()
  })

  it('disconnect rejects later commands, is safe twice, and connect() then answers false', async () => {
    await store.disconnect()
    await store.disconnect()
    expect(store.isReady).toBe(false)
    await expect(store.get('k')).rejects.toThrow()
    expect(await store.connect(100)).toBe(false)
  })
})

describe.skipIf(!hasRedis)('RedisStore connection options', () => {
  it('lets socket parts, database and clientName override the URL', async () => {
    const server = await newServer()
    const name = `strata-${randomUUID().slice(0, 8)}`
    const store = newStore({ url: 'redis://127.0.0.1:1/0', socket: { port: server.port }, database: 3, clientName: name })
    expect(await store.connect(2000)).toBe(true)
    await store.set('db-check', Buffer.from('x'))
    const admin = createClient({ url: `${server.url}/3` })
    await admin.connect()
    try {
      expect(await admin.exists('db-check')).toBe(1)
      expect(await admin.clientList()).toEqual(expect.arrayContaining([expect.objectContaining({ name, db: 3 })]))
    } finally {
      admin.destroy()
    }
  })
})

describe.skipIf(!hasRedis)('RedisStore when Redis fails', () => {
  it('connect() to a closed port resolves false in time, then becomes ready once Redis starts', async () => {
    const server = await newServer()
    await server.kill()
    const store = newStore({ url: server.url })
    const changes: boolean[] = []
    store.onReadyChange((ready) => changes.push(ready))
    const started = performance.now()
    expect(await store.connect(300)).toBe(false)
    const elapsed = performance.now() - started
    expect(elapsed).toBeGreaterThanOrEqual(290)
    expect(elapsed).toBeLessThan(600)
    expect(await store.connect(50)).toBe(false) // a second call is safe too
    await server.restart()
    await waitFor(() => store.isReady, 3000)
    expect(changes).toEqual([true])
    await store.set('after-start', Buffer.from('ok'))
    expect(Buffer.from((await store.get('after-start')) ?? []).toString()).toBe('ok')
  })

  it('connect() to a server frozen before the handshake resolves false, then ready after SIGCONT', async () => {
    const server = await newServer()
    server.pause()
    const store = newStore({ url: server.url })
    expect(await store.connect(500)).toBe(false)
    server.resume()
    await waitFor(() => store.isReady, 3000)
    await store.set('k', Buffer.from('v'))
  })

  it('rejects every command in under 100 ms while disconnected, instead of queueing it', async () => {
    const server = await newServer()
    const store = newStore({ url: server.url })
    expect(await store.connect(2000)).toBe(true)
    await server.kill()
    await waitFor(() => !store.isReady, 1000)
    const calls: Array<() => Promise<unknown>> = [
      () => store.get('k'),
      () => store.getMany(['a', 'b']),
      () => store.set('k', Buffer.from('v'), 1000),
      () => store.setMany([{ key: 'k', value: Buffer.from('v') }]),
      () => store.ttl('k'),
      () => store.deleteMany(['k']),
      () => store.tagEpoch('s'),
      () => store.invalidateTag({ indexKey: 'i', stateKey: 's', name: 't' }),
      async () => {
        for await (const batch of store.scan('*')) return batch
      },
    ]
    for (const call of calls) {
      const outcome = await settleWithin(call(), 100)
      expect(outcome.status).toBe('rejected')
    }
  })

  it('settles every in-flight command within 3 s when Redis is SIGKILLed, and recovers after restart', async () => {
    const server = await newServer()
    const store = newStore({ url: server.url })
    expect(await store.connect(2000)).toBe(true)
    const p = prefix()
    const value = randomBytes(64 * 1024)
    const call = (i: number): Promise<unknown> =>
      i % 3 === 0 ? store.set(`${p}${i}`, value, 60_000) : i % 3 === 1 ? store.get(`${p}${i}`) : store.getMany([`${p}${i}`, `${p}x`])
    // settleWithin attaches handlers at once: a rejection during kill() is then never unhandled.
    const inFlight = Array.from({ length: 300 }, (_, i) => settleWithin(call(i), 3000))
    await server.kill()
    const outcomes = await Promise.all(inFlight)
    expect(outcomes.filter((o) => o.status === 'pending')).toEqual([])
    expect(outcomes.some((o) => o.status === 'rejected')).toBe(true)
    await waitFor(() => !store.isReady, 1000)
    await server.restart()
    await waitFor(() => store.isReady, 3000)
    await store.set(`${p}back`, Buffer.from('ok'))
    expect(await store.get(`${p}back`)).toEqual(Buffer.from('ok'))
  })

  it('notices a SIGSTOPped server, rejects what was pending, and recovers after SIGCONT', async () => {
    const server = await newServer()
    const store = newStore({ url: server.url })
    expect(await store.connect(2000)).toBe(true)
    const changes: boolean[] = []
    store.onReadyChange((ready) => changes.push(ready))
    const p = prefix()
    await store.set(`${p}k`, Buffer.from('v'))

    server.pause()
    const frozenAt = performance.now()
    const pending = store.get(`${p}k`)
    const early = await settleWithin(pending, 500)
    expect(early.status).toBe('pending') // a frozen server answers nothing

    await waitFor(() => !store.isReady, FROZEN_DETECTION_BOUND_MS)
    expect(performance.now() - frozenAt).toBeLessThan(FROZEN_DETECTION_BOUND_MS)
    // Once declared dead, what was waiting on the frozen socket is rejected, not left to pile up.
    expect((await settleWithin(pending, 200)).status).toBe('rejected')
    expect((await settleWithin(store.get(`${p}k`), 100)).status).toBe('rejected')

    server.resume()
    await waitFor(() => store.isReady, 3000)
    expect(changes).toEqual([false, true])
    expect(await store.get(`${p}k`)).toEqual(Buffer.from('v'))
  })

  it('notices a SIGSTOPped server under steady traffic too, bounding the pending pile', async () => {
    const server = await newServer()
    const store = newStore({ url: server.url })
    expect(await store.connect(2000)).toBe(true)
    server.pause()
    const frozenAt = performance.now()
    const settled: Array<Promise<unknown>> = []
    const traffic = setInterval(() => settled.push(store.get('k').catch(() => undefined)), 10)
    try {
      await waitFor(() => !store.isReady, FROZEN_DETECTION_BOUND_MS)
    } finally {
      clearInterval(traffic)
    }
    expect(performance.now() - frozenAt).toBeLessThan(FROZEN_DETECTION_BOUND_MS)
    const outcomes = await Promise.all(settled.map((promise) => settleWithin(promise, 200)))
    expect(outcomes.filter((o) => o.status === 'pending')).toEqual([])
    server.resume()
    await waitFor(() => store.isReady, 3000)
  })

  it('disconnect() returns at once on a frozen server and rejects what was pending', async () => {
    const server = await newServer()
    const store = newStore({ url: server.url })
    expect(await store.connect(2000)).toBe(true)
    server.pause()
    const pending = store.get('k')
    const closing = await settleWithin(store.disconnect(), 100)
    expect(closing.status).toBe('resolved')
    expect((await settleWithin(pending, 100)).status).toBe('rejected')
    server.resume()
  })

  it('disconnect() while connect() waits makes connect() answer false at once', async () => {
    const server = await newServer()
    await server.kill()
    const store = newStore({ url: server.url })
    const connecting = store.connect(5000)
    await sleep(50)
    await store.disconnect()
    const outcome = await settleWithin(connecting, 100)
    expect(outcome).toMatchObject({ status: 'resolved', value: false })
  })
})
