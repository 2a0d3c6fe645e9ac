/**
 * On a Redis Cluster of 3 masters, the operations that span many keys reach every shard and only
 * the shards they need: 20,000 keys spread over every master are all listed by `getKeys` and all
 * removed by `clear()` (another namespace untouched), `invalidatePattern` and `invalidateTags`
 * remove exactly their keys on every master (a second instance's L1 included), and the batches
 * (`getMany`, `setMany`, `deleteMany`, `getOrSetMany`) reach each master once per batch (`getMany`:
 * one script per master, whatever the slots; a moved slot falls back to one MGET per slot), call
 * the loader once for the missing keys, and never send a multi-key command across slots (no
 * CROSSSLOT on any node).
 *
 * Every check reads the masters directly (`SCAN`, `INFO commandstats`, `INFO errorstats`), one
 * node at a time, so it sees where the keys really are rather than what the cache reports.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { crossSlotErrors, parseInfo, redisCommand, redisText, requireRedisCli, useRedisCluster } from '../../helpers/redis-cluster.js'
import { requireRedis } from '../../helpers/redis-server.js'

const hasRedis = requireRedis() && requireRedisCli()

/** Keys of one node matching `match`, by a full `SCAN` of that node alone. */
async function scanNode(port: number, match: string): Promise<string[]> {
  const keys: string[] = []
  let cursor = '0'
  do {
    const reply = await redisCommand(port, ['SCAN', cursor, 'MATCH', match, 'COUNT', '1000'], 5000)
    const [next, batch] = reply as [string, string[]]
    cursor = next
    keys.push(...batch)
  } while (cursor !== '0')
  return keys
}

/** Hash slot of `key` as the server computes it (`CLUSTER KEYSLOT`), independent of the slot function under test. */
async function serverSlot(port: number, key: string): Promise<number> {
  return Number(await redisCommand(port, ['CLUSTER', 'KEYSLOT', key]))
}

/** `calls` of every command in `INFO commandstats` of one node, by command name (`get`, `mget`, …). */
async function commandCalls(port: number): Promise<Map<string, number>> {
  const calls = new Map<string, number>()
  for (const [field, value] of parseInfo(await redisText(port, ['INFO', 'commandstats']))) {
    const match = /^calls=(\d+)/.exec(value)
    if (field.startsWith('cmdstat_') && match !== null) calls.set(field.slice('cmdstat_'.length), Number(match[1]))
  }
  return calls
}

const sum = (counts: readonly number[]): number => counts.reduce((total, n) => total + n, 0)
const sorted = (keys: Iterable<string>): string[] => [...keys].sort()

