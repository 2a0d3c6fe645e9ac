import type { Coherence, CoherenceHooks } from '../coherence/coherence.js'
import type { CacheError } from '../errors.js'
import type { AnswerSource, InvalidationKind } from '../monitoring/monitor-sink.js'
import type { ResolvedBaseOptions } from '../options/resolve-cache-options.js'
import type { CacheEntry } from '../shared/cache-entry.js'
import { globMatcher } from '../shared/key.js'
import { type EntryShape, buildEntry } from './entry-builder.js'
import { Generations } from './generations.js'
import { LocalTier } from './local-tier.js'
import { PendingInvalidations } from './pending-invalidations.js'
import { Recorder } from './recorder.js'
import { DELETE_MARK_LIFETIME_MS, failureReason, type RemoteFailure, type RemoteOutcome, type RemoteRead, type RemoteTier, type RemoteTierParams } from './remote-tier.js'
import { SingleFlight } from './single-flight.js'

export type { EntryShape }

/** One write: a key and the entry to store under it. */
export interface EntryWrite {
  readonly key: string
  readonly entry: CacheEntry
}

/** A load's write: cached only if nothing invalidated its key (or tags) since `ticket`. */
export interface LoadGuard {
  readonly ticket: number
  /** The Redis tag epoch read before the loader ran, so other instances' invalidations count too. */
  readonly sinceEpoch: number | undefined
  /** When the epoch was asked for: a load older than the delete marks' lifetime is not cached. */
  readonly startedAt: number
}

/** Receives a stale (graced) entry found on the way: the getOrSet flight keeps it for fallbacks. */
export interface StaleHolder {
  stale: CacheEntry | undefined
}

/** How the engine is built: the resolved options and, for Redis caches, the L2 tier. */
export interface EngineParams {
  readonly options: ResolvedBaseOptions
  /** When false, an L2 failure rejects the caller's promise with `E_L2_UNAVAILABLE`. */
  readonly suppressL2Errors: boolean
  readonly remote?: ((params: Pick<RemoteTierParams, 'recorder' | 'onReady' | 'onStart'>) => RemoteTier) | undefined
  /** Cross-instance coherence of L1, for Redis caches with L1 that keep it on. */
  readonly coherence?: ((hooks: CoherenceHooks) => Coherence) | undefined
}

/** Where an entry stands at a given time. The one place that decides freshness. */
export function freshness(entry: CacheEntry, now: number): 'fresh' | 'stale' | 'expired' {
  if (entry.expiresAt === undefined || entry.expiresAt > now) return 'fresh'
  return entry.staleUntil !== undefined && entry.staleUntil > now ? 'stale' : 'expired'
}

/**
 * The orchestrator: it owns the read, write and invalidate paths of both tiers, and reports
 * every tier outcome once through the recorder. The public methods, the getOrSet flow and the
 * statistics use it through these paths only.
 *
 * Ordering inside the process comes from {@link Generations}: writes and invalidations take a
 * number; an L1 fill or a load's write happens only if nothing concerning its key overtook the
 * ticket it started with. Invalidations drop L1 and detach running loads before they go to
 * Redis, and one that cannot reach Redis is queued ({@link PendingInvalidations}) and applied
 * before any later L2 call once Redis is back. Changes Redis reports from other writers
 * (cross-instance coherence) come in through {@link forgetReported} and the L1 fence.
 */
export class Engine {
  readonly options: ResolvedBaseOptions
  readonly recorder: Recorder
  readonly l1: LocalTier | undefined
  readonly l2: RemoteTier | undefined
  readonly flights = new SingleFlight()
  readonly coherence: Coherence | undefined
  readonly #generations = new Generations()
  /**
   * Changes Redis reported (cross-instance coherence), on the same sequence. They bar L1 fills
   * from reads and writes that started before them, but not a load's write to Redis: Redis also
   * reports this instance's own scripted writes back to it, and the loads that a change made
   * elsewhere must not write are refused by Redis itself (tag epochs and delete marks).
   */
  readonly #reported = new Generations(this.#generations)
  readonly #pending = new PendingInvalidations()
  readonly #suppressL2Errors: boolean
  #draining: Promise<void> | undefined
  /** The last L1 fence: a fill whose ticket is older may hold what an unseen invalidation replaced. */
  #fencedAt = 0

