/**
 * Cross-instance L1 coherence of GenericRedisCache (on by default: Redis CLIENT TRACKING in
 * broadcast mode with NOLOOP, redirected to a second connection per cache; L1 hits are served
 * only while the instance is `verified`). Four parts, all in this one process on one Redis:
 *
 * 1. L1 hit cost: awaited `get` of 1,024 warm keys (1 KB), 1 in flight, coherence on vs
 *    `coherence: false`, interleaved. Timing starts once the cache is `verified`; any L1 miss in
 *    the measured rounds flags the row (the hits must really be L1 hits). Both rows yield to the
 *    event loop once every 1,024 gets (see YIELD_EVERY). Target: on / off >= 0.8.
 * 2. Write cost: `set` of a 1 KB object over 1,000 keys at 64 in flight by one cache while 3
 *    other caches of the namespace (all verified) held those keys in L1, vs raw @redis/client SET
 *    + msgpack encode. Target: >= 0.7x raw. For context (info): the same writer alone on its
 *    namespace, and a `coherence: false` writer. The peers run in this process, so their work
 *    on each invalidation is on the writer's CPUs.
 * 3. Invalidation lag: 4 caches with a CachePerformanceMonitor; 3 read 256 keys into L1, the
 *    fourth writes them (1 and 64 in flight); the monitor's `invalidationReceived` hook gives,
 *    per key and per reader, the time from the write resolving to the invalidation being
 *    applied. p50/p99 and counts, info only.
 * 4. A mixed workload: zipf(1.0) over 10,000 keys, 90% getOrSet / 10% set, 64 in flight,
 *    round-robin over 4 strata caches (coherence on) and, beside it, over 4 bentocache
 *    instances (memory L1 + redis L2 + Redis bus). ops/s and the ratio (info), stale reads (a
 *    read that started after a newer write of its key had resolved and still returned the older
 *    value; see {@link Truth}), and an audit after the load (keys some instance still answers
 *    with an older version 250 ms after the last write).
 */
import { deepStrictEqual } from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { performance } from 'node:perf_hooks'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

import { CachePerformanceMonitor, type GenericRedisCache, type MonitorSink } from '../../src/index.js'
import { prng } from '../../tests/helpers/prng.js'
import {
  type BentoWithBus,
  bentocacheWithBus,
  rawRedis,
  strataL2Failures,
  strataRedis,
  strataVerified,
} from '../contenders.js'
import {
  type BenchCase,
  type BenchContext,
  type CaseResult,
  type Payload,
  type Scenario,
  type TargetCheck,
  Samples,
  check,
  fmtInt,
  fmtUs,
  info,
  infoValue,
  payload,
  rate,
  runCases,
  runLoad,
  sleep,
  yieldingEvery,
  zipfSequence,
} from '../helpers.js'

const NAME = 'coherence'

/** What one part contributes to the scenario's result. */
interface Part {
  cases: CaseResult[]
  checks: TargetCheck[]
  notes: string[]
  table?: { headers: string[]; rows: string[][] }
}


/** Polls `done` every millisecond; resolves the ms waited, or NaN after `timeoutMs`. */
async function until(done: () => boolean | Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = performance.now()
  while (!(await done())) {
    if (performance.now() - started > timeoutMs) return Number.NaN
    await sleep(1)
  }
  return performance.now() - started
}

const ms = (n: number): string => (Number.isFinite(n) ? `${fmtUs(n)} ms` : 'n/a')

// ---------------------------------------------------------------------------------------------
// 1. L1 hit, coherence on vs off
// ---------------------------------------------------------------------------------------------

const HIT_KEYS = 1024
/**
 * runLoad's worker never yields while every get settles in microtasks. With coherence on, that
 * is an event loop blocked for the whole round: no barrier is answered, the watchdog closes the
 * permit after maxStaleness minus one barrier period (80 ms by default) and the following gets
 * go to Redis, as designed. A server's requests arrive through sockets, so its loop turns
 * between requests; both rows here yield once every 1,024 gets (about 0.1–0.3 ms of hits).
 */
const YIELD_EVERY = 1024
const HIT_BATCH = 64

