/** Settings of a `RateWindow`. */
export interface RateWindowOptions {
  /** Time source, in ms. Only whole seconds matter, so `Date.now` is precise enough. */
  now: () => number
  /** Length of the window, in seconds. @default 60 */
  windowSeconds?: number
  /**
   * Most events counted between two clock reads. A clock read (about 40 ns) costs nearly half an
   * L1 hit, so under load the window reads it about once per millisecond, and never less often
   * than every this many events; `1` reads it on every event (exact placement, for tests).
   * @default 64
   */
  maxEventsPerClockRead?: number
}

/**
 * Events per second over the last `windowSeconds` seconds: a ring of per-second counters and a
 * running total, moved forward by the injected clock when it is read. No timers; `add()` is O(1)
 * and allocates nothing (a clock jump clears at most `windowSeconds` counters once).
 *
 * **Rate**: `perSecond()` divides the events in the window by the time the window covers so far:
 * from the later of (the window's oldest second) and (construction or `reset()`) to now, and at
 * least 1 second. So in the first seconds it is the rate since the start, and in the very first
 * second it is the count so far, which avoids huge rates from a few events in a few ms.
 *
 * **Batched clock reads**: between clock reads, events are counted as pending and placed in the
 * second of the next read. The number of events between reads adapts to about one read per ms
 * (a read per event below ~1000 events/s), so an event is placed at most ~1 ms late while
 * traffic is steady. The price: when traffic stops abruptly, up to `maxEventsPerClockRead - 1`
 * events wait for the next read (`perSecond()` is one) and count in that later second. No event
 * is lost or counted twice.
 */
export class RateWindow {
  readonly #now: () => number
  readonly #counts: Float64Array
  readonly #maxBatch: number
  /** Events in the ring; kept so `perSecond()` is O(1). */
  #total = 0
  /** Ring index of `#second`. */
  #slot = 0
  /** The second (floor of ms / 1000) the current slot counts. */
  #second: number
  #startMs: number
  /** Events counted since the last clock read. */
  #pending = 0
  /** `#pending` at which `add()` reads the clock. */
  #readAt = 1
  #lastReadMs: number

  constructor(options: RateWindowOptions) {
    this.#now = options.now
    this.#counts = new Float64Array(options.windowSeconds ?? 60)
    this.#maxBatch = options.maxEventsPerClockRead ?? 64
    this.#startMs = this.#lastReadMs = this.#now()
    this.#second = Math.floor(this.#startMs / 1000)
  }

  /** Length of the window, in seconds. */
  get windowSeconds(): number {
    return this.#counts.length
  }

  /** Counts `n` events now. */
  add(n = 1): void {
    // Kept to one field update and one comparison: this runs on every cache operation.
    this.#pending += n
    if (this.#pending >= this.#readAt) this.#read()
  }

  /** Events per second over the covered part of the window (see the class docs). */
  perSecond(): number {
    const nowMs = this.#read()
    const oldestMs = (this.#second - this.#counts.length + 1) * 1000
    const spanMs = nowMs - Math.max(oldestMs, this.#startMs)
    return this.#total / (Math.max(spanMs, 1000) / 1000)
  }

  /** Forgets every event and starts covering from now. */
  reset(): void {
    this.#counts.fill(0)
    this.#total = this.#pending = this.#slot = 0
    this.#readAt = 1
    this.#startMs = this.#lastReadMs = this.#now()
    this.#second = Math.floor(this.#startMs / 1000)
  }

  /** Reads the clock, moves the ring to the current second and places the pending events there. */
  #read(): number {
    const nowMs = this.#now()
    const second = Math.floor(nowMs / 1000)
    // A clock stepping back (Date.now under NTP) keeps counting into the current second.
    if (second > this.#second) this.#advance(second)
    const events = this.#pending
    this.#counts[this.#slot] = (this.#counts[this.#slot] ?? 0) + events
    this.#total += events
    this.#pending = 0
    const elapsedMs = nowMs - this.#lastReadMs
    // Events per ms since the last read is how many to wait for before the next one. Within
    // the same ms the rate is unknown but at least this high, so the wait doubles.
    const perMs = elapsedMs > 0 ? Math.floor(events / elapsedMs) : events * 2
    this.#readAt = Math.min(this.#maxBatch, Math.max(1, perMs))
    this.#lastReadMs = nowMs
    return nowMs
  }

  /** Clears the counters of the seconds between the current one and `second`. */
  #advance(second: number): void {
    const size = this.#counts.length
    const steps = second - this.#second
    if (steps >= size) {
      this.#counts.fill(0)
      this.#total = 0
    } else {
      for (let i = 0; i < steps; i++) {
        this.#slot = this.#slot + 1 === size ? 0 : this.#slot + 1
        this.#total -= this.#counts[this.#slot] ?? 0
        this.#counts[this.#slot] = 0
      }
    }
    this.#second = second
  }
}
