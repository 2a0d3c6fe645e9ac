import { CodecPipeline } from '../codecs/pipeline.js'
import { CacheError, CodecDecodeError, L2UnavailableError } from '../errors.js'
import { type CacheEventEmitter, cacheEvents } from '../monitoring/events.js'
import type { ResolvedRedisCacheOptions } from '../options/resolve-cache-options.js'
import type { RemoteStore, StoreEntry } from '../stores/store.js'
import type { CacheEntry } from '../shared/cache-entry.js'
import { CircuitBreaker } from './circuit-breaker.js'
import { DeadlineExceeded, withDeadline } from './deadline.js'
import type { Instrumentation } from './instrumentation.js'
import { escapeGlob } from '../shared/key.js'
import type { StatsCounters } from './stats-counters.js'

/** Operations bounded by the read deadline; every other one by the write deadline. */
const READ_OPERATIONS = new Set(['get', 'getMany', 'scan', 'lockTtl', 'info'])

/** What the tier needs from the cache that owns it. */
export interface RemoteTierParams {
  readonly store: RemoteStore
  readonly options: ResolvedRedisCacheOptions
  readonly events: CacheEventEmitter
  readonly stats: StatsCounters
  readonly instr: Instrumentation
}

/**
 * The L2 tier: namespacing, the codec pipeline, a deadline on every call, the circuit breaker
 * and the failure policy. The store underneath only moves bytes.
 *
 * Key layout: `<namespace>:<key>` for entries, `<namespace>#tag:<tag>` for tag indexes. A
 * namespace may contain neither `:` nor `#`, so no namespace can see another's keys.
 */
export class RemoteTier {
  readonly #store: RemoteStore
  readonly #options: ResolvedRedisCacheOptions
  readonly #events: CacheEventEmitter
  readonly #stats: StatsCounters
  readonly #instr: Instrumentation
  readonly #codec: CodecPipeline
  readonly #breaker: CircuitBreaker
  readonly #prefix: string
  readonly #scanPrefix: string
  /** Set by an intentional disconnect, whose lost connection is not an outage. */
  #closing = false

