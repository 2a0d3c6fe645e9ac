import fc from 'fast-check'
import { describe, expect, it } from 'vitest'

import { LATENCY_HISTOGRAM_RELATIVE_ERROR, LatencyHistogram } from '../../../src/monitoring/latency-histogram.js'

/** mulberry32: a seeded generator, so the distributions are the same on every run. */
function random(seed: number): () => number {
  let a = seed
  return () => {
    a = (a + 0x6d2b79f5) | 0
    let t = Math.imul(a ^ (a >>> 15), 1 | a)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Nearest-rank percentile: the smallest sample with at least p% of the samples at or below it. */
function exactPercentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1]!
}

function histogramOf(samples: readonly number[]): LatencyHistogram {
  const histogram = new LatencyHistogram()
  for (const s of samples) histogram.record(s)
  return histogram
}

const SAMPLES = 100_000
const rand = random(42)
const standardNormal = () => Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand())
const distributions: Record<string, () => number> = {
  'uniform 0.05 to 50 ms': () => 0.05 + rand() * 49.95,
  'exponential, mean 2 ms': () => -2 * Math.log(1 - rand()),
  'log-normal, median 1 ms, sigma 1.5': () => Math.exp(1.5 * standardNormal()),
  'bimodal: 90% L1 at ~2 µs, 10% Redis at ~0.5 ms': () =>
    rand() < 0.9 ? 0.002 * (1 + rand()) : 0.3 + 0.4 * rand(),
}

describe('LatencyHistogram', () => {
  for (const [name, draw] of Object.entries(distributions)) {
    it(`keeps p50, p95 and p99 within 5% (and within the documented 1/64) of exact on ${name}`, () => {
      const samples = Array.from({ length: SAMPLES }, draw)
      const histogram = histogramOf(samples)
      const sorted = [...samples].sort((a, b) => a - b)
      for (const p of [50, 95, 99]) {
        const exact = exactPercentile(sorted, p)
        const error = Math.abs(histogram.percentile(p) - exact) / exact
        expect(error).toBeLessThan(0.05)
        expect(error).toBeLessThanOrEqual(LATENCY_HISTOGRAM_RELATIVE_ERROR)
      }
      expect(histogram.count).toBe(SAMPLES)
      expect(histogram.min).toBe(sorted[0])
      expect(histogram.max).toBe(sorted.at(-1))
      expect(histogram.mean).toBeCloseTo(samples.reduce((a, b) => a + b, 0) / SAMPLES, 9)
    })
  }

  it('keeps every percentile within 1/64 of exact for any in-range samples', () => {
    const inRange = fc.double({ min: 0.001, max: 1_000_000, noNaN: true })
    fc.assert(
      fc.property(fc.array(inRange, { minLength: 1, maxLength: 300 }), fc.integer({ min: 1, max: 99 }), (samples, p) => {
        const sorted = [...samples].sort((a, b) => a - b)
        const exact = exactPercentile(sorted, p)
        const got = histogramOf(samples).percentile(p)
        // A sample on a bucket's lower edge is exactly 1/64 away; allow for float rounding.
        expect(Math.abs(got - exact) / exact).toBeLessThanOrEqual(LATENCY_HISTOGRAM_RELATIVE_ERROR * (1 + 1e-9))
      }),
      { numRuns: 300 },
    )
  })

  it('uses the same fixed memory however many samples it holds', () => {
    const histogram = new LatencyHistogram()
    const before = histogram.sizeBytes
    const rand2 = random(7)
    for (let i = 0; i < 1_000_000; i++) histogram.record(rand2() * 600_000)
    expect(histogram.count).toBe(1_000_000)
    expect(histogram.sizeBytes).toBe(before)
    expect(before).toBe(LatencyHistogram.bucketCount * 8)
    expect(LatencyHistogram.bucketCount).toBe(960)
  })

  it('clamps samples outside 1 µs to ~17.9 min into the edge buckets, keeping min, max and mean exact', () => {
    const histogram = histogramOf([0.0001, 0.0002, 20 * 60_000, 30 * 60_000])
    expect(histogram.min).toBe(0.0001)
    expect(histogram.max).toBe(30 * 60_000)
    expect(histogram.mean).toBe((0.0001 + 0.0002 + 50 * 60_000) / 4)
    for (const p of [1, 25, 50, 75, 99]) {
      expect(histogram.percentile(p)).toBeGreaterThanOrEqual(0.0001)
      expect(histogram.percentile(p)).toBeLessThanOrEqual(30 * 60_000)
    }
    expect(histogram.percentile(25)).toBeLessThan(0.002)
    // The top bucket reports max: "at least ~17.6 min" is all it knows.
    expect(histogram.percentile(75)).toBe(30 * 60_000)
  })

  it('returns min for p 0 and max for p 100 exactly, and 0 for everything when empty', () => {
    const histogram = histogramOf([3.3, 1.1, 2.2])
    expect(histogram.percentile(0)).toBe(1.1)
    expect(histogram.percentile(100)).toBe(3.3)
    const empty = new LatencyHistogram()
    expect(empty.summary()).toEqual({ count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, p99Ms: 0, maxMs: 0 })
    expect([empty.min, empty.max, empty.mean, empty.percentile(50)]).toEqual([0, 0, 0, 0])
  })

  it('ignores NaN and Infinity (counted-but-not-timed operations) and records negative durations as 0', () => {
    const histogram = histogramOf([Number.NaN, Infinity, -5, 4])
    expect(histogram.count).toBe(2)
    expect(histogram.min).toBe(0)
    expect(histogram.max).toBe(4)
    expect(histogram.mean).toBe(2)
  })

  it('merges to the same result as recording every sample in one histogram', () => {
    const rand3 = random(3)
    const a = Array.from({ length: 5000 }, () => rand3() * 10)
    const b = Array.from({ length: 3000 }, () => 5 + rand3() * 100)
    const merged = histogramOf(a).merge(histogramOf(b))
    const together = histogramOf([...a, ...b])
    expect(merged.summary()).toEqual(together.summary())
    expect(merged.min).toBe(together.min)
    expect(histogramOf(a).merge(new LatencyHistogram()).summary()).toEqual(histogramOf(a).summary())
  })

  it('forgets every sample on reset', () => {
    const histogram = histogramOf([1, 2, 3])
    histogram.reset()
    expect(histogram.summary()).toEqual(new LatencyHistogram().summary())
    histogram.record(7)
    expect(histogram.summary()).toMatchObject({ count: 1, maxMs: 7, meanMs: 7 })
    expect(histogram.min).toBe(7)
  })
})
