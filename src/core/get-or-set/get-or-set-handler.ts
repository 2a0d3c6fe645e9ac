import { type CacheError, FactoryError, FactoryTimeoutError } from '../../errors.js'
import type { AnswerSource } from '../../monitoring/monitor-sink.js'
import type { ResolvedGetOrSetPolicy } from '../../options/get-or-set-options.js'
import type { CacheEntry } from '../../shared/cache-entry.js'
import type { Loader } from '../cache-interface.js'
import type { Engine, LoadGuard } from '../engine.js'
import { DistributedLocks } from '../locks/distributed-lock.js'
import { FORCED_PREFIX, type Flight } from '../single-flight.js'
import { awaitLoad } from './await-load.js'
import { EntryDraft } from './entry-draft.js'

/** Where a getOrSet answer came from, filled in by the handler. */
export interface SourceNote {
  source?: AnswerSource
}

/** What the getOrSet flow needs from the engine: its read and write paths and its flights. */
export type GetOrSetEngine = Pick<
  Engine,
  'local' | 'remote' | 'read' | 'staleLocal' | 'write' | 'entry' | 'ticket' | 'loadGuard' | 'flights' | 'recorder' | 'l2' | 'now' | 'options'
>

/** One run of a loader, and the tag epoch read before it. */
interface LoaderRun<T> {
  readonly key: string
  readonly loader: Loader<T>
  readonly policy: ResolvedGetOrSetPolicy
  readonly flight: Flight<T | undefined>
  readonly guard: Promise<LoadGuard>
}

/**
 * The `getOrSet` request flow, written once:
 * 1. L1 without a lock (fresh → answer; maybe start an eager refresh);
 * 2. join or start the key's flight (in-process single-flight), taking a ticket;
 * 3. the flight re-checks L2, keeping a stale entry for fallbacks, and reads the Redis tag epoch;
 * 4. optionally takes the cross-instance lock (or gets the value its holder wrote);
 * 5. runs the loader, and writes L2 then L1 unless an invalidation overtook the ticket or the epoch;
 * each caller then waits under its own soft/hard timeouts (`awaitLoad`).
 */
export class GetOrSetHandler {
  readonly #engine: GetOrSetEngine
  readonly #locks: DistributedLocks | undefined

  constructor(engine: GetOrSetEngine) {
    this.#engine = engine
    this.#locks = engine.l2 && new DistributedLocks(engine.l2, engine.options.clock)
  }

  /**
   * Answers one call; when given, `note.source` tells where the answer came from once it
   * settles. `l1Checked`: the caller has just missed L1 itself (counted once, not twice).
   */
  handle<T>(key: string, loader: Loader<T>, policy: ResolvedGetOrSetPolicy, note?: SourceNote, l1Checked = false): Promise<T | undefined> {
    const engine = this.#engine
    if (!policy.forceFresh && !l1Checked) {
      const local = engine.local(key)
      if (local !== undefined) {
        if (note) note.source = 'l1'
        if (policy.eagerRefresh !== undefined) this.#maybeRefresh(key, local, loader, policy)
        return Promise.resolve(local.value as T)
      }
    }
    const flightKey = policy.forceFresh ? FORCED_PREFIX + key : key
    const flight = engine.flights.run<T | undefined>({ flightKey, key, ticket: engine.ticket(), tags: policy.tags }, (f) =>
      this.#load(key, loader, policy, f),
    )
    flight.stale ??= engine.staleLocal(key)
    // A reload already known to be slow: answer the stale value now rather than wait again.
    if (flight.backgrounded && flight.stale !== undefined) return Promise.resolve(flight.stale.value as T)
    return awaitLoad({
      key,
      load: flight.promise,
      stale: () => flight.stale,
      softTimeoutMs: policy.softTimeoutMs,
      hardTimeoutMs: policy.hardTimeoutMs,
      onAbandon: (error) => this.#onAbandon(flight, error),
      onSoftTimeout: () => (flight.backgrounded = true),
      // The leader decides the source (L2 or the loader) only once it knows.
      onLoadSettled: note && (() => (note.source = flight.source)),
    })
  }

  /** The leader's work for one flight. */
  async #load<T>(key: string, loader: Loader<T>, policy: ResolvedGetOrSetPolicy, flight: Flight<T | undefined>) {
    // The tag epoch goes out with the re-check (one round trip for both): a load bounded by
    // two L2 deadlines, the read and the write, however the loader is reached.
    const guard = this.#engine.loadGuard(flight.ticket)
    if (!policy.forceFresh) {
      // L1 was checked in the same tick; L2 may hold what another process wrote.
      const found = await this.#engine.remote(key, flight.ticket, flight)
      if (found !== undefined) return found.value as T
    }
    const lease = await this.#lock(key, policy)
    if (lease !== undefined && 'value' in lease) return lease.value as T
    flight.source = 'loader'
    try {
      return await this.#runLoader({ key, loader, policy, flight, guard })
    } finally {
      if (lease !== undefined) await lease.lease.release()
    }
  }

  async #lock(key: string, policy: ResolvedGetOrSetPolicy) {
    if (policy.lock === false || this.#locks === undefined) return undefined
    // Re-check both tiers after each wait: the holder (in another process) may have written.
    const outcome = await this.#locks.acquire(key, policy.lock, async () => (await this.#engine.read(key))?.value)
    return 'degraded' in outcome ? undefined : outcome
  }

  async #runLoader<T>(run: LoaderRun<T>) {
    const { key, loader, policy, flight } = run
    // Read before the loader runs: an invalidation in any instance after this refuses the write.
    const guard = await run.guard
    const draft = new EntryDraft<T>(key, policy, flight.stale?.value as T | undefined, (tags) => (flight.tags = tags))
    let value: T | undefined
    try {
      value = await loader(draft)
    } catch (error) {
      const failure = new FactoryError(key, error)
      this.#report(failure, key)
      throw failure
    }
    if (value !== undefined && !draft.skipped) {
      const engine = this.#engine
      await engine.write([{ key, entry: engine.entry(key, value, draft) }], guard)
    }
    return value
  }

  /** On a fresh hit past the eager-refresh point, starts one background reload of the key. */
  #maybeRefresh<T>(key: string, entry: CacheEntry, loader: Loader<T>, policy: ResolvedGetOrSetPolicy): void {
    const engine = this.#engine
    if (entry.expiresAt === undefined) return
    const refreshAt = entry.createdAt + (entry.expiresAt - entry.createdAt) * (policy.eagerRefresh as number)
    if (engine.now() < refreshAt || engine.flights.get(key) !== undefined) return
    // Errors are reported by the load itself (cache:error); the caller already has its value.
    engine.flights.run<T | undefined>({ flightKey: key, key, ticket: engine.ticket(), tags: policy.tags }, (flight) => {
      flight.stale = entry
      return this.#runLoader({ key, loader, policy, flight, guard: this.#engine.loadGuard(flight.ticket) })
    })
  }

  #onAbandon(flight: Flight<unknown>, error: CacheError): void {
    // Failures are reported where they happen (the loader, the engine); a hard timeout here.
    if (!(error instanceof FactoryTimeoutError)) return
    // A load that outlived a caller's hard timeout no longer holds its key: a later call starts
    // a new load rather than joining one that may never settle.
    this.#engine.flights.detach(flight)
    if (flight.timedOut) return
    flight.timedOut = true
    this.#report(error, flight.key)
  }

  #report(error: FactoryError | FactoryTimeoutError, key: string): void {
    this.#engine.recorder.failure(error, 'loader', 'getOrSet', key)
  }
}

