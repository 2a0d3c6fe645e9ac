import { ValueTooLargeError } from '../errors.js'
import { CacheEventEmitter, cacheEvents } from '../monitoring/events.js'
import type { ResolvedGetOrSetPolicy } from '../options/get-or-set-options.js'
import type { ResolvedBaseOptions } from '../options/resolve-cache-options.js'
import type { CacheEntry } from '../shared/cache-entry.js'
import { LocalTier } from './local-tier.js'
import type { RemoteTier } from './remote-tier.js'
import { estimateSize } from './size-estimate.js'
import { Instrumentation } from './instrumentation.js'
import { StatsCounters } from './stats-counters.js'

/** One write: a key and the entry to store under it. */
export interface EntryWrite {
  readonly key: string
  readonly entry: CacheEntry
}

/** What an entry is written with. */
export interface EntryShape {
  readonly ttlMs: number
  readonly graceMs: number
  readonly ttlJitter: number
  readonly tags: readonly string[]
}

/** What the L2 tier is built with: the stack's events, counters and instrumentation. */
export interface RemoteContext {
  readonly events: CacheEventEmitter
  readonly stats: StatsCounters
  readonly instr: Instrumentation
}

/** Whether an entry is within its ttl at `now`. */
export function isFresh(entry: CacheEntry, now: number): boolean {
  return entry.expiresAt === undefined || entry.expiresAt > now
}

/** Whether an entry is past its ttl but within its grace at `now`. */
export function isStale(entry: CacheEntry, now: number): boolean {
  return !isFresh(entry, now) && entry.staleUntil !== undefined && entry.staleUntil > now
}

/**
 * The tiers and their bookkeeping, shared by the public methods and the getOrSet handler: the
 * one read path (L1, then L2 filling L1) and the one write path (L2, then L1, then events).
 */
export class CacheStack {
  readonly options: ResolvedBaseOptions
  readonly events = new CacheEventEmitter()
  readonly stats = new StatsCounters()
  readonly instr: Instrumentation
  readonly l1: LocalTier | undefined
  readonly l2: RemoteTier | undefined

  constructor(options: ResolvedBaseOptions, remote?: (context: RemoteContext) => RemoteTier) {
    this.options = options
    this.instr = new Instrumentation(options.name, options.monitor, this.stats)
    this.l1 = options.l1 === false ? undefined : new LocalTier(options.l1, options.clock)
    this.l2 = remote?.({ events: this.events, stats: this.stats, instr: this.instr })
  }

  now(): number {
    return this.options.clock.now()
  }

  /** L1 lookup of a fresh entry, with hit/miss accounting. */
  readLocal(key: string): CacheEntry | undefined {
    if (this.l1 === undefined) return undefined
    const entry = this.l1.get(key)
    // Only graced entries can be in L1 past their ttl, so only they cost a clock read.
    if (entry === undefined || (entry.staleUntil !== undefined && !isFresh(entry, this.now()))) {
      this.stats.l1Misses++
      this.instr.lookup('l1', false)
      return undefined
    }
    // Counted here only: the monitor reads L1 hits from this counter in batches.
    this.stats.l1Hits++
    if (this.events.has('cache:hit')) this.events.emit(cacheEvents.hit(key, 'l1'))
    return entry
  }

  /** The L2 half of a read: the entry (fresh or stale) or `undefined`; fills L1 with what it found. */
  async readRemote(key: string): Promise<CacheEntry | undefined> {
    const entry = this.l2 === undefined ? undefined : await this.l2.read(key)
    return this.afterRemoteRead(key, entry)
  }

  /** Accounting and L1 fill for an entry read from L2 (or for a miss when there is no L2). */
  afterRemoteRead(key: string, entry: CacheEntry | undefined): CacheEntry | undefined {
    const now = this.now()
    const usable = entry !== undefined && (isFresh(entry, now) || isStale(entry, now))
    if (usable) this.l1?.set(key, entry)
    if (this.l2 !== undefined) this.instr.lookup('l2', usable && isFresh(entry, now))
    if (usable && isFresh(entry, now)) {
      if (this.l2 !== undefined) this.stats.l2Hits++
      if (this.events.has('cache:hit')) this.events.emit(cacheEvents.hit(key, 'l2'))
      return entry
    }
    if (this.l2 !== undefined) this.stats.l2Misses++
    if (this.events.has('cache:miss')) this.events.emit(cacheEvents.miss(key))
    return usable ? entry : undefined
  }

  /** Writes L2 first (so L1 never holds what L2 refused to encode), then L1, then events. */
  async write(writes: readonly EntryWrite[]): Promise<void> {
    await this.l2?.write(writes)
    for (const { key, entry } of writes) {
      this.l1?.set(key, entry)
      this.stats.sets++
      if (this.events.has('cache:set')) this.events.emit(cacheEvents.set(key))
    }
  }

  /** Builds the entry to store; enforces `maxValueBytes` for memory-only caches. */
  entry(key: string, value: unknown, shape: EntryShape | ResolvedGetOrSetPolicy): CacheEntry {
    if (this.l2 === undefined) {
      // Memory-only caches never encode, so the size bound applies to the estimated size.
      const size = estimateSize(value)
      if (size > this.options.maxValueBytes) throw new ValueTooLargeError(key, size, this.options.maxValueBytes)
    }
    const now = this.now()
    if (shape.ttlMs <= 0) return { value, createdAt: now, expiresAt: undefined, tags: shape.tags }
    const ttlMs = shape.ttlJitter > 0 ? shape.ttlMs * (1 - this.options.random() * shape.ttlJitter) : shape.ttlMs
    const expiresAt = now + Math.max(1, Math.round(ttlMs))
    if (shape.graceMs <= 0) return { value, createdAt: now, expiresAt, tags: shape.tags }
    return { value, createdAt: now, expiresAt, staleUntil: expiresAt + shape.graceMs, tags: shape.tags }
  }
}
