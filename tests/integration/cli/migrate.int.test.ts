/**
 * `strata migrate` and `strata validate` against a real redis-server: a table and --json,
 * --dry-run, bad arguments (exit 2, nothing sent), an unreachable server (exit 1 within the
 * timeout), and validate's exit code on an inconsistent copy.
 */
import KeyvRedis from '@keyv/redis'
import Keyv from 'keyv'
import { describe, expect, it } from 'vitest'

import { run } from '../../../src/cli/main.js'
import { GenericRedisCache } from '../../../src/index.js'
import { captureIo } from '../../helpers/cli-io.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { freePort, requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()

describe.skipIf(!hasRedis)('strata migrate and strata validate against a real Redis', () => {
  const server = useRedisServer()
  const cache = (namespace: string) => new GenericRedisCache({ redisUrl: server.url, namespace, l1: false })

  async function seed(namespace: string, count: number): Promise<void> {
    const c = cache(namespace)
    for (let i = 0; i < count; i++) await c.set(`k${i}`, { i }, { ttl: i % 2 === 0 ? 0 : 60_000, tags: [`t${i % 3}`] })
    await c.disconnect()
  }

  it('migrates a namespace with a table on stdout, then validates it as consistent (exit 0)', async () => {
    const from = uniqueNamespace('src')
    const to = uniqueNamespace('dst')
    await seed(from, 25)
    const io = captureIo()
    expect(await run(['migrate', '--url', server.url, '--source-namespace', from, '--namespace', to], io)).toBe(0)
    expect(io.out).toMatch(/^Migration of strata namespace .* into strata namespace /)
    expect(io.out).toMatch(/migrated\s+25\n/)
    expect(io.err).toBe('')
    const check = captureIo()
    expect(await run(['validate', '--url', server.url, '--source-namespace', from, '--namespace', to], check)).toBe(0)
    expect(check.out).toMatch(/: consistent\n/)
    expect(check.out).toMatch(/target entries\s+25\n/)
  })

  it('--dry-run --json counts without writing; keyv data migrates with --from keyv', async () => {
    const namespace = uniqueNamespace('kv')
    const keyv = new Keyv({ store: new KeyvRedis(server.url), namespace })
    for (let i = 0; i < 7; i++) await keyv.set(`k${i}`, { i }, i === 0 ? undefined : 60_000)
    await keyv.disconnect()
    const to = uniqueNamespace('dst')
    const dry = captureIo()
    expect(await run(['migrate', '--from', 'keyv', '--source-url', server.url, '--source-namespace', namespace, '--url', server.url, '--namespace', to, '--dry-run', '--json'], dry)).toBe(0)
    expect(JSON.parse(dry.out)).toMatchObject({ scanned: 7, migrated: 7, skipped: 0, failed: 0, dryRun: true })
    const empty = cache(to)
    expect(await empty.getKeys('*')).toEqual([])
    await empty.disconnect()
    const wet = captureIo()
    expect(await run(['migrate', '--from', 'keyv', '--source-namespace', namespace, '--url', server.url, '--namespace', to, '--json', '--rate', '1000'], wet)).toBe(0)
    expect(JSON.parse(wet.out)).toMatchObject({ migrated: 7, dryRun: false })
    const target = cache(to)
    expect(await target.get('k3')).toEqual({ i: 3 })
    await target.disconnect()
    const check = captureIo()
    expect(await run(['validate', '--from', 'keyv', '--source-namespace', namespace, '--url', server.url, '--namespace', to, '--json'], check)).toBe(0)
    expect(JSON.parse(check.out)).toMatchObject({ isConsistent: true, sourceKeyCount: 7, targetKeyCount: 7 })
  })

  it('validate exits 1 and lists the differences of an inconsistent copy', async () => {
    const from = uniqueNamespace('src')
    const to = uniqueNamespace('dst')
    await seed(from, 5)
    expect(await run(['migrate', '--url', server.url, '--source-namespace', from, '--namespace', to], captureIo())).toBe(0)
    const target = cache(to)
    await target.delete('k1')
    await target.set('k2', 'changed', { ttl: 0, tags: ['t2'] })
    await target.disconnect()
    const io = captureIo()
    expect(await run(['validate', '--url', server.url, '--source-namespace', from, '--namespace', to], io)).toBe(1)
    expect(io.out).toMatch(/INCONSISTENT/)
    expect(io.out).toMatch(/missing in target\s+1: k1\n/)
    expect(io.out).toMatch(/value mismatches\s+1: k2\n/)
    const json = captureIo()
    expect(await run(['validate', '--url', server.url, '--source-namespace', from, '--namespace', to, '--json'], json)).toBe(1)
    expect(JSON.parse(json.out)).toMatchObject({ isConsistent: false, counts: { missingInTarget: 1, valueMismatches: 1 } })
  })

  it('bad arguments exit 2 with a message naming the flag, and send nothing to Redis', async () => {
    const before = await connectionCount()
    const cases: string[][] = [
      ['migrate', '--from', 'memcached', '--url', server.url, '--source-namespace', 'a'],
      ['migrate', '--url', server.url, '--namespace', 'b'],
      ['migrate', '--url', server.url, '--source-namespace', 'same', '--namespace', 'same'],
      ['migrate', '--url', server.url, '--source-namespace', 'a', '--rate', '-3'],
      ['migrate', '--url', 'http://nope', '--source-namespace', 'a'],
      ['migrate', '--url', server.url, '--source-namespace', 'a', '--source-prefix', 'x:'],
      ['validate', '--url', server.url, '--source-namespace', 'a:b'],
      ['validate', '--url', server.url, '--source-namespace', 'a', '--ttl-tolerance', 'soon'],
      ['migrate', '--url', server.url, '--unknown-flag'],
    ]
    const paths = ['--from', '--source-namespace', '--source-namespace', '--rate', '--url', '--source-prefix', '--source-namespace', '--ttl-tolerance', 'unknown option']
    for (const [i, argv] of cases.entries()) {
      const io = captureIo()
      expect(await run(argv, io), argv.join(' ')).toBe(2)
      expect(io.err, argv.join(' ')).toContain(paths[i])
      expect(io.out).toBe('')
    }
    // No command opened a connection: the only new one is connectionCount()'s own.
    expect(await connectionCount()).toBe(before + 1)
  })

  it('an unreachable server exits 1 within the timeout, for each side', async () => {
    const dead = `redis://127.0.0.1:${await freePort()}`
    for (const argv of [
      ['migrate', '--url', dead, '--source-namespace', 'a', '--timeout', '300ms'],
      ['migrate', '--from', 'keyv', '--source-url', dead, '--url', server.url, '--namespace', uniqueNamespace('d'), '--timeout', '300ms'],
      ['validate', '--url', dead, '--source-namespace', 'a', '--timeout', '300ms'],
      ['validate', '--from', 'bentocache', '--source-url', dead, '--url', server.url, '--namespace', uniqueNamespace('d'), '--timeout', '300ms'],
    ]) {
      const io = captureIo()
      const startedAt = performance.now()
      expect(await run(argv, io), argv.join(' ')).toBe(1)
      expect(performance.now() - startedAt).toBeLessThan(2000)
      expect(io.err).toMatch(/^strata (migrate|validate): /)
    }
  })

  /** Connections the server accepted so far (this probe's included). */
  async function connectionCount(): Promise<number> {
    const { createClient } = await import('@redis/client')
    const client = createClient({ url: server.url })
    await client.connect()
    const info = await client.info('stats')
    client.destroy()
    return Number(/total_connections_received:(\d+)/.exec(info)?.[1])
  }
})
