/**
 * The staleness checker on hand-written histories: it must flag every read that returned a
 * version replaced more than maxStaleness before the read started, and nothing else.
 */
import { describe, expect, it } from 'vitest'
import {
  type WriteEvent,
  type WriteEventTuple,
  NO_VALUE,
  checkStaleness,
  eventFromTuple,
  keyName,
  monotonicNowMs,
  readLogOf,
} from '../../helpers/staleness-checker.js'

const set = (key: number, version: number, resolvedAt: number): WriteEvent => ({ key, version, deleted: false, resolvedAt })
const del = (key: number, version: number, resolvedAt: number): WriteEvent => ({ key, version, deleted: true, resolvedAt })
const BOUND = { maxStalenessMs: 100 }

describe('checkStaleness', () => {
  // Key 0: v1 at 1000, v2 at 2000, deleted (v3) at 3000, v4 at 4000.
  const history = [set(0, 1, 1000), set(0, 2, 2000), del(0, 3, 3000), set(0, 4, 4000)]

  it('accepts reads of the current version, of a replaced version within the bound, and misses', () => {
    const reads = readLogOf([
      [0, 1, 1500], // current
      [0, 1, 2000], // replaced exactly now
      [0, 1, 2100], // replaced exactly maxStaleness ago: still allowed
      [0, 2, 3050], // deleted 50 ms ago
      [0, null, 10_000], // a miss is never a violation
      [0, 4, 999_999], // the last version is never replaced
      [0, 1, 900], // read before the set resolved (it was in flight): fine
    ])
    const result = checkStaleness(history, [reads], BOUND)
    expect(result.violations).toBe(0)
    expect(result.examples).toEqual([])
    expect(result.readsChecked).toBe(7)
    expect(result.readsWithValue).toBe(6)
    expect(result.staleWithinBound).toBe(2)
    expect(result.maxStalenessSeenMs).toBe(100)
  })

  it('flags a read of a version replaced more than maxStaleness before it started', () => {
    const result = checkStaleness(history, [readLogOf([[0, 1, 2100.001]])], BOUND)
    expect(result.violations).toBe(1)
    expect(result.examples[0]).toMatchObject({ reader: 0, key: 0, version: 1, startedAt: 2100.001, replacedBy: set(0, 2, 2000) })
    expect(result.examples[0]?.lateByMs).toBeCloseTo(100.001, 6)
  })

  it('flags a version read after a delete replaced it, and measures from the first later event', () => {
    // v2 was deleted at 3000 (then v4 came at 4000): reading v2 at 3200 is 200 ms late.
    const result = checkStaleness(history, [readLogOf([[0, 2, 3200]])], BOUND)
    expect(result.violations).toBe(1)
    expect(result.examples[0]?.replacedBy).toEqual(del(0, 3, 3000))
    expect(result.examples[0]?.lateByMs).toBe(200)
    expect(result.maxStalenessSeenMs).toBe(200)
  })

  it('measures from the next recorded version when the replaced one was never recorded', () => {
    // v2 failed (not recorded) yet landed in Redis; v3 replaced it at 2000.
    const events = [set(0, 1, 1000), set(0, 3, 2000)]
    const legal = checkStaleness(events, [readLogOf([[0, 2, 2050]])], BOUND)
    expect(legal).toMatchObject({ violations: 0, unrecordedVersions: 1, staleWithinBound: 1 })
    const late = checkStaleness(events, [readLogOf([[0, 2, 2150]])], BOUND)
    expect(late).toMatchObject({ violations: 1, unrecordedVersions: 1 })
  })

  it('keeps keys apart: a later event of another key does not replace this one', () => {
    const events = [set(0, 1, 1000), set(1, 1, 1000), set(1, 2, 1500)]
    expect(checkStaleness(events, [readLogOf([[0, 1, 9000]])], BOUND).violations).toBe(0)
    expect(checkStaleness(events, [readLogOf([[1, 1, 9000]])], BOUND).violations).toBe(1)
  })

  it('counts every violation of every reader, keeps a bounded set of examples and the worst one', () => {
    const events: WriteEvent[] = []
    for (let v = 1; v <= 50; v++) events.push(set(7, v, v * 1000))
    // Reader 0: 49 stale reads of v1..v49, each 101..149 ms late; reader 1: one 900 ms late.
    const stale = Array.from({ length: 49 }, (_, i) => [7, i + 1, (i + 2) * 1000 + 101 + i] as const)
    const reader1 = readLogOf([[7, 3, 4900], [7, 50, 60_000]])
    const result = checkStaleness(events, [readLogOf(stale), reader1], { maxStalenessMs: 100, maxExamples: 3 })
    expect(result.violations).toBe(50)
    expect(result.readsChecked).toBe(51)
    expect(result.examples).toHaveLength(4)
    expect(result.examples.slice(0, 3).map((v) => v.version)).toEqual([1, 2, 3])
    expect(result.examples[3]).toMatchObject({ reader: 1, version: 3, lateByMs: 900 })
    expect(result.maxStalenessSeenMs).toBe(900)
  })

  it('takes events in any order (sorted by version per key)', () => {
    const shuffled = [history[2], history[0], history[3], history[1]] as WriteEvent[]
    expect(checkStaleness(shuffled, [readLogOf([[0, 1, 2101]])], BOUND).violations).toBe(1)
    expect(checkStaleness(shuffled, [readLogOf([[0, 1, 2099]])], BOUND).violations).toBe(0)
  })

  it('a read of a key the writer never touched is not a violation, but is counted as unrecorded', () => {
    const result = checkStaleness(history, [readLogOf([[5, 3, 10_000]])], BOUND)
    expect(result).toMatchObject({ violations: 0, readsWithValue: 1, unrecordedVersions: 1 })
  })

  it('rejects malformed histories instead of passing them', () => {
    expect(() => checkStaleness([set(0, 1, 10), set(0, 1, 20)], [], BOUND)).toThrow(/recorded twice/)
    expect(() => checkStaleness([set(0, 1, 20), set(0, 2, 10)], [], BOUND)).toThrow(/resolved before/)
    expect(() => checkStaleness([set(0, 1.5, 10)], [], BOUND)).toThrow(/malformed/)
    const ragged = { key: [0, 0], version: [1], startedAt: [1, 2] }
    expect(() => checkStaleness(history, [ragged], BOUND)).toThrow(/different lengths/)
  })

  it('finds the violations among many legal reads (a random history with planted stale reads)', () => {
    let seed = 42
    const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31)
    const events: WriteEvent[] = []
    for (let k = 0; k < 10; k++) {
      let t = 0
      for (let v = 1; v <= 200; v++) {
        t += 1 + random() * 20
        events.push(random() < 0.1 ? del(k, v, t) : set(k, v, t))
      }
    }
    const byKey = (k: number) => events.filter((e) => e.key === k)
    const reads: Array<readonly [number, number | null, number]> = []
    for (let i = 0; i < 5000; i++) {
      const k = Math.floor(random() * 10)
      const list = byKey(k)
      const j = Math.floor(random() * (list.length - 1))
      const event = list[j] as WriteEvent
      const next = list[j + 1] as WriteEvent
      // Legal: somewhere between this version's resolution and maxStaleness after the next event.
      const ts = event.resolvedAt + random() * (next.resolvedAt + 100 - event.resolvedAt)
      reads.push([k, event.deleted ? null : event.version, ts])
    }
    expect(checkStaleness(events, [readLogOf(reads)], BOUND).violations).toBe(0)
    // Plant 7 stale reads: versions read 100.5 ms or more after their replacement resolved.
    const planted = [3, 17, 111, 400, 1000, 2500, 4999].map((i) => {
      const [k] = reads[i] as readonly [number, number | null, number]
      const list = byKey(k).filter((e) => !e.deleted)
      const event = list[i % (list.length - 1)] as WriteEvent
      const next = byKey(k).find((e) => e.version > event.version) as WriteEvent
      return [k, event.version, next.resolvedAt + 100.5 + i] as const
    })
    const result = checkStaleness(events, [readLogOf([...reads, ...planted])], BOUND)
    expect(result.violations).toBe(7)
    expect(result.examples.map((v) => v.startedAt).sort((a, b) => a - b)).toEqual(planted.map(([, , ts]) => ts).sort((a, b) => a - b))
  })
})

describe('history helpers', () => {
  it('eventFromTuple and readLogOf build what the fixtures write', () => {
    const tuple: WriteEventTuple = [3, 9, 1, 123.5]
    expect(eventFromTuple(tuple)).toEqual({ key: 3, version: 9, deleted: true, resolvedAt: 123.5 })
    expect(readLogOf([[1, null, 5], [2, 7, 6]])).toEqual({ key: [1, 2], version: [NO_VALUE, 7], startedAt: [5, 6] })
  })

  it('names keys per style', () => {
    expect(keyName('plain', 42)).toBe('k42')
    expect(keyName('pattern', 42)).toBe('p2:42')
  })

  it('monotonicNowMs is process.hrtime in ms and never goes back', () => {
    const [s, ns] = process.hrtime()
    const a = monotonicNowMs()
    const b = monotonicNowMs()
    expect(a).toBeGreaterThanOrEqual(s * 1e3 + ns / 1e6)
    expect(b).toBeGreaterThanOrEqual(a)
    expect(a - (s * 1e3 + ns / 1e6)).toBeLessThan(1_000)
  })
})
