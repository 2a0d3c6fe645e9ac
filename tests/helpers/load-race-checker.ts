/**
 * Load-race checker for `getOrSet` across processes: pure logic, no I/O.
 *
 * The guarantee checked: a getOrSet load that read the source of truth before an invalidation
 * (`invalidateTags`, or `clear`) never leaves its old value readable after that invalidation
 * resolved, allowing `maxStalenessMs` for the L1 tiers of other processes.
 *
 * The source of truth holds one version per group of keys (key `k` is in group `k % groups`). The
 * invalidator bumps a group's version to `V` (INCR), then invalidates the group (its tag, or the
 * whole namespace), and records when that invalidation resolved (`resolvedAt`). It works one
 * round at a time, so per group versions and resolution times go up together. Loaders record
 * every getOrSet call: key, start, end, the version it returned, and when its own loader started
 * (when this call, rather than a call it joined, ran the loader).
 *
 * A violation is a call that started more than `maxStalenessMs` after an invalidation of its
 * group resolved and returned a version below the one that invalidation's bump set. All times
 * are CLOCK_MONOTONIC ms (see `monotonicNowMs` in staleness-checker.ts), one clock for every process.
 */
import { firstAbove } from './staleness-checker.js'

/** One invalidation: `[group, version, bumpedAt, resolvedAt, kind]`, kind 0 for invalidateTags, 1 for clear. */
export type InvalidationTuple = [group: number, version: number, bumpedAt: number, resolvedAt: number, kind: 0 | 1]

/** One invalidation of a group, as the checker uses it. */
export interface Invalidation {
  readonly group: number
  /** The group's source version its bump (INCR) set. */
  readonly version: number
  /** Monotonic ms when the INCR resolved. */
  readonly bumpedAt: number
  /** Monotonic ms when `invalidateTags` (or `clear`) resolved. */
  readonly resolvedAt: number
  readonly kind: 'tags' | 'clear'
}

/**
 * Calls of one loader process, column by column: call `i` was `getOrSet` of key `key[i]`, started
 * at `startedAt[i]`, resolved at `endedAt[i]` with `{ v: version[i] }` (`NO_VERSION` when it
 * failed), and ran its own loader from `loaderStartedAt[i]` (`NO_VERSION` when it did not).
 * `l1BarrierAgeMs[i]` is, for an L1 hit, how long before the hit the last barrier its coherence
 * had answered was sent (see `CoherenceStats.lastBarrierAgeMs`), and `NO_VERSION` otherwise.
 */
export interface CallLog {
  readonly key: ArrayLike<number>
  readonly startedAt: ArrayLike<number>
  readonly endedAt: ArrayLike<number>
  readonly version: ArrayLike<number>
  readonly loaderStartedAt: ArrayLike<number>
  readonly l1BarrierAgeMs: ArrayLike<number>
}

/** `version` of a failed call, `loaderStartedAt` of a call that did not run its loader, `l1BarrierAgeMs` of a call L1 did not answer. */
export const NO_VERSION = -1

/** Fields per call in a loader's binary output, in {@link CallLog} order. */
export const CALL_FIELDS = 6

/** A {@link CallLog} from the interleaved Float64 records a loader writes (see {@link CALL_FIELDS}). */
export function callLogOf(records: Float64Array): CallLog {
  const count = Math.floor(records.length / CALL_FIELDS)
  const column = (field: number) => Float64Array.from({ length: count }, (_, i) => records[i * CALL_FIELDS + field] as number)
  return { key: column(0), startedAt: column(1), endedAt: column(2), version: column(3), loaderStartedAt: column(4), l1BarrierAgeMs: column(5) }
}

export function invalidationFromTuple([group, version, bumpedAt, resolvedAt, kind]: InvalidationTuple): Invalidation {
  return { group, version, bumpedAt, resolvedAt, kind: kind === 1 ? 'clear' : 'tags' }
}

/** One call that returned a version replaced by an invalidation resolved more than the bound before it started. */
export interface LoadRaceViolation {
  readonly process: number
  readonly key: number
  readonly group: number
  readonly version: number
  readonly startedAt: number
  readonly endedAt: number
  /** Who answered: its own loader, L1, or else L2 or a load it joined. */
  readonly answeredBy: 'loader' | 'l1' | 'l2 or joined load'
  /** For an L1 hit: how long before it the last answered barrier was sent, in ms. */
  readonly l1BarrierAgeMs?: number
  /** The latest invalidation of the group resolved more than the bound before the call started. */
  readonly invalidation: Invalidation
  /** How long after that invalidation resolved the call started, in ms. */
  readonly lateByMs: number
}

