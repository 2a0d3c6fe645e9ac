import { InvalidOptionsError, type OptionIssue, UndefinedValueError } from '../errors.js'
import type { CacheEventName, CacheListener } from '../monitoring/events.js'
import { parseDuration } from '../shared/duration.js'
import { type ResolvedGetOrSetPolicy, resolveCallPolicy } from '../options/get-or-set-options.js'
import type { ResolvedBaseOptions } from '../options/resolve-cache-options.js'
import type { CacheEntry } from '../shared/cache-entry.js'
import type {
  CacheInterface,
  CacheStats,
  GetOrSetOptions,
  Loader,
  ManyLoader,
  SetManyEntry,
  SetOptions,
} from './cache-interface.js'
import { CacheStack, type EntryWrite, type RemoteContext, isFresh } from './cache-stack.js'
import { GetOrSetHandler, type SourceNote } from './get-or-set/get-or-set-handler.js'
import { type TraceContext, traceChannel } from './instrumentation.js'
import { StatsSnapshot } from './stats-snapshot.js'
import { Invalidator } from './invalidator.js'
import type { CacheOperation, MonitoredCache } from '../monitoring/monitor-sink.js'
import { getOrSetMany } from './get-or-set/get-or-set-many.js'
import { MAX_KEY_LENGTH, assertValidKey, assertValidPattern, assertValidTags, globToRegExp } from '../shared/key.js'
import type { RemoteTier } from './remote-tier.js'

/** What a concrete cache hands to the engine. */
export interface TieredCacheParams {
  readonly options: ResolvedBaseOptions
  /** Builds the L2 tier once the engine's events and counters exist; omit for memory only. */
  readonly remote?: (context: RemoteContext) => RemoteTier
}

/**
 * The engine behind every cache: an optional L1 in front of an optional L2. The read and write
 * paths live in `CacheStack`, the getOrSet flow in `GetOrSetHandler`; this class validates
 * arguments and keeps the public methods thin. `InMemoryCache` and `GenericRedisCache` only
 * choose the tiers.
 */
export class TieredCache implements CacheInterface {
  readonly #stack: CacheStack
  readonly #handler: GetOrSetHandler
  readonly #snapshot: StatsSnapshot
  readonly #invalidator: Invalidator

