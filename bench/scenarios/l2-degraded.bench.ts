/**
 * `get` while Redis is healthy, dead and frozen, on a cache with an explicit L2 deadline.
 *
 * Target (issue): with Redis dead (port closed) and with Redis frozen, the p99 of `get` stays at
 * or under the configured L2 deadline, and the L1 hit rate stays as before.
 *
 * Setup: a private redis-server started for this scenario only (also when `REDIS_URL` is set),
 * so it can be SIGKILLed, restarted and SIGSTOPped without touching the bench's Redis. One
 * GenericRedisCache with `l2Timeout: 100ms`, L1 of 1,000 entries, everything else default
 * (breaker: 5 failures, open 1 s). 1,250 keys hold the 1 KB object in Redis; 64 gets in flight
 * read them uniformly at random (a fixed sequence). With 1,000 of the 1,250 keys in L1, about
 * 80% of reads are L1 hits in every phase: while Redis is healthy an L1 miss is read from Redis
 * and fills L1 (evicting another key), and while Redis is down nothing fills or empties L1.
 *
 * Phases, each measured the same way (one continuous load of `windows` x `windowMs`, started at
 * the moment of the fault so the transition is inside the measurement):
 * (a) healthy; (b) dead: the server SIGKILLed under the connected cache; (b2) dead from the
 * start: a second cache pointed at a closed port; (c) frozen: SIGSTOP, then SIGCONT afterwards.
 * Reported per phase: ops/s, p50, p99, max, gets over the deadline, L1 hit rate (getStats()
 * deltas), and how each get ended (value, miss, rejection, no answer within 2 s).
 */
import net from 'node:net'
import { monitorEventLoopDelay, performance } from 'node:perf_hooks'

import { GenericRedisCache } from '../../src/index.js'
import { type RedisServer, findRedisServer, startRedis } from '../../tests/helpers/redis-server.js'
import { KEY_PREFIX } from '../contenders.js'
import {
  type CaseResult,
  type Payload,
  type Scenario,
  Samples,
  check,
  fmtInt,
  fmtUs,
  info,
  payload,
  sleep,
} from '../helpers.js'

const L2_TIMEOUT_MS = 100
/** Only used to count gets "over the deadline + margin"; the p99 check itself has no margin. */
const MARGIN_MS = 10
const L1_ENTRIES = 1_000
const KEYS = 1_250
const IN_FLIGHT = 64
/** A get still unsettled after this long counts as hung (and the load moves on). */
const HANG_MS = 2_000
const NAMESPACE = `${KEY_PREFIX}_strata_degraded`
const WORKLOAD = `get 1KB, ${KEYS} keys, L1 ${L1_ENTRIES} (l2Timeout ${L2_TIMEOUT_MS} ms)`

/** Fixed pseudo-random key order (mulberry32), so every run reads the same sequence. */
const SEQUENCE = ((): Uint16Array => {
  let s = 0x1ee7
  const out = new Uint16Array(1 << 16)
  for (let i = 0; i < out.length; i++) {
    s = (s + 0x6d2b79f5) | 0
    let t = Math.imul(s ^ (s >>> 15), 1 | s)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    out[i] = Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * KEYS)
  }
  return out
})()
const keyOf = (i: number): string => `deg:${i}`

interface Phase {
  label: string
  contender: string
  /** Whether misses are expected (Redis unavailable) or are failures (Redis healthy). */
  degraded: boolean
  ops: number
  opsPerSec: number
  spreadPct: number
  p50Us: number
  p99Us: number
  maxUs: number
  /** Gets that took at least 95% of the deadline (they waited for it). */
  atDeadline: number
  overDeadline: number
  l1HitRate: number
  /** Longest event-loop delay seen during the phase (a get's latency includes it). */
  loopDelayMaxMs: number
  values: number
  misses: number
  rejected: number
  hung: number
  wrong: number
  l2Errors: number
  l2Skipped: number
  circuitAtEnd: string
}

const HUNG = Symbol('hung')

function withWatchdog<T>(promise: Promise<T>): Promise<T | typeof HUNG> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => resolve(HUNG), HANG_MS)
    promise.then(
      (v) => {
        clearTimeout(timer)
        resolve(v)
      },
      (e: unknown) => {
        clearTimeout(timer)
        reject(e instanceof Error ? e : new Error(String(e)))
      },
    )
  })
}

