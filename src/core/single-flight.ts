import type { CacheEntry } from '../shared/cache-entry.js'

/** Flight keys of `forceFresh` loads: kept apart, as they must not be answered from the cache. */
export const FORCED_PREFIX = '\u0000force:'

/** One load in progress for a key, shared by every caller that asks meanwhile. */
export interface Flight<T> {
  readonly key: string
  readonly promise: Promise<T>
  /** The engine's ticket when the load started: its result is cached only if nothing overtook it. */
  readonly ticket: number
  /** Tags the load's entry will carry as far as known (the call's tags, or the loader's `setTags`). */
  tags: readonly string[]
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
 * load settles, so a load that goes on in the background is never duplicated, unless it is
 * detached: an invalidation detaches the flights it overtakes (a call that starts afterwards
 * must not join a load begun before it), and so does a hard timeout (a load that never settles
 * must not hold its key forever). A detached load still answers the callers it has, and its
 * result is not cached if an invalidation overtook it.
 */
export class SingleFlight {
  readonly #flights = new Map<string, Flight<unknown>>()

  get<T>(flightKey: string): Flight<T> | undefined {
    return this.#flights.get(flightKey) as Flight<T> | undefined
  }

  /** Joins the running flight for `flightKey`, or starts `load` as a new one. */
  run<T>(params: { flightKey: string; key: string; ticket: number; tags: readonly string[] }, load: (flight: Flight<T>) => Promise<T>): Flight<T> {
    const { flightKey, key, ticket, tags } = params
    const running = this.#flights.get(flightKey) as Flight<T> | undefined
    if (running) return running
    const flight = { key, ticket, tags, stale: undefined, timedOut: false, backgrounded: false, source: 'l2' } as Flight<T> & { promise: Promise<T> }
    this.#flights.set(flightKey, flight)
    flight.promise = load(flight).finally(() => {
      if (this.#flights.get(flightKey) === flight) this.#flights.delete(flightKey)
    })
    // Callers may all leave on timeouts; a later rejection is reported by the load itself.
    flight.promise.catch(() => undefined)
    return flight
  }

  /** Detaches one flight, if it is still the registered one for its flight key. */
  detach(flight: Flight<unknown>): void {
    for (const flightKey of [flight.key, FORCED_PREFIX + flight.key]) {
      if (this.#flights.get(flightKey) === flight) this.#flights.delete(flightKey)
    }
  }

  /** Detaches the normal and the forced load of `key`. */
  detachKey(key: string): void {
    if (this.#flights.size === 0) return
    this.#flights.delete(key)
    this.#flights.delete(FORCED_PREFIX + key)
  }

  /** Detaches every running flight whose key and known tags `match` accepts (all when omitted). */
  detachWhere(match?: (key: string, tags: readonly string[]) => boolean): void {
    for (const [flightKey, flight] of this.#flights) if (!match || match(flight.key, flight.tags)) this.#flights.delete(flightKey)
  }
}
