import { InvalidOptionsError, UndefinedValueError } from '../errors.js'
import type { CacheEventName, CacheListener } from '../monitoring/events.js'
import type { CacheOperation } from '../monitoring/monitor-sink.js'
import { type ResolvedGetOrSetPolicy, isPlainWriteOptions, resolveCallOptions } from '../options/get-or-set-options.js'
import { MAX_KEY_LENGTH, assertValidKey, assertValidPattern, assertValidTags, isWellFormedText } from '../shared/key.js'
import type {
  CacheInterface,
  CacheStats,
  GetOrSetOptions,
  Loader,
  ManyLoader,
  SetManyEntry,
  SetOptions,
} from './cache-interface.js'
import { Engine, type EngineParams, type EntryWrite } from './engine.js'
import { GetOrSetHandler, type SourceNote } from './get-or-set/get-or-set-handler.js'
import { getOrSetMany } from './get-or-set/get-or-set-many.js'
import { type TraceContext, traceChannel } from './instrumentation.js'
import { monitoredView } from './monitored-view.js'
import { StatsSnapshot } from './stats-snapshot.js'

/**
 * The facade behind every cache: it validates arguments, opens the operation's trace span and
 * timing, and hands the work to the engine, which owns the read, write and invalidate paths.
 * `InMemoryCache` and `GenericRedisCache` only choose the tiers. Not exported: its constructor
 * takes internal types.
 */
export class TieredCache implements CacheInterface {
  readonly #engine: Engine
  readonly #handler: GetOrSetHandler
  readonly #snapshot: StatsSnapshot

