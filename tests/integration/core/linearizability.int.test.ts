/**
 * Race checker: many concurrent writers and readers on a few keys, checked against a "database"
 * of versions. The guarantee: once a write to a key (set, delete, tag invalidation) has
 * resolved, no read that starts afterwards returns an older version than that write's, from L1
 * or from Redis. Writes to one key reach the cache in version order (each version is taken and
 * its write called in one synchronous step), so a newer version is never an "older" write.
 *
 * Cache A has an L1 and talks to Redis through a proxy that delays every chunk; cache B has no
 * L1 and talks to Redis directly, so B shows what Redis holds.
 */
import { setImmediate as yieldToIo, setTimeout as sleep } from 'node:timers/promises'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/core/generic-redis-cache.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'
import { type TcpProxy, startTcpProxy } from '../../helpers/tcp-proxy.js'
import { prng } from '../../helpers/prng.js'

const hasRedis = requireRedis()

const KEYS = ['k0', 'k1', 'k2', 'k3', 'k4'] as const
type Key = (typeof KEYS)[number]
const GROUPS = ['g0', 'g1'] as const
const groupOf = (key: Key): string => GROUPS[KEYS.indexOf(key) % GROUPS.length] as string
const keysOf = (group: string): Key[] => KEYS.filter((key) => groupOf(key) === group)

const WORKERS = 16
const TARGET_OPERATIONS = 10_000
const TIME_BUDGET_MS = 15_000

type WriteKind = 'set' | 'delete' | 'invalidateTags'
type ReadKind = 'A.get' | 'B.get' | 'A.getOrSet' | 'final A.get' | 'final B.get'
type OperationKind = WriteKind | Exclude<ReadKind, `final ${string}`>

/** Relative weights of the operations each worker picks from. */
const MIX: ReadonlyArray<[OperationKind, number]> = [
  ['set', 20],
  ['delete', 10],
  ['invalidateTags', 5],
  ['A.get', 25],
  ['B.get', 10],
  ['A.getOrSet', 30],
]

interface Violation {
  reader: ReadKind
  key: Key
  /** Version of the newest write to the key resolved before the read started. */
  required: number
  /** Which write set `required`. */
  writer: WriteKind
  got: unknown
  /**
   * The value returned was written by a `set` still running when the `required` write was
   * called: only the in-call-order guarantee forbids it (plain linearizability would allow
   * ordering two overlapping writes either way). Otherwise the value is plainly stale.
   */
  overlapping: boolean
}

interface RunReport {
  operations: number
  reads: number
  writes: number
  violations: Violation[]
  rejected: unknown[]
  cacheErrors: string[]
  elapsedMs: number
}


/** Runs the workload on A and B and checks every read as it resolves. */
async function runWorkload(a: GenericRedisCache, b: GenericRedisCache, seed: number): Promise<RunReport> {
  const random = prng(seed)
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)] as T
  const totalWeight = MIX.reduce((sum, [, weight]) => sum + weight, 0)
  const pickOperation = (): OperationKind => {
    let roll = random() * totalWeight
    for (const [kind, weight] of MIX) if ((roll -= weight) < 0) return kind
    return 'A.get'
  }

  const db = new Map<Key, number>(KEYS.map((key) => [key, 0]))
  /** Per key: the highest version whose write has resolved, the kind of that write and when it was called. */
  const resolved = new Map<Key, { version: number; writer: WriteKind; calledAt: number }>()
  /** Order of write calls and set resolutions, taken synchronously (reads snapshot `resolved` instead). */
  let seq = 0
  /** `key:version` of each set → when it was called and when it resolved (Infinity while running). */
  const sets = new Map<string, { calledAt: number; resolvedAt: number }>()
  const report: RunReport = { operations: 0, reads: 0, writes: 0, violations: [], rejected: [], cacheErrors: [], elapsedMs: 0 }
  const onError = ({ error, operation }: { error: Error; operation: string }) => {
    report.cacheErrors.push(`${operation}: ${(error as { code?: string }).code ?? error.message}`)
  }
  a.on('cache:error', onError)
  b.on('cache:error', onError)

  const bump = (key: Key): number => {
    const version = (db.get(key) ?? 0) + 1
    db.set(key, version)
    return version
  }
  const writeResolved = (key: Key, version: number, writer: WriteKind, calledAt: number): void => {
    const current = resolved.get(key)
    if (current === undefined || version > current.version) resolved.set(key, { version, writer, calledAt })
  }
  /** Taken synchronously when a read is called; checked when it resolves. */
  const startRead = (reader: ReadKind, key: Key) => {
    const bound = resolved.get(key)
    return (got: unknown): void => {
      report.reads++
      if (bound === undefined) return
      // getOrSet always has a value (its loader never misses); a get may miss.
      const missAllowed = !reader.endsWith('getOrSet')
      if ((missAllowed && got === undefined) || (typeof got === 'number' && got >= bound.version)) return
      const origin = typeof got === 'number' ? sets.get(`${key}:${got}`) : undefined
      const overlapping = origin !== undefined && origin.resolvedAt > bound.calledAt
      report.violations.push({ reader, key, required: bound.version, writer: bound.writer, got, overlapping })
    }
  }
  const loader = (key: Key) => async (): Promise<number> => {
    const version = db.get(key) ?? 0
    await sleep(random() * 5)
    return version
  }

  const started = performance.now()
  const deadline = started + TIME_BUDGET_MS
  const runOne = async (kind: OperationKind): Promise<void> => {
    const key = pick(KEYS)
    switch (kind) {
      case 'set': {
        const version = bump(key)
        const record = { calledAt: ++seq, resolvedAt: Infinity }
        sets.set(`${key}:${version}`, record)
        await a.set(key, version, { tags: [groupOf(key)] })
        record.resolvedAt = ++seq
        report.writes++
        return writeResolved(key, version, 'set', record.calledAt)
      }
      case 'delete': {
        const version = bump(key)
        const calledAt = ++seq
        await a.delete(key)
        report.writes++
        return writeResolved(key, version, 'delete', calledAt)
      }
      case 'invalidateTags': {
        const group = groupOf(key)
        const versions = keysOf(group).map((member) => [member, bump(member)] as const)
        const calledAt = ++seq
        await a.invalidateTags([group])
        report.writes++
        for (const [member, version] of versions) writeResolved(member, version, 'invalidateTags', calledAt)
        return
      }
      case 'A.get': {
        const check = startRead('A.get', key)
        return check(await a.get(key))
      }
      case 'B.get': {
        const check = startRead('B.get', key)
        return check(await b.get(key))
      }
      case 'A.getOrSet': {
        const check = startRead('A.getOrSet', key)
        return check(await a.getOrSet(key, loader(key), { tags: [groupOf(key)] }))
      }
    }
  }

  await Promise.all(
    Array.from({ length: WORKERS }, async () => {
      for (let i = 1; report.operations < TARGET_OPERATIONS && performance.now() < deadline; i++) {
        report.operations++
        try {
          await runOne(pickOperation())
        } catch (error) {
          report.rejected.push(error)
        }
        // L1 hits resolve without I/O: let sockets and timers run now and then.
        if (i % 8 === 0) await yieldToIo()
      }
    }),
  )
  report.elapsedMs = performance.now() - started

  // Everything has settled: both views must have converged on the database or hold nothing.
  for (const key of KEYS) {
    startRead('final A.get', key)(await a.get(key))
    startRead('final B.get', key)(await b.get(key))
  }
  a.off('cache:error', onError)
  b.off('cache:error', onError)
  return report
}

