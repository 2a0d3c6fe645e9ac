/** One load in progress. `invalidated` is set when the key is deleted meanwhile. */
export interface Flight<T> {
  readonly promise: Promise<T>
  invalidated: boolean
}

/**
 * At most one running load per key in this process. Later callers share the running promise.
 * A delete that happens during a load marks the flight so its (possibly stale) result is
 * returned to its callers but not written to the cache.
 */
export class SingleFlight {
  readonly #flights = new Map<string, Flight<unknown>>()

  run<T>(key: string, load: (flight: Flight<T>) => Promise<T>): Promise<T> {
    const running = this.#flights.get(key) as Flight<T> | undefined
    if (running) return running.promise
    const flight = { invalidated: false } as { promise: Promise<T>; invalidated: boolean }
    flight.promise = load(flight).finally(() => this.#flights.delete(key))
    this.#flights.set(key, flight)
    return flight.promise
  }

  invalidate(key: string): void {
    const flight = this.#flights.get(key)
    if (flight) flight.invalidated = true
  }

  /** Marks every running flight whose key passes `match` (all when omitted). */
  invalidateWhere(match?: (key: string) => boolean): void {
    for (const [key, flight] of this.#flights) if (!match || match(key)) flight.invalidated = true
  }
}