export interface LoadRaceResult {
  readonly calls: number
  readonly violations: number
  /** The first `maxExamples` violations, plus the latest one if not among them. */
  readonly examples: readonly LoadRaceViolation[]
  /** Calls that failed (no version): never violations, reported apart. */
  readonly failedCalls: number
  /** Calls that ran their loader. */
  readonly loads: number
  /**
   * Loads whose source read was overtaken while they ran: a bump of their group to a higher
   * version resolved before their getOrSet resolved (after its write was sent or refused).
   */
  readonly overtakenLoads: number
  /** Of those, the ones whose invalidation had already resolved when their getOrSet resolved. */
  readonly overtakenAfterInvalidation: number
  /**
   * Loads that returned a version already replaced before their loader started: impossible with
   * one clock and a source read after the start. Non-zero means the clocks or records are wrong.
   */
  readonly impossibleReads: number
  /** Calls that returned a replaced version within the bound (legal): the window was exercised. */
  readonly staleWithinBound: number
  /** Largest time from an invalidation resolving to a call that still returned the version it replaced. */
  readonly maxStalenessSeenMs: number
  /** Calls that started more than the bound after at least one invalidation of their group. */
  readonly callsAfterAnInvalidation: number
  /** L1 hits. */
  readonly l1Hits: number
  /**
   * L1 hits answered when the last answered barrier had been sent more than `maxStalenessMs`
   * before: the instance could not show it had seen every invalidation up to the bound.
   */
  readonly l1HitsWithoutProof: number
  /** Largest barrier age of an L1 hit, in ms. */
  readonly maxL1BarrierAgeMs: number
  readonly invalidations: number
}

export interface LoadRaceOptions {
  readonly groups: number
  readonly maxStalenessMs: number
  /** @default 10 */
  readonly maxExamples?: number
}

/** Per group: invalidations in order, their versions and resolution times as typed arrays. */
interface GroupHistory {
  readonly list: readonly Invalidation[]
  readonly versions: Float64Array
  readonly resolvedAt: Float64Array
}

/**
 * Indexes invalidations by group and checks the history is well formed: one invalidation per
 * version, versions and resolution times going up together (one round at a time). Throws on a
 * malformed history: a checker fed garbage must not pass it.
 */
function indexInvalidations(invalidations: readonly Invalidation[], groups: number): GroupHistory[] {
  const byGroup: Invalidation[][] = Array.from({ length: groups }, () => [])
  for (const inv of invalidations) {
    if (!Number.isInteger(inv.group) || inv.group < 0 || inv.group >= groups) throw new Error(`invalidation of unknown group ${JSON.stringify(inv)}`)
    if (!Number.isFinite(inv.resolvedAt) || !Number.isFinite(inv.bumpedAt) || inv.resolvedAt < inv.bumpedAt) throw new Error(`malformed invalidation ${JSON.stringify(inv)}`)
    byGroup[inv.group]?.push(inv)
  }
  return byGroup.map((list, group) => {
    list.sort((a, b) => a.version - b.version)
    for (let i = 1; i < list.length; i++) {
      const previous = list[i - 1] as Invalidation
      const inv = list[i] as Invalidation
      if (inv.version <= previous.version) throw new Error(`group ${group}: version ${inv.version} recorded twice`)
      if (inv.resolvedAt < previous.resolvedAt || inv.bumpedAt < previous.bumpedAt) throw new Error(`group ${group}: version ${inv.version} resolved before version ${previous.version}`)
    }
    return { list, versions: Float64Array.from(list, (inv) => inv.version), resolvedAt: Float64Array.from(list, (inv) => inv.resolvedAt) }
  })
}

/** Running totals of {@link checkLoadRace}. */
interface Tally {
  violations: number
  failedCalls: number
  loads: number
  overtakenLoads: number
  overtakenAfterInvalidation: number
  impossibleReads: number
  staleWithinBound: number
  maxStalenessSeenMs: number
  callsAfterAnInvalidation: number
  l1Hits: number
  l1HitsWithoutProof: number
  maxL1BarrierAgeMs: number
}

/** Counts one load (a call that ran its loader) as overtaken or not. */
function tallyLoad(tally: Tally, history: GroupHistory, version: number, load: { loaderStartedAt: number; endedAt: number }): void {
  tally.loads++
  const next = history.list[firstAbove(history.versions, version)]
  if (next !== undefined && next.bumpedAt < load.loaderStartedAt) tally.impossibleReads++
  const endedAt = load.endedAt
  if (next === undefined || next.bumpedAt >= endedAt) return
  tally.overtakenLoads++
  if (next.resolvedAt < endedAt) tally.overtakenAfterInvalidation++
}

