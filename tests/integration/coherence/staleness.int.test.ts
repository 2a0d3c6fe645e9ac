/**
 * Cross-process staleness checker for L1 coherence. One writer process and three reader
 * processes, each with its own `GenericRedisCache` (L1 on, same namespace) on a redis-server of
 * this file, 100 keys. The writer records every write it saw resolve; the readers record every
 * read; all times are CLOCK_MONOTONIC (`process.hrtime()`), one clock for every process. The
 * guarantee checked (see tests/helpers/staleness-checker.ts): once a write of a key resolved, no
 * reader returns the value it replaced more than maxStaleness (100 ms) later.
 *
 * Each scenario also proves it is not vacuous: readers got many L1 hits (the only way to be
 * stale) and many reads returned values. A negative control with coherence off must fail the
 * same check. The second suite repeats the `set` run under faults (frozen Redis, killed and
 * restarted Redis, killed tracking connections, a reader whose event loop stalls).
 *
 * Every scenario prints one summary line (writes, reads, L1 hit share, largest staleness seen);
 * a failure shows the offending reads and a timeline of every process's progress. The runner is
 * tests/helpers/staleness-scenario.ts; staleness-sentinel.int.test.ts runs it across a Sentinel failover.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { createClient } from '@redis/client'
import { describe, expect, it } from 'vitest'
import { type RedisServer, requireRedis, useRedisServer } from '../../helpers/redis-server.js'
import {
  type ScenarioReport,
  MAX_STALENESS_MS,
  READERS,
  TEST_TIMEOUT_MS,
  expectExercised,
  expectNoViolations,
  runScenario,
  runUnderFaults,
  summarize,
  writesReached,
} from '../../helpers/staleness-scenario.js'

const hasRedis = requireRedis()

describe.skipIf(!hasRedis)('L1 coherence across processes: no stale read past maxStaleness', () => {
  const server = useRedisServer()

  it('(a) cache.set: at least 10,000 writes', { timeout: TEST_TIMEOUT_MS }, async () => {
    const report = await runScenario(server, { mode: 'set', writes: 10_000 })
    expectNoViolations('set', report)
    expect(report.writer.resolved).toBeGreaterThanOrEqual(10_000)
    expect(report.writer.failed).toBe(0)
    expectExercised(report, 0.2, 0.5)
    // Every write reached every reader as an invalidation (the first sets may predate a reader's session).
    for (const reader of report.readers) expect(reader.stats.coherence?.invalidationsReceived ?? 0).toBeGreaterThan(0.9 * report.writer.resolved)
  })

  // Every L1 is emptied every ~200 writes with clear and FLUSHDB: fewer hits by design.
  it.each([
    { name: '(b) a raw client: SET of encoded entries, DEL and UNLINK', mode: 'raw', groupOps: 0, l1Hits: 0.2, withValue: 0.5 },
    { name: '(c) key expiry (PEXPIRE 20 ms)', mode: 'expire', groupOps: 0, l1Hits: 0.2, withValue: 0.3 },
    { name: '(d) invalidateTags', mode: 'tags', groupOps: 20, l1Hits: 0.2, withValue: 0.5 },
    { name: '(e) invalidatePattern', mode: 'pattern', groupOps: 20, l1Hits: 0.2, withValue: 0.5 },
    { name: '(f) clear', mode: 'clear', groupOps: 5, l1Hits: 0.1, withValue: 0.3 },
    { name: '(g) FLUSHDB from a raw client', mode: 'flushdb', groupOps: 5, l1Hits: 0.1, withValue: 0.3 },
  ] as const)('$name', { timeout: TEST_TIMEOUT_MS }, async ({ mode, groupOps, l1Hits, withValue }) => {
    const report = await runScenario(server, { mode, writes: 4_000 })
    expectNoViolations(mode, report)
    expect(report.writer.failed).toBe(0)
    if (groupOps > 0) expect(report.writer.groupOperations).toBeGreaterThan(groupOps)
    expectExercised(report, l1Hits, withValue)
    // A flush empties every L1 (a fence each).
    if (mode === 'flushdb') for (const reader of report.readers) expect(reader.stats.coherence?.fences ?? 0).toBeGreaterThan(5)
  })

  it('negative control: with coherence off, the same check finds stale reads', { timeout: TEST_TIMEOUT_MS }, async () => {
    const report = await runScenario(server, { mode: 'set', writes: 2_000, readerOptions: { coherence: false, defaultTtl: '1h' }, minRunMs: 1_000 })
    console.log(summarize('control, coherence off', report))
    expect(report.check.violations).toBeGreaterThan(0)
    expect(report.check.maxStalenessSeenMs).toBeGreaterThan(MAX_STALENESS_MS)
    for (const reader of report.readers) expect(reader.stats.coherence?.state).toBe('off')
  })
})

/** One line of `CLIENT LIST`. */
interface ClientInfo {
  id: string
  flags: string
  /** Id of the client tracking invalidations are redirected to; -1 when none. */
  redir: string
}

function parseClientList(text: string): ClientInfo[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const fields = new Map(line.trim().split(' ').map((field) => field.split('=', 2) as [string, string]))
      return { id: fields.get('id') ?? '', flags: fields.get('flags') ?? '', redir: fields.get('redir') ?? '-1' }
    })
}

/** Clients with broadcast tracking on (`B` in flags): the connections whose tracking state Redis keeps. */
function broadcastTrackingClients(clients: readonly ClientInfo[]): string[] {
  return clients.filter((client) => client.flags.includes('B')).map((client) => client.id)
}