  constructor(params: EngineParams) {
    this.#engine = new Engine(params)
    this.#handler = new GetOrSetHandler(this.#engine)
    this.#snapshot = new StatsSnapshot(this.#engine)
    params.options.monitor?.attach(monitoredView(this.#engine))
  }

  /** The namespace that prefixes and isolates this cache's keys. */
  get namespace(): string {
    return this.#engine.options.namespace
  }

  get<T = unknown>(key: string): Promise<T | undefined> {
    if (!isPlainKey(key)) return this.#invalid(() => assertValidKey(key))
    const engine = this.#engine
    const instr = engine.recorder.instr
    if (GET_TRACE.hasSubscribers) return this.#observe('get', key, async (note) => (await engine.read(key, note))?.value as T)
    engine.recorder.stats.operations++
    const monitored = instr.monitor !== undefined
    if (monitored && instr.sampleNow()) return this.#timedGet(key)
    // The hot path, with or without a monitor: one map lookup, no clock read, no closure.
    const local = engine.local(key)
    if (local !== undefined) {
      if (monitored) instr.pendingGets++
      return Promise.resolve(local.value as T)
    }
    return this.#remoteGet(key, monitored ? performance.now() : Number.NaN)
  }

  /** The one `get` in 256 that a monitor times, even when L1 answers it. */
  #timedGet<T>(key: string): Promise<T | undefined> {
    const startedAt = performance.now()
    const local = this.#engine.local(key)
    if (local === undefined) return this.#remoteGet(key, startedAt)
    this.#engine.recorder.instr.l1Answer('get', startedAt)
    return Promise.resolve(local.value as T)
  }

  #remoteGet<T>(key: string, startedAt: number): Promise<T | undefined> {
    return this.#engine.remote(key, this.#engine.ticket()).then((entry) => {
      this.#engine.recorder.instr.end('get', entry === undefined ? 'none' : 'l2', startedAt)
      return entry?.value as T | undefined
    })
  }

  set<T>(key: string, value: T, options?: SetOptions): Promise<void> {
    let writes: EntryWrite[]
    try {
      writes = [this.#prepareWrite(key, value, options)]
    } catch (error) {
      return rejection(error)
    }
    return this.#observe('set', key, async () => {
      await this.#engine.write(writes)
    })
  }

  getOrSet<T>(key: string, loader: Loader<T>, options?: GetOrSetOptions): Promise<T> {
    const engine = this.#engine
    const instr = engine.recorder.instr
    // The hot path: an L1 hit of a call whose options cannot change how L1 is read. Its
    // options are checked but not merged: the merged policy is built only past L1.
    if (isPlainKey(key) && typeof loader === 'function' && instr.monitor === undefined && engine.options.policy.eagerRefresh === undefined) {
      if (isPlainWriteOptions(options) && instr.channel('getOrSet') === undefined) {
        engine.recorder.stats.operations++
        const local = engine.local(key)
        if (local !== undefined) return Promise.resolve(local.value as T)
        return this.#handler.handle(key, loader, resolveCallOptions(options, engine.options.policy, 'getOrSet'), undefined, true) as Promise<T>
      }
    }
    let policy: ResolvedGetOrSetPolicy
    try {
      assertValidKey(key)
      assertLoader(loader)
      policy = resolveCallOptions(options, engine.options.policy, 'getOrSet')
    } catch (error) {
      return rejection(error)
    }
    if (instr.channel('getOrSet') !== undefined) {
      return this.#observe('getOrSet', key, (note) => this.#handler.handle(key, loader, policy, note)) as Promise<T>
    }
    engine.recorder.stats.operations++
    if (instr.monitor === undefined) return this.#handler.handle(key, loader, policy) as Promise<T>
    const startedAt = instr.startSampled()
    const note: SourceNote = {}
    const answer = this.#handler.handle(key, loader, policy, note) as Promise<T>
    if (note.source === 'l1') {
      instr.l1Answer('getOrSet', startedAt)
      return answer
    }
    const slowStart = Number.isNaN(startedAt) ? instr.start() : startedAt
    return answer.finally(() => instr.end('getOrSet', note.source ?? 'none', slowStart))
  }

  async getOrSetMany<T>(keys: readonly string[], loader: ManyLoader<T>, options?: GetOrSetOptions): Promise<Array<T | undefined>> {
    assertKeyList(keys)
    assertLoader(loader)
    const policy = resolveCallOptions(options, this.#engine.options.policy, 'getOrSet')
    return this.#observe('getOrSetMany', undefined, () => getOrSetMany({ engine: this.#engine, keys, loader, policy }))
  }

  async exists(key: string): Promise<boolean> {
    assertValidKey(key)
    return this.#observe('exists', key, async (note) => (await this.#engine.read(key, note)) !== undefined)
  }

  async getTtl(key: string): Promise<number | undefined> {
    assertValidKey(key)
    return this.#observe('getTtl', key, async (note) => {
      const entry = await this.#engine.read(key, note)
      if (entry?.expiresAt === undefined) return entry && Infinity
      return Math.max(0, entry.expiresAt - this.#engine.now())
    })
  }

  async delete(key: string): Promise<boolean> {
    assertValidKey(key)
    return this.#observe('delete', key, async () => (await this.#engine.deleteKeys([key])) > 0)
  }

  async getMany<T = unknown>(keys: readonly string[]): Promise<Array<T | undefined>> {
    assertKeyList(keys)
    return this.#observe('getMany', undefined, async () => (await this.#engine.readMany(keys)).map((entry) => entry?.value as T | undefined))
  }

  async setMany(entries: ReadonlyArray<SetManyEntry>): Promise<void> {
    if (!Array.isArray(entries)) throw new InvalidOptionsError([{ path: 'entries', message: 'expected an array of { key, value, ttl?, tags? }' }])
    const writes = this.#prepareWrites(entries)
    return this.#observe('setMany', undefined, async () => {
      if (writes.length > 0) await this.#engine.write(writes)
    })
  }

  /** Validates every entry before any write, so a bad entry never leaves a half-applied batch. */
  #prepareWrites(entries: ReadonlyArray<SetManyEntry>): EntryWrite[] {
    return entries.map((item) => {
      if (typeof item !== 'object' || item === null) {
        throw new InvalidOptionsError([{ path: 'entries', message: 'expected { key, value, ttl?, tags? } items' }])
      }
      const { key, value, ...options } = item
      return this.#prepareWrite(key, value, options)
    })
  }

  /** One validated write: key, value (never `undefined`) and the call's `ttl`/`tags`. */
  #prepareWrite(key: string, value: unknown, options: SetOptions | undefined): EntryWrite {
    assertValidKey(key)
    if (value === undefined) throw new UndefinedValueError(key)
    const shape = resolveCallOptions(options, this.#engine.options.policy, 'set')
    return { key, entry: this.#engine.entry(key, value, shape) }
  }

  async deleteMany(keys: readonly string[]): Promise<number> {
    assertKeyList(keys)
    return this.#observe('deleteMany', undefined, () => this.#engine.deleteKeys(keys))
  }

  async getKeys(pattern: string): Promise<string[]> {
    assertValidPattern(pattern)
    return this.#observe('getKeys', undefined, () => this.#engine.keys(pattern))
  }

  async invalidatePattern(pattern: string): Promise<number> {
    assertValidPattern(pattern)
    return this.#observe('invalidatePattern', undefined, () => this.#engine.deletePattern(pattern))
  }

  async invalidateTags(tags: readonly string[]): Promise<number> {
    assertValidTags(tags)
    return this.#observe('invalidateTags', undefined, () => this.#engine.deleteTags(tags))
  }

  async clear(): Promise<void> {
    return this.#observe('clear', undefined, () => this.#engine.clear())
  }

  getStats(): CacheStats {
    return this.#snapshot.take()
  }

  on<E extends CacheEventName>(event: E, listener: CacheListener<E>): this {
    this.#engine.recorder.events.on(event, listener)
    return this
  }

  off<E extends CacheEventName>(event: E, listener: CacheListener<E>): this {
    this.#engine.recorder.events.off(event, listener)
    return this
  }

  /** Memory needs no connection: resolves `true`. */
  connect(): Promise<boolean> {
    return Promise.resolve(true)
  }

  /** Closes the Redis connection (if the cache opened it) without reporting an outage, and drops L1. */
  async disconnect(): Promise<void> {
    await this.#engine.close()
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.disconnect()
  }

  /** For subclasses: the engine's L2 tier. */
  protected get remoteTier(): Engine['l2'] {
    return this.#engine.l2
  }

  /** For subclasses: drops L1 copies of keys written to L2 behind the engine's back (imports). */
  protected forgetLocal(keys: readonly string[]): void {
    this.#engine.forgetLocal(keys)
  }

  #invalid<T>(check: () => void): Promise<T> {
    try {
      check()
    } catch (error) {
      return rejection(error)
    }
    return rejection(new Error('unreachable: a value that passes validation was reported invalid'))
  }

  /**
   * Counts the operation once, and runs it under the monitor's timing and its
   * `diagnostics_channel` tracing channel. Without either it is a plain call: nothing is
   * allocated for tracing nobody listens to.
   */
  #observe<T>(operation: CacheOperation, key: string | undefined, run: (note: SourceNote) => Promise<T>): Promise<T> {
    const instr = this.#engine.recorder.instr
    this.#engine.recorder.stats.operations++
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

function assertKeyList(keys: unknown): asserts keys is readonly string[] {
  if (!Array.isArray(keys)) throw new InvalidOptionsError([{ path: 'keys', message: 'expected an array of keys' }])
  keys.forEach((key) => assertValidKey(key))
}

/** The tracing channel of `get`, checked on every call (cheaper than a lookup by name). */
const GET_TRACE = traceChannel('get')

/** The common valid key, checked inline on the hot path; anything else goes to full validation. */
function isPlainKey(key: unknown): key is string {
  // A lone surrogate would become U+FFFD in Redis, and so another key: full validation refuses it.
  return typeof key === 'string' && key.length > 0 && key.length <= MAX_KEY_LENGTH && isWellFormedText(key)
}

function rejection<T>(error: unknown): Promise<T> {
  return Promise.reject(error instanceof Error ? error : new Error(String(error)))
}