async function l1Hit({ redis, config }: BenchContext): Promise<Part> {
  const value = payload('1KB')
  const keys = Array.from({ length: HIT_KEYS }, (_, i) => `hit:${i}`)
  const on = await strataRedis(redis, 'coh_hit_on')
  const off = await strataRedis(redis, 'coh_hit_off', { coherence: false })
  try {
    const verifiedAfterMs = await strataVerified(on)
    const workload = `L1 hit 1KB, ${fmtInt(HIT_KEYS)} warm keys`
    const ON = 'strata GenericRedisCache, coherence on'
    const OFF = 'strata GenericRedisCache, coherence: false'
    const hitCase = (cache: GenericRedisCache, contender: string): BenchCase => ({
      workload,
      contender,
      concurrency: 1,
      batch: HIT_BATCH,
      note: `yields to the event loop every ${fmtInt(YIELD_EVERY)} gets; any L1 miss flags the row`,
      prepare: async () => {
        for (const k of keys) await cache.set(k, value)
        if (cache.getStats().coherence?.state !== 'off') await strataVerified(cache)
        const before = cache.getStats().l1?.hits ?? 0
        for (const k of keys) deepStrictEqual(await cache.get(k), value, `${contender} did not return the cached value`)
        const hits = (cache.getStats().l1?.hits ?? 0) - before
        if (hits !== HIT_KEYS) throw new Error(`${contender}: ${hits} of ${HIT_KEYS} warm gets were L1 hits`)
      },
      // Every L1 miss is a get answered by Redis (or not at all): not what this row measures.
      failures: () => cache.getStats().l1?.misses ?? 0,
      op: { async: yieldingEvery(YIELD_EVERY, (i) => cache.get(keys[i & (HIT_KEYS - 1)] as string)) },
    })
    const results = await runCases(NAME, [hitCase(on, ON), hitCase(off, OFF)], config)
    const r = (contender: string): number => rate(results, workload, contender)
    const onStats = on.getStats()
    const offStats = off.getStats()
    return {
      cases: results,
      checks: [check(NAME, 'L1 hit with coherence on >= 0.8x coherence off', `${ON} / ${OFF} ops/s`, r(ON) / r(OFF), '>=', 0.8)],
      notes: [
        `L1 hit: coherence on was verified ${ms(verifiedAfterMs)} after connect() resolved`,
        `L1 hit, whole case (prepare and warm-up included): coherence on ${fmtInt(onStats.l1?.hits ?? 0)} L1 hits, ${fmtInt(onStats.l1?.misses ?? 0)} L1 misses, state at the end '${onStats.coherence?.state ?? '-'}'; coherence off ${fmtInt(offStats.l1?.hits ?? 0)} hits, ${fmtInt(offStats.l1?.misses ?? 0)} misses`,
      ],
    }
  } finally {
    await on.disconnect()
    await off.disconnect()
  }
}

// ---------------------------------------------------------------------------------------------
// 2. set with 3 peers holding the keys
// ---------------------------------------------------------------------------------------------

const SET_KEYS = 1000
const SET_IN_FLIGHT = 64
const PEERS = 3

/** `count` peer processes on `namespace`, each asked the same line and answering one JSON line. */
async function startPeers(url: string, namespace: string, count: number) {
  const script = fileURLToPath(new URL('../coherence-peer.ts', import.meta.url))
  const peers = Array.from({ length: count }, () => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, url, namespace], { stdio: ['pipe', 'pipe', 'inherit'] })
    const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]()
    return { child, lines }
  })
  const ask = async (line: string): Promise<Array<Record<string, unknown>>> =>
    Promise.all(
      peers.map(async ({ child, lines }) => {
        child.stdin.write(`${line}\n`)
        const next = await lines.next()
        if (next.done === true) throw new Error('a peer process ended')
        return JSON.parse(String(next.value)) as Record<string, unknown>
      }),
    )
  const close = async (): Promise<void> => {
    await Promise.all(
      peers.map(({ child }) => {
        const exited = new Promise((resolve) => child.once('exit', resolve))
        child.stdin.end('exit\n')
        setTimeout(() => child.kill('SIGKILL'), 5000).unref()
        return exited
      }),
    )
  }
  return { ask, close }
}

