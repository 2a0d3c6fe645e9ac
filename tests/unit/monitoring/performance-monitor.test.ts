import { describe, expect, it } from 'vitest'

import { InvalidOptionsError } from '../../../src/errors.js'
import { LatencyHistogram } from '../../../src/monitoring/latency-histogram.js'
import type { MonitoredCache, MonitorSink } from '../../../src/monitoring/monitor-sink.js'
import { CachePerformanceMonitor } from '../../../src/monitoring/performance-monitor.js'
import type { PerformanceSummary } from '../../../src/monitoring/performance-summary.js'
import { FakeClock } from '../../helpers/fake-clock.js'

const STARTED = 1_700_000_000_000

function setup() {
  const clock = new FakeClock(STARTED)
  const monitor = new CachePerformanceMonitor({ now: () => clock.now() })
  return { clock, monitor }
}

/** The latency summary the monitor should report for these samples (the histogram has its own tests). */
function latencyOf(...samples: number[]) {
  const histogram = new LatencyHistogram()
  for (const s of samples) histogram.record(s)
  return histogram.summary()
}

/** A sink whose every method appends [method, ...args] to `calls`. */
function recorder(calls: unknown[][]): Required<MonitorSink> {
  return new Proxy({} as Required<MonitorSink>, {
    get: (_target, method: string) => (...args: unknown[]) => calls.push([method, ...args]),
  })
}

/** Every sink method, for scripting a sequence of reports. */
function script(sink: Required<MonitorSink>): void {
  sink.operation('app', 'get', 'l1', 0.002)
  sink.operation('app', 'get', 'l1', Number.NaN)
  sink.operation('app', 'get', 'l2', 0.8)
  sink.operation('app', 'get', 'none', 1.2)
  sink.operation('app', 'getOrSet', 'loader', 25)
  sink.operation('app', 'set', 'none', 0.9)
  sink.lookup('app', 'l1', true)
  sink.lookup('app', 'l1', true)
  sink.lookup('app', 'l1', false)
  sink.lookup('app', 'l1', false)
  sink.lookup('app', 'l1', false)
  sink.lookup('app', 'l2', true)
  sink.lookup('app', 'l2', false)
  sink.lookup('app', 'l2', false)
  sink.operation('sessions', 'get', 'l2', 1.5)
  sink.lookup('sessions', 'l2', true)
  sink.lookup('sessions', 'l2', false)
  sink.compression('app', 10_000, 2_500, 0.4)
  sink.compression('app', 6_000, 3_500, Number.NaN)
  sink.invalidation('app', 'pattern', 12)
  sink.invalidation('app', 'pattern', 3)
  sink.invalidation('app', 'tag', 5)
  sink.invalidation('app', 'clear', 40)
  sink.error('app', 'deadline')
  sink.error('app', 'deadline')
  sink.error('sessions', 'decode')
  sink.circuit('app', 'closed', 'open')
  sink.circuit('app', 'open', 'half-open')
  sink.keyGeneration('ai', 0.05)
  sink.keyGeneration('ai', 0.07)
  sink.invalidationReceived('app', 3, undefined)
  sink.invalidationReceived('app', 1, 0.4)
}

const emptyTier = { hits: 0, misses: 0, hitRatio: 0 }
const noLatency = latencyOf()

