/**
 * Staleness checker for cross-instance L1 coherence: pure logic, no I/O.
 *
 * The guarantee checked: once a write of a key (a new version, or a delete) has resolved, no
 * read that starts more than `maxStalenessMs` later returns the version it replaced.
 *
 * Histories come from separate processes (see tests/fixtures/coherence-writer.ts and
 * coherence-reader.ts) that all time events with {@link monotonicNowMs}: `process.hrtime()`
 * reads CLOCK_MONOTONIC, which on Linux is one clock for the whole system, so times taken in
 * different processes compare directly.
 *
 * Versions are per key and strictly increasing in the order the writer issued its operations:
 * every set takes the next number as its version and every delete takes the next number too,
 * so "the first event of the key after version v" is the first event whose version is above v.
 * The writer keeps at most one operation of a key in flight, so that order is also the order
 * in which they reached Redis. Operations that failed are not recorded; their numbers are
 * holes. A read of a version with no recorded set (a write that was reported failed but still
 * reached Redis) is checked like any other, against the first recorded event above it.
 */

/** One resolved write of the writer: `[key, version, deleted (1) or set (0), resolvedAt]`. */
export type WriteEventTuple = [key: number, version: number, deleted: 0 | 1, resolvedAt: number]

/** One resolved write, as the checker uses it. */
export interface WriteEvent {
  /** Key index (0..keys-1; see {@link keyName}). */
  readonly key: number
  /** Per-key operation number; a set stores `{ v: version }`. */
  readonly version: number
  /** A delete (of any kind: DEL, expiry, tag, pattern, clear, flush) rather than a set. */
  readonly deleted: boolean
  /** Monotonic ms when the writer saw the operation resolve. */
  readonly resolvedAt: number
}

/**
 * Reads of one reader, column by column (millions of reads stay compact): read `i` is of key
 * `key[i]`, returned `{ v: version[i] }` (or nothing when `version[i]` is -1), and started at
 * `startedAt[i]` (monotonic ms, taken just before the `get` call).
 */
export interface ReadLog {
  readonly key: ArrayLike<number>
  readonly version: ArrayLike<number>
  readonly startedAt: ArrayLike<number>
}

/** `version` value of a read that returned `undefined`. */
export const NO_VALUE = -1

/** One read that returned a version already replaced more than `maxStalenessMs` before it started. */
export interface Violation {
  readonly reader: number
  readonly key: number
  /** Version the read returned. */
  readonly version: number
  readonly startedAt: number
  /** The event that replaced `version`: the first recorded event of the key above it. */
  readonly replacedBy: WriteEvent
  /** How long after the replacing event resolved the read started, in ms (> maxStalenessMs). */
  readonly lateByMs: number
}

export interface CheckResult {
  /** Reads that broke the bound. */
  readonly violations: number
  /** The first `maxExamples` violations found, plus the worst one (largest `lateByMs`) if not among them. */
  readonly examples: readonly Violation[]
  /**
   * Largest staleness seen: how long after the replacing event resolved a read of the replaced
   * version started, over every such read (legal ones included); 0 when there are none.
   */
  readonly maxStalenessSeenMs: number
  /** Every read looked at. */
  readonly readsChecked: number
  /** Reads that returned a value (the only ones that can break the bound). */
  readonly readsWithValue: number
  /**
   * Reads that returned a value replaced before they started, but within `maxStalenessMs`:
   * legal, counted to show the window was exercised.
   */
  readonly staleWithinBound: number
  /** Reads that returned a version with no recorded set (a write reported failed that still landed). */
  readonly unrecordedVersions: number
}

export interface CheckOptions {
  readonly maxStalenessMs: number
  /** How many examples to keep. @default 10 */
  readonly maxExamples?: number
}

/** Monotonic milliseconds from `process.hrtime()` (CLOCK_MONOTONIC: comparable across processes). */
export function monotonicNowMs(): number {
  const [seconds, nanos] = process.hrtime()
  return seconds * 1e3 + nanos / 1e6
}

/** How keys are named: `k<i>`, or `p<i % 10>:<i>` for the pattern scenario. */
export type KeyStyle = 'plain' | 'pattern'

export function keyName(style: KeyStyle, index: number): string {
  return style === 'pattern' ? `p${index % 10}:${index}` : `k${index}`
}

export function eventFromTuple([key, version, deleted, resolvedAt]: WriteEventTuple): WriteEvent {
  return { key, version, deleted: deleted === 1, resolvedAt }
}