async function setWithPeers({ redis, config }: BenchContext): Promise<Part> {
  const value = payload('1KB')
  const keys = Array.from({ length: SET_KEYS }, (_, i) => `cohset:${i}`)
  const key = (i: number): string => keys[i % SET_KEYS] as string
  const writer = await strataRedis(redis, 'coh_set')
  const peers: GenericRedisCache[] = []
  const aloneWriter = await strataRedis(redis, 'coh_set_alone')
  const farWriter = await strataRedis(redis, 'coh_set_far')
  const farPeers = await startPeers(redis.url, farWriter.namespace, PEERS)
  const offWriter = await strataRedis(redis, 'coh_set_off', { coherence: false })
  const raw = await rawRedis(redis)
  const rawFar = await rawRedis(redis, `${farWriter.namespace}:raw-`)
  try {
    for (let p = 0; p < PEERS; p++) peers.push(await strataRedis(redis, 'coh_set'))
    const workload = 'set 1KB'
    const ON = `strata, coherence on, ${PEERS} peers hold the keys`
    const FAR = `strata, coherence on, ${PEERS} peer processes hold the keys`
    const ALONE = 'strata, coherence on, no peers'
    const OFF = 'strata, coherence: false, no peers'
    const RAW = 'raw @redis/client SET + msgpack'
    const RAW_FAR = `raw @redis/client SET + msgpack, ${PEERS} peer processes tracking the keys`
    let peersHeld = 0
    let receivedBefore = 0
    let farHeld = 0
    let farReceivedBefore = 0
    const received = (): number => peers.reduce((n, p) => n + (p.getStats().coherence?.invalidationsReceived ?? 0), 0)
    const cases: BenchCase[] = [
      {
        workload,
        concurrency: SET_IN_FLIGHT,
        contender: ON,
        prepare: async () => {
          for (const k of keys) await writer.set(k, value)
          for (const c of [writer, ...peers]) await strataVerified(c)
          for (const p of peers) {
            const before = p.getStats().l1?.entries ?? 0
            for (const k of keys) deepStrictEqual(await p.get(k), value, 'a peer did not read the value')
            peersHeld += (p.getStats().l1?.entries ?? 0) - before
          }
          receivedBefore = received()
        },
        op: { async: (i) => writer.set(key(i), value) },
        failures: strataL2Failures(writer),
      },
      {
        workload,
        concurrency: SET_IN_FLIGHT,
        contender: FAR,
        note: `the ${PEERS} peers in their own processes (bench/coherence-peer.ts), as in a deployment; they share this machine's CPUs`,
        prepare: async () => {
          for (const k of keys) await farWriter.set(k, value)
          await strataVerified(farWriter)
          farHeld = (await farPeers.ask(`warm ${SET_KEYS} cohset:`)).reduce((n, m) => n + Number(m.held), 0)
          farReceivedBefore = (await farPeers.ask('stats')).reduce((n, m) => n + Number(m.received), 0)
        },
        op: { async: (i) => farWriter.set(key(i), value) },
        failures: strataL2Failures(farWriter),
      },
      {
        workload,
        concurrency: SET_IN_FLIGHT,
        contender: ALONE,
        note: 'informational: the writer alone on its namespace',
        prepare: async () => void (await strataVerified(aloneWriter)),
        op: { async: (i) => aloneWriter.set(key(i), value) },
        failures: strataL2Failures(aloneWriter),
      },
      {
        workload,
        concurrency: SET_IN_FLIGHT,
        contender: OFF,
        note: 'informational',
        op: { async: (i) => offWriter.set(key(i), value) },
        failures: strataL2Failures(offWriter),
      },
      { workload, concurrency: SET_IN_FLIGHT, contender: RAW, op: { async: (i) => raw.set(key(i), value) } },
      {
        workload,
        concurrency: SET_IN_FLIGHT,
        contender: RAW_FAR,
        note: `keys under the peer processes' namespace (${farWriter.namespace}:raw-…), so Redis reports every write to the peers and they spend the same CPU on this machine as in the row above`,
        op: { async: (i) => rawFar.set(key(i), value) },
      },
    ]
    const results = await runCases(NAME, cases, config)
    const r = (contender: string): number => rate(results, workload, contender, SET_IN_FLIGHT)
    const writes = writer.getStats().sets - SET_KEYS
    const peerStates = peers.map((p) => p.getStats().coherence)
    const farStats = await farPeers.ask('stats')
    const farWrites = farWriter.getStats().sets - SET_KEYS
    const farReceived = farStats.reduce((n, m) => n + Number(m.received), 0) - farReceivedBefore
    return {
      cases: results,
      checks: [
        check(NAME, `set 1 KB, ${SET_IN_FLIGHT} in flight, coherence on with ${PEERS} peer processes >= 0.7x raw SET + encode`, `${FAR} / ${RAW_FAR}`, r(FAR) / r(RAW_FAR), '>=', 0.7),
        info(NAME, `set 1 KB, coherence on with ${PEERS} peer processes vs raw without peers`, `${FAR} / raw`, r(FAR) / r(RAW)),
        info(NAME, `set 1 KB, coherence on with ${PEERS} peers in this process vs raw`, `${ON} / raw`, r(ON) / r(RAW)),
        info(NAME, 'set 1 KB, coherence on with peers vs coherence off', `${ON} / ${OFF}`, r(ON) / r(OFF)),
        info(NAME, 'set 1 KB, coherence on with peers vs without peers', `${ON} / ${ALONE}`, r(ON) / r(ALONE)),
        info(NAME, 'set 1 KB, coherence on without peers vs raw', `${ALONE} / raw`, r(ALONE) / r(RAW)),
      ],
      notes: [
        `set: before timing, the ${PEERS} peers held ${fmtInt(peersHeld)} of ${fmtInt(PEERS * SET_KEYS)} key copies in L1 (all ${PEERS + 1} caches verified); broadcast tracking reports every write of the prefix to every peer whether it holds the key or not, so after a key's first write the peers keep receiving its invalidations without holding it`,
        `set: the peers applied ${fmtInt(received() - receivedBefore)} invalidated keys for ${fmtInt(writes)} timed and warm-up writes (${(writes > 0 ? (received() - receivedBefore) / writes : 0).toFixed(2)} per write, ${PEERS} expected); peer states at the end: ${peerStates.map((s) => `${s?.state ?? '-'} (fences ${s?.fences ?? 0})`).join(', ')}`,
        `set, peer processes: they held ${fmtInt(farHeld)} of ${fmtInt(PEERS * SET_KEYS)} key copies in L1 before timing, applied ${fmtInt(farReceived)} invalidated keys for ${fmtInt(farWrites)} writes, states at the end: ${farStats.map((m) => String(m.state)).join(', ')}`,
        `set: the ${PEERS} in-process peers run in this process, so that row includes the peers' work on each invalidation (reading the push message, dropping the key); in a deployment that work is on the peers' machines`,
        `set: strata L2 writes that failed or were skipped, warm-up included: ${[writer, aloneWriter, offWriter].reduce((n, c) => n + strataL2Failures(c)(), 0)}`,
      ],
    }
  } finally {
    await farPeers.close()
    await farWriter.disconnect()
    await writer.disconnect()
    for (const p of peers) await p.disconnect()
    await aloneWriter.disconnect()
    await offWriter.disconnect()
    await raw.close()
    await rawFar.close()
  }
}

