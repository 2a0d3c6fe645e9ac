import { describe, expect, it } from 'vitest'
import { type StatsReport, renderStatsJson, renderStatsTable } from '../../../src/cli/commands/stats-report.js'

function report(overrides: { namespace?: Partial<StatsReport['namespace']>; server?: Partial<StatsReport['server']> } = {}): StatsReport {
  return {
    target: { url: 'redis://app:***@cache:6379/2', namespace: 'app' },
    namespace: {
      scope: 'keys in the selected database, counted with SCAN',
      keys: 12_345,
      tagIndexKeys: 3,
      lockKeys: 0,
      countsExact: true,
      memory: { estimatedBytes: 1_572_864, sampledKeys: 1000, note: 'estimate: average MEMORY USAGE of 1000 sampled keys x 12345 keys' },
      ...overrides.namespace,
    },
    server: {
      scope: 'server-wide: every namespace, database and client, not this namespace alone',
      redisVersion: '7.2.4',
      uptimeSeconds: 93_784,
      connectedClients: 7,
      usedMemory: 2_097_152,
      usedMemoryHuman: '2.00M',
      maxmemory: 0,
      maxmemoryPolicy: 'noeviction',
      keyspaceHits: 900,
      keyspaceMisses: 100,
      hitRatio: 0.9,
      databaseKeys: 20_000,
      note: null,
      ...overrides.server,
    },
  }
}

describe('renderStatsTable', () => {
  it('shows namespace counts, the size estimate and server figures with their scope', () => {
    const text = renderStatsTable(report())
    expect(text).toContain('strata stats: redis://app:***@cache:6379/2, namespace "app"')
    expect(text).toMatch(/keys \(cache entries\)\s+12,345\n/)
    expect(text).toMatch(/tag index keys\s+3\n/)
    expect(text).toMatch(/estimated size\s+~1\.5 MiB \(estimate: average MEMORY USAGE of 1000 sampled keys/)
    expect(text).toContain('Server (server-wide: every namespace, database and client, not this namespace alone)')
    expect(text).toMatch(/used_memory\s+2,097,152 \(2\.00M\)\n/)
    expect(text).toMatch(/maxmemory\s+0 \(no limit\)\n/)
    expect(text).toMatch(/uptime_in_seconds\s+93,784 \(1d 2h\)\n/)
    expect(text).toMatch(/hit ratio\s+90\.0%\n/)
  })

  it('says what it does not know instead of printing null', () => {
    const text = renderStatsTable(
      report({
        namespace: { countsExact: false, memory: { estimatedBytes: null, sampledKeys: 0, note: 'unavailable: NOPERM' } },
        server: { keyspaceHits: null, hitRatio: null, maxmemory: 1_073_741_824 },
      }),
    )
    expect(text).toMatch(/keys \(cache entries\)\s+12,345 \(approximate\)/)
    expect(text).toMatch(/estimated size\s+unknown \(unavailable: NOPERM\)/)
    expect(text).toMatch(/keyspace_hits\s+unknown\n/)
    expect(text).toMatch(/hit ratio\s+unknown\n/)
    expect(text).toMatch(/maxmemory\s+1,073,741,824 \(1\.0 GiB\)/)
    expect(text).not.toContain('null')
  })
})

describe('renderStatsTable without INFO or DBSIZE (refused by an ACL)', () => {
  const refused = {
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
    databaseKeys: null,
    note: "INFO unavailable: NOPERM this user has no permissions to run the 'info' command",
  }

  it('shows every refused field as unknown, still shows the namespace, and says why', () => {
    const text = renderStatsTable(report({ server: refused }))
    expect(text).toMatch(/keys \(cache entries\)\s+12,345\n/)
    const labels = ['redis_version', 'uptime_in_seconds', 'connected_clients', 'used_memory', 'maxmemory', 'maxmemory_policy', 'keyspace_hits', 'keyspace_misses']
    for (const label of labels) expect(text).toMatch(new RegExp(`\\n {2}${label}\\s+unknown\\n`))
    expect(text).toMatch(/hit ratio\s+unknown\n/)
    expect(text).toMatch(/keys in database \(DBSIZE\)\s+unknown\n/)
    expect(text).toMatch(/\n {2}note\s+INFO unavailable: NOPERM this user has no permissions to run the 'info' command\n$/)
    expect(text).not.toContain('null')
  })

  it('says "no lookups yet" only when INFO reported zero hits and zero misses', () => {
    expect(renderStatsTable(report({ server: { keyspaceHits: 0, keyspaceMisses: 0, hitRatio: null } }))).toMatch(/hit ratio\s+n\/a \(no lookups yet\)\n/)
  })

  it('prints no note row when everything was read', () => {
    expect(renderStatsTable(report())).not.toMatch(/\n {2}note\s/)
  })
})

describe('renderStatsJson', () => {
  it('prints the report as parseable JSON with the same fields', () => {
    const value = report()
    expect(JSON.parse(renderStatsJson(value))).toEqual(value)
    expect(renderStatsJson(value).endsWith('\n')).toBe(true)
  })
})
