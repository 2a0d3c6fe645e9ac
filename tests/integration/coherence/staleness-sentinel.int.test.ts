/**
 * The cross-process staleness checker of staleness.int.test.ts (runner: tests/helpers/staleness-scenario.ts)
 * on a Redis Sentinel set (a master, one replica, three sentinels), across a failover: the writer
 * and the three readers find the master through the sentinels only, and the master is killed
 * (SIGKILL) while they run. Once a replica is promoted, every cache moves to it by itself; the
 * guarantee must hold throughout: once a write resolved, no reader returns the value it replaced
 * more than maxStaleness (100 ms) later.
 *
 * Not vacuous: the writer lost writes while no master was reachable and then resumed on the new
 * one, every reader started a new tracking session on the new master (a fence: its L1 emptied)
 * after the failover, and in those sessions readers got L1 hits and values. Those shares are taken
 * over the reads after the failover: during the outage (~3 s) each reader spins on instant misses
 * (no value, no L1 hit, never stale) at up to ~300,000 reads a second, some 30 times the rate of
 * reads that wait for Redis, so over the whole run they would measure CPU contention, not L1.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { requireRedis } from '../../helpers/redis-server.js'
import { useRedisSentinel } from '../../helpers/redis-sentinel.js'
import { monotonicNowMs } from '../../helpers/staleness-checker.js'
import { type FaultContext, TEST_TIMEOUT_MS, expectExercised, expectNoViolations, readsSince, runUnderFaults, writesReached } from '../../helpers/staleness-scenario.js'

const hasRedis = requireRedis()

/**
 * `redisUrl` of every process: a port nothing listens on. With `sentinel`, its host and port are
 * unused (the sentinels name the master), so a connection that used them would fail at once.
 */
const NO_SERVER_URL = 'redis://127.0.0.1:1'

/** How long the run goes on once every reader has a session on the new master. */
const AFTER_FAILOVER_MS = 3_000

/** Each reader's fence count in its last progress line; -1 before its first one. */
function fencesOf(context: FaultContext): number[] {
  return context.readers().map((progress) => progress?.fences ?? -1)
}

describe.skipIf(!hasRedis)('L1 coherence across a Sentinel failover: no stale read past maxStaleness', () => {
  // One replica, and the killed master stays down: this set serves one failover (a second case needs a set of its own).
  const set = useRedisSentinel()

  it('(l) the master killed (SIGKILL) mid-run, a replica promoted', { timeout: TEST_TIMEOUT_MS }, async () => {
    const target = { url: NO_SERVER_URL, options: { sentinel: { name: set.masterName, sentinels: set.sentinelNodes } } }
    let resolvedAtKill = Number.POSITIVE_INFINITY
    let fencesAtKill: number[] = []
    let sessionsAt = Number.POSITIVE_INFINITY
    let failover = ''
    const report = await runUnderFaults(target, {
      fault: async (context) => {
        await writesReached(context, 500)
        // Every reader reported its fences (1: its first session) before the kill.
        while (fencesOf(context).some((fences) => fences < 0)) await sleep(20)
        const master = await set.currentMaster()
        resolvedAtKill = context.resolved()
        fencesAtKill = fencesOf(context)
        context.mark(`SIGKILL master :${master.port}`)
        const killedAt = performance.now()
        await set.nodeAt(master.port).kill()
        const promoted = await set.waitForFailover(master.port, 20_000)
        failover = `:${master.port} -> :${promoted.port} in ${Math.round(performance.now() - killedAt)} ms`
        context.mark(`failover done, master :${promoted.port}`)
        // Until every reader started a new session (bounded: a reader that never does fails the fence check below).
        const deadline = performance.now() + 10_000
        while (fencesOf(context).some((fences, i) => fences <= (fencesAtKill[i] ?? 0)) && performance.now() < deadline) await sleep(20)
        context.mark('every reader in a new session')
        sessionsAt = monotonicNowMs()
        await sleep(AFTER_FAILOVER_MS)
      },
    })
    const after = readsSince(report, sessionsAt).reduce((sum, counts) => ({ reads: sum.reads + counts.reads, l1Hits: sum.l1Hits + counts.l1Hits, withValue: sum.withValue + counts.withValue }), { reads: 0, l1Hits: 0, withValue: 0 })
    const share = (n: number) => `${((100 * n) / Math.max(1, after.reads)).toFixed(1)}%`
    expectNoViolations(`Sentinel failover ${failover}, after it ${after.reads} reads, L1 hits ${share(after.l1Hits)}, with value ${share(after.withValue)}`, report)
    const timeline = `timeline:\n${report.timeline}`
    // Writes failed while no master was reachable; most of the run's writes resolved after the kill, so on the promoted replica.
    expect(report.writer.failed, timeline).toBeGreaterThan(0)
    expect(report.writer.resolved).toBeGreaterThanOrEqual(4_000)
    expect(resolvedAtKill, timeline).toBeLessThan(2_000)
    // As in (i), over the reads in the new sessions.
    expectExercised(report, 0.1, 0.3, sessionsAt)
    report.readers.forEach((reader, i) => {
      // A new tracking session on the new master empties L1: one fence more than before the kill, at least.
      const fencesBefore = fencesAtKill[i] ?? Number.POSITIVE_INFINITY
      expect(reader.stats.coherence?.fences ?? 0, `reader ${i}: ${fencesBefore} fences before the kill\n${timeline}`).toBeGreaterThan(fencesBefore)
    })
  })
})
