/** Count, mean and percentiles of one set of durations, all in ms. Every field is `0` with no samples. */
export interface LatencySummary {
  /** Timed samples. */
  count: number
  /** Arithmetic mean, in ms (exact, from the running sum). */
  meanMs: number
  /** Median, in ms (within the histogram's error bound). */
  p50Ms: number
  /** 95th percentile, in ms (within the histogram's error bound). */
  p95Ms: number
  /** 99th percentile, in ms (within the histogram's error bound). */
  p99Ms: number
  /** Largest sample, in ms (exact). */
  maxMs: number
}

/** Linear sub-buckets per power of two. The relative error bound is 1 / (2 × this). */
const SUB_BUCKETS = 32
const SUB_BITS = 5
/** Powers of two covered above 1 µs: [1 µs, 2^30 µs ≈ 17.9 min). */
const OCTAVES = 30
const BUCKETS = OCTAVES * SUB_BUCKETS
const TOP_US = 2 ** OCTAVES

/** Largest relative error of a percentile whose sample is in range (see `LatencyHistogram`): 1/64, about 1.6%. */
export const LATENCY_HISTOGRAM_RELATIVE_ERROR = 1 / (2 * SUB_BUCKETS)

/**
 * A fixed-size log-linear latency histogram (the HDR histogram layout), so memory stays the same
 * however many samples arrive: 960 counters (7.5 KiB) per histogram.
 *
 * Layout: samples are taken in µs; each power of two [2^e, 2^(e+1)) µs, for e = 0 … 29, is split
 * into 32 equal buckets of width 2^e / 32. A percentile is the midpoint of the bucket holding the
 * sample of that rank (nearest-rank definition), clamped to [min, max]. The midpoint is at most
 * half a bucket width, 2^e / 64, from any sample in the bucket, and that sample is ≥ 2^e, so:
 *
 * **Error bound**: when the percentile's sample is between 1 µs and 2^30 × 63/64 µs (about 17.6
 * minutes), the reported percentile is within 1/64 (≈ 1.6%) of the exact nearest-rank percentile
 * of the recorded samples.
 *
 * Samples below 1 µs land in the first bucket, whose percentiles are its midpoint clamped to
 * [min, max]. Samples from ~17.6 min up land in the last bucket, whose percentiles are `max`: a
 * p99 equal to `max` up there means "at least ~17.6 min". `count`, `mean`, `min` and `max` are
 * exact for every sample. `NaN` and `Infinity` are ignored (caches report `NaN` for an operation
 * counted but not timed); negative durations, from a clock stepping back, count as 0.
 *
 * `record()` is O(1) and allocates nothing; `percentile()` walks the 960 counters.
 */
export class LatencyHistogram {
  /** Number of counters, the same for every histogram: memory does not grow with samples. */
  static readonly bucketCount = BUCKETS

  // Float64Array rather than Uint32Array: a long-lived monitor may pass 2^32 samples in a
  // bucket, and doubles count exactly up to 2^53.
  readonly #counts = new Float64Array(BUCKETS)
  #count = 0
  #sum = 0
  #min = Infinity
  #max = -Infinity

  /** Bytes held by the counters: `bucketCount × 8`, whatever the number of samples. */
  get sizeBytes(): number {
    return this.#counts.byteLength
  }

  /** Samples recorded. */
  get count(): number {
    return this.#count
  }

  /** Mean of the samples in ms; `0` with no samples. */
  get mean(): number {
    return this.#count === 0 ? 0 : this.#sum / this.#count
  }

  /** Smallest sample in ms; `0` with no samples. */
  get min(): number {
    return this.#count === 0 ? 0 : this.#min
  }

  /** Largest sample in ms; `0` with no samples. */
  get max(): number {
    return this.#count === 0 ? 0 : this.#max
  }

  /** Adds one duration, in ms. */
  record(durationMs: number): void {
    // One comparison rejects both NaN and Infinity.
    if (!(durationMs < Infinity)) return
    const ms = durationMs < 0 ? 0 : durationMs
    const i = bucketOf(ms * 1000)
    this.#counts[i] = (this.#counts[i] ?? 0) + 1
    this.#count++
    this.#sum += ms
    if (ms < this.#min) this.#min = ms
    if (ms > this.#max) this.#max = ms
  }

  /**
   * The `p`th percentile in ms, `p` from 0 to 100 (nearest rank: the smallest sample with at
   * least p% of the samples at or below it). `0` returns `min` and `100` returns `max`, exactly.
   * `0` with no samples.
   */
  percentile(p: number): number {
    if (this.#count === 0) return 0
    if (!(p > 0)) return this.#min
    if (p >= 100) return this.#max
    const rank = Math.max(1, Math.ceil((p / 100) * this.#count))
    let seen = 0
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.#counts[i] ?? 0
      // The last bucket also holds every sample above the top, so only `max` bounds it.
      if (seen >= rank) return i === BUCKETS - 1 ? this.#max : Math.min(this.#max, Math.max(this.#min, midpointMs(i)))
    }
    return this.#max
  }

  /** Count, mean, p50, p95, p99 and max, in ms. */
  summary(): LatencySummary {
    return {
      count: this.#count,
      meanMs: this.mean,
      p50Ms: this.percentile(50),
      p95Ms: this.percentile(95),
      p99Ms: this.percentile(99),
      maxMs: this.max,
    }
  }

  /** Adds every sample of `other` to this histogram (`other` is unchanged). */
  merge(other: LatencyHistogram): this {
    if (other.#count === 0) return this
    for (let i = 0; i < BUCKETS; i++) this.#counts[i] = (this.#counts[i] ?? 0) + (other.#counts[i] ?? 0)
    this.#count += other.#count
    this.#sum += other.#sum
    if (other.#min < this.#min) this.#min = other.#min
    if (other.#max > this.#max) this.#max = other.#max
    return this
  }

  /** Forgets every sample. */
  reset(): void {
    this.#counts.fill(0)
    this.#count = 0
    this.#sum = 0
    this.#min = Infinity
    this.#max = -Infinity
  }
}

/** Bucket index of a duration in µs, clamped into the first and last bucket. */
function bucketOf(us: number): number {
  if (us < 1) return 0
  if (us >= TOP_US) return BUCKETS - 1
  // For 1 ≤ us < 2^32, clz32 truncates to an integer, and floor(log2(us)) = floor(log2(floor(us))).
  const octave = 31 - Math.clz32(us)
  // Dividing by a power of two and subtracting 1 from a value in [1, 2) are both exact.
  const sub = ((us / (1 << octave) - 1) * SUB_BUCKETS) | 0
  return (octave << SUB_BITS) + sub
}

/** Midpoint of bucket `i`, in ms. */
function midpointMs(i: number): number {
  const octave = i >> SUB_BITS
  const sub = i & (SUB_BUCKETS - 1)
  const base = 1 << octave
  return (base + ((sub + 0.5) * base) / SUB_BUCKETS) / 1000
}