  constructor({ options, remote }: TieredCacheParams) {
    this.#stack = new CacheStack(options, remote)
    this.#handler = new GetOrSetHandler(this.#stack)
    this.#snapshot = new StatsSnapshot(this.#stack)
    this.#invalidator = new Invalidator(this.#stack, this.#handler.flights)
    options.monitor?.attach(monitoredView(this.#stack))
  }

  /** The namespace that prefixes and isolates this cache's keys. */
  get namespace(): string {
    return this.#stack.options.namespace
  }

  get<T = unknown>(key: string): Promise<T | undefined> {
    if (!isPlainKey(key)) return this.#invalidKey(key)
    const stack = this.#stack
    const instr = stack.instr
    stack.stats.operations++
    if (GET_TRACE.hasSubscribers) return this.#observe('get', key, async (note) => (await this.#read(key, note))?.value as T)
    const monitored = instr.monitor !== undefined
    if (monitored && instr.sampleNow()) return this.#timedGet(key)
    // The hot path, with or without a monitor: one map lookup, no clock read, no closure.
    const local = stack.readLocal(key)
    if (local !== undefined) {
      if (monitored) instr.pendingGets++
      return Promise.resolve(local.value as T)
    }
    return this.#remoteGet(key, monitored ? performance.now() : Number.NaN)
  }

  /** The one `get` in 256 that a monitor times, even when L1 answers it. */
  #timedGet<T>(key: string): Promise<T | undefined> {
    const startedAt = performance.now()
    const local = this.#stack.readLocal(key)
    if (local === undefined) return this.#remoteGet(key, startedAt)
    this.#stack.instr.l1Answer('get', startedAt)
    return Promise.resolve(local.value as T)
  }

  #remoteGet<T>(key: string, startedAt: number): Promise<T | undefined> {
    return this.#freshFromRemote(key).then((entry) => {
      this.#stack.instr.end('get', entry === undefined ? 'none' : 'l2', startedAt)
      return entry?.value as T | undefined
    })
  }

  #invalidKey<T>(key: unknown): Promise<T> {
    try {
      assertValidKey(key)
    } catch (error) {
      return rejection(error)
    }
    return rejection(new Error('unreachable: a key that passes validation reached #invalidKey'))
  }

  async set<T>(key: string, value: T, options?: SetOptions): Promise<void> {
    const writes = this.#prepareWrites([{ key, value, ...options }])
    return this.#observe('set', key, () => this.#stack.write(writes))
  }

  getOrSet<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<T | undefined> {
    let policy: ResolvedGetOrSetPolicy
    try {
      assertValidKey(key)
      assertLoader(loader)
      policy = resolveCallPolicy(options, this.#stack.options.policy)
    } catch (error) {
      return rejection(error)
    }
    const instr = this.#stack.instr
    this.#stack.stats.operations++
    if (instr.channel('getOrSet') !== undefined) {
      return this.#observe('getOrSet', key, (note) => this.#handler.handle(key, loader, policy, note))
    }
    if (instr.monitor === undefined) return this.#handler.handle(key, loader, policy)
    const startedAt = instr.startSampled()
    const note: SourceNote = {}
    const answer = this.#handler.handle(key, loader, policy, note)
    if (note.source === 'l1') {
      instr.l1Answer('getOrSet', startedAt)
      return answer
    }
    const slowStart = Number.isNaN(startedAt) ? instr.start() : startedAt
    return answer.finally(() => instr.end('getOrSet', note.source ?? 'none', slowStart))
  }

  async getOrSetMany<T>(keys: readonly string[], loader: ManyLoader<T>, options?: GetOrSetOptions): Promise<Array<T | undefined>> {
    keys.forEach((key) => assertValidKey(key))
    assertLoader(loader)
    const policy = resolveCallPolicy(options, this.#stack.options.policy)
    return this.#observe('getOrSetMany', undefined, () =>
      getOrSetMany({ stack: this.#stack, flights: this.#handler.flights, keys, loader, policy }),
    )
  }

  async exists(key: string): Promise<boolean> {
    assertValidKey(key)
    return this.#observe('exists', key, async (note) => (await this.#read(key, note)) !== undefined)
  }

  async getTtl(key: string): Promise<number | undefined> {
    assertValidKey(key)
    return this.#observe('getTtl', key, async (note) => {
      const entry = await this.#read(key, note)
      if (entry?.expiresAt === undefined) return entry && Infinity
      return Math.max(0, entry.expiresAt - this.#stack.now())
    })
  }

  async delete(key: string): Promise<boolean> {
    assertValidKey(key)
    return this.#observe('delete', key, async () => (await this.#invalidator.deleteKeys([key])) > 0)
  }

  async getMany<T = unknown>(keys: readonly string[]): Promise<Array<T | undefined>> {
    keys.forEach((key) => assertValidKey(key))
    return this.#observe('getMany', undefined, () => this.#getMany<T>(keys))
  }

  async #getMany<T>(keys: readonly string[]): Promise<Array<T | undefined>> {
    const stack = this.#stack
    const results: Array<T | undefined> = keys.map((key) => stack.readLocal(key)?.value as T | undefined)
    const missing = keys.flatMap((_key, i) => (results[i] === undefined ? [i] : []))
    if (missing.length === 0) return results
    const entries = (await stack.l2?.readMany(missing.map((i) => keys[i] as string))) ?? []
    const now = stack.now()
    missing.forEach((index, j) => {
      const entry = stack.afterRemoteRead(keys[index] as string, entries[j])
      if (entry !== undefined && isFresh(entry, now)) results[index] = entry.value as T
    })
    return results
  }

  async setMany(entries: ReadonlyArray<SetManyEntry>): Promise<void> {
    const writes = this.#prepareWrites(entries)
    return this.#observe('setMany', undefined, async () => {
      if (writes.length > 0) await this.#stack.write(writes)
    })
  }

  /** Validates every entry before any write, so a bad entry never leaves a half-applied batch. */
  #prepareWrites(entries: ReadonlyArray<SetManyEntry>): EntryWrite[] {
    const defaults = this.#stack.options.policy
    return entries.map(({ key, value, ttl, tags }) => {
      assertValidKey(key)
      if (value === undefined) throw new UndefinedValueError(key)
      if (tags !== undefined) assertValidTags(tags)
      const shape = { ...defaults, ttlMs: ttl === undefined ? defaults.ttlMs : ttlMs(ttl), tags: tags ?? [] }
      return { key, entry: this.#stack.entry(key, value, shape) }
    })
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    keys.forEach((key) => assertValidKey(key))
    return this.#observe('deleteMany', undefined, () => this.#invalidator.deleteKeys(keys))
  }

  async getKeys(pattern: string): Promise<string[]> {
    assertValidPattern(pattern)
    return this.#observe('getKeys', undefined, async () => {
      if (this.#stack.l2 !== undefined) return this.#stack.l2.keys(pattern)
      const regex = globToRegExp(pattern)
      return [...(this.#stack.l1?.keys() ?? [])].filter((key) => regex.test(key))
    })
  }

  async invalidatePattern(pattern: string): Promise<number> {
    assertValidPattern(pattern)
    return this.#observe('invalidatePattern', undefined, () => this.#invalidator.pattern(pattern))
  }

  async invalidateTags(tags: readonly string[]): Promise<number> {
    assertValidTags(tags)
    return this.#observe('invalidateTags', undefined, () => this.#invalidator.tags(tags))
  }

  async clear(): Promise<void> {
    return this.#observe('clear', undefined, () => this.#invalidator.clear())
  }

  getStats(): CacheStats {
    return this.#snapshot.take()
  }

  on<E extends CacheEventName>(event: E, listener: CacheListener<E>): this {
    this.#stack.events.on(event, listener)
    return this
  }

  off<E extends CacheEventName>(event: E, listener: CacheListener<E>): this {
    this.#stack.events.off(event, listener)
    return this
  }

  /** Memory needs no connection: resolves `true`. */
  connect(): Promise<boolean> {
    return Promise.resolve(true)
  }

  /** Closes the Redis connection (if any) without reporting an outage, and drops L1. */
  async disconnect(): Promise<void> {
    await this.#stack.l2?.close()
    this.#stack.l1?.clear()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect()
  }

  /** L2 read that answers only fresh entries (a stale one still fills L1 for getOrSet fallbacks). */
  async #freshFromRemote(key: string): Promise<CacheEntry | undefined> {
    const entry = await this.#stack.readRemote(key)
    return entry !== undefined && isFresh(entry, this.#stack.now()) ? entry : undefined
  }

  /** A fresh entry from L1, else L2 (filling L1); records where it came from in `note`. */
  async #read(key: string, note: SourceNote): Promise<CacheEntry | undefined> {
    const local = this.#stack.readLocal(key)
    if (local !== undefined) {
      note.source = 'l1'
      return local
    }
    const entry = await this.#freshFromRemote(key)
    note.source = entry === undefined ? 'none' : 'l2'
    return entry
  }

  /**
   * Runs an operation under the monitor's timing and its `diagnostics_channel` tracing channel.
   * Without either it is a plain call: nothing is allocated for tracing nobody listens to.
   */
  #observe<T>(operation: CacheOperation, key: string | undefined, run: (note: SourceNote) => Promise<T>): Promise<T> {
    const instr = this.#stack.instr
    this.#stack.stats.operations++
    const channel = instr.channel(operation)
    if (channel === undefined && instr.monitor === undefined) return run({})
    const context: TraceContext = { cache: instr.name, operation, key }
    const startedAt = instr.start()
    const result = channel === undefined ? run(context) : channel.tracePromise(() => run(context), context)
    if (instr.monitor === undefined) return result
    return result.finally(() => instr.end(operation, context.source ?? 'none', startedAt))
  }

}