/**
 * The connections invalidations are delivered on: those broadcast-tracking clients redirect to,
 * or the broadcast-tracking clients themselves when they do not redirect.
 */
function invalidationConnections(clients: readonly ClientInfo[]): string[] {
  const tracking = clients.filter((client) => client.flags.includes('B'))
  const ids = new Set(tracking.map((client) => (client.redir === '-1' || client.redir === '0' ? client.id : client.redir)))
  return [...ids].filter((id) => clients.some((client) => client.id === id))
}

/** Runs a `set` scenario while killing, every 500 ms (5 rounds), the clients `choose` picks from `CLIENT LIST`. */
async function withConnectionKiller(server: RedisServer, choose: (clients: readonly ClientInfo[]) => string[]): Promise<{ report: ScenarioReport; killedPerRound: number[] }> {
  const admin = createClient({ url: server.url, disableOfflineQueue: true })
  admin.on('error', () => undefined)
  await admin.connect()
  const killedPerRound: number[] = []
  try {
    const report = await runUnderFaults(server, {
      fault: async (context) => {
        await writesReached(context, 300)
        for (let round = 0; round < 5; round++) {
          const reply: unknown = await admin.sendCommand(['CLIENT', 'LIST'])
          const text = typeof reply === 'string' ? reply : Buffer.isBuffer(reply) ? reply.toString('utf8') : ''
          const ids = choose(parseClientList(text))
          for (const id of ids) await admin.sendCommand(['CLIENT', 'KILL', 'ID', id])
          killedPerRound.push(ids.length)
          context.mark(`killed ${ids.join(',')}`)
          await sleep(500)
        }
      },
    })
    return { report, killedPerRound }
  } finally {
    admin.destroy()
  }
}

describe.skipIf(!hasRedis)('L1 coherence across processes under faults: no stale read past maxStaleness', () => {
  const server = useRedisServer()

  it('(h) Redis frozen (SIGSTOP) for 1 s, twice', { timeout: TEST_TIMEOUT_MS }, async () => {
    const report = await runUnderFaults(server, {
      fault: async (context) => {
        await writesReached(context, 500)
        for (let i = 0; i < 2; i++) {
          context.mark('SIGSTOP')
          server.pause()
          try {
            await sleep(1_000)
          } finally {
            server.resume()
            context.mark('SIGCONT')
          }
          await sleep(800)
        }
      },
    })
    expectNoViolations('SIGSTOP', report)
    expect(report.writer.failed).toBeGreaterThan(0)
    expectExercised(report, 0.1, 0.5)
    // Every reader noticed the stall (its progress, every 250 ms, showed it unverified) and came back.
    for (const reader of report.readers) expect(reader.statesSeen).toEqual(expect.arrayContaining(['verified', 'unverified']))
  })

  it('(i) Redis killed (SIGKILL) and restarted on the same port', { timeout: TEST_TIMEOUT_MS }, async () => {
    const report = await runUnderFaults(server, {
      fault: async (context) => {
        for (const at of [500, 2_000]) {
          await writesReached(context, at)
          context.mark('SIGKILL')
          await server.kill()
          await server.restart()
          context.mark('restarted')
          await sleep(500)
        }
      },
    })
    expectNoViolations('SIGKILL', report)
    expect(report.writer.failed).toBeGreaterThan(0)
    expectExercised(report, 0.1, 0.3)
    // Each new tracking session empties L1: the first one, then one per restart at least.
    for (const reader of report.readers) expect(reader.stats.coherence?.fences ?? 0).toBeGreaterThanOrEqual(3)
  })

  it('(j) only the invalidation connections killed (CLIENT KILL ID, every 500 ms)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { report, killedPerRound } = await withConnectionKiller(server, invalidationConnections)
    expectNoViolations('CLIENT KILL invalidation connections', report)
    // Three readers and the writer each have one, killed every round.
    expect(killedPerRound.every((n) => n >= READERS)).toBe(true)
    // Only those: no data connection (the writer's) lost a write.
    expect(report.writer.failed).toBe(0)
    expectExercised(report, 0.1, 0.5)
    // Each loss ends the session: L1 is emptied when the next one starts.
    for (const reader of report.readers) expect(reader.stats.coherence?.fences ?? 0).toBeGreaterThanOrEqual(3)
  })

  it('(j2) the connections holding broadcast tracking killed (CLIENT KILL ID of flags=...B, every 500 ms)', { timeout: TEST_TIMEOUT_MS }, async () => {
    const { report, killedPerRound } = await withConnectionKiller(server, broadcastTrackingClients)
    expectNoViolations('CLIENT KILL broadcast-tracking clients', report)
    expect(killedPerRound.every((n) => n >= READERS)).toBe(true)
    expectExercised(report, 0.1, 0.5)
    for (const reader of report.readers) expect(reader.stats.coherence?.fences ?? 0).toBeGreaterThanOrEqual(3)
  })

  it('(k) a reader whose event loop blocks for 300 ms every ~700 ms', { timeout: TEST_TIMEOUT_MS }, async () => {
    const report = await runUnderFaults(server, {
      blockingReader: 0,
      minRunMs: 3_000,
    })
    expectNoViolations('blocked reader', report)
    expect(report.readers[0]?.stalls).toBeGreaterThanOrEqual(3)
    expectExercised(report, 0.1, 0.5)
  })
})