describe.skipIf(!hasRedis)('GenericRedisCache on a 3-master Redis Cluster: every shard, only the shards needed', () => {
  const cluster = useRedisCluster({ masters: 3, replicasPerMaster: 0 })
  const opened: GenericRedisCache[] = []

  afterEach(async () => {
    for (const cache of opened.splice(0)) await cache.disconnect()
  })

  /**
   * A connected cache on the cluster. L2 errors reject (`suppressL2Errors: false`) and deadlines
   * are generous, so a write that fails or a reply that comes back late shows up as the error it
   * is instead of a key silently missing later.
   */
  async function open(namespace: string, l1: { maxEntries: number } | false): Promise<GenericRedisCache> {
    const rootNodes = cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port }))
    const l2Timeout = { read: '5s', write: '10s' } as const
    const cache = new GenericRedisCache({ cluster: { rootNodes }, namespace, l1, suppressL2Errors: false, l2Timeout })
    opened.push(cache)
    expect(await cache.connect()).toBe(true)
    return cache
  }

  /** The keys matching `match` on each master, as `SCAN` of that master alone finds them. */
  async function perMaster(match: string): Promise<Array<{ port: number; keys: string[] }>> {
    const masters = await cluster.masters()
    expect(masters).toHaveLength(3)
    return Promise.all(masters.map(async (master) => ({ port: master.port, keys: await scanNode(master.port, match) })))
  }

  /** Asserts that no master holds a key matching `match`. */
  async function expectNoneLeft(match: string, what: string): Promise<void> {
    for (const { port, keys: left } of await perMaster(match)) expect(left, `${what} left on the master on port ${port}`).toEqual([])
  }

  /** The port of the master owning each slot, from `CLUSTER SLOTS`. */
  async function slotOwner(): Promise<(slot: number) => number> {
    const [first] = await cluster.masters()
    if (first === undefined) throw new Error('no master')
    const ranges = (await redisCommand(first.port, ['CLUSTER', 'SLOTS'])) as Array<[number, number, [string, number, string]]>
    return (slot) => {
      const range = ranges.find(([from, to]) => slot >= from && slot <= to)
      if (range === undefined) throw new Error(`no master owns slot ${slot}`)
      return range[2][1]
    }
  }

  const TWENTY_THOUSAND = 'lists 20,000 keys spread over every master, and clear() removes them all from every master, no other namespace'
  it(TWENTY_THOUSAND, { timeout: 60_000 }, async () => {
    const namespace = uniqueNamespace('cov')
    const otherNamespace = uniqueNamespace('cov-other')
    const cache = await open(namespace, { maxEntries: 1000 })
    const other = await open(otherNamespace, { maxEntries: 1000 })
    const keys = Array.from({ length: 20_000 }, (_, i) => `item:${i}`)
    // One key in a hundred carries a tag, so clear() has tag indexes to remove as well.
    const tagsOf = (i: number): { tags: string[] } | undefined => (i % 100 === 0 ? { tags: [`c${i % 7}`] } : undefined)
    for (let from = 0; from < keys.length; from += 1000) {
      await cache.setMany(keys.slice(from, from + 1000).map((key, j) => ({ key, value: from + j, ...tagsOf(from + j) })))
    }
    // The same key names in another namespace, which nothing below may touch.
    const otherKeys = keys.slice(0, 500)
    await other.setMany(otherKeys.map((key) => ({ key, value: `other:${key}` })))

    const written = await perMaster(`${namespace}:*`)
    for (const { port, keys: onMaster } of written) {
      expect(onMaster.length, `keys of the namespace on the master on port ${port}`).toBeGreaterThan(5000)
    }
    expect(sum(written.map(({ keys: onMaster }) => onMaster.length))).toBe(keys.length)
    const indexes = await perMaster(`${namespace}#tag:*`)
    expect(sum(indexes.map(({ keys: onMaster }) => onMaster.length)), 'tag indexes (<ns>#tag:*) written').toBeGreaterThan(0)

    const found = await cache.getKeys('*')
    expect(found).toHaveLength(keys.length)
    expect(new Set(found).size, 'each key listed once').toBe(keys.length)
    expect(sorted(found)).toEqual(sorted(keys))
    expect(await cache.getMany(['item:0', 'item:7777', 'item:19999'])).toEqual([0, 7777, 19_999])

    await cache.clear()
    await expectNoneLeft(`${namespace}:*`, 'entries')
    await expectNoneLeft(`${namespace}#tag:*`, 'tag indexes')
    expect(await cache.getKeys('*')).toEqual([])
    expect(await cache.getMany(['item:0', 'item:7777', 'item:19999'])).toEqual([undefined, undefined, undefined])

    const spared = await perMaster(`${otherNamespace}:*`)
    expect(sorted(spared.flatMap(({ keys: onMaster }) => onMaster))).toEqual(sorted(otherKeys.map((key) => `${otherNamespace}:${key}`)))
    expect(sorted(await other.getKeys('*'))).toEqual(sorted(otherKeys))
    expect(await other.getMany(['item:0', 'item:499'])).toEqual(['other:item:0', 'other:item:499'])
  })

  it('invalidatePattern removes the matching keys from every master and keeps the others', async () => {
    const namespace = uniqueNamespace('pat')
    const cache = await open(namespace, { maxEntries: 1000 })
    const a = Array.from({ length: 300 }, (_, i) => `a${i}`)
    const b = Array.from({ length: 300 }, (_, i) => `b${i}`)
    await cache.setMany([...a, ...b].map((key) => ({ key, value: key })))
    for (const { port, keys: onMaster } of await perMaster(`${namespace}:a*`)) {
      expect(onMaster.length, `a* keys on the master on port ${port}`).toBeGreaterThan(0)
    }

    expect(await cache.invalidatePattern('a*')).toBe(a.length)
    await expectNoneLeft(`${namespace}:a*`, 'a* keys')
    const kept = await perMaster(`${namespace}:b*`)
    expect(sorted(kept.flatMap(({ keys: onMaster }) => onMaster))).toEqual(sorted(b.map((key) => `${namespace}:${key}`)))
    expect(await cache.getMany(a)).toEqual(a.map(() => undefined))
    expect(await cache.getMany(b)).toEqual(b)
  })

  const TAGS = 'invalidateTags removes exactly the tagged keys from every master, and another instance with L1 misses them too'
  it(TAGS, { timeout: 60_000 }, async () => {
    const namespace = uniqueNamespace('tags')
    const writer = await open(namespace, { maxEntries: 10_000 })
    const second = await open(namespace, { maxEntries: 10_000 })
    // Every key has tag t<i % 10>; even keys may carry a second one, so t3 is on 450 keys, 150 of them with two tags.
    const tagsOf = (i: number): string[] => {
      const first = `t${i % 10}`
      const extra = `t${(Math.floor(i / 10) * 3) % 10}`
      return i % 2 === 0 && extra !== first ? [first, extra] : [first]
    }
    const keys = Array.from({ length: 3000 }, (_, i) => `tk${i}`)
    for (let from = 0; from < keys.length; from += 1000) {
      await writer.setMany(keys.slice(from, from + 1000).map((key, j) => ({ key, value: from + j, tags: tagsOf(from + j) })))
    }
    const carrying = keys.filter((_, i) => tagsOf(i).includes('t3'))
    const others = keys.filter((_, i) => !tagsOf(i).includes('t3'))
    const carryingFull = new Set(carrying.map((key) => `${namespace}:${key}`))
    expect(carrying.length).toBe(450)
    for (const { port, keys: onMaster } of await perMaster(`${namespace}:*`)) {
      expect(onMaster.filter((key) => carryingFull.has(key)).length, `t3 keys on the master on port ${port}`).toBeGreaterThan(0)
    }
    // The second instance holds every t3 key in its L1 before the invalidation.
    const valueOf = (key: string): number => Number(key.slice(2))
    expect(await second.getMany(carrying)).toEqual(carrying.map(valueOf))

    expect(await writer.invalidateTags(['t3'])).toBe(carrying.length)
    const left = (await perMaster(`${namespace}:*`)).flatMap(({ keys: onMaster }) => onMaster)
    expect(left.filter((key) => carryingFull.has(key)), 't3 keys left on the masters').toEqual([])
    expect(sorted(left)).toEqual(sorted(others.map((key) => `${namespace}:${key}`)))

    expect(await writer.getMany(carrying)).toEqual(carrying.map(() => undefined))
    // Another instance that had not read them misses them; one that held them in L1 misses them
    // too once coherence has applied the invalidation.
    const third = await open(namespace, { maxEntries: 10_000 })
    expect(await third.getMany(carrying)).toEqual(carrying.map(() => undefined))
    // Coherence bounds the staleness of another instance's L1 to maxStaleness (100ms by default).
    await sleep(200)
    expect(await second.getMany(carrying)).toEqual(carrying.map(() => undefined))
    expect(await second.getMany(others)).toEqual(others.map(valueOf))
    expect(await writer.getMany(others)).toEqual(others.map(valueOf))
  })

  it('getMany of 100 keys over many slots makes one call on each master involved (INFO commandstats)', async () => {
    const namespace = uniqueNamespace('mget')
    const cache = await open(namespace, false)
    const ownerOf = await slotOwner()
    const ports = (await cluster.masters()).map((master) => master.port)
    const [port0 = 0] = ports
    // Six hash-tag groups of 10 keys (two groups per master: many keys, one slot) and 40 keys on their own slots.
    const groups = new Map<number, string[]>(ports.map((port) => [port, []]))
    for (let i = 0; [...groups.values()].some((tags) => tags.length < 2); i++) {
      const tags = groups.get(ownerOf(await serverSlot(port0, `g${i}`)))
      if (tags !== undefined && tags.length < 2) tags.push(`g${i}`)
    }
    const keys = [...groups.values()].flat().flatMap((tag) => Array.from({ length: 10 }, (_, j) => `{${tag}}:${j}`))
    keys.push(...Array.from({ length: 40 }, (_, j) => `p${j}`))
    expect(keys).toHaveLength(100)
    await cache.setMany(keys.map((key) => ({ key, value: key })))
    // Keys on each master, by the server's own slot function.
    const slots = await Promise.all(keys.map((key) => serverSlot(port0, `${namespace}:${key}`)))
    const keysOn = new Map(ports.map((port) => [port, slots.filter((slot) => ownerOf(slot) === port).length]))
    for (const [port, count] of keysOn) expect(count, `keys on the master on port ${port}`).toBeGreaterThan(1)
    expect(new Set(slots).size, 'slots of the 100 keys').toBeGreaterThanOrEqual(30)

    // The first batch teaches the nodes the script (NOSCRIPT, then EVAL); the next ones are counted.
    expect(await cache.getMany(keys)).toEqual(keys)
    for (let round = 0; round < 2; round++) {
      const before = await Promise.all(ports.map(commandCalls))
      expect(await cache.getMany(keys)).toEqual(keys)
      const after = await Promise.all(ports.map(commandCalls))
      const delta = (i: number, command: string): number => (after[i]?.get(command) ?? 0) - (before[i]?.get(command) ?? 0)
      const detail = ports.map((port, i) => `${port}: ${delta(i, 'evalsha')} EVALSHA, ${delta(i, 'eval')} EVAL, ${delta(i, 'mget')} MGET, ${delta(i, 'get')} GET`).join('; ')
      const calls = new Map(ports.map((port, i) => [port, delta(i, 'evalsha') + delta(i, 'eval') + delta(i, 'mget')]))
      expect(calls, `calls per master, round ${round} (${detail})`).toEqual(new Map(ports.map((port) => [port, 1])))
      // Each key was read once, on the master that owns it (a script's commands count in commandstats).
      expect(new Map(ports.map((port, i) => [port, delta(i, 'get')])), detail).toEqual(keysOn)
    }
  })

  it('setMany and deleteMany of 100 keys write to and delete from every master', async () => {
    const namespace = uniqueNamespace('batch')
    const cache = await open(namespace, false)
    const keys = Array.from({ length: 100 }, (_, i) => `sd${i}`)
    await cache.setMany(keys.map((key, i) => ({ key, value: i })))
    const written = await perMaster(`${namespace}:*`)
    for (const { port, keys: onMaster } of written) expect(onMaster.length, `keys on the master on port ${port}`).toBeGreaterThan(0)
    expect(sorted(written.flatMap(({ keys: onMaster }) => onMaster))).toEqual(sorted(keys.map((key) => `${namespace}:${key}`)))
    expect(await cache.getMany(keys)).toEqual(keys.map((_, i) => i))

    expect(await cache.deleteMany([...keys, 'never-1', 'never-2'])).toBe(keys.length)
    await expectNoneLeft(`${namespace}:*`, 'keys')
    expect(await cache.getMany(keys)).toEqual(keys.map(() => undefined))
  })

  it('getOrSetMany of 100 keys with 50 missing calls the loader once with exactly the 50 missing keys', async () => {
    const namespace = uniqueNamespace('gosm')
    const cache = await open(namespace, false)
    const keys = Array.from({ length: 100 }, (_, i) => `gm${i}`)
    const present = keys.filter((_, i) => i % 2 === 0)
    const missing = keys.filter((_, i) => i % 2 === 1)
    await cache.setMany(present.map((key) => ({ key, value: `cached:${key}` })))
    const calls: string[][] = []
    const loader = (wanted: string[]): Map<string, string> => {
      calls.push([...wanted])
      return new Map(wanted.map((key) => [key, `loaded:${key}`]))
    }
    const expected = keys.map((key, i) => (i % 2 === 0 ? `cached:${key}` : `loaded:${key}`))

    expect(await cache.getOrSetMany(keys, loader)).toEqual(expected)
    expect(calls).toHaveLength(1)
    expect(sorted(calls[0] ?? [])).toEqual(sorted(missing))
    // The loaded values went to their masters: all 100 keys are there, and a second call loads nothing.
    const written = await perMaster(`${namespace}:*`)
    expect(sorted(written.flatMap(({ keys: onMaster }) => onMaster))).toEqual(sorted(keys.map((key) => `${namespace}:${key}`)))
    expect(await cache.getOrSetMany(keys, loader)).toEqual(expected)
    expect(calls).toHaveLength(1)
  })

  it('getMany reads a key that holds another type (a hash written by other code) as a miss, and the rest of its batch', async () => {
    const namespace = uniqueNamespace('foreign')
    const cache = await open(namespace, false)
    const keys = Array.from({ length: 30 }, (_, i) => `fk${i}`)
    await cache.setMany(keys.map((key) => ({ key, value: key })))
    const owner = (await slotOwner())(await serverSlot(cluster.nodes[0]!.port, `${namespace}:fk3`))
    await redisCommand(owner, ['DEL', `${namespace}:fk3`])
    expect(await redisCommand(owner, ['HSET', `${namespace}:fk3`, 'field', 'value'])).toBe(1)
    for (let round = 0; round < 2; round++) {
      const before = await commandCalls(owner)
      expect(await cache.getMany(keys)).toEqual(keys.map((key) => (key === 'fk3' ? undefined : key)))
      const after = await commandCalls(owner)
      // Read by the one script, not slot by slot: the foreign type did not fail the batch.
      expect((after.get('mget') ?? 0) - (before.get('mget') ?? 0), `round ${round}`).toBe(0)
    }
  })

  it('getMany still returns every value when one of its slots moved to another master behind the cache', async () => {
    const namespace = uniqueNamespace('moved')
    const cache = await open(namespace, false)
    const keys = Array.from({ length: 60 }, (_, i) => `mv${i}`)
    await cache.setMany(keys.map((key) => ({ key, value: key })))
    expect(await cache.getMany(keys)).toEqual(keys)
    // Move the slot of the first key from its master to another one, as `redis-cli --cluster reshard` does.
    const ownerOf = await slotOwner()
    const masters = await cluster.masters()
    const slot = await serverSlot(masters[0]!.port, `${namespace}:${keys[0]}`)
    const from = masters.find((master) => master.port === ownerOf(slot))!
    const to = masters.find((master) => master !== from)!
    await redisCommand(to.port, ['CLUSTER', 'SETSLOT', String(slot), 'IMPORTING', cluster.nodeId(from)])
    await redisCommand(from.port, ['CLUSTER', 'SETSLOT', String(slot), 'MIGRATING', cluster.nodeId(to)])
    const inSlot = (await redisCommand(from.port, ['CLUSTER', 'GETKEYSINSLOT', String(slot), '100'])) as string[]
    expect(inSlot).toContain(`${namespace}:${keys[0]}`)
    expect(await redisCommand(from.port, ['MIGRATE', '127.0.0.1', String(to.port), '', '0', '5000', 'KEYS', ...inSlot], 10_000)).toBe('OK')
    for (const master of masters) await redisCommand(master.port, ['CLUSTER', 'SETSLOT', String(slot), 'NODE', cluster.nodeId(to)])
    expect((await slotOwner())(slot)).toBe(to.port)

    const before = await Promise.all([from, to].map((master) => commandCalls(master.port)))
    expect(await cache.getMany(keys)).toEqual(keys)
    const after = await Promise.all([from, to].map((master) => commandCalls(master.port)))
    const delta = (i: number, command: string): number => (after[i]?.get(command) ?? 0) - (before[i]?.get(command) ?? 0)
    // The old master refused its batch (the moved key), so it was read again slot by slot.
    expect(delta(0, 'mget'), 'MGETs on the master the slot left').toBeGreaterThan(0)
    expect(await cache.getMany(keys)).toEqual(keys)
    await cluster.waitForHealthy()
  })

  it('met no CROSSSLOT error on any node during this file', async () => {
    const stats = await crossSlotErrors(cluster.nodes)
    expect(stats.filter(({ crossSlot }) => crossSlot > 0)).toEqual([])
  })
})
