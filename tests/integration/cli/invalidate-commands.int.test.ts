import { describe, expect, it } from 'vitest'

import { run } from '../../../src/cli/main.js'
import { GenericRedisCache } from '../../../src/index.js'
import { captureIo } from '../../helpers/cli-io.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { parseInfo, redisText } from '../../helpers/redis-cluster.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()

describe.skipIf(!hasRedis)('strata del and invalidate against a real Redis', () => {
  const server = useRedisServer()

  async function seed(namespace: string, count: number, tags: (i: number) => string[] = () => []): Promise<void> {
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace, l1: false, coherence: false })
    await cache.setMany(Array.from({ length: count }, (_, i) => ({ key: `user:${i}`, value: i, tags: tags(i) })))
    await cache.disconnect()
  }

  async function remaining(namespace: string, pattern = '*'): Promise<number> {
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace, l1: false, coherence: false })
    const keys = await cache.getKeys(pattern)
    await cache.disconnect()
    return keys.length
  }

  async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
    const io = captureIo()
    const code = await run(args, io)
    return { code, out: io.out, err: io.err }
  }

  async function commandsProcessed(): Promise<number> {
    return Number(parseInfo(await redisText(server.port, ['INFO', 'stats'])).get('total_commands_processed'))
  }

  it('del deletes through the cache, leaving delete marks, and prints how many existed', async () => {
    const namespace = uniqueNamespace('del')
    await seed(namespace, 3)
    const result = await cli(['del', 'user:0', 'user:1', 'nope', '--url', server.url, '--namespace', namespace, '--json'])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.out)).toEqual({ namespace, requested: 3, deleted: 2 })
    expect(await remaining(namespace)).toBe(1)
    // The delete mark a load in flight elsewhere is refused by.
    expect(await redisText(server.port, ['TYPE', `${namespace}#gone:user:0`])).not.toBe('none')
    const text = await cli(['del', 'user:2', '--url', server.url, '--namespace', namespace])
    expect(text.out).toBe('deleted 1 of 1 keys (the others did not exist)\n')
  })

  it('del --rate paces the deletes', async () => {
    const namespace = uniqueNamespace('del')
    await seed(namespace, 40)
    const startedAt = performance.now()
    const keys = Array.from({ length: 40 }, (_, i) => `user:${i}`)
    const result = await cli(['del', ...keys, '--rate', '100', '--url', server.url, '--namespace', namespace, '--json'])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.out)).toMatchObject({ deleted: 40 })
    // 40 deletes at 100/s take at least 0.4 s (the first batch goes at once).
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(350)
  })

  it('invalidate --pattern --dry-run counts and lists what would go and deletes nothing', async () => {
    const namespace = uniqueNamespace('inv')
    await seed(namespace, 12)
    const result = await cli(['invalidate', '--pattern', 'user:1*', '--dry-run', '--url', server.url, '--namespace', namespace, '--json'])
    expect(result.code).toBe(0)
    const doc = JSON.parse(result.out) as { count: number; keys: string[]; dryRun: boolean; needsForce: boolean }
    expect(doc).toMatchObject({ namespace, pattern: 'user:1*', dryRun: true, count: 3, truncated: false, needsForce: false })
    expect(doc.keys.sort()).toEqual(['user:1', 'user:10', 'user:11'])
    expect(await remaining(namespace)).toBe(12)
    const everything = await cli(['invalidate', '--pattern', '*', '--dry-run', '--limit', '2', '--url', server.url, '--namespace', namespace])
    expect(everything.code).toBe(0)
    expect(everything.out).toMatch(/^dry run: would delete 12 entries matching "\*" .*\(nothing deleted\)\ndeleting them needs --force/)
    expect(everything.out).toMatch(/… and 10 more/)
    expect(await remaining(namespace)).toBe(12)
  })

  it('invalidate --pattern deletes the matching entries, paced by --rate', async () => {
    const namespace = uniqueNamespace('inv')
    await seed(namespace, 30)
    const startedAt = performance.now()
    const result = await cli(['invalidate', '--pattern', 'user:2*', '--rate', '20', '--url', server.url, '--namespace', namespace, '--json'])
    expect(result.code).toBe(0)
    expect(JSON.parse(result.out)).toMatchObject({ pattern: 'user:2*', dryRun: false, count: 11 })
    expect(performance.now() - startedAt).toBeGreaterThanOrEqual(450)
    expect(await remaining(namespace)).toBe(19)
    expect(await remaining(namespace, 'user:2*')).toBe(0)
  })

  it('refuses a pattern without literal characters unless --force, before sending anything', async () => {
    const namespace = uniqueNamespace('inv')
    await seed(namespace, 5)
    for (const pattern of ['*', '**', '?*', '[a-z]*']) {
      const before = await commandsProcessed()
      const result = await cli(['invalidate', '--pattern', pattern, '--url', server.url, '--namespace', namespace])
      expect(result.code, pattern).toBe(2)
      expect(result.err).toMatch(/--force: .* matches every key of the namespace; add --force/)
      // Only the INFO of the next line is counted: the CLI sent nothing.
      expect((await commandsProcessed()) - before).toBeLessThanOrEqual(await probeCost())
    }
    expect(await remaining(namespace)).toBe(5)
    const forced = await cli(['invalidate', '--pattern', '*', '--force', '--url', server.url, '--namespace', namespace])
    expect(forced.code).toBe(0)
    expect(forced.out).toMatch(/deleted 5 entries matching "\*"/)
    expect(await remaining(namespace)).toBe(0)
  })

  it('refuses a pattern matching more than 1,000 keys unless --force, deleting nothing', async () => {
    const namespace = uniqueNamespace('inv')
    await seed(namespace, 1001)
    const refused = await cli(['invalidate', '--pattern', 'user:*', '--url', server.url, '--namespace', namespace])
    expect(refused.code).toBe(2)
    expect(refused.err).toMatch(/matches more than 1,000 keys; nothing was deleted/)
    expect(await remaining(namespace)).toBe(1001)
    const forced = await cli(['invalidate', '--pattern', 'user:*', '--force', '--url', server.url, '--namespace', namespace, '--json'])
    expect(JSON.parse(forced.out)).toMatchObject({ count: 1001 })
    expect(await remaining(namespace)).toBe(0)
  })

  it('invalidate --tag deletes tagged entries; its --dry-run reads the entries and deletes nothing', async () => {
    const namespace = uniqueNamespace('inv')
    await seed(namespace, 10, (i) => (i % 2 === 0 ? ['even'] : ['odd']))
    const dry = await cli(['invalidate', '--tag', 'even', '--dry-run', '--url', server.url, '--namespace', namespace, '--json'])
    expect(dry.code).toBe(0)
    expect(JSON.parse(dry.out)).toMatchObject({ tags: ['even'], dryRun: true, count: 5, unknown: 0, truncated: false })
    expect(await remaining(namespace)).toBe(10)
    const done = await cli(['invalidate', '--tag', 'even', 'none', '--url', server.url, '--namespace', namespace, '--json'])
    expect(done.code).toBe(0)
    expect(JSON.parse(done.out)).toMatchObject({ tags: ['even', 'none'], dryRun: false, count: 5 })
    expect(await remaining(namespace)).toBe(5)
  })

  it('refuses bad arguments with exit 2 and a clear message, sending nothing to Redis', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['invalidate'], /give exactly one of --pattern <glob> and --tag <tag...>/],
      [['invalidate', '--pattern', 'a*', '--tag', 't'], /give exactly one of --pattern/],
      [['invalidate', '--pattern', ''], /non-empty glob/],
      [['invalidate', '--tag', 't', '--rate', '10'], /--rate: paces --pattern deletes only/],
      [['invalidate', '--pattern', 'a*', '--rate', '0'], /--rate: expected operations per second/],
      [['invalidate', '--pattern', 'a*', '--rate', 'fast'], /--rate: expected operations per second/],
      [['del', 'k', '--rate', '-1'], /--rate/],
      [['del'], /missing required argument/],
      [['invalidate', '--pattern', 'a*', '--timeout', '0'], /--timeout/],
    ]
    const probe = await probeCost()
    for (const [args, message] of cases) {
      const before = await commandsProcessed()
      const result = await cli([...args, '--url', server.url, '--namespace', uniqueNamespace('inv')])
      expect(result.code, args.join(' ')).toBe(2)
      expect(result.err).toMatch(message)
      expect((await commandsProcessed()) - before, args.join(' ')).toBe(probe)
    }
  })

  it('exits 1 within the timeout when Redis is unreachable', async () => {
    for (const args of [['del', 'k'], ['invalidate', '--pattern', 'a*'], ['invalidate', '--tag', 't']]) {
      const startedAt = performance.now()
      const result = await cli([...args, '--url', 'redis://127.0.0.1:1', '--timeout', '300ms'])
      expect(result.code).toBe(1)
      expect(result.err).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1 within 300ms/)
      expect(performance.now() - startedAt).toBeLessThan(2000)
    }
  })

  async function probeCost(): Promise<number> {
    const first = await commandsProcessed()
    return (await commandsProcessed()) - first
  }
})