// ---------------------------------------------------------------------------------------------
// 3. Invalidation lag
// ---------------------------------------------------------------------------------------------

const LAG_KEYS = 256
const LAG_IN_FLIGHT = [1, 64] as const

interface LagTally {
  lags: Samples
  received: number
  untimed: number
  zero: number
}

const newTally = (): LagTally => ({ lags: new Samples(), received: 0, untimed: 0, zero: 0 })

async function invalidationLag({ redis, config, log }: BenchContext): Promise<Part> {
  const value = payload('1KB')
  const bursts = config.quick ? 3 : 20
  const keys = Array.from({ length: LAG_KEYS }, (_, i) => `lag:${i}`)
  const monitor = new CachePerformanceMonitor()
  let tally = newTally()
  const sink: MonitorSink = {
    invalidationReceived(_cache, count, lagMs) {
      tally.received += count
      if (lagMs === undefined) tally.untimed += count
      else {
        tally.lags.add(lagMs)
        if (lagMs === 0) tally.zero++
      }
    },
  }
  monitor.addSink(sink)
  const caches: GenericRedisCache[] = []
  try {
    let lapses = 0
    for (let c = 0; c < 1 + PEERS; c++) {
      const cache = await strataRedis(redis, 'coh_lag', { monitor })
      cache.on('coherence:change', ({ from }) => void (from === 'verified' && lapses++))
      caches.push(cache)
    }
    const writer = caches[0] as GenericRedisCache
    const readers = caches.slice(1)
    for (const k of keys) await writer.set(k, value)
    const rows: string[][] = []
    const checks: TargetCheck[] = []
    const notes: string[] = []
    for (const inFlight of LAG_IN_FLIGHT) {
      monitor.reset()
      tally = newTally()
      lapses = 0
      let writes = 0
      let drainedLate = 0
      let slowestDrainMs = 0
      for (let b = 0; b < bursts; b++) {
        for (const c of caches) await strataVerified(c)
        for (const reader of readers) {
          for (const k of keys) deepStrictEqual(await reader.get(k), value, 'a reader did not read the value')
          const held = reader.getStats().l1?.entries ?? 0
          if (held < LAG_KEYS) throw new Error(`a reader holds ${held} of ${LAG_KEYS} keys in L1`)
        }
        const expected = tally.received + readers.length * LAG_KEYS
        await runLoad((i) => writer.set(keys[i] as string, value), { concurrency: inFlight, maxOps: LAG_KEYS })
        writes += LAG_KEYS
        const drainMs = await until(() => tally.received >= expected, 1000)
        if (Number.isNaN(drainMs)) drainedLate++
        else slowestDrainMs = Math.max(slowestDrainMs, drainMs)
      }
      const summary = (await monitor.getPerformanceSummary()).coherence
      const [p50 = Number.NaN, p99 = Number.NaN, max = Number.NaN] = tally.lags.percentiles(50, 99, 100)
      const label = `${inFlight} in flight`
      rows.push([
        label,
        fmtInt(writes),
        fmtInt(tally.received),
        fmtInt(tally.lags.length),
        fmtInt(tally.zero),
        fmtUs(p50),
        fmtUs(p99),
        fmtUs(max),
        `${fmtUs(summary.lag.p50Ms)} / ${fmtUs(summary.lag.p99Ms)}`,
      ])
      checks.push(
        infoValue(NAME, `invalidation lag p50, writes ${label}`, `write resolved -> applied at ${PEERS} peers (ms)`, p50, 'ms'),
        infoValue(NAME, `invalidation lag p99, writes ${label}`, `write resolved -> applied at ${PEERS} peers (ms)`, p99, 'ms'),
        infoValue(NAME, `invalidations received, writes ${label}`, `keys applied at ${PEERS} peers for ${fmtInt(writes)} writes`, tally.received, 'keys'),
      )
      notes.push(
        `lag, ${label}: ${fmtInt(tally.untimed)} invalidations without a lag; after the last set of a burst resolved, the last invalidation arrived within ${ms(slowestDrainMs)} (slowest burst; ${drainedLate} of ${bursts} bursts still missed some after 1 s); caches left 'verified' ${lapses} times during the row`,
      )
      log(`  lag ${label}: p50 ${ms(p50)}, p99 ${ms(p99)}, ${fmtInt(tally.received)} received`)
    }
    notes.unshift(
      `lag: ${1 + PEERS} caches on one namespace with one CachePerformanceMonitor; per burst the ${PEERS} readers read ${LAG_KEYS} keys into L1 (checked), then the writer sets them (${bursts} bursts per row); a lag is measured per key and reader, from the writer's set resolving to the reader applying the invalidation (0 when it was applied before the set resolved); the table's p50/p99/max are exact, over those samples; "monitor" is the CachePerformanceMonitor summary (histogram, within 1.6%)`,
    )
    return {
      cases: [],
      checks,
      notes,
      table: {
        headers: ['writes', ' writes', ' invalidations received', ' lags timed', ' lag = 0', ' lag p50 ms', ' lag p99 ms', ' lag max ms', ' monitor p50 / p99 ms'],
        rows,
      },
    }
  } finally {
    for (const c of caches) await c.disconnect()
  }
}