/** `reader <- writer: n` counts, then a few examples. */
function describeViolations(violations: Violation[]): string {
  const counts = new Map<string, number>()
  for (const v of violations) {
    const what = `${v.reader} after ${v.writer}${v.overlapping ? ' (value from an overlapping set)' : ''}`
    counts.set(what, (counts.get(what) ?? 0) + 1)
  }
  const lines = [...counts].sort((x, y) => y[1] - x[1]).map(([what, n]) => `    ${what}: ${n}`)
  const examples = violations
    .slice(0, 5)
    .map((v) => `    e.g. ${v.reader}(${v.key}) -> ${String(v.got)} after ${v.writer} v${v.required} resolved`)
  return [...lines, ...examples].join('\n')
}

describe.skipIf(!hasRedis)('GenericRedisCache under concurrent writers and readers', () => {
  const server = useRedisServer()
  let proxy: TcpProxy

  beforeAll(async () => {
    proxy = await startTcpProxy(server.port)
  })

  afterAll(async () => {
    await proxy?.close()
  })

  const configurations = [
    { label: 'no L2 delay', minMs: 0, maxMs: 0 },
    { label: 'L2 delay 0–2 ms', minMs: 0, maxMs: 2 },
    { label: 'L2 delay 0–8 ms', minMs: 0, maxMs: 8 },
  ]

  it.each(configurations)(
    'no read returns a version older than a resolved write ($label)',
    async ({ label, minMs, maxMs }) => {
      proxy.setDelay(minMs, maxMs)
      const namespace = uniqueNamespace('linear')
      const a = new GenericRedisCache({ redisUrl: proxy.url, namespace, l1: { maxEntries: 1_000 }, defaultTtl: '1h' })
      const b = new GenericRedisCache({ redisUrl: server.url, namespace, l1: false, defaultTtl: '1h' })
      try {
        expect(await a.connect()).toBe(true)
        expect(await b.connect()).toBe(true)
        const seed = Math.floor(Math.random() * 2 ** 31)
        const report = await runWorkload(a, b, seed)
        console.log(
          `[linearizability] ${label}: ${report.operations} ops (${report.reads} reads, ${report.writes} writes) ` +
            `in ${Math.round(report.elapsedMs)} ms, seed ${seed}: ${report.violations.length} violations ` +
            `(${report.violations.filter((v) => v.overlapping).length} from overlapping sets; ` +
            `${new Set(report.violations.map((v) => `${v.key}:${v.required}:${String(v.got)}`)).size} distinct key/bound/value), ` +
            `${report.rejected.length} rejected, ${report.cacheErrors.length} cache:error` +
            (report.violations.length > 0 ? `\n${describeViolations(report.violations)}` : ''),
        )
        expect(report.rejected).toEqual([])
        expect(report.operations).toBeGreaterThanOrEqual(TARGET_OPERATIONS)
        expect(report.violations.length, describeViolations(report.violations)).toBe(0)
      } finally {
        await a.clear().catch(() => undefined)
        await a.disconnect()
        await b.disconnect()
        proxy.setDelay(0, 0)
      }
    },
    25_000,
  )
})