/**
 * The load: {@link IN_FLIGHT} workers, each yielding to the event loop (`setImmediate`) before
 * its next get, as a server whose requests arrive through sockets does, and timing the get
 * alone. helpers' `runLoad` does not yield: once Redis is down every get here settles in
 * microtasks (an L1 hit or an instant miss), so its workers would never let timers and sockets
 * run for a whole round: deadline timers, the health PING and the reconnect would all be
 * starved, which measures the harness rather than the cache.
 */
async function drive(op: () => Promise<void>, durationMs: number): Promise<{ ops: number; elapsedMs: number; samples: Samples }> {
  const samples = new Samples()
  const start = performance.now()
  const deadline = start + durationMs
  let ops = 0
  const worker = async (): Promise<void> => {
    while (performance.now() < deadline) {
      await new Promise<void>((resolve) => setImmediate(resolve))
      const t0 = performance.now()
      await op()
      samples.add((performance.now() - t0) * 1000)
      ops++
    }
  }
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker))
  return { ops, elapsedMs: performance.now() - start, samples }
}

/** A port nothing listens on: bound by the OS, then closed. */
function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('no port from the OS'))))
    })
  })
}

/**
 * Gets a key that is not in L1 every 10 ms until one is answered by Redis (no L2 error, not
 * skipped): the time until the cache uses Redis again. Polling the stats alone would not do, as
 * the breaker only moves to half-open when a call asks for L2. Resolves NaN after `limitMs`.
 */
async function untilServed(cache: GenericRedisCache, limitMs: number): Promise<number> {
  const t0 = performance.now()
  while (performance.now() - t0 < limitMs) {
    const before = cache.getStats().l2
    await cache.get('deg:probe')
    const after = cache.getStats().l2
    if (after?.errors === before?.errors && after?.skipped === before?.skipped) return performance.now() - t0
    await sleep(10)
  }
  return Number.NaN
}

function newCache(url: string): GenericRedisCache {
  return new GenericRedisCache({
    redisUrl: url,
    namespace: NAMESPACE,
    l1: { maxEntries: L1_ENTRIES },
    l2Timeout: `${L2_TIMEOUT_MS}ms`,
    connectTimeout: '500ms',
  })
}

