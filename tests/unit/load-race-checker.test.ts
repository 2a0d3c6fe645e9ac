import { describe, expect, it } from 'vitest'
import { type CallLog, type Invalidation, NO_VERSION, checkLoadRace, callLogOf, loadsOf } from '../helpers/load-race-checker.js'

const GROUPS = 5
const BOUND = 100

/** A log from `[key, startedAt, endedAt, version, loaderStartedAt?, l1BarrierAgeMs?]` rows. */
function logOf(rows: ReadonlyArray<readonly [number, number, number, number, number?, number?]>): CallLog {
  return {
    key: rows.map((r) => r[0]),
    startedAt: rows.map((r) => r[1]),
    endedAt: rows.map((r) => r[2]),
    version: rows.map((r) => r[3]),
    loaderStartedAt: rows.map((r) => r[4] ?? NO_VERSION),
    l1BarrierAgeMs: rows.map((r) => r[5] ?? NO_VERSION),
  }
}

const inv = (group: number, version: number, bumpedAt: number, resolvedAt: number): Invalidation => ({ group, version, bumpedAt, resolvedAt, kind: 'tags' })

describe('checkLoadRace', () => {
  const history = [inv(1, 1, 1_000, 1_010), inv(1, 2, 2_000, 2_010)]

  it('flags a call that returned a replaced version more than the bound after the invalidation resolved', () => {
    // Key 6 is in group 1; version 0 was replaced by the invalidation resolved at 1,010.
    const result = checkLoadRace(history, [logOf([[6, 1_111, 1_112, 0]])], { groups: GROUPS, maxStalenessMs: BOUND })
    expect(result.violations).toBe(1)
    expect(result.examples[0]).toMatchObject({ key: 6, group: 1, version: 0, answeredBy: 'l2 or joined load', invalidation: { version: 1 } })
    expect(result.examples[0]?.lateByMs).toBeCloseTo(101)
  })

  it('accepts a replaced version within the bound, and counts it', () => {
    const result = checkLoadRace(history, [logOf([[6, 1_109, 1_110, 0, NO_VERSION, 5]])], { groups: GROUPS, maxStalenessMs: BOUND })
    expect(result).toMatchObject({ violations: 0, staleWithinBound: 1, l1Hits: 1 })
    expect(result.maxStalenessSeenMs).toBeCloseTo(99)
  })

  it('ignores other groups, newer versions and failed calls', () => {
    const logs = [logOf([[7, 5_000, 5_001, 0], [6, 5_000, 5_001, 2], [6, 5_000, 5_001, NO_VERSION]])]
    const result = checkLoadRace(history, logs, { groups: GROUPS, maxStalenessMs: BOUND })
    expect(result).toMatchObject({ violations: 0, failedCalls: 1, calls: 3 })
  })

  it('checks against the latest invalidation past the bound, not the first', () => {
    // Version 1 is current until 2,010: fine at 2,100, a violation at 2,111.
    const result = checkLoadRace(history, [logOf([[1, 2_100, 2_101, 1], [1, 2_111, 2_112, 1]])], { groups: GROUPS, maxStalenessMs: BOUND })
    expect(result.violations).toBe(1)
    expect(result.examples[0]?.invalidation.version).toBe(2)
  })

  it('counts loads overtaken while they ran, and those that ended after the invalidation resolved', () => {
    const logs = [logOf([[1, 990, 1_005, 0, 991], [1, 995, 1_020, 0, 996], [1, 1_020, 1_030, 1, 1_021]])]
    const result = checkLoadRace(history, logs, { groups: GROUPS, maxStalenessMs: BOUND })
    expect(result).toMatchObject({ loads: 3, overtakenLoads: 2, overtakenAfterInvalidation: 1, impossibleReads: 0 })
  })

  it('reports a load that returned a version replaced before it started', () => {
    const result = checkLoadRace(history, [logOf([[1, 1_005, 1_009, 0, 1_005]])], { groups: GROUPS, maxStalenessMs: BOUND })
    expect(result.impossibleReads).toBe(1)
  })

  it('counts L1 hits served without a barrier within the bound', () => {
    const result = checkLoadRace([], [logOf([[1, 10, 10, 0, NO_VERSION, 120], [1, 10, 10, 0, NO_VERSION, 20]])], { groups: GROUPS, maxStalenessMs: BOUND })
    expect(result).toMatchObject({ l1Hits: 2, l1HitsWithoutProof: 1, maxL1BarrierAgeMs: 120 })
  })

  it('refuses a malformed history', () => {
    expect(() => checkLoadRace([inv(1, 2, 10, 20), inv(1, 3, 5, 15)], [], { groups: GROUPS, maxStalenessMs: BOUND })).toThrow(/resolved before/)
    expect(() => checkLoadRace([inv(9, 1, 10, 20)], [], { groups: GROUPS, maxStalenessMs: BOUND })).toThrow(/unknown group/)
  })

  it('reads interleaved records and finds the loads of a value', () => {
    const log = callLogOf(Float64Array.from([6, 1, 2, 0, 1.5, NO_VERSION, 6, 3, 4, 0, NO_VERSION, 2]))
    expect(Array.from(log.key)).toEqual([6, 6])
    expect(Array.from(log.l1BarrierAgeMs)).toEqual([NO_VERSION, 2])
    expect(loadsOf([log], 6, 0)).toEqual([{ process: 0, loaderStartedAt: 1.5, endedAt: 2 }])
  })
})
