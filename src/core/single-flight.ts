import type { CacheEntry } from '../shared/cache-entry.js'

/** One load in progress for a key, shared by every caller that asks meanwhile. */
export interface Flight<T> {
  readonly key: string
  readonly promise: Promise<T>
  /** Set when the key is deleted during the load: the result is returned but not cached. */
  invalidated: boolean
  /** The stale (graced) entry found for the key, for timeouts and failures. */
  stale: CacheEntry | undefined
  /** Set once a caller gave up on this load on its hard timeout (reported once). */
  timedOut: boolean
  /** Set once a soft timeout served the stale value: the load now runs in the background. */
  backgrounded: boolean
  /** Where the flight's value comes from: `l2` until the loader has to run. */
  source: 'l2' | 'loader'
}

/**
 * At most one running load per flight key in this process. A flight stays registered until its
 * load settles, even when callers stopped waiting (soft or hard timeout), so a load that goes
 * on in the background is never duplicated.
 */
export class SingleFlight {
  readonly #flights = new Map<string, Flight<unknown>>()

  get<T>(flightKey: string): Flight<T> | undefined {
    return this.#flights.get(flightKey) as Flight<T> | undefined
  }

  /** Joins the running flight for `flightKey`, or starts `load` as a new one. */
  run<T>(flightKey: string, key: string, load: (flight: Flight<T>) => Promise<T>): Flight<T> {
    const running = this.#flights.get(flightKey) as Flight<T> | undefined
    if (running) return running
    const flight = { key, invalidated: false, stale: undefined, timedOut: false, backgrounded: false, source: 'l2' } as Flight<T> & { promise: Promise<T> }
    this.#flights.set(flightKey, flight)
    flight.promise = load(flight).finally(() => this.#flights.delete(flightKey))
    // Callers may all leave on timeouts; a later rejection is reported by the load itself.
    flight.promise.catch(() => undefined)
    return flight
  }

  /** Marks every running flight of `key` (its normal and forced loads). */
  invalidate(key: string): void {
    for (const flight of this.#flights.values()) if (flight.key === key) flight.invalidated = true
  }

  /** Marks every running flight whose key passes `match` (all when omitted). */
  invalidateWhere(match?: (key: string) => boolean): void {
    for (const flight of this.#flights.values()) if (!match || match(flight.key)) flight.invalidated = true
  }
}