export const scenario: Scenario = {
  name: 'l2-degraded',
  title: `get with Redis healthy, dead and frozen (l2Timeout ${L2_TIMEOUT_MS} ms, ${IN_FLIGHT} in flight)`,
  async run({ config, log }) {
    if (findRedisServer() === undefined) {
      return { cases: [], checks: [], notes: ['skipped: needs a redis-server binary (PATH or REDIS_SERVER_BIN) for its private server'] }
    }
    const value = payload('1KB')
    const windows = config.quick ? 4 : 10
    const windowMs = config.quick ? 250 : config.roundMs
    let cursor = 0
    let server: RedisServer | undefined
    const caches: GenericRedisCache[] = []
    try {
      server = await startRedis()
      const cache = newCache(server.url)
      caches.push(cache)
      if (!(await cache.connect())) throw new Error(`l2-degraded: cannot connect to its private redis-server at ${server.url}`)

      const fill = async (target: GenericRedisCache): Promise<void> => {
        for (let i = 0; i < KEYS; i += 250) {
          const n = Math.min(250, KEYS - i)
          await target.setMany(Array.from({ length: n }, (_, j) => ({ key: keyOf(i + j), value })))
        }
      }

      /** Runs the read load on `target` for one phase and summarises it. */
      const measure = async (target: GenericRedisCache, label: string, contender: string, degraded: boolean): Promise<Phase> => {
        const tally = { values: 0, misses: 0, rejected: 0, hung: 0, wrong: 0 }
        const op = async (): Promise<void> => {
          const k = keyOf(SEQUENCE[cursor++ & 0xffff] ?? 0)
          try {
            const got = await withWatchdog(target.get<Payload>(k))
            if (got === HUNG) tally.hung++
            else if (got === undefined) tally.misses++
            else if (got.id === value.id && got.bio === value.bio) tally.values++
            else tally.wrong++
          } catch {
            tally.rejected++
          }
        }
        const before = target.getStats()
        const loop = monitorEventLoopDelay({ resolution: 5 })
        loop.enable()
        const samples = new Samples()
        const rates: number[] = []
        let ops = 0
        for (let w = 0; w < windows; w++) {
          const r = await drive(op, windowMs)
          rates.push((r.ops / r.elapsedMs) * 1000)
          samples.addAll(r.samples)
          ops += r.ops
        }
        loop.disable()
        const after = target.getStats()
        const l1Hits = (after.l1?.hits ?? 0) - (before.l1?.hits ?? 0)
        const l1Misses = (after.l1?.misses ?? 0) - (before.l1?.misses ?? 0)
        const [p50 = Number.NaN, p99 = Number.NaN] = samples.percentiles(50, 99)
        let maxUs = 0
        let overDeadline = 0
        let atDeadline = 0
        for (const us of samples.values()) {
          if (us > maxUs) maxUs = us
          if (us >= L2_TIMEOUT_MS * 950) atDeadline++
          if (us > (L2_TIMEOUT_MS + MARGIN_MS) * 1000) overDeadline++
        }
        const sorted = [...rates].sort((a, b) => a - b)
        const med = sorted[Math.floor(sorted.length / 2)] ?? Number.NaN
        return {
          label,
          contender,
          degraded,
          ops,
          opsPerSec: med,
          spreadPct: rates.length > 1 && med > 0 ? ((Math.max(...rates) - Math.min(...rates)) / med) * 100 : 0,
          p50Us: p50,
          p99Us: p99,
          maxUs,
          atDeadline,
          overDeadline,
          l1HitRate: l1Hits + l1Misses === 0 ? Number.NaN : l1Hits / (l1Hits + l1Misses),
          loopDelayMaxMs: loop.max / 1e6,
          ...tally,
          l2Errors: (after.l2?.errors ?? 0) - (before.l2?.errors ?? 0),
          l2Skipped: (after.l2?.skipped ?? 0) - (before.l2?.skipped ?? 0),
          circuitAtEnd: after.l2?.circuit ?? 'n/a',
        }
      }
      const notes: string[] = []

      // (a) healthy
      await fill(cache)
      await drive(async () => void (await cache.get(keyOf(SEQUENCE[cursor++ & 0xffff] ?? 0))), config.warmupMs)
      log('  (a) Redis healthy')
      const healthy = await measure(cache, '(a) healthy', 'strata GenericRedisCache: Redis healthy', false)

      // (b) dead under load: SIGKILL, measured from that moment
      log('  (b) Redis dead (SIGKILL)')
      await server.kill()
      const dead = await measure(cache, '(b) dead: SIGKILL', 'strata: Redis dead (SIGKILLed)', true)
      await server.restart()
      const afterRestartMs = await untilServed(cache, 10_000)
      notes.push(`after (b), a get was answered by Redis again ${Number.isNaN(afterRestartMs) ? 'NOT within 10 s' : `${fmtInt(afterRestartMs)} ms`} after the restart (server restarted on the same port, empty)`)

      // (b2) dead from the start: a cache on a closed port; L1 filled by set() (the L2 writes are skipped)
      log('  (b2) Redis dead from the start (closed port)')
      const port = await closedPort()
      const orphan = newCache(`redis://127.0.0.1:${port}`)
      caches.push(orphan)
      const orphanConnected = await orphan.connect()
      await fill(orphan)
      const closed = await measure(orphan, '(b2) dead: closed port', 'strata: Redis dead from the start (closed port)', true)
      if (orphanConnected) notes.push(`(b2): connect() to closed port ${port} resolved true: someone is listening there, the row is not meaningful`)
      await orphan.disconnect()

      // (c) frozen under load: SIGSTOP, measured from that moment, then SIGCONT
      await fill(cache)
      const warm = await measure(cache, 'warm-up', 'warm-up', false)
      if (warm.misses + warm.rejected + warm.hung + warm.wrong > 0) notes.push(`warm-up before (c) had ${warm.misses} misses: Redis was not fully back`)
      log('  (c) Redis frozen (SIGSTOP)')
      server.pause()
      let frozen: Phase
      try {
        frozen = await measure(cache, '(c) frozen: SIGSTOP', 'strata: Redis frozen (SIGSTOPped)', true)
      } finally {
        server.resume()
      }
      const afterResumeMs = await untilServed(cache, 10_000)
      notes.push(`after (c), a get was answered by Redis again ${Number.isNaN(afterResumeMs) ? 'NOT within 10 s' : `${fmtInt(afterResumeMs)} ms`} after SIGCONT`)

      const phases = [healthy, dead, closed, frozen]
      const cases: CaseResult[] = phases.map((p) => {
        const failures = p.rejected + p.hung + p.wrong + (p.degraded ? 0 : p.misses)
        return {
          scenario: this.name,
          workload: WORKLOAD,
          contender: p.contender,
          concurrency: IN_FLIGHT,
          ops: p.ops,
          opsPerSec: p.opsPerSec,
          spreadPct: p.spreadPct,
          p50Us: p.p50Us,
          p99Us: p.p99Us,
          batch: 1,
          failures,
          note: `L1 hit rate ${(p.l1HitRate * 100).toFixed(1)}%; max ${fmtUs(p.maxUs / 1000)} ms${p.degraded ? `; ${fmtInt(p.misses)} misses (expected: Redis unavailable)` : ''}`,
        }
      })
      const ms = (us: number): string => `${(us / 1000).toFixed(us < 1000 ? 3 : 1)} ms`
      const checks = [
        ...[dead, closed, frozen].flatMap((p) => [
          check(
            this.name,
            `p99 of get <= l2Timeout, ${p.label}`,
            `l2Timeout ${L2_TIMEOUT_MS} ms / p99 ${ms(p.p99Us)} (no margin)`,
            (L2_TIMEOUT_MS * 1000) / p.p99Us,
            '>=',
            1,
          ),
          check(this.name, `every get resolves (no rejection, none unsettled after ${HANG_MS} ms), ${p.label}`, 'rejected + hung + wrong values', p.rejected + p.hung + p.wrong, '==', 0),
          info(this.name, `L1 hit rate vs healthy, ${p.label}`, `${(p.l1HitRate * 100).toFixed(1)}% / ${(healthy.l1HitRate * 100).toFixed(1)}%`, p.l1HitRate / healthy.l1HitRate),
          info(this.name, `slowest get vs l2Timeout, ${p.label}`, `max ${ms(p.maxUs)} / ${L2_TIMEOUT_MS} ms`, p.maxUs / (L2_TIMEOUT_MS * 1000)),
        ]),
      ]
      const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a')
      const table = {
        headers: [
          'phase',
          ' ops/s',
          ' p50 µs',
          ' p99 µs',
          ' max ms',
          ` >= ${L2_TIMEOUT_MS * 0.95} ms`,
          ` > ${L2_TIMEOUT_MS + MARGIN_MS} ms`,
          ' L1 hit rate',
          ' loop delay max ms',
          ' gets',
          ' value',
          ' miss',
          ' rejected',
          ' hung',
          ' L2 errors',
          ' L2 skipped',
          'breaker at end',
        ],
        rows: phases.map((p) => [
          p.label,
          fmtInt(p.opsPerSec),
          fmtUs(p.p50Us),
          fmtUs(p.p99Us),
          (p.maxUs / 1000).toFixed(1),
          fmtInt(p.atDeadline),
          fmtInt(p.overDeadline),
          pct(p.l1HitRate),
          p.loopDelayMaxMs.toFixed(1),
          fmtInt(p.ops),
          fmtInt(p.values),
          fmtInt(p.misses),
          fmtInt(p.rejected),
          fmtInt(p.hung),
          fmtInt(p.l2Errors),
          fmtInt(p.l2Skipped),
          p.circuitAtEnd,
        ]),
      }
      notes.unshift(
        `private redis-server ${server.url} (pid-controlled, started for this scenario); l2Timeout ${L2_TIMEOUT_MS} ms, breaker defaults (5 failures, open 1 s), L1 ${L1_ENTRIES} entries over ${KEYS} keys read uniformly, ${IN_FLIGHT} in flight; each phase ${windows} x ${windowMs} ms of load started right at the fault`,
        `the p99 check has no margin; ">= ${L2_TIMEOUT_MS * 0.95} ms" counts the gets that waited for the deadline, "> ${L2_TIMEOUT_MS + MARGIN_MS} ms" those slower than the deadline plus a ${MARGIN_MS} ms scheduling margin; "loop delay max" is the longest event-loop stall of the phase (monitorEventLoopDelay), which any get in flight also waited`,
      )
      return { cases, checks, notes, table, extra: { l2TimeoutMs: L2_TIMEOUT_MS, marginMs: MARGIN_MS, keys: KEYS, l1Entries: L1_ENTRIES, phases } }
    } finally {
      for (const c of caches) await c.disconnect().catch(() => undefined)
      await server?.stop()
    }
  },
}
