import { setTimeout as sleep } from 'node:timers/promises'

import { createCluster, createSentinel } from '@redis/client'
import { describe, expect, it } from 'vitest'

import { prng } from '../../helpers/prng.js'
import { keySlot, redisCommand, requireRedisCli, useRedisCluster } from '../../helpers/redis-cluster.js'
import { type RedisServer, requireRedis } from '../../helpers/redis-server.js'
import { useRedisSentinel } from '../../helpers/redis-sentinel.js'

const hasRedis = requireRedis() && requireRedisCli()

/**
 * Retries `attempt` (each given `attemptMs`, since a command sent to a dead node may hang) until it
 * resolves, for up to `timeoutMs`; resolves its value and how many ms it took in all.
 */
async function eventually<T>(attempt: () => Promise<T>, timeoutMs: number, attemptMs = 1000): Promise<{ value: T; ms: number }> {
  const start = Date.now()
  let last: unknown
  while (Date.now() - start < timeoutMs) {
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`attempt took over ${attemptMs} ms`)), attemptMs)
    })
    try {
      const value = await Promise.race([attempt(), timeout])
      return { value, ms: Date.now() - start }
    } catch (error) {
      last = error
    } finally {
      clearTimeout(timer)
    }
    await sleep(100)
  }
  throw new Error(`still failing after ${timeoutMs} ms: ${last instanceof Error ? last.message : String(last)}`)
}

/** A key whose slot `owns` accepts. */
async function keyWhere(owns: (key: string) => Promise<boolean>, prefix: string): Promise<string> {
  for (let i = 0; i < 1000; i++) {
    const key = `${prefix}:${i}`
    if (await owns(key)) return key
  }
  throw new Error(`no key found for ${prefix}`)
}

describe.skipIf(!hasRedis)('Redis Cluster helper, 3 masters', () => {
  const cluster = useRedisCluster({ masters: 3 })

  it('computes the slot of a key as CLUSTER KEYSLOT does, hash tags included', async () => {
    const port = cluster.nodes[0]?.port ?? 0
    const fixed = ['', '123456789', 'foo', '{user:1}:x', '{user:1}:y', '{}x', 'a{}{b}', '{a}{b}', 'a{b', 'a}b{c}', '{{a}}', '}{a}']
    fixed.push('é{€}😀', '{é}x')
    const random = prng(0x5107)
    const alphabet = ['a', 'b', 'z', '0', '9', ':', '{', '}', '{', '}', ' ', 'é', '€', '😀', '\u0000']
    const keys = [...fixed]
    while (keys.length < 200) {
      const length = Math.floor(random() * 12)
      keys.push(Array.from({ length }, () => alphabet[Math.floor(random() * alphabet.length)]).join(''))
    }
    expect(keySlot('123456789')).toBe(0x31c3)
    expect(keySlot('{user:1}:x')).toBe(keySlot('user:1'))
    expect(keySlot('{}x')).not.toBe(keySlot('x'))
    for (const key of keys) expect([key, keySlot(key)]).toEqual([key, await redisCommand(port, ['CLUSTER', 'KEYSLOT', key])])
  })

  it('serves a cluster client whose keys land on every master', async () => {
    const masters = await cluster.masters()
    expect(masters).toEqual(cluster.nodes)
    // One key per master, found through the helper's slot map.
    const keys: string[] = []
    for (const master of masters) keys.push(await keyWhere(async (key) => (await cluster.masterForKey(key)) === master, 'spread'))
    expect(new Set(await Promise.all(keys.map((key) => cluster.masterForKey(key)))).size).toBe(3)
    const client = createCluster({ rootNodes: cluster.rootNodes })
    client.on('error', () => undefined)
    await client.connect()
    try {
      for (const key of keys) await client.set(key, `value of ${key}`)
      for (const key of keys) expect(await client.get(key)).toBe(`value of ${key}`)
    } finally {
      client.destroy()
    }
    // Each key is stored on the master the helper named, and nowhere else.
    for (const [i, master] of masters.entries()) {
      expect(await redisCommand(master.port, ['DBSIZE'])).toBe(1)
      expect(await redisCommand(master.port, ['GET', keys[i] ?? ''])).toBe(`value of ${keys[i]}`)
    }
  })
})

describe.skipIf(!hasRedis)('Redis Cluster helper, 3 masters and 3 replicas', () => {
  const cluster = useRedisCluster({ masters: 3, replicasPerMaster: 1 })

  it('promotes a replica of a killed master, and a cluster client writes to its slots again', async () => {
    // Masters first, then their replicas in the same order.
    expect(await cluster.masters()).toEqual(cluster.nodes.slice(0, 3))
    for (let i = 0; i < 3; i++) expect(await cluster.replicasOf(cluster.nodes[i] as RedisServer)).toEqual([cluster.nodes[3 + i]])
    const victim = cluster.nodes[0] as RedisServer
    const replica = cluster.nodes[3]
    const key = await keyWhere(async (k) => (await cluster.masterForKey(k)) === victim, 'failover')
    const client = createCluster({ rootNodes: cluster.rootNodes })
    client.on('error', () => undefined)
    await client.connect()
    try {
      await client.set(key, 'before')
      const killedAt = Date.now()
      await victim.kill()
      const promoted = await cluster.waitForFailover(victim, 10_000)
      const failoverMs = Date.now() - killedAt
      expect(promoted).toBe(replica)
      expect(await cluster.masterForKey(key)).toBe(promoted)
      expect(await cluster.masters()).not.toContain(victim)
      const { ms } = await eventually(() => client.set(key, 'after'), 10_000)
      expect(await client.get(key)).toBe('after')
      expect(await redisCommand(promoted.port, ['GET', key])).toBe('after')
      console.info(`cluster failover: ${failoverMs} ms; the client wrote again ${ms} ms after it`)
    } finally {
      client.destroy()
    }
  })
})

describe.skipIf(!hasRedis)('Redis Sentinel helper', () => {
  const sentinel = useRedisSentinel()

  it('serves a sentinel client before and after a failover', async () => {
    expect(await sentinel.currentMaster()).toEqual({ host: '127.0.0.1', port: sentinel.master.port })
    const client = createSentinel({ name: sentinel.masterName, sentinelRootNodes: sentinel.sentinelNodes })
    client.on('error', () => undefined)
    await client.connect()
    try {
      await client.set('sentinel:key', 'before')
      expect(await client.get('sentinel:key')).toBe('before')
      const killedAt = Date.now()
      await sentinel.master.kill()
      const promoted = await sentinel.waitForFailover(sentinel.master.port, 15_000)
      const failoverMs = Date.now() - killedAt
      expect(promoted.port).toBe(sentinel.replicas[0]?.port)
      expect(sentinel.nodeAt(promoted.port)).toBe(sentinel.replicas[0])
      const { ms } = await eventually(() => client.set('sentinel:key', 'after'), 15_000)
      expect(await client.get('sentinel:key')).toBe('after')
      expect(await redisCommand(promoted.port, ['GET', 'sentinel:key'])).toBe('after')
      console.info(`sentinel failover: ${failoverMs} ms; the client wrote again ${ms} ms after it`)
    } finally {
      await client.destroy()
    }
  })
})