/**
 * Checks every call of every loader process against the invalidations. A call of key `k` (group
 * `g = k % groups`) that started at `s` and returned version `v` is a violation iff some
 * invalidation of `g` that resolved at `T < s - maxStalenessMs` had bumped `g` to a version above `v`.
 */
export function checkLoadRace(invalidations: readonly Invalidation[], logs: readonly CallLog[], options: LoadRaceOptions): LoadRaceResult {
  const { groups, maxStalenessMs } = options
  const maxExamples = options.maxExamples ?? 10
  const histories = indexInvalidations(invalidations, groups)
  const examples: LoadRaceViolation[] = []
  let latest: LoadRaceViolation | undefined
  let calls = 0
  const tally: Tally = { violations: 0, failedCalls: 0, loads: 0, overtakenLoads: 0, overtakenAfterInvalidation: 0, impossibleReads: 0, staleWithinBound: 0, maxStalenessSeenMs: 0, callsAfterAnInvalidation: 0, l1Hits: 0, l1HitsWithoutProof: 0, maxL1BarrierAgeMs: 0 }
  logs.forEach((log, process) => {
    const count = log.key.length
    if ([log.startedAt, log.endedAt, log.version, log.loaderStartedAt, log.l1BarrierAgeMs].some((column) => column.length !== count)) throw new Error(`process ${process}: columns of different lengths`)
    for (let i = 0; i < count; i++) {
      calls++
      const version = log.version[i] as number
      if (version === NO_VERSION) {
        tally.failedCalls++
        continue
      }
      const key = log.key[i] as number
      const group = key % groups
      const history = histories[group] as GroupHistory
      const startedAt = log.startedAt[i] as number
      const endedAt = log.endedAt[i] as number
      const loaderStartedAt = log.loaderStartedAt[i] as number
      const ranLoader = loaderStartedAt !== NO_VERSION
      if (ranLoader) tallyLoad(tally, history, version, { loaderStartedAt, endedAt })
      const l1BarrierAgeMs = log.l1BarrierAgeMs[i] as number
      const fromL1 = l1BarrierAgeMs !== NO_VERSION
      if (fromL1) {
        tally.l1Hits++
        if (l1BarrierAgeMs > maxStalenessMs) tally.l1HitsWithoutProof++
        tally.maxL1BarrierAgeMs = Math.max(tally.maxL1BarrierAgeMs, l1BarrierAgeMs)
      }
      // The invalidation that replaced the returned version, and the last one the call must see.
      const replacedBy = history.list[firstAbove(history.versions, version)]
      if (replacedBy !== undefined && replacedBy.resolvedAt < startedAt) tally.maxStalenessSeenMs = Math.max(tally.maxStalenessSeenMs, startedAt - replacedBy.resolvedAt)
      const bounding = history.list[firstAbove(history.resolvedAt, startedAt - maxStalenessMs) - 1]
      if (bounding !== undefined) tally.callsAfterAnInvalidation++
      if (bounding === undefined || version >= bounding.version) {
        if (replacedBy !== undefined && replacedBy.resolvedAt < startedAt) tally.staleWithinBound++
        continue
      }
      tally.violations++
      const answeredBy = ranLoader ? 'loader' : fromL1 ? 'l1' : 'l2 or joined load'
      const violation: LoadRaceViolation = {
        process,
        key,
        group,
        version,
        startedAt,
        endedAt,
        answeredBy,
        ...(fromL1 && { l1BarrierAgeMs }),
        invalidation: bounding,
        lateByMs: startedAt - bounding.resolvedAt,
      }
      if (examples.length < maxExamples) examples.push(violation)
      latest = violation
    }
  })
  if (latest !== undefined && !examples.includes(latest)) examples.push(latest)
  return { calls, examples, invalidations: invalidations.length, ...tally }
}

/** Loads (from any process) of `key` that returned `version`: who put a violating value where it was found. */
export function loadsOf(logs: readonly CallLog[], key: number, version: number): Array<{ process: number; loaderStartedAt: number; endedAt: number }> {
  const found: Array<{ process: number; loaderStartedAt: number; endedAt: number }> = []
  logs.forEach((log, process) => {
    for (let i = 0; i < log.key.length; i++) {
      if (log.key[i] === key && log.version[i] === version && log.loaderStartedAt[i] !== NO_VERSION) {
        found.push({ process, loaderStartedAt: log.loaderStartedAt[i] as number, endedAt: log.endedAt[i] as number })
      }
    }
  })
  return found
}