  constructor({ store, options, events, stats, instr }: RemoteTierParams) {
    this.#store = store
    this.#options = options
    this.#events = events
    this.#stats = stats
    this.#instr = instr
    const monitor = instr.monitor
    this.#prefix = `${options.namespace}:`
    this.#scanPrefix = `${escapeGlob(options.namespace)}:`
    this.#codec = new CodecPipeline({
      serializer: options.serializer,
      compression: options.compression,
      maxValueBytes: options.maxValueBytes,
      ...(monitor?.compression && {
        onCompress: (before: number, after: number, ms: number) => monitor.compression?.(instr.name, before, after, ms),
      }),
    })
    this.#breaker = new CircuitBreaker(options.breaker, options.clock, (from, to) => {
      monitor?.circuit?.(instr.name, from, to)
      events.emit(cacheEvents.circuit(from, to))
    })
    store.onReadyChange((ready) => {
      // A fresh connection is better evidence than the breaker's timer: use Redis again at once.
      // A lost one opens the breaker, so the degraded state shows in stats and events.
      if (ready) this.#breaker.recordSuccess()
      else if (!this.#closing) this.#breaker.trip()
      events.emit(cacheEvents.connection(ready))
    })
  }

  /** Closes the connection on purpose: no breaker trip, no outage reported. */
  async close(): Promise<void> {
    this.#closing = true
    await this.#store.disconnect()
  }

  get store(): RemoteStore {
    return this.#store
  }

  get breaker(): CircuitBreaker {
    return this.#breaker
  }

  /** Reads and decodes one entry. A corrupt entry is deleted and reported, and reads as a miss. */
  async read(key: string): Promise<CacheEntry | undefined> {
    const fullKey = this.#prefix + key
    const bytes = await this.#call('get', () => this.#store.get(fullKey), undefined, key)
    return bytes === undefined ? undefined : this.#decode(key, bytes)
  }

  /** Reads many entries in one MGET; results align with `keys`. */
  async readMany(keys: readonly string[]): Promise<Array<CacheEntry | undefined>> {
    const fullKeys = keys.map((key) => this.#prefix + key)
    const values = await this.#call('getMany', () => this.#store.getMany(fullKeys), [], undefined)
    return keys.map((key, i) => {
      const bytes = values[i]
      return bytes === undefined ? undefined : this.#decode(key, bytes)
    })
  }

  /** Encodes (throwing coded errors for bad values) and writes entries, pipelined. */
  async write(entries: ReadonlyArray<{ key: string; entry: CacheEntry }>): Promise<void> {
    const now = this.#options.clock.now()
    const writes: StoreEntry[] = entries.map(({ key, entry }) => ({
      key: this.#prefix + key,
      value: this.#codec.encode(key, entry),
      ttlMs: physicalTtl(entry, now),
    }))
    const tagged = entries.filter(({ entry }) => entry.tags.length > 0)
    await this.#call(
      'set',
      async () => {
        const first = writes[0]
        if (writes.length === 1 && first) await this.#store.set(first.key, first.value, first.ttlMs)
        else await this.#store.setMany(writes)
        for (const { key, entry } of tagged) await this.#indexTags(this.#prefix + key, entry, now)
      },
      undefined,
      entries.length === 1 ? entries[0]?.key : undefined,
    )
  }

  /** Deletes keys; resolves how many existed in Redis (0 when Redis could not be reached). */
  deleteMany(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return Promise.resolve(0)
    return this.#call('delete', () => this.#store.deleteMany(keys.map((k) => this.#prefix + k)), 0, undefined)
  }

  /** Keys of this namespace matching a glob, without the namespace prefix, each once. */
  async keys(pattern: string): Promise<string[]> {
    const found = new Set<string>()
    await this.#call(
      'scan',
      async () => {
        for await (const batch of this.#store.scan(this.#scanPrefix + pattern)) {
          for (const fullKey of batch) found.add(fullKey.slice(this.#prefix.length))
        }
      },
      undefined,
      undefined,
      true,
    )
    return [...found]
  }

  /** Deletes keys of this namespace matching a glob (`*` with `includeTags` also drops tag indexes). */
  async deletePattern(pattern: string, includeTags = false): Promise<number> {
    const match = this.#scanPrefix + pattern
    return this.#call(
      'deletePattern',
      async () => {
        const removed = await this.#unlinkScan(match)
        if (includeTags) await this.#unlinkScan(`${escapeGlob(this.#options.namespace)}#tag:*`)
        return removed
      },
      0,
      undefined,
      true,
    )
  }

  /** Deletes every key carrying one of `tags`, and the tag indexes themselves. */
  async deleteTags(tags: readonly string[]): Promise<{ keys: string[]; removed: number }> {
    const tagKeys = tags.map((tag) => this.#tagKey(tag))
    return this.#call(
      'deleteTags',
      async () => {
        const members = new Set<string>()
        for (const tagKey of tagKeys) for (const member of await this.#store.setMembers(tagKey)) members.add(member)
        const removed = await this.#store.deleteMany([...members])
        await this.#store.deleteMany(tagKeys)
        return { keys: [...members].map((fullKey) => fullKey.slice(this.#prefix.length)), removed }
      },
      { keys: [], removed: 0 },
      undefined,
      true,
    )
  }

  /** Lock operations for cross-instance single-flight; `unavailable` when Redis cannot be asked. */
  async tryLock(lockKey: string, token: string, leaseMs: number): Promise<'acquired' | 'held' | 'unavailable'> {
    const outcome = await this.#call<boolean | undefined>('lock', () => this.#store.tryLock(lockKey, token, leaseMs), undefined, undefined)
    if (outcome === undefined) return 'unavailable'
    return outcome ? 'acquired' : 'held'
  }

  /** Remaining lease of a lock in ms; `undefined` when it is gone or Redis cannot be asked. */
  lockTtl(lockKey: string): Promise<number | undefined> {
    return this.#call('lockTtl', () => this.#store.ttl(lockKey), undefined, undefined)
  }

  extendLock(lockKey: string, token: string, leaseMs: number): Promise<boolean> {
    return this.#call('extendLock', () => this.#store.extendLock(lockKey, token, leaseMs), false, undefined)
  }

  unlock(lockKey: string, token: string, channel: string): Promise<boolean> {
    return this.#call('unlock', () => this.#store.unlock(lockKey, token, { channel, message: lockKey }), false, undefined)
  }

  /** Redis `used_memory` in bytes, or `undefined` when Redis cannot be asked. */
  async usedMemory(): Promise<number | undefined> {
    const info = await this.#call<string | undefined>('info', () => this.#store.info('memory'), undefined, undefined)
    const match = info === undefined ? null : /^used_memory:(\d+)/m.exec(info)
    return match ? Number(match[1]) : undefined
  }

  /** Key of the lock guarding loads of `key`, and the channel its releases are announced on. */
  lockKeys(key: string): { lockKey: string; channel: string } {
    return { lockKey: `${this.#options.namespace}#lock:${key}`, channel: `${this.#options.namespace}#lock-released` }
  }

  async #unlinkScan(match: string): Promise<number> {
    let removed = 0
    for await (const batch of this.#store.scan(match)) removed += await this.#store.deleteMany(batch)
    return removed
  }

  #indexTags(fullKey: string, entry: CacheEntry, now: number): Promise<unknown> {
    const ttlMs = physicalTtl(entry, now)
    return Promise.all(entry.tags.map((tag) => this.#store.addToSet(this.#tagKey(tag), [fullKey], ttlMs)))
  }

  #tagKey(tag: string): string {
    return `${this.#options.namespace}#tag:${tag}`
  }

  #decode(key: string, bytes: Uint8Array): CacheEntry | undefined {
    try {
      return this.#codec.decode(bytes)
    } catch (error) {
      const coded = error instanceof CacheError ? error : new CodecDecodeError('unexpected failure', error)
      this.#stats.decodeErrors++
      this.#instr.error('decode')
      this.#report(coded, 'decode', key)
      // Leaving the bytes would make every later read pay for the same failure. Compare-and-
      // delete, so a writer that replaced them meanwhile keeps its fresh value.
      void this.#store.deleteIfEquals(this.#prefix + key, bytes).catch(() => undefined)
      return undefined
    }
  }

  /**
   * Runs one L2 call under the failure policy: skipped while disconnected or while the breaker
   * is open, bounded by the deadline (scans by several, since they take many round trips), and
   * answered by `fallback` (or `E_L2_UNAVAILABLE` when errors are not suppressed) on failure.
   */
  async #call<T>(operation: string, run: () => Promise<T>, fallback: T, key: string | undefined, long = false): Promise<T> {
    if (!this.#store.isReady || !this.#breaker.allow()) {
      this.#stats.l2Skipped++
      if (this.#options.suppressL2Errors) return fallback
      throw new L2UnavailableError(operation, new Error('Redis is disconnected or the circuit breaker is open'))
    }
    try {
      const base = READ_OPERATIONS.has(operation) ? this.#options.l2TimeoutMs.read : this.#options.l2TimeoutMs.write
      const timeoutMs = long ? base * 40 : base
      const result = await withDeadline(run(), timeoutMs, `L2 ${operation}`)
      this.#breaker.recordSuccess()
      return result
    } catch (error) {
      this.#breaker.recordFailure()
      this.#stats.l2Errors++
      this.#instr.error(error instanceof DeadlineExceeded ? 'deadline' : 'connection')
      const coded = new L2UnavailableError(operation, error)
      this.#report(coded, operation, key)
      if (this.#options.suppressL2Errors) return fallback
      throw coded
    }
  }

  #report(error: CacheError, operation: string, key: string | undefined): void {
    this.#stats.errors++
    if (this.#events.has('cache:error')) this.#events.emit(cacheEvents.error(error, operation, key))
  }
}

/** Redis keeps an entry until the end of its grace: the logical ttl is checked on read. */
function physicalTtl(entry: CacheEntry, now: number): number | undefined {
  const until = entry.staleUntil ?? entry.expiresAt
  return until === undefined ? undefined : Math.max(1, until - now)
}
