/**
 * Backup and restore stream in constant memory: the peak RSS of a child process backing up, then
 * restoring, 1,000,000 entries stays within 1.5x of the same for 100,000 entries. The namespaces
 * are filled with pipelined raw SETs of ready-made envelopes (plain, tagged, compressed).
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'

import { afterAll, beforeAll, describe, expect, it } from 'vitest'

import { GenericRedisCache } from '../../../src/index.js'
import { type RawRedis, rawRedis, sampleOptions, sampleValue } from '../../helpers/backup-data.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()
const WORKER = new URL('../../fixtures/backup-rss-worker.ts', import.meta.url).pathname
const run = promisify(execFile)

interface Peak {
  readonly entries: number
  readonly maxRssBytes: number
  readonly durationMs: number
}

describe.skipIf(!hasRedis)('backup and restore memory', { timeout: 300_000 }, () => {
  const server = useRedisServer()
  const dir = mkdtempSync(join(tmpdir(), 'strata-rss-'))
  let raw: RawRedis
  let envelopes: Buffer[]

  beforeAll(async () => {
    raw = await rawRedis(server.url)
    // Envelopes of a few shapes (plain and compressed), written once through the cache and
    // reused under every key (unencrypted envelopes do not depend on their key). Untagged: a
    // million members in one tag index would measure Redis, not this process.
    const scratch = uniqueNamespace('shapes')
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace: scratch, l1: false, compression: { threshold: 1024 }, suppressL2Errors: false })
    await cache.setMany(Array.from({ length: 16 }, (_, i) => ({ key: `s${i}`, value: sampleValue(i), ttl: sampleOptions(i).ttl })))
    await cache.disconnect()
    envelopes = (await raw.read(Array.from({ length: 16 }, (_, i) => `${scratch}:s${i}`))).map((entry) => entry!.bytes)
  })

  afterAll(async () => {
    await raw.close()
    rmSync(dir, { recursive: true, force: true })
  })

  async function fill(namespace: string, count: number): Promise<void> {
    for (let start = 0; start < count; start += 20_000) {
      const batch = Array.from({ length: Math.min(20_000, count - start) }, (_, j) => ({ key: `${namespace}:k${start + j}`, bytes: envelopes[(start + j) % 16]!, px: 3_600_000 }))
      await raw.setMany(batch)
    }
  }

  async function worker(mode: 'backup' | 'restore', namespace: string, file: string): Promise<Peak> {
    const { stdout } = await run(process.execPath, ['--import', 'tsx', WORKER, mode, server.url, namespace, file], { maxBuffer: 1 << 20 })
    return JSON.parse(stdout.trim().split('\n').pop()!) as Peak
  }

  async function measure(count: number): Promise<{ backup: Peak; restore: Peak }> {
    const namespace = uniqueNamespace(`rss${count}`)
    await fill(namespace, count)
    const file = join(dir, `${namespace}.backup`)
    const backup = await worker('backup', namespace, file)
    const restore = await worker('restore', uniqueNamespace(`back${count}`), file)
    expect(backup.entries).toBe(count)
    expect(restore.entries).toBe(count)
    return { backup, restore }
  }

  it('keeps the peak RSS of 1,000,000 entries within 1.5x of 100,000 entries', async () => {
    const small = await measure(100_000)
    const large = await measure(1_000_000)
    const mb = (p: Peak) => `${(p.maxRssBytes / 2 ** 20).toFixed(0)} MB in ${p.durationMs} ms`
    process.stderr.write(
      `backup peak RSS: 100k ${mb(small.backup)}, 1M ${mb(large.backup)}\nrestore peak RSS: 100k ${mb(small.restore)}, 1M ${mb(large.restore)}\n`,
    )
    expect(large.backup.maxRssBytes).toBeLessThan(small.backup.maxRssBytes * 1.5)
    expect(large.restore.maxRssBytes).toBeLessThan(small.restore.maxRssBytes * 1.5)
  })
})
