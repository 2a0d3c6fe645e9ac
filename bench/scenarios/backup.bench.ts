/**
 * Backup and restore throughput with 1 KB values on the bench's Redis: 100,000 entries written
 * with pipelined raw SETs of one ready-made 1 KB envelope, backed up to a gzipped file, then
 * restored into an empty namespace. Reports entries/s of each and this process's peak RSS.
 * Target (data tools issue): at least 50,000 entries/s each.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { createClient, RESP_TYPES } from '@redis/client'

import { CacheMigrationManager, GenericRedisCache } from '../../src/index.js'
import { KEY_PREFIX } from '../contenders.js'
import { type Scenario, check, infoValue, payload } from '../helpers.js'

const ENTRIES = 100_000

export const scenario: Scenario = {
  name: 'backup',
  title: 'backup and restore, 1 KB values, 100,000 entries',
  async run({ redis, config }) {
    const count = config.quick ? 20_000 : ENTRIES
    const source = `${KEY_PREFIX}_strata_backup`
    const target = `${KEY_PREFIX}_strata_restore`
    const dir = mkdtempSync(join(tmpdir(), 'strata-bench-backup-'))
    const client = createClient({ url: redis.url }).withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
    await client.connect()
    const options = { redisUrl: redis.url, l1: false as const, coherence: false as const, l2Timeout: '5s' as const, suppressL2Errors: false }
    const from = new GenericRedisCache({ ...options, namespace: source })
    const into = new GenericRedisCache({ ...options, namespace: target })
    const manager = new CacheMigrationManager()
    try {
      await from.set('shape', payload('1KB'), { ttl: '1h' })
      const envelope = (await client.get(`${source}:shape`))!
      for (let start = 0; start < count; start += 10_000) {
        await Promise.all(Array.from({ length: 10_000 }, (_, j) => client.set(`${source}:k${start + j}`, envelope, { expiration: { type: 'PX', value: 3_600_000 } })))
      }
      const file = join(dir, 'bench.backup')
      const backup = await manager.createBackup(from, file)
      const restore = await manager.restoreBackup(file, into)
      const backupRate = (backup.entries / backup.durationMs) * 1000
      const restoreRate = (restore.restored / restore.durationMs) * 1000
      const rssMb = process.resourceUsage().maxRSS / 1024
      return {
        cases: [],
        checks: [
          check(this.name, 'backup >= 50,000 entries/s (1 KB)', 'entries/s', backupRate, '>=', 50_000),
          check(this.name, 'restore >= 50,000 entries/s (1 KB)', 'entries/s', restoreRate, '>=', 50_000),
          infoValue(this.name, 'peak RSS of the bench process', 'maxRSS', rssMb, 'MB'),
        ],
        notes: [`${backup.entries} entries, file ${backup.bytes} bytes (gzip), backup ${backup.durationMs} ms, restore ${restore.durationMs} ms`],
      }
    } finally {
      await from.clear()
      await into.clear()
      await from.disconnect()
      await into.disconnect()
      client.destroy()
      rmSync(dir, { recursive: true, force: true })
    }
  },
}