/** What `script()` adds up to, reported 2 s after the monitor was created at STARTED. */
const SCRIPTED_SUMMARY: PerformanceSummary = {
  takenAt: STARTED + 2000,
  since: STARTED,
  operations: {
    total: 7,
    // 7 operations over the 2 s since the monitor was created.
    perSecond: 3.5,
    windowSeconds: 60,
    byOperation: {
      get: {
        count: 5,
        latency: latencyOf(0.002, 0.8, 1.2, 1.5),
        bySource: {
          l1: { count: 2, latency: latencyOf(0.002) },
          l2: { count: 2, latency: latencyOf(0.8, 1.5) },
          none: { count: 1, latency: latencyOf(1.2) },
        },
      },
      getOrSet: { count: 1, latency: latencyOf(25), bySource: { loader: { count: 1, latency: latencyOf(25) } } },
      set: { count: 1, latency: latencyOf(0.9), bySource: { none: { count: 1, latency: latencyOf(0.9) } } },
    },
  },
  lookups: {
    // app: 5 reads (its L1 lookups), 3 hits; sessions (no L1 lookups): 2 reads, 1 hit.
    hits: 4,
    misses: 3,
    hitRatio: 4 / 7,
    l1: { hits: 2, misses: 3, hitRatio: 2 / 5 },
    l2: { hits: 2, misses: 3, hitRatio: 2 / 5 },
  },
  compression: { count: 2, bytesBefore: 16_000, bytesAfter: 6_000, ratio: 6_000 / 16_000, totalMs: 0.4, meanMs: 0.4 },
  memory: [],
  invalidations: {
    delete: { count: 0, keysRemoved: 0 },
    pattern: { count: 2, keysRemoved: 15 },
    tag: { count: 1, keysRemoved: 5 },
    clear: { count: 1, keysRemoved: 40 },
  },
  errors: { total: 3, byReason: { deadline: 2, connection: 0, skipped: 0, decode: 1, loader: 0, other: 0 } },
  circuit: {
    transitions: 2,
    byTarget: { closed: 0, open: 1, 'half-open': 1 },
    last: { cache: 'app', from: 'open', to: 'half-open', at: STARTED + 250 },
  },
  keyGeneration: latencyOf(0.05, 0.07),
  coherence: { invalidationsReceived: 4, lag: latencyOf(0.4) },
  byCache: [
    { name: 'app', operations: 6, l1: { hits: 2, misses: 3, hitRatio: 2 / 5 }, l2: { hits: 1, misses: 2, hitRatio: 1 / 3 }, hitRatio: 3 / 5 },
    { name: 'sessions', operations: 1, l1: emptyTier, l2: { hits: 1, misses: 1, hitRatio: 1 / 2 }, hitRatio: 1 / 2 },
  ],
}

