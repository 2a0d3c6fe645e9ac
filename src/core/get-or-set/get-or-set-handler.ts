import { FactoryError, type FactoryTimeoutError } from '../../errors.js'
import { cacheEvents } from '../../monitoring/events.js'
import type { AnswerSource } from '../../monitoring/monitor-sink.js'
import type { ResolvedGetOrSetPolicy } from '../../options/get-or-set-options.js'
import type { CacheEntry } from '../../shared/cache-entry.js'
import type { Loader } from '../cache-interface.js'
import { type CacheStack, isFresh, isStale } from '../cache-stack.js'
import { DistributedLocks } from '../locks/distributed-lock.js'
import { type Flight, SingleFlight } from '../single-flight.js'
import { awaitLoad } from './await-load.js'
import { EntryDraft } from './entry-draft.js'

/** Where a getOrSet answer came from, filled in by the handler. */
export interface SourceNote {
  source?: AnswerSource
}

/** Flights of `forceFresh` calls are kept apart: they must not be answered from the cache. */
const FORCED = '\u0000force:'

/**
 * The `getOrSet` request flow, written once:
 * 1. L1 without a lock (fresh → answer; maybe start an eager refresh);
 * 2. join or start the key's flight (in-process single-flight);
 * 3. the flight re-checks L1 and L2, keeping a stale entry for fallbacks;
 * 4. optionally takes the cross-instance lock (or gets the value its holder wrote);
 * 5. runs the loader and writes L2, then L1;
 * each caller then waits under its own soft/hard timeouts (`awaitLoad`).
 */
export class GetOrSetHandler {
  readonly #stack: CacheStack
  readonly flights = new SingleFlight()
  readonly #locks: DistributedLocks | undefined

  constructor(stack: CacheStack) {
    this.#stack = stack
    this.#locks = stack.l2 && new DistributedLocks(stack.l2, stack.options.clock)
  }

  /** Answers one call; when given, `note.source` tells where the answer came from once it settles. */
  handle<T>(key: string, loader: Loader<T>, policy: ResolvedGetOrSetPolicy, note?: SourceNote): Promise<T | undefined> {
    if (!policy.forceFresh) {
      const local = this.#stack.readLocal(key)
      if (local !== undefined) {
        if (note) note.source = 'l1'
        this.#maybeRefresh(key, local, loader, policy)
        return Promise.resolve(local.value as T)
      }
    }
    const flightKey = policy.forceFresh ? FORCED + key : key
    const flight = this.flights.run<T | undefined>(flightKey, key, (f) => this.#load(key, loader, policy, f))
    flight.stale ??= this.#staleInL1(key)
    // A reload already known to be slow: answer the stale value now rather than wait again.
    if (flight.backgrounded && flight.stale !== undefined) return Promise.resolve(flight.stale.value as T)
    if (note) {
      // The leader decides the source (L2 or the loader) only once it knows.
      const setSource = () => (note.source = flight.source)
      flight.promise.then(setSource, setSource)
    }
    return awaitLoad({
      key,
      load: flight.promise,
      stale: () => flight.stale,
      softTimeoutMs: policy.softTimeoutMs,
      hardTimeoutMs: policy.hardTimeoutMs,
      onAbandon: (error) => this.#onAbandon(flight, error),
      onSoftTimeout: () => (flight.backgrounded = true),
    })
  }

  /** The leader's work for one flight. */
  async #load<T>(key: string, loader: Loader<T>, policy: ResolvedGetOrSetPolicy, flight: Flight<T | undefined>) {
    if (!policy.forceFresh) {
      // Re-check both tiers: another caller (or process) may have written while this one waited.
      const found = await this.#freshOrStale(key, flight)
      if (found !== undefined) return found.value as T
    }
    const lease = await this.#lock(key, policy, flight)
    if (lease !== undefined && 'value' in lease) return lease.value as T
    flight.source = 'loader'
    try {
      return await this.#runLoader(key, loader, policy, flight)
    } finally {
      if (lease !== undefined) await lease.lease.release()
    }
  }

  async #lock<T>(key: string, policy: ResolvedGetOrSetPolicy, flight: Flight<T | undefined>) {
    if (policy.lock === false || this.#locks === undefined) return undefined
    const outcome = await this.#locks.acquire(key, policy.lock, async () => (await this.#freshOrStale(key, flight))?.value)
    return 'degraded' in outcome ? undefined : outcome
  }

  /** A fresh entry from L1 or L2 (recording a stale one on the flight), or `undefined`. */
  async #freshOrStale<T>(key: string, flight: Flight<T>): Promise<CacheEntry | undefined> {
    const local = this.#stack.l1?.get(key)
    if (local !== undefined && isFresh(local, this.#stack.now())) return local
    const entry = await this.#stack.readRemote(key)
    if (entry !== undefined && isFresh(entry, this.#stack.now())) return entry
    if (entry !== undefined) flight.stale = entry
    return undefined
  }

  async #runLoader<T>(key: string, loader: Loader<T>, policy: ResolvedGetOrSetPolicy, flight: Flight<T | undefined>) {
    const draft = new EntryDraft<T>(key, policy, flight.stale?.value as T | undefined)
    let value: T | undefined
    try {
      value = await loader(draft)
    } catch (error) {
      const failure = new FactoryError(key, error)
      this.#report(failure, key)
      throw failure
    }
    if (value !== undefined && !draft.skipped && !flight.invalidated) {
      await this.#stack.write([{ key, entry: this.#stack.entry(key, value, draft) }])
    }
    return value
  }

  /** On a fresh hit past the eager-refresh point, starts one background reload of the key. */
  #maybeRefresh<T>(key: string, entry: CacheEntry, loader: Loader<T>, policy: ResolvedGetOrSetPolicy): void {
    if (policy.eagerRefresh === undefined || entry.expiresAt === undefined) return
    const now = this.#stack.now()
    const refreshAt = entry.createdAt + (entry.expiresAt - entry.createdAt) * policy.eagerRefresh
    if (now < refreshAt || this.flights.get(key) !== undefined) return
    // Errors are reported by the load itself (cache:error); the caller already has its value.
    this.flights.run<T | undefined>(key, key, (flight) => {
      flight.stale = entry
      return this.#runLoader(key, loader, policy, flight)
    })
  }

  #staleInL1(key: string): CacheEntry | undefined {
    const entry = this.#stack.l1?.get(key)
    return entry !== undefined && isStale(entry, this.#stack.now()) ? entry : undefined
  }

  #onAbandon(flight: Flight<unknown>, error: FactoryError | FactoryTimeoutError): void {
    // Loader failures are reported once by the load; a hard timeout once per flight.
    if (error instanceof FactoryError || flight.timedOut) return
    flight.timedOut = true
    this.#report(error, flight.key)
  }

  #report(error: FactoryError | FactoryTimeoutError, key: string): void {
    this.#stack.stats.errors++
    this.#stack.instr.error('loader')
    if (this.#stack.events.has('cache:error')) this.#stack.events.emit(cacheEvents.error(error, 'getOrSet', key))
  }
}
