import EventEmitter from 'node:events'

import { errors } from '../errors.js'
import type { CacheInterface, Loader } from '../index.js'
import { expiresAt, writeEntries } from './compat-writes.js'
import { CacheManagerV5Store } from './cache-manager-v5-store.js'
import { warnDeprecated } from './deprecation-warnings.js'

/** Options of `CacheCompatibilityWrapper.cacheManager()`: the `createCache()` options that apply to one store. */
export interface CacheManagerAdapterOptions {
  /** ttl in ms of writes that give none. @default undefined: never expires (as cache-manager) */
  ttl?: number
  /** Default `refreshThreshold` of `wrap`, in ms. @default undefined: no background refresh */
  refreshThreshold?: number
  /** Returned by `cacheId()`. @default a random string */
  cacheId?: string
}

/** A ttl in ms, or a function of the value that returns one (cache-manager's `wrap` ttl). */
export type WrapTtl<T> = number | ((value: T) => number)

/** The options-object form of `wrap`'s third argument. */
export interface WrapOptions<T> {
  /** ttl in ms of the loaded value. @default the adapter's `ttl` */
  ttl?: WrapTtl<T> | undefined
  /** On a hit with less than this many ms left, reload in the background. @default the adapter's `refreshThreshold` */
  refreshThreshold?: WrapTtl<T> | undefined
  /** Resolve `{ value, expires }` (epoch ms) instead of the value. @default false */
  raw?: boolean
}

/** An entry of `mset`. */
export interface CacheManagerEntry<T> {
  key: string
  value: T
  /** ttl in ms. @default the adapter's `ttl` */
  ttl?: number
}

/** Listener types of the events cache-manager 7 emits, with its payloads (`store: 'primary'` names the one store). */
export interface CacheManagerEvents {
  get: (data: { key: string; value?: unknown; error?: unknown; store?: string }) => void
  mget: (data: { keys: string[]; values?: unknown[]; error?: unknown }) => void
  set: (data: { key: string; value: unknown; error?: unknown; store?: string }) => void
  mset: (data: { list: Array<CacheManagerEntry<unknown>>; error?: unknown }) => void
  del: (data: { key: string; error?: unknown }) => void
  mdel: (data: { keys: string[]; error?: unknown }) => void
  clear: (error?: unknown) => void
  refresh: (data: { key: string; value: unknown; error?: unknown }) => void
}

const PRIMARY = 'primary'

/**
 * cache-manager 7's `Cache` API over a strata cache, for code (such as NestJS's `CACHE_MANAGER`)
 * written against it. ttls are in ms and no ttl means "never expires"; a miss is `undefined`.
 * `wrap` runs on strata's `getOrSet`, so concurrent calls of one key run the loader once, and
 * rejects with the loader's own error, as cache-manager does.
 */
export class CacheManagerAdapter {
  readonly #cache: CacheInterface
  readonly #events = new EventEmitter()
  readonly #ttl: number | undefined
  readonly #refreshThreshold: number | undefined
  readonly #cacheId: string
  readonly #refreshing = new Set<string>()
  #v5Store: CacheManagerV5Store | undefined

  constructor(cache: CacheInterface, options: CacheManagerAdapterOptions = {}) {
    this.#cache = cache
    this.#ttl = options.ttl
    this.#refreshThreshold = options.refreshThreshold
    this.#cacheId = options.cacheId ?? Math.random().toString(36).slice(2)
  }

  /** The value, or `undefined` on a miss. Emits `get` on a hit. */
  async get<T>(key: string): Promise<T | undefined> {
    const value = await this.#emitting('get', { key, store: PRIMARY }, () => this.#cache.get<T>(key))
    if (value !== undefined) this.#events.emit('get', { key, value, store: PRIMARY })
    return value
  }

  /** Values aligned with `keys`, `undefined` for misses. Emits `mget`. */
  async mget<T>(keys: string[]): Promise<Array<T | undefined>> {
    const values = await this.#emitting('mget', { keys }, () => this.#cache.getMany<T>(keys))
    this.#events.emit('mget', { keys, values })
    return values
  }