  constructor({ options, remote, suppressL2Errors, coherence }: EngineParams) {
    this.options = options
    this.recorder = new Recorder(options.name, options.monitor)
    this.l1 = options.l1 === false ? undefined : new LocalTier(options.l1, options.clock)
    this.l2 = remote?.({ recorder: this.recorder, onReady: () => this.#onReady(), onStart: () => this.coherence?.start() })
    this.#suppressL2Errors = suppressL2Errors
    this.coherence = this.l1 === undefined ? undefined : coherence?.(this.#coherenceHooks())
  }

  /** Closes the connections this cache opened (without reporting an outage) and drops L1. */
  async close(): Promise<void> {
    this.coherence?.close()
    await this.l2?.close()
    this.l1?.clear()
  }

  now(): number {
    return this.options.clock.now()
  }

  /** Invalidations waiting for Redis. */
  get pendingInvalidations(): number {
    return this.#pending.size
  }

  /** Builds the entry to store (see {@link buildEntry}). */
  entry(key: string, value: unknown, shape: EntryShape): CacheEntry {
    return buildEntry({ key, value, shape, options: this.options, memoryOnly: this.l2 === undefined })
  }

  /** The ticket a read or a load starts with. */
  ticket(): number {
    return this.#generations.ticket()
  }

  /**
   * L1 lookup, counted: a fresh entry or `undefined`. The hot path: no clock read unless graced,
   * and coherence costs one typed-array read (see `Coherence.canServe`).
   */
  local(key: string): CacheEntry | undefined {
    const l1 = this.l1
    if (l1 === undefined) return undefined
    const entry = l1.get(key)
    // Only graced entries can be in L1 past their ttl (lru-cache drops the others itself).
    if (
      entry === undefined ||
      (this.coherence !== undefined && !this.coherence.canServe()) ||
      (entry.staleUntil !== undefined && freshness(entry, this.now()) !== 'fresh')
    ) {
      this.recorder.l1Miss()
      return undefined
    }
    this.recorder.l1Hit(key)
    return entry
  }

  /** A stale (graced) entry in L1, uncounted: the fallback of a load that fails or is slow. */
  staleLocal(key: string): CacheEntry | undefined {
    if (this.coherence !== undefined && !this.coherence.canServe()) return undefined
    const entry = this.l1?.get(key)
    return entry !== undefined && freshness(entry, this.now()) === 'stale' ? entry : undefined
  }

  /**
   * The L2 half of a read, counted: a fresh entry or `undefined`. A stale entry goes to
   * `holder`. What it finds fills L1 unless an invalidation or write overtook `ticket`.
   */
  async remote(key: string, ticket: number, holder?: StaleHolder): Promise<CacheEntry | undefined> {
    const l2 = this.l2
    if (l2 === undefined) {
      this.recorder.miss(key)
      return undefined
    }
    this.#applyQueued()
    const read = await l2.read(key)
    return this.#settle(key, read, ticket, holder)
  }

  /** The one read path: L1, then L2. `note.source` tells which answered. */
  async read(key: string, note?: { source?: AnswerSource }): Promise<CacheEntry | undefined> {
    const local = this.local(key)
    if (local !== undefined) {
      if (note) note.source = 'l1'
      return local
    }
    const entry = await this.remote(key, this.ticket())
    if (note) note.source = entry === undefined ? 'none' : 'l2'
    return entry
  }

  /** The read path for many keys: an L1 pass, then one MGET for the rest. Aligned with `keys`. */
  async readMany(keys: readonly string[], holders?: ReadonlyMap<string, StaleHolder>): Promise<Array<CacheEntry | undefined>> {
    const results = keys.map((key) => this.local(key))
    const missing = keys.filter((_key, i) => results[i] === undefined)
    if (missing.length === 0) return results
    const l2 = this.l2
    if (l2 === undefined) {
      missing.forEach((key) => this.recorder.miss(key))
      return results
    }
    const ticket = this.ticket()
    this.#applyQueued()
    const reads = await l2.readMany(missing)
    let j = 0
    return results.map((found, i) => {
      if (found !== undefined) return found
      const key = keys[i] as string
      return this.#settle(key, reads[j++] as RemoteRead, ticket, holders?.get(key))
    })
  }

  /**
   * The one write path: L2 (encoded first, so a value that cannot be stored fails before any
   * state changes), then L1, then the events. A load's write (`guard`) is dropped when an
   * invalidation overtook it; a write that cannot reach Redis still fills L1 and queues the
   * deletion of the key's older value in Redis. Resolves whether every entry was cached.
   */
  async write(writes: readonly EntryWrite[], guard?: LoadGuard): Promise<boolean> {
    const live = guard === undefined ? writes : writes.filter(({ key, entry }) => !this.#overtakenLoad(guard, key, entry.tags))
    if (live.length === 0) return false
    const encoded = this.l2?.encode(live.map(({ key, entry }) => ({ key, entry, sinceEpoch: guard?.sinceEpoch })))
    const tickets = live.map(({ key }) => this.#generations.touch(key))
    // A call that starts after this write must not join a load begun before it.
    if (guard === undefined) for (const { key } of live) this.flights.detachKey(key)
    let written: readonly boolean[] | undefined
    if (this.l2 !== undefined && encoded !== undefined) {
      const l2 = this.l2
      if (this.#pending.size > 0) {
        for (const { key } of live) this.#pending.supersede(key)
        this.#applyQueued()
      }
      this.coherence?.wrote(live, false)
      const outcome = this.#pending.needsDrainBeforeWrites ? await this.#drain().then(() => l2.send(encoded)) : await l2.send(encoded)
      if (outcome.kind === 'ok') {
        written = outcome.value
        this.coherence?.wrote(live, true)
      } else this.#failed(outcome, 'set', live, () => this.#pending.addKeys(live.map(({ key }) => key)))
    }
    let all = live.length === writes.length
    for (let i = 0; i < live.length; i++) {
      const { key, entry } = live[i] as EntryWrite
      // Refused by Redis (another instance invalidated one of its tags since the load began) or
      // overtaken here: L1 must not keep the value this write replaced either.
      const ticket = tickets[i] as number
      if (written?.[i] === false) {
        // On a cluster the refused bytes can be read until the store removes them, and this
        // process hears of no change its own connection makes: a read in flight that got them
        // must not fill L1.
        this.forgetLocal([key])
        all = false
        continue
      }
      if (!this.#mayFill(ticket, key, entry.tags)) {
        this.l1?.delete(key)
        all = false
        continue
      }
      this.l1?.set(key, entry)
      this.recorder.wrote(key)
    }
    return all
  }

  /**
   * What a load takes before its loader runs, for {@link write}: its ticket and the Redis tag
   * epoch (`undefined` without Redis or when Redis cannot be asked).
   */
  async loadGuard(ticket: number): Promise<LoadGuard> {
    const startedAt = this.now()
    const l2 = this.l2
    if (l2 === undefined) return { ticket, sinceEpoch: undefined, startedAt }
    this.#applyQueued()
    const outcome = await l2.tagEpoch()
    return { ticket, sinceEpoch: outcome.kind === 'ok' ? outcome.value : undefined, startedAt }
  }

  /**
   * Forgets keys in this process only: drops them from L1, detaches their running loads and
   * orders them after every read and load in flight. Resolves how many L1 held.
   */
  forgetLocal(keys: readonly string[]): number {
    let held = 0
    for (const key of keys) {
      this.#generations.touch(key)
      this.flights.detachKey(key)
      if (this.l1?.delete(key)) held++
    }
    return held
  }

  /**
   * Applies a key Redis reported as changed: drops it from L1, detaches its running load (a
   * later call must not join a load begun before the change) and bars L1 fills from reads and
   * writes that started before it.
   */
  forgetReported(key: string): void {
    this.#reported.touch(key)
    this.flights.detachKey(key)
    this.l1?.delete(key)
  }

  /** Deletes keys in both tiers; resolves how many existed (in Redis when it was reached). */
  async deleteKeys(keys: readonly string[]): Promise<number> {
    const local = this.forgetLocal(keys)
    const remote = this.l2 && keys.length > 0 ? await this.#invalidate('delete', (l2) => l2.deleteKeys(keys), () => this.#pending.addKeys(keys)) : undefined
    return this.#deleted('delete', keys, remote ?? local)
  }

  /** Deletes the keys matching a glob in both tiers, graced copies included. */
  async deletePattern(pattern: string): Promise<number> {
    const matches = globMatcher(pattern)
    this.#generations.sweep(matches)
    this.flights.detachWhere(matches)
    const localKeys = [...(this.l1?.keys(true) ?? [])].filter(matches)
    localKeys.forEach((key) => this.l1?.delete(key))
    const remote = await this.#invalidate('pattern', (l2) => l2.deletePattern(pattern), () => this.#pending.addPattern(pattern))
    return this.#deleted('pattern', localKeys, remote ?? localKeys.length)
  }

  /** Deletes every entry carrying one of `tags`, in both tiers. */
  async deleteTags(tags: readonly string[]): Promise<number> {
    const wanted = new Set(tags)
    const matches = (_key: string, entryTags: readonly string[]) => entryTags.some((tag) => wanted.has(tag))
    this.#generations.sweep(matches)
    this.flights.detachWhere(matches)
    const localKeys = new Set<string>()
    for (const tag of tags) for (const key of this.l1?.keysWithTag(tag) ?? []) localKeys.add(key)
    localKeys.forEach((key) => this.l1?.delete(key))
    const remote = await this.#invalidate('tag', (l2) => l2.deleteTags(tags), () => this.#pending.addTags(tags))
    // Redis' index may also name keys rewritten since without the tag: they are gone from
    // Redis now, so they leave L1 too and the tiers agree.
    this.forgetLocal((remote?.keys ?? []).filter((key) => !localKeys.has(key)))
    return this.#deleted('tag', [...localKeys], remote?.removed ?? localKeys.size)
  }

  /** Deletes every entry of the namespace, and nothing else. */
  async clear(): Promise<void> {
    this.#generations.sweep(() => true)
    this.flights.detachWhere()
    const local = this.l1?.size ?? 0
    this.l1?.clear()
    const remote = await this.#invalidate('clear', (l2) => l2.clear(), () => this.#pending.addAll())
    this.#deleted('clear', [], remote ?? local)
  }

  /** Keys of the namespace matching a glob: from Redis when there is one, else from L1. */
  async keys(pattern: string): Promise<string[]> {
    const l2 = this.l2
    if (l2 === undefined) {
      return [...(this.l1?.keys() ?? [])].filter(globMatcher(pattern))
    }
    this.#applyQueued()
    const outcome = await l2.keys(pattern)
    if (outcome.kind === 'ok') return outcome.value
    this.#failed(outcome, 'getKeys', undefined)
    return []
  }

  /**
   * Whether a load's result is too late to cache: something in this process overtook it, or it
   * ran longer than a delete mark lasts, so a delete on another instance may no longer show.
   */
  #overtakenLoad(guard: LoadGuard, key: string, tags: readonly string[]): boolean {
    if (this.#generations.overtaken(guard.ticket, key, tags)) return true
    return this.l2 !== undefined && this.now() - guard.startedAt >= DELETE_MARK_LIFETIME_MS
  }

  /**
   * Empties L1 in O(1) (a new store, not a scan) and orders the emptying after every read and
   * write in flight, so none of them fills L1 with what it got before. Loads still write Redis:
   * a fence is about what this instance may have missed, not about Redis.
   */
  #fence(): void {
    this.#fencedAt = this.#generations.advance()
    this.l1?.reset()
  }

  /** Whether what a read or write that started at `ticket` got for `key` may go into L1. */
  #mayFill(ticket: number, key: string, tags: readonly string[]): boolean {
    return ticket >= this.#fencedAt && !this.#generations.overtaken(ticket, key, tags) && !this.#reported.overtaken(ticket, key, tags)
  }

  #coherenceHooks(): CoherenceHooks {
    const recorder = this.recorder
    return {
      forget: (key) => this.forgetReported(key),
      fence: () => this.#fence(),
      // Which tags changed is not said: detach every load (their writes are checked in Redis).
      tagsChanged: () => this.flights.detachWhere(),
      reachable: () => this.l2 !== undefined && (this.l2.available || this.l2.connecting),
      changed: (from, to, reason) => recorder.coherence(from, to, reason),
      received: (keys, lagMs) => recorder.invalidationReceived(keys, lagMs),
      failed: (error) => recorder.failure(error, 'other', 'coherence'),
    }
  }

  /** Counts, reports and decides one L2 read outcome. */
  #settle(key: string, read: RemoteRead, ticket: number, holder: StaleHolder | undefined): CacheEntry | undefined {
    if (read.kind === 'found') {
      const entry = read.entry
      const state = freshness(entry, this.now())
      if (state === 'expired' || (this.#pending.size > 0 && this.#pending.covers(key, entry.tags))) {
        this.recorder.l2Miss(key)
        return undefined
      }
      if (this.#mayFill(ticket, key, entry.tags)) this.l1?.set(key, entry)
      if (state === 'fresh') {
        this.recorder.l2Hit(key)
        return entry
      }
      if (holder !== undefined) holder.stale = entry
    } else if (read.kind === 'corrupt') {
      this.recorder.failure(read.error, 'decode', 'get', key)
    } else if (read.kind !== 'miss') {
      this.#failed(read, 'get', [{ key }])
    }
    this.recorder.l2Miss(key)
    return undefined
  }

  /** Runs an invalidation in Redis; on failure queues it (`enqueue`), reports it and, unless suppressed, rejects. */
  async #invalidate<T>(kind: InvalidationKind, run: (l2: RemoteTier) => Promise<RemoteOutcome<T>>, enqueue: () => void): Promise<T | undefined> {
    const l2 = this.l2
    if (l2 === undefined) return undefined
    this.#applyQueued()
    const outcome = await run(l2)
    if (outcome.kind === 'ok') return outcome.value
    this.#failed(outcome, kind === 'delete' ? 'delete' : `invalidate:${kind}`, undefined, enqueue)
    return undefined
  }

  /**
   * Reports an L2 failure. With `enqueue`, what failed is queued for when Redis is back; it is
   * reported even when errors are suppressed, so whoever alerts on `cache:error` sees it.
   */
  #failed(failure: RemoteFailure, operation: string, keys: ReadonlyArray<{ key: string }> | undefined, enqueue?: () => void): void {
    if (enqueue !== undefined) {
      enqueue()
      this.recorder.queued()
    }
    const reason = failureReason(failure)
    this.recorder.failure(failure.error, reason, operation, keys?.length === 1 ? keys[0]?.key : undefined)
    if (!this.#suppressL2Errors) throw failure.error as CacheError
  }

  #deleted(kind: InvalidationKind, keys: readonly string[], count: number): number {
    this.recorder.deleted(kind, keys, count)
    return count
  }

  /**
   * Called before every L2 call: starts applying queued invalidations, without waiting. Reads
   * need not wait (what the queue covers reads as a miss until applied), deletes commute with
   * deletes, and a write waits only for queued patterns, tags and clears: a queued delete of
   * the key it writes is superseded by the write itself. Calls are sent in order on one
   * connection, so a command issued after the drain's also runs after it.
   */
  #applyQueued(): void {
    if (this.#pending.size > 0) void this.#drain()
  }

  #onReady(): void {
    if (this.#pending.size > 0) void this.#drain()
  }

  #drain(): Promise<void> {
    const l2 = this.l2
    if (l2 === undefined) return Promise.resolve()
    this.#draining ??= this.#pending.drain(l2, this.recorder).finally(() => (this.#draining = undefined))
    return this.#draining
  }
}
