import { execFile } from 'node:child_process'
import { createClient } from '@redis/client'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { StatsReport } from '../../../src/cli/commands/stats-report.js'
import { run } from '../../../src/cli/main.js'
import { GenericRedisCache } from '../../../src/index.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { type RedisServer, requireRedis, startRedis } from '../../helpers/redis-server.js'
import { captureIo } from '../../helpers/cli-io.js'

const hasRedis = requireRedis()
const ROOT = fileURLToPath(new URL('../../../', import.meta.url))
/** Allowed overrun of --timeout: timer granularity and a loaded CI machine, far below a hang. */
const SLACK_MS = 400

const capture = captureIo

async function statsJson(url: string, namespace: string): Promise<StatsReport> {
  const io = capture()
  const code = await run(['stats', '--url', url, '--namespace', namespace, '--json'], io)
  expect(io.err).toBe('')
  expect(code).toBe(0)
  return JSON.parse(io.out) as StatsReport
}

/** Writes `count` entries (the first `tagged` with tag `users`) through the public API; L1 off so reads reach Redis. */
async function fill(url: string, namespace: string, count: number, tagged = 0): Promise<GenericRedisCache> {
  const cache = new GenericRedisCache({ redisUrl: url, namespace, l1: false })
  expect(await cache.connect()).toBe(true)
  for (let i = 0; i < count; i++) {
    await cache.set(`user:${i}`, { id: i, name: `user ${i}`.repeat(10) }, i < tagged ? { tags: ['users'] } : {})
  }
  return cache
}