  /** When the entry expires, as epoch ms; `undefined` when it is missing or never expires. */
  async ttl(key: string): Promise<number | undefined> {
    return expiresAt(await this.#cache.getTtl(key), Date.now())
  }

  /** Stores `value` for `ttl` ms (default: the adapter's `ttl`, else forever) and resolves it. Emits `set`. */
  async set<T>(key: string, value: T, ttl?: number): Promise<T> {
    await this.#emitting('set', { key, value }, () => writeEntries(this.#cache, [{ key, value, ttl: ttl ?? this.#ttl }]))
    this.#emitSet(key, value)
    return value
  }

  /** Stores every entry and resolves them, each with the ttl it got. Emits `mset`. */
  async mset<T>(list: Array<CacheManagerEntry<T>>): Promise<Array<CacheManagerEntry<T>>> {
    const resolved = list.map(({ key, value, ttl = this.#ttl }): CacheManagerEntry<T> => (ttl === undefined ? { key, value } : { key, value, ttl }))
    await this.#emitting('mset', { list: resolved }, () => writeEntries(this.#cache, resolved))
    this.#events.emit('mset', { list: resolved })
    return resolved
  }

  /** Deletes `key`; resolves `true` whether or not it existed. Emits `del`. */
  async del(key: string): Promise<boolean> {
    await this.#emitting('del', { key }, () => this.#cache.delete(key))
    this.#events.emit('del', { key })
    return true
  }

  /** Deletes every key of `keys`; resolves `true`. Emits `mdel`. */
  async mdel(keys: string[]): Promise<boolean> {
    await this.#emitting('mdel', { keys }, () => this.#cache.deleteMany(keys))
    this.#events.emit('mdel', { keys })
    return true
  }

  /** Deletes every key of the strata cache's namespace (and nothing else); resolves `true`. Emits `clear`. */
  async clear(): Promise<boolean> {
    try {
      await this.#cache.clear()
    } catch (error) {
      this.#events.emit('clear', error)
      throw error
    }
    this.#events.emit('clear')
    return true
  }

  /**
   * The cached value of `key`, or `fnc()`'s, cached for `ttl` ms. On a hit with less than
   * `refreshThreshold` ms left, resolves the cached value at once and reloads it in the background
   * (once per key at a time; `refresh` event). With `{ raw: true }`, resolves `{ value, expires }`.
   */
  wrap<T>(key: string, fnc: () => T | Promise<T>, ttl?: WrapTtl<T>, refreshThreshold?: WrapTtl<T>): Promise<T>
  wrap<T>(key: string, fnc: () => T | Promise<T>, options: WrapOptions<T> & { raw: true }): Promise<{ value: T; expires: number | undefined }>
  wrap<T>(key: string, fnc: () => T | Promise<T>, options: WrapOptions<T>): Promise<T>
  async wrap<T>(key: string, fnc: () => T | Promise<T>, ttlOrOptions?: WrapTtl<T> | WrapOptions<T>, refreshThreshold?: WrapTtl<T>): Promise<unknown> {
    const options: WrapOptions<T> = typeof ttlOrOptions === 'object' ? ttlOrOptions : { ttl: ttlOrOptions, refreshThreshold }
    const resolveTtl = (value: T): number | undefined => (typeof options.ttl === 'function' ? options.ttl(value) : options.ttl) ?? this.#ttl
    let loadedTtl: { ms: number | undefined } | undefined
    const loader: Loader<T> = async (context) => {
      const value = await fnc()
      loadedTtl = { ms: resolveTtl(value) }
      // cache-manager keeps nothing readable for these; getOrSet must not reject them
      if (value === undefined || (loadedTtl.ms ?? 0) < 0) context.skipCache()
      else context.setTtl(loadedTtl.ms ?? 0)
      return value
    }
    let value: T
    try {
      value = await this.#cache.getOrSet(key, loader)
    } catch (error) {
      throw loaderError(error)
    }
    if (loadedTtl !== undefined) {
      this.#emitSet(key, value)
      return options.raw === true ? { value, expires: expiresAt(loadedTtl.ms || undefined, Date.now()) } : value
    }
    const expires = expiresAt(await this.#cache.getTtl(key), Date.now())
    const threshold = (typeof options.refreshThreshold === 'function' ? options.refreshThreshold(value) : options.refreshThreshold) ?? this.#refreshThreshold
    if (expires !== undefined && threshold !== undefined && expires - Date.now() < threshold) this.#refresh(key, value, { fnc, resolveTtl })
    return options.raw === true ? { value, expires } : value
  }

  /** Adds a listener; returns the adapter's emitter, as cache-manager does. */
  on<E extends keyof CacheManagerEvents>(event: E, listener: CacheManagerEvents[E]): EventEmitter {
    return this.#events.addListener(event, listener)
  }

  /** Removes a listener; returns the adapter's emitter. */
  off<E extends keyof CacheManagerEvents>(event: E, listener: CacheManagerEvents[E]): EventEmitter {
    return this.#events.removeListener(event, listener)
  }

  /** Disconnects the strata cache (cache-manager disconnects its stores). */
  async disconnect(): Promise<undefined> {
    await this.#cache.disconnect()
    return undefined
  }

  /** This adapter's id (`cacheId` option, else random). */
  cacheId(): string {
    return this.#cacheId
  }

  /** @deprecated cache-manager 5's name of {@link CacheManagerAdapter.clear} (warns `STRATA_DEP_001` once). */
  async reset(): Promise<void> {
    warnDeprecated('STRATA_DEP_001')
    await this.clear()
  }

  /** @deprecated cache-manager 5's store API (`keys`, `ttl` in remaining ms, variadic `mget`/`mdel`); warns `STRATA_DEP_002` once. */
  get store(): CacheManagerV5Store {
    warnDeprecated('STRATA_DEP_002')
    this.#v5Store ??= new CacheManagerV5Store(this.#cache, this.#ttl)
    return this.#v5Store
  }

  /** @deprecated cache-manager 5's name of {@link CacheManagerAdapter.off} (warns `STRATA_DEP_003` once). */
  removeListener<E extends keyof CacheManagerEvents>(event: E, listener: CacheManagerEvents[E]): EventEmitter {
    warnDeprecated('STRATA_DEP_003')
    return this.off(event, listener)
  }

  /** cache-manager emits `set` once for the store and once for the whole write. */
  #emitSet(key: string, value: unknown): void {
    this.#events.emit('set', { key, value, store: PRIMARY })
    this.#events.emit('set', { key, value })
  }

  /** Runs `operation`; on failure emits `event` with the error, as cache-manager does, and rejects with it. */
  async #emitting<R>(event: keyof CacheManagerEvents, payload: object, operation: () => Promise<R>): Promise<R> {
    try {
      return await operation()
    } catch (error) {
      this.#events.emit(event, { ...payload, error })
      throw error
    }
  }

  #refresh<T>(key: string, stale: T, load: { fnc: () => T | Promise<T>; resolveTtl: (value: T) => number | undefined }): void {
    if (this.#refreshing.has(key)) return
    this.#refreshing.add(key)
    const run = async (): Promise<void> => {
      const value = await load.fnc()
      await writeEntries(this.#cache, [{ key, value, ttl: load.resolveTtl(value) }])
      this.#emitSet(key, value)
      this.#events.emit('refresh', { key, value })
    }
    // a failed background reload keeps the cached value; cache-manager reports it only as an event
    void run()
      .catch((error: unknown) => this.#events.emit('refresh', { key, value: stale, error }))
      .finally(() => this.#refreshing.delete(key))
  }
}

/** The loader's own error, as cache-manager rejects with it (strata wraps it in `E_FACTORY_ERROR`). */
function loaderError(error: unknown): unknown {
  return error instanceof errors.E_FACTORY_ERROR && error.cause !== undefined ? error.cause : error
}