describe('CachePerformanceMonitor', () => {
  it('reports every aggregate of a scripted sequence of reports exactly', async () => {
    const { clock, monitor } = setup()
    clock.advance(250)
    script(monitor)
    clock.advance(1750)
    const summary = await monitor.getPerformanceSummary()
    expect(summary).toEqual(SCRIPTED_SUMMARY)
  })

  it('counts an operation reported with a NaN duration without timing it', async () => {
    const { monitor } = setup()
    monitor.operation('app', 'get', 'l1', Number.NaN)
    const { byOperation } = (await monitor.getPerformanceSummary()).operations
    expect(byOperation.get).toEqual({ count: 1, latency: noLatency, bySource: { l1: { count: 1, latency: noLatency } } })
  })

  it('keeps every operation and source apart, also when the same pair repeats or alternates', async () => {
    const { monitor } = setup()
    const operations = [
      'get', 'set', 'getOrSet', 'getOrSetMany', 'delete', 'getMany', 'setMany',
      'deleteMany', 'exists', 'getTtl', 'getKeys', 'invalidatePattern', 'invalidateTags', 'clear',
    ] as const
    const sources = ['l1', 'l2', 'loader', 'none'] as const
    for (const [i, operation] of operations.entries()) {
      for (const [j, source] of sources.entries()) {
        for (let n = 0; n <= i + j; n++) monitor.operation('app', operation, source, i + j)
      }
    }
    monitor.operation('app', 'get', 'l1', 5)
    monitor.operation('app', 'get', 'l2', 5)
    monitor.operation('app', 'get', 'l1', 5)
    const { byOperation, total } = (await monitor.getPerformanceSummary()).operations
    expect(Object.keys(byOperation)).toEqual([...operations])
    for (const [i, operation] of operations.entries()) {
      for (const [j, source] of sources.entries()) {
        const extra = operation === 'get' && source === 'l1' ? 2 : operation === 'get' && source === 'l2' ? 1 : 0
        expect(byOperation[operation]?.bySource[source]?.count).toBe(i + j + 1 + extra)
      }
    }
    // The sum of i + j + 1 over the 14 × 4 pairs is 504, plus the 3 extra calls.
    expect(total).toBe(507)
  })

  it('counts an L2 hit after an L1 miss as a hit of the read, per cache and overall', async () => {
    const { monitor } = setup()
    monitor.operation('app', 'get', 'l1', 1)
    monitor.lookup('app', 'l1', true)
    monitor.operation('app', 'get', 'l2', 1)
    monitor.lookup('app', 'l1', false)
    monitor.lookup('app', 'l2', true)
    const { byCache, lookups } = await monitor.getPerformanceSummary()
    expect(byCache).toEqual([
      { name: 'app', operations: 2, l1: { hits: 1, misses: 1, hitRatio: 0.5 }, l2: { hits: 1, misses: 0, hitRatio: 1 }, hitRatio: 1 },
    ])
    expect(lookups).toMatchObject({ hits: 2, misses: 0, hitRatio: 1 })
  })

  it('forwards every report to its sinks, in order, after recording it', async () => {
    const { monitor } = setup()
    const calls: unknown[][] = []
    const expected: unknown[][] = []
    let seenBySink: Promise<PerformanceSummary> | undefined
    const sink = recorder(calls)
    monitor.addSink(sink).addSink(sink)
    monitor.addSink({
      keyGeneration: () => {
        seenBySink ??= monitor.getPerformanceSummary()
      },
    })
    script(monitor)
    script(recorder(expected))
    // Adding a sink binds it once (to the monitor's flush); counts are forwarded explicitly.
    expect(calls[0]?.[0]).toBe('bind')
    const withCounts = expected.map((call) => (call[0] === 'operation' || call[0] === 'lookup' ? [...call, 1] : call))
    expect(calls.slice(1)).toEqual(withCounts)
    expect(calls).toHaveLength(33)
    // The first key generation was already counted when the sink heard of it.
    expect((await seenBySink)?.keyGeneration.count).toBe(1)
  })

  it('isolates a sink that throws: the caller and the other sinks carry on', async () => {
    const { monitor } = setup()
    const thrower = new Proxy({} as Required<MonitorSink>, {
      get: () => () => {
        throw new Error('exporter bug')
      },
    })
    const seen: string[] = []
    const partial: MonitorSink = { lookup: (cache, tier, hit) => seen.push(`${cache}:${tier}:${hit}`) }
    monitor.addSink(thrower).addSink(partial)
    expect(() => script(monitor)).not.toThrow()
    expect(seen).toHaveLength(10)
    expect((await monitor.getPerformanceSummary()).errors.total).toBe(3)
  })

  it('adds up coherence invalidations and times only the reports that carry a lag', async () => {
    const { monitor } = setup()
    const forwarded: unknown[][] = []
    monitor.addSink({ invalidationReceived: (...args) => forwarded.push(args) })
    expect((await monitor.getPerformanceSummary()).coherence).toEqual({ invalidationsReceived: 0, lag: noLatency })
    monitor.invalidationReceived('app', 5, undefined)
    monitor.invalidationReceived('app', 1, 2)
    monitor.invalidationReceived('sessions', 1, undefined)
    monitor.invalidationReceived('app', 2, 8)
    monitor.invalidationReceived('app', 1, -3)
    expect(() => monitor.invalidationReceived('app', 1, Number.NaN)).not.toThrow()
    const { coherence } = await monitor.getPerformanceSummary()
    // Every cache's keys add up; lags: 2, 8 and -3 (a clock step, counted as 0); NaN is not timed.
    expect(coherence).toEqual({ invalidationsReceived: 11, lag: latencyOf(2, 8, 0) })
    expect(coherence.lag).toMatchObject({ count: 3, maxMs: 8 })
    expect(forwarded).toEqual([
      ['app', 5, undefined],
      ['app', 1, 2],
      ['sessions', 1, undefined],
      ['app', 2, 8],
      ['app', 1, -3],
      ['app', 1, Number.NaN],
    ])
    monitor.reset()
    expect((await monitor.getPerformanceSummary()).coherence).toEqual({ invalidationsReceived: 0, lag: noLatency })
    monitor.invalidationReceived('app', 2, 4)
    expect((await monitor.getPerformanceSummary()).coherence).toEqual({ invalidationsReceived: 2, lag: latencyOf(4) })
  })

  it('stops forwarding to a removed sink and refuses itself as a sink', () => {
    const { monitor } = setup()
    const seen: string[] = []
    const sink: MonitorSink = { error: (_cache, reason) => seen.push(reason) }
    monitor.addSink(sink)
    monitor.error('app', 'loader')
    monitor.removeSink(sink)
    monitor.error('app', 'other')
    expect(seen).toEqual(['loader'])
    expect(() => monitor.addSink(monitor)).toThrow(InvalidOptionsError)
  })

  it('clears every aggregate on reset but keeps its caches and sinks', async () => {
    const { clock, monitor } = setup()
    const seen: string[] = []
    monitor.addSink({ operation: (_cache, operation) => seen.push(operation) })
    monitor.attach(fakeCache({ name: 'app', l1: { entries: 1, sizeBytes: 10 } }))
    script(monitor)
    clock.advance(5000)
    monitor.reset()
    const summary = await monitor.getPerformanceSummary()
    const fresh = await new CachePerformanceMonitor({ now: () => clock.now() }).getPerformanceSummary()
    expect({ ...summary, memory: [] }).toEqual(fresh)
    expect(summary.since).toBe(clock.now())
    expect(summary.memory).toHaveLength(1)
    monitor.operation('app', 'delete', 'none', 1)
    expect(seen.at(-1)).toBe('delete')
  })

  it('reads memory from every attached cache, and a failing one reports undefined', async () => {
    const { monitor } = setup()
    const memoryOnly = fakeCache({ name: 'local', backendType: 'memory', l1: { entries: 3, sizeBytes: 300 } })
    const tiered = fakeCache({ name: 'app', l1: { entries: 10, sizeBytes: 4096 }, redis: async () => 1_048_576 })
    const sameName = fakeCache({ name: 'app', redis: async () => 2048 })
    const failing = fakeCache({
      name: 'broken',
      l1: () => {
        throw new Error('l1 gone')
      },
      redis: async () => {
        throw new Error('INFO failed')
      },
    })
    for (const cache of [memoryOnly, tiered, sameName, failing]) monitor.attach(cache)
    monitor.attach(tiered)
    const { memory } = await monitor.getPerformanceSummary()
    expect(memory).toEqual([
      { name: 'local', backendType: 'memory', l1Entries: 3, l1SizeBytes: 300, redisUsedMemoryBytes: undefined },
      { name: 'app', backendType: 'redis', l1Entries: 10, l1SizeBytes: 4096, redisUsedMemoryBytes: 1_048_576 },
      { name: 'app', backendType: 'redis', l1Entries: undefined, l1SizeBytes: undefined, redisUsedMemoryBytes: 2048 },
      { name: 'broken', backendType: 'redis', l1Entries: undefined, l1SizeBytes: undefined, redisUsedMemoryBytes: undefined },
    ])
    monitor.detach(tiered)
    expect((await monitor.getPerformanceSummary()).memory.map((m) => m.name)).toEqual(['local', 'app', 'broken'])
  })

  it('measures operations per second over its window on its clock', async () => {
    const clock = new FakeClock(0)
    const monitor = new CachePerformanceMonitor({ now: () => clock.now(), windowSeconds: 10 })
    for (let i = 0; i < 120; i++) monitor.operation('app', 'get', 'l1', Number.NaN)
    clock.advance(4000)
    expect((await monitor.getPerformanceSummary()).operations).toMatchObject({ perSecond: 30, windowSeconds: 10 })
    clock.advance(60_000)
    expect((await monitor.getPerformanceSummary()).operations).toMatchObject({ total: 120, perSecond: 0 })
  })

  it('lists every invalid option at once', () => {
    const bad = { windowSeconds: 0, now: 'soon', window: 5 } as never
    const issues = [expect.objectContaining({ path: 'window' }), expect.objectContaining({ path: 'windowSeconds' }), expect.objectContaining({ path: 'now' })]
    expect(() => new CachePerformanceMonitor(bad)).toThrow(expect.objectContaining({ code: 'E_INVALID_OPTIONS', issues }))
    expect(() => new CachePerformanceMonitor({ windowSeconds: 1.5 })).toThrow(/windowSeconds: expected an integer from 1 to 3600/)
    expect(() => new CachePerformanceMonitor(null as never)).toThrow(InvalidOptionsError)
    expect(() => new CachePerformanceMonitor(undefined)).not.toThrow()
  })
})

function fakeCache(spec: {
  name: string
  backendType?: 'memory' | 'redis'
  l1?: { entries: number; sizeBytes: number } | (() => { entries: number; sizeBytes: number } | undefined)
  redis?: () => Promise<number | undefined>
}): MonitoredCache {
  const { l1, redis } = spec
  return {
    name: spec.name,
    backendType: spec.backendType ?? 'redis',
    l1Usage: typeof l1 === 'function' ? l1 : () => l1,
    flush: () => undefined,
    redisUsedMemory: redis ?? (async () => undefined),
  }
}