function assertLoader(loader: unknown): void {
  if (typeof loader !== 'function') {
    throw new InvalidOptionsError([{ path: 'loader', message: 'expected a function that loads the value' }])
  }
}

function ttlMs(ttl: unknown): number {
  if (typeof ttl === 'number' && ttl >= 0 && Number.isFinite(ttl)) return ttl
  const issues: OptionIssue[] = []
  const ms = parseDuration(ttl, 'ttl', issues)
  if (ms === undefined) throw new InvalidOptionsError(issues)
  return ms
}

/** What a monitor may read about a cache: its name, backend and memory. */
function monitoredView(stack: CacheStack): MonitoredCache {
  return {
    name: stack.instr.name,
    backendType: stack.l2 === undefined ? 'memory' : 'redis',
    l1Usage: () => stack.l1 && { entries: stack.l1.size, sizeBytes: stack.l1.sizeBytes },
    redisUsedMemory: async () => (stack.l2?.store.isReady ? stack.l2.usedMemory() : undefined),
    flush: () => stack.instr.flush(),
  }
}

/** The tracing channel of `get`, checked on every call (cheaper than a lookup by name). */
const GET_TRACE = traceChannel('get')

/** The common valid key, checked inline on the hot path; anything else goes to full validation. */
function isPlainKey(key: unknown): key is string {
  return typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY_LENGTH
}

function rejection<T>(error: unknown): Promise<T> {
  return Promise.reject(error instanceof Error ? error : new Error(String(error)))
}
