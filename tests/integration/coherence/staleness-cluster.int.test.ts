/**
 * The cross-process staleness checker of staleness.int.test.ts (runner: tests/helpers/staleness-scenario.ts)
 * on a Redis Cluster of 3 masters and 3 replicas: every process reaches the cluster through its
 * root nodes only, and each cache tracks every master (one invalidation connection per master).
 * The guarantee must hold as on one server: once a write resolved, no reader returns the value it
 * replaced more than maxStaleness (100 ms) later, with the writes spread over every shard, and
 * across a failover (a master killed with SIGKILL mid-run, its replica promoted).
 *
 * Not vacuous: readers got L1 hits and values; in the failover case the writer lost writes and
 * then resumed, every reader started a new session after the failover (a fence: its L1 emptied),
 * and the shares are taken over the reads in those sessions (see staleness-sentinel.int.test.ts).
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { requireRedisCli, useRedisCluster } from '../../helpers/redis-cluster.js'
import { requireRedis } from '../../helpers/redis-server.js'
import { monotonicNowMs } from '../../helpers/staleness-checker.js'
import {
  type FaultContext,
  TEST_TIMEOUT_MS,
  expectExercised,
  expectNoViolations,
  runScenario,
  runUnderFaults,
  writesReached,
} from '../../helpers/staleness-scenario.js'

const hasRedis = requireRedis() && requireRedisCli()

/** `redisUrl` of every process: nothing listens there; with `cluster` its host and port are unused. */
const NO_SERVER_URL = 'redis://127.0.0.1:1'
const AFTER_FAILOVER_MS = 3_000

function fencesOf(context: FaultContext): number[] {
  return context.readers().map((progress) => progress?.fences ?? -1)
}

describe.skipIf(!hasRedis)('L1 coherence on a Redis Cluster: no stale read past maxStaleness', () => {
  // Healthy masters keep serving their slots while one is down (the default would refuse them).
  const cluster = useRedisCluster({ masters: 3, replicasPerMaster: 1, args: ['--cluster-require-full-coverage', 'no'] })
  const target = () => ({ url: NO_SERVER_URL, options: { cluster: { rootNodes: cluster.nodes.map((node) => ({ host: '127.0.0.1', port: node.port })) } } })

  it('(m) cache.set over every shard: 6,000 writes', { timeout: TEST_TIMEOUT_MS }, async () => {
    const report = await runScenario(target(), { mode: 'set', writes: 6_000 })
    expectNoViolations('cluster set', report)
    expect(report.writer.failed).toBe(0)
    expectExercised(report, 0.2, 0.5)
    for (const reader of report.readers) expect(reader.stats.coherence?.invalidationsReceived ?? 0).toBeGreaterThan(0.9 * report.writer.resolved)
  })

  it('(n) a master killed (SIGKILL) mid-run, its replica promoted', { timeout: TEST_TIMEOUT_MS }, async () => {
    let fencesAtKill: number[] = []
    let sessionsAt = Number.POSITIVE_INFINITY
    let failover = ''
    const report = await runUnderFaults(target(), {
      fault: async (context) => {
        await writesReached(context, 500)
        while (fencesOf(context).some((fences) => fences < 0)) await sleep(20)
        const [master] = await cluster.masters()
        fencesAtKill = fencesOf(context)
        context.mark(`SIGKILL master :${master!.port}`)
        const killedAt = performance.now()
        await master!.kill()
        const promoted = await cluster.waitForFailover(master!, 20_000)
        failover = `:${master!.port} -> :${promoted.port} in ${Math.round(performance.now() - killedAt)} ms`
        context.mark(`failover done, master :${promoted.port}`)
        const deadline = performance.now() + 10_000
        while (fencesOf(context).some((fences, i) => fences <= (fencesAtKill[i] ?? 0)) && performance.now() < deadline) await sleep(20)
        context.mark('every reader in a new session')
        sessionsAt = monotonicNowMs()
        await sleep(AFTER_FAILOVER_MS)
      },
    })
    expectNoViolations(`cluster failover ${failover}`, report)
    const timeline = `timeline:\n${report.timeline}`
    expect(report.writer.failed, timeline).toBeGreaterThan(0)
    expect(report.writer.resolved).toBeGreaterThanOrEqual(4_000)
    expectExercised(report, 0.1, 0.3, sessionsAt)
    report.readers.forEach((reader, i) => {
      const fencesBefore = fencesAtKill[i] ?? Number.POSITIVE_INFINITY
      expect(reader.stats.coherence?.fences ?? 0, `reader ${i}: ${fencesBefore} fences before the kill\n${timeline}`).toBeGreaterThan(fencesBefore)
    })
  })
})