/** A {@link ReadLog} from `[key, version or null, startedAt]` triples, for hand-written histories. */
export function readLogOf(reads: ReadonlyArray<readonly [key: number, version: number | null, startedAt: number]>): ReadLog {
  return {
    key: reads.map(([key]) => key),
    version: reads.map(([, version]) => version ?? NO_VALUE),
    startedAt: reads.map(([, , startedAt]) => startedAt),
  }
}

/** Per key: events sorted by version, with their versions in a typed array for binary search. */
interface KeyHistory {
  readonly versions: Float64Array
  readonly events: readonly WriteEvent[]
  readonly setVersions: ReadonlySet<number>
}

/**
 * Indexes events by key and checks the history is well formed: versions unique per key, and
 * resolution times never going back as versions go up (one operation per key in flight).
 * Throws on a malformed history: a checker fed garbage must not pass it.
 */
function indexEvents(events: readonly WriteEvent[]): Map<number, KeyHistory> {
  const byKey = new Map<number, WriteEvent[]>()
  for (const event of events) {
    if (!Number.isInteger(event.version) || !Number.isFinite(event.resolvedAt)) {
      throw new Error(`malformed event ${JSON.stringify(event)}`)
    }
    let list = byKey.get(event.key)
    if (list === undefined) byKey.set(event.key, (list = []))
    list.push(event)
  }
  const index = new Map<number, KeyHistory>()
  for (const [key, list] of byKey) {
    list.sort((a, b) => a.version - b.version)
    for (let i = 1; i < list.length; i++) {
      const previous = list[i - 1] as WriteEvent
      const event = list[i] as WriteEvent
      if (event.version === previous.version) throw new Error(`key ${key}: version ${event.version} recorded twice`)
      if (event.resolvedAt < previous.resolvedAt) {
        throw new Error(`key ${key}: version ${event.version} resolved before version ${previous.version} (${event.resolvedAt} < ${previous.resolvedAt})`)
      }
    }
    index.set(key, {
      versions: Float64Array.from(list, (event) => event.version),
      events: list,
      setVersions: new Set(list.filter((event) => !event.deleted).map((event) => event.version)),
    })
  }
  return index
}

/** Index of the first element of `sorted` greater than `value` (`sorted.length` when none). */
export function firstAbove(sorted: ArrayLike<number>, value: number): number {
  let low = 0
  let high = sorted.length
  while (low < high) {
    const mid = (low + high) >>> 1
    if ((sorted[mid] as number) <= value) low = mid + 1
    else high = mid
  }
  return low
}

/**
 * Checks the reads of every reader against the writer's events. A read of version `v` of key
 * `k` that started at `ts` is a violation iff the first recorded event of `k` above `v` resolved
 * at `r` and `ts > r + maxStalenessMs`. Reads that returned nothing are never violations.
 */
export function checkStaleness(events: readonly WriteEvent[], readers: readonly ReadLog[], options: CheckOptions): CheckResult {
  const { maxStalenessMs } = options
  const maxExamples = options.maxExamples ?? 10
  const index = indexEvents(events)
  const examples: Violation[] = []
  let worst: Violation | undefined
  let violations = 0
  let readsChecked = 0
  let readsWithValue = 0
  let staleWithinBound = 0
  let unrecordedVersions = 0
  let maxStalenessSeenMs = 0
  readers.forEach((log, reader) => {
    const count = log.key.length
    if (log.version.length !== count || log.startedAt.length !== count) throw new Error(`reader ${reader}: columns of different lengths`)
    for (let i = 0; i < count; i++) {
      readsChecked++
      const version = log.version[i] as number
      if (version === NO_VALUE) continue
      readsWithValue++
      const key = log.key[i] as number
      const history = index.get(key)
      if (history === undefined) {
        unrecordedVersions++
        continue
      }
      if (!history.setVersions.has(version)) unrecordedVersions++
      const next = firstAbove(history.versions, version)
      const replacedBy = history.events[next]
      if (replacedBy === undefined) continue
      const startedAt = log.startedAt[i] as number
      const lateByMs = startedAt - replacedBy.resolvedAt
      if (lateByMs <= 0) continue
      if (lateByMs > maxStalenessSeenMs) maxStalenessSeenMs = lateByMs
      if (lateByMs <= maxStalenessMs) {
        staleWithinBound++
        continue
      }
      violations++
      const violation: Violation = { reader, key, version, startedAt, replacedBy, lateByMs }
      if (examples.length < maxExamples) examples.push(violation)
      if (worst === undefined || lateByMs > worst.lateByMs) worst = violation
    }
  })
  if (worst !== undefined && !examples.includes(worst)) examples.push(worst)
  return {
    violations,
    examples,
    maxStalenessSeenMs,
    readsChecked,
    readsWithValue,
    staleWithinBound,
    unrecordedVersions,
  }
}