// ---------------------------------------------------------------------------------------------
// 4. Mixed zipf workload, 4 instances: strata vs bentocache with its bus
// ---------------------------------------------------------------------------------------------

const ZIPF_KEYS = 10_000
const ZIPF_S = 1.0
const SET_SHARE = 0.1
/** Length of the replayed key sequence (a power of two). */
const SEQUENCE = 1 << 20
const MIX_IN_FLIGHT = 64
const INSTANCES = 4
/** strata's default maxStaleness, the bound stale reads are compared to. */
const BOUND_MS = 100
/** Resolved writes remembered per key, to date a stale read (older ones give a lower bound). */
const RING = 8
/** Quiet time before the audit, beyond strata's maxStaleness. */
const AUDIT_WAIT_MS = 250

interface Versioned {
  v: number
  p: Payload
}

/**
 * The truth the workload's reads are judged by. Each key has a "database" version (bumped when a
 * set starts, before the cache write; loaders read it) and a committed version (the newest
 * whose cache write resolved). A read is stale when it returns a version older than the one
 * committed when the read started; its age is measured from the first newer write resolving.
 *
 * At most one `set` of a key is in flight (the workload turns a second one into a getOrSet):
 * two concurrent sets of one key from two connections may reach Redis in either order, and the
 * older version ending up in Redis would be the workload's own race, not a stale cache. A
 * loader's write racing a `set` is left in: what a cache does about it is part of what is measured.
 */
class Truth {
  readonly #db = new Int32Array(ZIPF_KEYS)
  readonly #committed = new Int32Array(ZIPF_KEYS)
  readonly #writing = new Uint8Array(ZIPF_KEYS)
  readonly #ringV = new Int32Array(ZIPF_KEYS * RING)
  readonly #ringT = new Float64Array(ZIPF_KEYS * RING)
  readonly #ringHead = new Uint8Array(ZIPF_KEYS)
  readonly #value: Payload
  #version = 0
  reads = 0
  stale = 0
  staleOverBound = 0
  maxAgeMs = 0
  /** An answer that is not a versioned value. */
  wrong = 0

  constructor(value: Payload) {
    this.#value = value
  }

  get writes(): number {
    return this.#version
  }

