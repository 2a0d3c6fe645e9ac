import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { run } from '../../../src/cli/main.js'
import { GenericRedisCache } from '../../../src/index.js'
import { seed } from '../../helpers/backup-data.js'
import { captureIo } from '../../helpers/cli-io.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { parseInfo, redisText } from '../../helpers/redis-cluster.js'
import { freePort, requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()

describe.skipIf(!hasRedis)('strata backup and strata restore against a real Redis', () => {
  const server = useRedisServer()
  const dir = mkdtempSync(join(tmpdir(), 'strata-cli-backup-'))
  const namespace = uniqueNamespace('clibk')
  const file = join(dir, 'app.backup')

  beforeAll(async () => {
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace, l1: false, suppressL2Errors: false, l2Timeout: '2s' })
    await seed(cache, 0, 50)
    await cache.disconnect()
  })

  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  it('backs up a namespace with --json: a summary on stdout, no progress bar when stderr is not a terminal', async () => {
    const io = captureIo()
    expect(await run(['backup', '--url', server.url, '--namespace', namespace, '--out', file, '--json'], io)).toBe(0)
    const report = JSON.parse(io.out) as Record<string, unknown>
    expect(report).toMatchObject({ path: file, entries: 50, expiredSkipped: 0, bytes: statSync(file).size, header: { namespace, formatVersion: 1 } })
    expect(io.err).toBe('')
    expect(readFileSync(file).subarray(0, 2)).toEqual(Buffer.of(0x1f, 0x8b))
  })

  it('writes the raw stream with --no-gzip and prints a table without --json, at --rate', async () => {
    const io = captureIo()
    const raw = join(dir, 'raw.backup')
    const startedAt = performance.now()
    expect(await run(['backup', '--url', server.url, '--namespace', namespace, '--out', raw, '--no-gzip', '--rate', '100'], io)).toBe(0)
    expect(performance.now() - startedAt).toBeGreaterThan(400)
    expect(readFileSync(raw).subarray(0, 8).toString('latin1')).toBe('STRATABK')
    expect(io.out).toMatch(/Backup of namespace .*\n[\s\S]*entries\s+50\n/)
  })

  it('verifies a file with --dry-run without touching Redis, then restores it into another namespace, idempotently', async () => {
    const other = uniqueNamespace('clirs')
    const dry = captureIo()
    expect(await run(['restore', '--url', server.url, '--namespace', other, '--in', file, '--dry-run', '--json'], dry)).toBe(0)
    expect(JSON.parse(dry.out)).toMatchObject({ dryRun: true, restored: 50, entries: 50, namespace: other })
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace: other, l1: false })
    expect(await cache.getKeys('*')).toEqual([])

    const first = captureIo()
    expect(await run(['restore', '--url', server.url, '--namespace', other, '--in', file, '--json'], first)).toBe(0)
    expect(JSON.parse(first.out)).toMatchObject({ dryRun: false, restored: 50, skippedExisting: 0, failed: 0 })
    expect(await cache.get('item:2')).toEqual({ id: 2, name: 'user 2', roles: ['a', 'b'], nested: { deep: [2, null, true] } })

    const again = captureIo()
    expect(await run(['restore', '--url', server.url, '--namespace', other, '--in', file], again)).toBe(0)
    expect(again.out).toMatch(/restored\s+0\n[\s\S]*existing, kept\s+50\n/)
    const overwrite = captureIo()
    expect(await run(['restore', '--url', server.url, '--namespace', other, '--in', file, '--overwrite', '--json'], overwrite)).toBe(0)
    expect(JSON.parse(overwrite.out)).toMatchObject({ restored: 50, skippedExisting: 0 })
    await cache.disconnect()
  })

  it('restores into the namespace of the backup when --namespace is not given', async () => {
    const io = captureIo()
    expect(await run(['restore', '--url', server.url, '--in', file, '--json'], io)).toBe(0)
    expect(JSON.parse(io.out)).toMatchObject({ namespace, restored: 0, skippedExisting: 50 })
  })

  it('rejects bad arguments with exit 2 and a clear message, sending nothing to Redis', async () => {
    const connections = async () => Number(parseInfo(await redisText(server.port, ['INFO', 'stats'])).get('total_connections_received'))
    const before = await connections()
    const cases: Array<[string[], RegExp]> = [
      [['backup', '--url', server.url, '--namespace', namespace], /--out: give the backup file to write/],
      [['backup', '--url', server.url, '--out', join(dir, 'x'), '--rate', 'fast'], /--rate: expected entries per second/],
      [['backup', '--url', server.url, '--out', join(dir, 'x'), '--namespace', 'a:b'], /--namespace/],
      [['backup', '--url', 'http://nope', '--out', join(dir, 'x')], /--url/],
      [['restore', '--url', server.url], /--in: give the backup file to read/],
      [['restore', '--url', server.url, '--in', join(dir, 'missing.backup')], /--in: cannot read .*missing\.backup \(ENOENT\)/],
      [['restore', '--url', server.url, '--in', file, '--rate', '0'], /--rate/],
    ]
    for (const [args, message] of cases) {
      const io = captureIo()
      expect(await run(args, io), args.join(' ')).toBe(2)
      expect(io.err).toMatch(message)
      expect(io.out).toBe('')
    }
    // The restore cases above read the file's header; none opened a connection.
    expect(await connections()).toBe(before + 1)
  })

  it('exits 1 within the timeout when Redis is unreachable', async () => {
    const url = `redis://127.0.0.1:${await freePort()}`
    for (const args of [['backup', '--out', join(dir, 'y')], ['restore', '--in', file]]) {
      const io = captureIo()
      const startedAt = performance.now()
      expect(await run([...args, '--url', url, '--timeout', '500ms'], io)).toBe(1)
      expect(performance.now() - startedAt).toBeLessThan(2000)
      expect(io.err).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:\d+ within 500ms/)
    }
  })

  it('exits 1 with E_BACKUP_FORMAT and the location for a damaged file', async () => {
    const damaged = join(dir, 'damaged.backup')
    writeFileSync(damaged, readFileSync(file).subarray(0, 200))
    const io = captureIo()
    expect(await run(['restore', '--url', server.url, '--namespace', uniqueNamespace('dmg'), '--in', damaged], io)).toBe(1)
    expect(io.err).toMatch(/E_BACKUP_FORMAT: backup file is damaged at byte \d+ \(record \d+\).*entries were restored before it/)
  })
})