describe.skipIf(!hasRedis)('strata stats against a real Redis', () => {
  let server: RedisServer
  const caches: GenericRedisCache[] = []
  const nsA = uniqueNamespace('stats')
  // Starts with nsA: an unescaped or unanchored MATCH would count its keys as nsA's.
  const nsB = `${nsA}b`
  // Glob characters: `g*` unescaped would also match nsGlobTwin's keys.
  const nsGlob = `${nsA}g*`
  const nsGlobTwin = `${nsA}gg`

  beforeAll(async () => {
    server = await startRedis()
    const a = await fill(server.url, nsA, 5, 2)
    caches.push(a, await fill(server.url, nsB, 3), await fill(server.url, nsGlob, 1), await fill(server.url, nsGlobTwin, 4))
    for (let i = 0; i < 3; i++) expect(await a.get('user:0')).toBeDefined()
    for (let i = 0; i < 2; i++) expect(await a.get(`missing:${i}`)).toBeUndefined()
  })

  afterAll(async () => {
    for (const cache of caches) await cache.disconnect()
    await server?.stop()
  })

  it('counts exactly the keys of each namespace, isolated from namespaces sharing its prefix', async () => {
    const a = await statsJson(server.url, nsA)
    expect(a.target).toEqual({ url: server.url, namespace: nsA })
    expect(a.namespace).toMatchObject({ keys: 5, tagIndexKeys: 1, lockKeys: 0, countsExact: true })
    expect((await statsJson(server.url, nsB)).namespace).toMatchObject({ keys: 3, tagIndexKeys: 0 })
    expect((await statsJson(server.url, nsGlob)).namespace.keys).toBe(1)
    expect((await statsJson(server.url, nsGlobTwin)).namespace.keys).toBe(4)
    expect((await statsJson(server.url, uniqueNamespace('empty'))).namespace).toMatchObject({ keys: 0, memory: { estimatedBytes: 0 } })
  })

  it('estimates the namespace size from MEMORY USAGE of every key when there are few', async () => {
    const { namespace } = await statsJson(server.url, nsA)
    expect(namespace.memory.sampledKeys).toBe(5)
    expect(namespace.memory.estimatedBytes).toBeGreaterThan(5 * 100)
    expect(namespace.memory.note).toMatch(/^estimate: MEMORY USAGE of all 5 keys/)
  })

  it('reports server-wide INFO figures as numbers, with hits and misses the cache generated', async () => {
    const { server: info } = await statsJson(server.url, nsA)
    expect(typeof info.keyspaceHits).toBe('number')
    expect(typeof info.keyspaceMisses).toBe('number')
    expect(info.keyspaceHits).toBeGreaterThanOrEqual(3)
    expect(info.keyspaceMisses).toBeGreaterThanOrEqual(2)
    expect(info.hitRatio).toBeCloseTo(info.keyspaceHits! / (info.keyspaceHits! + info.keyspaceMisses!), 10)
    expect(info.usedMemory).toBeGreaterThan(0)
    expect(info.usedMemoryHuman).toMatch(/^[\d.]+[BKMG]$/)
    expect(info).toMatchObject({ maxmemory: 0, maxmemoryPolicy: 'noeviction', databaseKeys: 5 + 1 + 3 + 1 + 4 })
    expect(info.redisVersion).toMatch(/^\d+\.\d+/)
    expect(info.connectedClients).toBeGreaterThanOrEqual(1)
    expect(info.uptimeSeconds).toBeGreaterThanOrEqual(0)
    expect(info.scope).toMatch(/server-wide/)
  })

  it('prints a table by default', async () => {
    const io = capture()
    expect(await run(['stats', '--url', server.url, '--namespace', nsA], io)).toBe(0)
    expect(io.out).toMatch(/keys \(cache entries\)\s+5\n/)
    expect(io.out).toMatch(/keyspace_hits\s+\d+/)
    expect(io.out).toContain('server-wide')
  })

  it('exits 1 within the timeout with a clear message when nothing listens on the URL', async () => {
    const gone = await startRedis()
    await gone.stop()
    const io = capture()
    const started = performance.now()
    expect(await run(['stats', '--url', gone.url, '--timeout', '500ms'], io)).toBe(1)
    expect(performance.now() - started).toBeLessThan(500 + SLACK_MS)
    expect(io.err).toMatch(new RegExp(`^strata stats: cannot connect to Redis at ${gone.url}: .*ECONNREFUSED`))
    expect(io.out).toBe('')
  })

  it('exits 1 within the timeout when Redis accepts the connection but never answers', async () => {
    const frozen = await startRedis()
    frozen.pause()
    try {
      const io = capture()
      const started = performance.now()
      expect(await run(['stats', '--url', frozen.url, '--timeout', '400ms'], io)).toBe(1)
      expect(performance.now() - started).toBeLessThan(400 + SLACK_MS)
      expect(io.err).toContain(`cannot connect to Redis at ${frozen.url}: no answer within 400 ms`)
    } finally {
      await frozen.stop()
    }
  })

  it('authenticates with the URL password but never prints it', async () => {
    // Set after start: the helper's readiness probe sends INFO without credentials.
    const secured = await startRedis()
    try {
      const admin = createClient({ url: secured.url })
      await admin.connect()
      await admin.configSet('requirepass', 'hunter2-secret')
      admin.destroy()
      const good = `redis://:hunter2-secret@127.0.0.1:${secured.port}`
      const report = await statsJson(good, nsA)
      expect(report.target.url).toBe(`redis://:***@127.0.0.1:${secured.port}`)
      const io = capture()
      expect(await run(['stats', '--url', `redis://:wrong-pass@127.0.0.1:${secured.port}`], io)).toBe(1)
      expect(io.err).toMatch(/WRONGPASS|invalid password|invalid username-password/)
      expect(io.err + io.out).not.toContain('wrong-pass')
    } finally {
      await secured.stop()
    }
  })

  it('redacts only the URL credentials: a password equal to a word or inside the host gives nothing away', async () => {
    const gone = await startRedis()
    await gone.stop()
    // 'Redis' is a word of the message; '127.0.0' is part of the host and of the socket error.
    for (const password of ['Redis', '127.0.0']) {
      const io = capture()
      expect(await run(['stats', '--url', `redis://:${password}@127.0.0.1:${gone.port}`, '--timeout', '500ms'], io)).toBe(1)
      const target = `redis://:***@127.0.0.1:${gone.port}`
      expect(io.err).toBe(`strata stats: cannot connect to Redis at ${target}: connect ECONNREFUSED 127.0.0.1:${gone.port}\n`)
    }
  })

  it('redacts only the credentials when the password is a word of the output, on success and on WRONGPASS', async () => {
    const secured = await startRedis()
    try {
      const admin = createClient({ url: secured.url })
      await admin.connect()
      await admin.configSet('requirepass', 'Redis')
      admin.destroy()
      const report = await statsJson(`redis://:Redis@127.0.0.1:${secured.port}`, nsA)
      expect(report.target.url).toBe(`redis://:***@127.0.0.1:${secured.port}`)
      // A wrong password that is also the first word of Redis' answer.
      const io = capture()
      expect(await run(['stats', '--url', `redis://:WRONGPASS@127.0.0.1:${secured.port}`, '--namespace', nsA], io)).toBe(1)
      expect(io.err).toMatch(/^strata stats: cannot connect to Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:\d+: WRONGPASS invalid/)
      const table = capture()
      expect(await run(['stats', '--url', `redis://:Redis@127.0.0.1:${secured.port}`, '--namespace', nsA], table)).toBe(0)
      expect(table.out).toContain(`strata stats: redis://:***@127.0.0.1:${secured.port}, namespace`)
    } finally {
      await secured.stop()
    }
  })

  describe('as a least-privilege ACL user without INFO', () => {
    /** A URL for `user`, created on the shared server with `rules` (password `pw`). */
    async function aclUser(user: string, rules: string[]): Promise<string> {
      const admin = createClient({ url: server.url })
      await admin.connect()
      try {
        await admin.sendCommand(['ACL', 'SETUSER', user, 'reset', 'on', '>pw', ...rules])
      } finally {
        admin.destroy()
      }
      return server.url.replace('redis://', `redis://${user}:pw@`)
    }

    const READER = ['~*', '+@read', '+@keyspace', '+scan', '+ping', '+hello', '+client|setname', '+dbsize', '-info', '-@dangerous']

    it('shows the namespace counts and the size, with the refused server fields null, and exits 0', async () => {
      const url = await aclUser('stats-reader', READER)
      const report = await statsJson(url, nsA)
      expect(report.target.url).toBe(url.replace(':pw@', ':***@'))
      expect(report.namespace).toMatchObject({ keys: 5, tagIndexKeys: 1, lockKeys: 0, countsExact: true })
      expect(report.namespace.memory.sampledKeys).toBe(5)
      expect(report.namespace.memory.estimatedBytes).toBeGreaterThan(5 * 100)
      expect(report.server).toMatchObject({
        redisVersion: null,
        uptimeSeconds: null,
        connectedClients: null,
        usedMemory: null,
        usedMemoryHuman: null,
        maxmemory: null,
        maxmemoryPolicy: null,
        keyspaceHits: null,
        keyspaceMisses: null,
        hitRatio: null,
        databaseKeys: 5 + 1 + 3 + 1 + 4,
      })
      expect(report.server.note).toMatch(/^INFO unavailable: .*NOPERM/)
    })

    it('prints the table with the refused fields as unknown and says why', async () => {
      const url = await aclUser('stats-reader', READER)
      const io = capture()
      expect(await run(['stats', '--url', url, '--namespace', nsA], io)).toBe(0)
      expect(io.err).toBe('')
      expect(io.out).toMatch(/keys \(cache entries\)\s+5\n/)
      expect(io.out).toMatch(/used_memory\s+unknown\n/)
      expect(io.out).toMatch(/keys in database \(DBSIZE\)\s+14\n/)
      expect(io.out).toMatch(/INFO unavailable: .*NOPERM/)
      expect(io.out).not.toContain(':pw@')
    })

    it('reports estimatedBytes null when MEMORY USAGE and DBSIZE are refused too, and still exits 0', async () => {
      const url = await aclUser('stats-scanner', ['~*', '+scan', '+ping', '+hello', '+client|setname'])
      const report = await statsJson(url, nsA)
      expect(report.namespace).toMatchObject({ keys: 5, tagIndexKeys: 1, memory: { estimatedBytes: null, sampledKeys: 0 } })
      expect(report.namespace.memory.note).toMatch(/^unavailable: .*NOPERM/)
      expect(report.server).toMatchObject({ redisVersion: null, keyspaceHits: null, hitRatio: null, databaseKeys: null })
      expect(report.server.note).toMatch(/INFO unavailable: .*NOPERM.*DBSIZE unavailable: .*NOPERM/)
    })

    it('still exits 1 when SCAN itself is refused', async () => {
      const url = await aclUser('stats-noscan', ['~*', '+ping', '+hello', '+client|setname'])
      const io = capture()
      expect(await run(['stats', '--url', url, '--namespace', nsA], io)).toBe(1)
      expect(io.err).toMatch(/^strata stats: Redis SCAN failed: NOPERM/)
      expect(io.err).not.toContain(':pw@')
    })
  })

  it('runs as a real process through src/cli/main.ts', async () => {
    const args = ['--import', 'tsx', 'src/cli/main.ts', 'stats', '--url', server.url, '--namespace', nsA, '--json']
    const { code, stdout, stderr } = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
      execFile(process.execPath, args, { cwd: ROOT, timeout: 20_000 }, (error, stdout, stderr) => {
        resolve({ code: error === null ? 0 : typeof error.code === 'number' ? error.code : -1, stdout, stderr })
      })
    })
    expect(stderr).toBe('')
    expect(code).toBe(0)
    expect((JSON.parse(stdout) as StatsReport).namespace.keys).toBe(5)
  })
})