  /** The value of a new write of `k`, or `undefined` while another write of `k` is in flight. */
  nextWrite(k: number): Versioned | undefined {
    if (this.#writing[k] === 1) return undefined
    this.#writing[k] = 1
    const v = ++this.#version
    this.#db[k] = v
    return { v, p: this.#value }
  }

  /** The write of `k` settled; `ok`: it resolved (the cache reports it done). */
  settled(k: number, v: number, ok: boolean): void {
    this.#writing[k] = 0
    if (!ok) return
    if (v > (this.#committed[k] ?? 0)) this.#committed[k] = v
    const head = this.#ringHead[k] ?? 0
    this.#ringV[k * RING + head] = v
    this.#ringT[k * RING + head] = performance.now()
    this.#ringHead[k] = (head + 1) % RING
  }

  load(k: number): Versioned {
    return { v: this.#db[k] ?? 0, p: this.#value }
  }

  floor(k: number): number {
    return this.#committed[k] ?? 0
  }

  read(k: number, floor: number, startedAt: number, got: Versioned | undefined): void {
    this.reads++
    if (got === undefined || typeof got.v !== 'number') {
      this.wrong++
      return
    }
    if (got.v >= floor) return
    this.stale++
    let supersededAt = Number.POSITIVE_INFINITY
    for (let r = k * RING; r < (k + 1) * RING; r++) {
      if ((this.#ringV[r] ?? 0) > got.v) supersededAt = Math.min(supersededAt, this.#ringT[r] ?? Number.POSITIVE_INFINITY)
    }
    const age = startedAt - supersededAt
    if (age > BOUND_MS) this.staleOverBound++
    if (age > this.maxAgeMs) this.maxAgeMs = age
  }
}

interface Fleet {
  label: string
  getOrSet(instance: number, key: string, loader: () => Versioned): Promise<Versioned | undefined>
  set(instance: number, key: string, value: Versioned): Promise<unknown>
  get(instance: number, key: string): Promise<Versioned | undefined>
}

/** One op of the workload on `fleet`: instance `i mod 4`, key and kind from the fixed sequence. */
function mixedOp(fleet: Fleet, truth: Truth, keys: readonly string[], sequence: Int32Array, kinds: Uint8Array): (i: number) => Promise<unknown> {
  return async (i) => {
    const j = i & (SEQUENCE - 1)
    const k = sequence[j] ?? 0
    const key = keys[k] as string
    const instance = i % INSTANCES
    const value = kinds[j] === 1 ? truth.nextWrite(k) : undefined
    if (value !== undefined) {
      let ok = false
      try {
        await fleet.set(instance, key, value)
        ok = true
      } finally {
        truth.settled(k, value.v, ok)
      }
      return
    }
    const floor = truth.floor(k)
    const startedAt = performance.now()
    truth.read(k, floor, startedAt, await fleet.getOrSet(instance, key, () => truth.load(k)))
  }
}

interface Audit {
  /** Keys written during the run, each read once from every instance. */
  keys: number
  /** Keys at least one instance answered with an older version than the last resolved write. */
  staleKeys: number
  /** (key, instance) answers older than the last resolved write. */
  staleCopies: number
  /** Keys every instance answered with the same older version: Redis itself holds it (a lost update). */
  staleEverywhere: number
}

/**
 * After the load: waits `AUDIT_WAIT_MS` (more than strata's maxStaleness), then reads every key
 * the run wrote from every instance and compares it with the last resolved write.
 */
async function audit(fleet: Fleet, truth: Truth, keys: readonly string[]): Promise<Audit> {
  await sleep(AUDIT_WAIT_MS)
  const result: Audit = { keys: 0, staleKeys: 0, staleCopies: 0, staleEverywhere: 0 }
  for (let k = 0; k < ZIPF_KEYS; k++) {
    const floor = truth.floor(k)
    if (floor === 0) continue
    result.keys++
    const seen: number[] = []
    for (let i = 0; i < INSTANCES; i++) {
      const got = await fleet.get(i, keys[k] as string)
      if (got !== undefined && got.v < floor) seen.push(got.v)
    }
    if (seen.length === 0) continue
    result.staleKeys++
    result.staleCopies += seen.length
    if (seen.length === INSTANCES && seen.every((v) => v === seen[0])) result.staleEverywhere++
  }
  return result
}

/**
 * Checks that a write by any instance reaches the L1 of every other: instance `w` writes a key
 * the others hold in L1, then each other is read until it returns the new value (250 ms at
 * most). Retried with a new key until one round reaches all (bentocache's bus subscribes in the
 * background, and a message published before that is lost). Resolves the attempts it took and
 * the slowest ms of the last round, from the write resolving to the new value being read.
 */
async function probe(fleet: Fleet, value: Payload): Promise<{ attempts: number; ms: number }> {
  for (let attempt = 1; attempt <= 20; attempt++) {
    let slowest = 0
    for (let w = 0; w < INSTANCES; w++) {
      const key = `probe:${attempt}:${w}`
      await fleet.set(w, key, { v: -2, p: value })
      for (let i = 0; i < INSTANCES; i++) {
        await fleet.get(i, key)
        if ((await fleet.get(i, key))?.v !== -2) throw new Error(`${fleet.label}: instance ${i} did not read the probe`)
      }
      await fleet.set(w, key, { v: -1, p: value })
      for (let i = 0; i < INSTANCES; i++) {
        if (i === w) continue
        slowest = Math.max(slowest, await until(async () => (await fleet.get(i, key))?.v === -1, 250))
      }
    }
    if (!Number.isNaN(slowest)) return { attempts: attempt, ms: slowest }
  }
  throw new Error(`${fleet.label}: writes did not reach the other instances' L1 in 20 attempts`)
}

async function mixedZipf({ redis, config }: BenchContext): Promise<Part> {
  const value = payload('1KB')
  const keys = Array.from({ length: ZIPF_KEYS }, (_, i) => `z:${i}`)
  const sequence = zipfSequence(ZIPF_KEYS, ZIPF_S, SEQUENCE, 0x21bf)
  const kinds = new Uint8Array(SEQUENCE)
  const rand = prng(0x5e7)
  for (let j = 0; j < SEQUENCE; j++) kinds[j] = rand() < SET_SHARE ? 1 : 0
  const hottest = sequence.reduce((n, k) => n + (k === 0 ? 1 : 0), 0) / SEQUENCE

  const stratas: GenericRedisCache[] = []
  const bentos: Array<{ cache: BentoWithBus; close(): Promise<void> }> = []
  try {
    for (let c = 0; c < INSTANCES; c++) stratas.push(await strataRedis(redis, 'coh_mix'))
    for (let c = 0; c < INSTANCES; c++) bentos.push(bentocacheWithBus(redis, 'mix'))
    const s = (i: number): GenericRedisCache => stratas[i] as GenericRedisCache
    const b = (i: number): BentoWithBus => (bentos[i] as { cache: BentoWithBus }).cache
    const strataFleet: Fleet = {
      label: `strata GenericRedisCache x${INSTANCES}, coherence on`,
      getOrSet: (i, key, loader) => s(i).getOrSet<Versioned>(key, loader),
      set: (i, key, v) => s(i).set(key, v),
      get: (i, key) => s(i).get<Versioned>(key),
    }
    const bentoFleet: Fleet = {
      label: `bentocache x${INSTANCES}, memory L1 + redis L2 + redis bus`,
      getOrSet: (i, key, loader) => b(i).getOrSet({ key, factory: loader }),
      set: (i, key, v) => b(i).set({ key, value: v }),
      get: (i, key) => b(i).get<Versioned>({ key }),
    }
    const truths = new Map<Fleet, Truth>([
      [strataFleet, new Truth(value)],
      [bentoFleet, new Truth(value)],
    ])
    const probes = new Map<Fleet, { attempts: number; ms: number }>()
    const workload = `zipf(${ZIPF_S}) ${fmtInt(ZIPF_KEYS)} keys, 90% getOrSet / 10% set, 1KB`
    const strataFailures = (): number => stratas.reduce((n, c) => n + strataL2Failures(c)(), 0)
    const cases: BenchCase[] = [strataFleet, bentoFleet].map((fleet) => {
      const truth = truths.get(fleet) as Truth
      return {
        workload,
        contender: fleet.label,
        concurrency: MIX_IN_FLIGHT,
        note: `round-robin over ${INSTANCES} instances in this process`,
        prepare: async () => {
          if (fleet === strataFleet) for (const c of stratas) await strataVerified(c)
          probes.set(fleet, await probe(fleet, value))
          // Redis starts with every key (version 0), as in a running deployment; L1s fill in the warm-up.
          await runLoad((i) => fleet.set(i % INSTANCES, keys[i] as string, truth.load(i)), { concurrency: MIX_IN_FLIGHT, maxOps: ZIPF_KEYS })
        },
        failures: fleet === strataFleet ? () => strataFailures() + truth.wrong : () => truth.wrong,
        op: { async: mixedOp(fleet, truth, keys, sequence, kinds) },
      }
    })
    const results = await runCases(NAME, cases, config)
    const audits = new Map<Fleet, Audit>()
    for (const fleet of [strataFleet, bentoFleet]) audits.set(fleet, await audit(fleet, truths.get(fleet) as Truth, keys))
    const r = (contender: string): number => rate(results, workload, contender, MIX_IN_FLIGHT)
    const checks: TargetCheck[] = [info(NAME, 'mixed zipf, 4 instances: strata vs bentocache with bus', 'strata x4 / bentocache x4 ops/s', r(strataFleet.label) / r(bentoFleet.label))]
    const notes = [
      `mixed: zipf(${ZIPF_S}) over ${fmtInt(ZIPF_KEYS)} keys (the hottest key takes ${(hottest * 100).toFixed(1)}% of ops), a fixed sequence of ${fmtInt(SEQUENCE)} (key, kind) pairs, ${SET_SHARE * 100}% set; values { v: version, p: the 1 KB object }; loaders return the key's current "database" version; before warm-up every key is written once (version 0), so Redis holds the whole key space and the L1s start empty`,
      `mixed: a stale read started after a newer write of its key had resolved and returned an older version; its age runs from the first newer write resolving to the read starting; ${BOUND_MS} ms is strata's default maxStaleness (counts include warm-up); at most one set per key is in flight (a set that would overlap another of its key is run as a getOrSet), so two sets of a key never race each other, while a loader's write may race a set`,
      `mixed: audit after the load: ${AUDIT_WAIT_MS} ms without writes, then every key the run wrote is read from each of the ${INSTANCES} instances and compared with its last resolved write`,
    ]
    for (const fleet of [strataFleet, bentoFleet]) {
      const t = truths.get(fleet) as Truth
      const short = fleet === strataFleet ? 'strata' : 'bentocache'
      const a = audits.get(fleet) as Audit
      checks.push(
        infoValue(NAME, `mixed zipf, ${short}: keys still stale ${AUDIT_WAIT_MS} ms after the load`, `of ${fmtInt(a.keys)} keys written; ${fmtInt(a.staleCopies)} stale (key, instance) answers; ${fmtInt(a.staleEverywhere)} keys stale in all ${INSTANCES} (in Redis)`, a.staleKeys, 'keys'),
        infoValue(NAME, `mixed zipf, ${short}: stale reads`, `of ${fmtInt(t.reads)} reads (${((t.stale / Math.max(1, t.reads)) * 100).toFixed(3)}%)`, t.stale, 'reads'),
        infoValue(NAME, `mixed zipf, ${short}: stale reads older than ${BOUND_MS} ms`, `max age ${ms(t.maxAgeMs)}`, t.staleOverBound, 'reads'),
      )
      notes.push(
        `mixed, ${short}: ${fmtInt(t.reads)} reads, ${fmtInt(t.writes)} writes, ${fmtInt(t.stale)} stale reads (${fmtInt(t.staleOverBound)} older than ${BOUND_MS} ms, oldest ${ms(t.maxAgeMs)}), ${fmtInt(t.wrong)} wrong answers; cross-instance probe before timing (each instance writes a key all others hold in L1): every other instance read the new value within ${ms(probes.get(fleet)?.ms ?? Number.NaN)} of the write resolving (attempt ${probes.get(fleet)?.attempts ?? '-'})`,
      )
    }
    const states = stratas.map((c) => c.getStats())
    notes.push(
      `mixed, strata: L1 hits ${fmtInt(states.reduce((n, st) => n + (st.l1?.hits ?? 0), 0))}, L2 hits ${fmtInt(states.reduce((n, st) => n + (st.l2?.hits ?? 0), 0))}, invalidations received ${fmtInt(states.reduce((n, st) => n + (st.coherence?.invalidationsReceived ?? 0), 0))}, L2 failures ${strataFailures()}, states at the end ${states.map((st) => st.coherence?.state ?? '-').join(', ')}`,
    )
    return { cases: results, checks, notes }
  } finally {
    for (const c of stratas) await c.disconnect()
    for (const c of bentos) await c.close()
  }
}

export const scenario: Scenario = {
  name: NAME,
  title: 'cross-instance L1 coherence: L1 hit and set cost, invalidation lag, 4-instance zipf mix',
  async run(ctx) {
    const parts: Part[] = []
    for (const part of [l1Hit, setWithPeers, invalidationLag, mixedZipf]) {
      ctx.log(`  ${part.name}`)
      parts.push(await part(ctx))
    }
    const table = parts.find((p) => p.table)?.table
    return {
      cases: parts.flatMap((p) => p.cases),
      checks: parts.flatMap((p) => p.checks),
      notes: parts.flatMap((p) => p.notes),
      ...(table ? { table } : {}),
    }
  },
}
