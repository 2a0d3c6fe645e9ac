import { createClient } from '@redis/client'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import { setTimeout as sleep } from 'node:timers/promises'
import { describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/core/generic-redis-cache.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()

const L2_TIMEOUT_MS = 100
/** A getOrSet may wait on two L2 calls (the read, then the write) plus its loader. */
const CALL_CEILING_MS = 2 * L2_TIMEOUT_MS + 150

interface LoadReport {
  calls: number
  rejected: unknown[]
  wrong: string[]
  slowestMs: number
  /**
   * Longest event-loop stall seen during the load, in ms. Deadlines are timers: on a loaded
   * machine (a parallel test run, coverage) every timer fires that much late, whatever the
   * cache does, so the ceiling allows for it.
   */
  loopStallMs: number
}

/** Keeps `workers` getOrSet loops running until `stop` resolves; checks every answer. */
async function runLoad(cache: GenericRedisCache, workers: number, stop: Promise<void>): Promise<LoadReport> {
  const report: LoadReport = { calls: 0, rejected: [], wrong: [], slowestMs: 0, loopStallMs: 0 }
  const loopDelay = monitorEventLoopDelay({ resolution: 10 })
  loopDelay.enable()
  void stop.then(() => {
    loopDelay.disable()
    report.loopStallMs = loopDelay.max / 1e6
  })
  let running = true
  void stop.then(() => (running = false))
  await Promise.all(
    Array.from({ length: workers }, async (_, worker) => {
      for (let i = 0; running; i++) {
        const key = `k${(worker * 7 + i) % 200}`
        const started = performance.now()
        try {
          const value = await cache.getOrSet(key, async () => `v:${key}`, { ttl: '1m' })
          if (value !== `v:${key}`) report.wrong.push(`${key} -> ${String(value)}`)
        } catch (error) {
          report.rejected.push(error)
        }
        report.slowestMs = Math.max(report.slowestMs, performance.now() - started)
        report.calls++
        // Let timers fire: the loop must not starve the event loop when L1 answers synchronously.
        if (i % 20 === 0) await sleep(1)
      }
    }),
  )
  return report
}

describe.skipIf(!hasRedis)('GenericRedisCache when Redis fails under load', () => {
  const server = useRedisServer()

  async function makeCache(): Promise<GenericRedisCache> {
    const cache = new GenericRedisCache({
      redisUrl: server.url,
      namespace: uniqueNamespace('fault'),
      l2Timeout: L2_TIMEOUT_MS,
      // A small L1 keeps most reads going to Redis, so the fault is felt.
      l1: { maxEntries: 20 },
    })
    expect(await cache.connect()).toBe(true)
    return cache
  }

  /**
   * After a fault: the cache writes to Redis again by itself within `withinMs` of the server
   * being back, seen through a separate client.
   */
  async function expectRecovered(cache: GenericRedisCache, withinMs: number): Promise<void> {
    const probe = createClient({ url: server.url })
    await probe.connect()
    try {
      await expect
        .poll(
          async () => {
            await cache.set('recovered', Date.now())
            return probe.exists(`${cache.namespace}:recovered`)
          },
          { timeout: withinMs, interval: 20 },
        )
        .toBe(1)
      expect(cache.getStats().l2?.connected).toBe(true)
    } finally {
      await probe.close()
    }
  }

  it('SIGKILL mid-load: no call rejects or hangs, answers stay correct, and it recovers', async () => {
    const cache = await makeCache()
    const transitions: string[] = []
    cache.on('circuit:change', ({ from, to }) => transitions.push(`${from}->${to}`))
    const load = runLoad(cache, 50, sleep(2_500))
    await sleep(400)
    await server.kill()
    await sleep(800)
    await server.restart()
    // Redis is back: the cache must use it again within a second, with no restart of the app.
    await expectRecovered(cache, 1_000)
    const report = await load
    expect(report.rejected).toEqual([])
    expect(report.wrong).toEqual([])
    expect(report.calls).toBeGreaterThan(1_000)
    expect(report.slowestMs).toBeLessThan(CALL_CEILING_MS + report.loopStallMs)
    // The operator can see the degraded period: the breaker opened and closed again.
    expect(transitions[0]).toBe('closed->open')
    expect(transitions.at(-1)).toMatch(/->closed$/)
    expect(cache.getStats().l2?.circuit).toBe('closed')
    await cache.disconnect()
  })

  it('SIGSTOP mid-load: no call waits past its deadline, and it resumes after SIGCONT', async () => {
    const cache = await makeCache()
    const load = runLoad(cache, 50, sleep(3_000))
    await sleep(400)
    server.pause()
    await sleep(1_500)
    server.resume()
    await expectRecovered(cache, 1_000)
    const report = await load
    expect(report.rejected).toEqual([])
    expect(report.wrong).toEqual([])
    expect(report.slowestMs).toBeLessThan(CALL_CEILING_MS + report.loopStallMs)
    expect(cache.getStats().l2?.errors).toBeGreaterThan(0)
    await cache.disconnect()
  })

  it('disconnect() settles promptly while Redis is frozen', async () => {
    const cache = await makeCache()
    server.pause()
    try {
      const started = performance.now()
      await cache.disconnect()
      expect(performance.now() - started).toBeLessThan(1_000)
    } finally {
      server.resume()
    }
  })
})
