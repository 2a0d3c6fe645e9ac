import type { CacheError } from '../errors.js'
import type { BreakerState } from '../shared/breaker-state.js'

/** Tier a value came from. */
export type Tier = 'l1' | 'l2'

/**
 * Event factories. The `CacheEvents` map below is derived from them, so an event's name and
 * payload are written once.
 */
export const cacheEvents = {
  hit: (key: string, tier: Tier) => ({ name: 'cache:hit' as const, data: { key, tier } }),
  miss: (key: string) => ({ name: 'cache:miss' as const, data: { key } }),
  set: (key: string) => ({ name: 'cache:set' as const, data: { key } }),
  delete: (key: string) => ({ name: 'cache:delete' as const, data: { key } }),
  error: (error: CacheError, operation: string, key?: string) => ({
    name: 'cache:error' as const,
    data: { error, operation, key },
  }),
  circuit: (from: BreakerState, to: BreakerState) => ({ name: 'circuit:change' as const, data: { from, to } }),
  connection: (connected: boolean) => ({ name: 'l2:connection' as const, data: { connected } }),
  coherence: (from: CoherenceState, to: CoherenceState, reason: string) => ({ name: 'coherence:change' as const, data: { from, to, reason } }),
}

/**
 * Where an instance's L1 stands against other instances' writes: `off` (coherence turned off),
 * `verified` (every invalidation up to `maxStaleness` ago has been applied: L1 hits are
 * served), `unverified` (L1 hits are refused) or `offline` (Redis cannot be reached at all and
 * `offline: 'serve'` lets L1 answer, the one exception).
 */
export type CoherenceState = 'off' | 'verified' | 'unverified' | 'offline'

type AnyCacheEvent = ReturnType<(typeof cacheEvents)[keyof typeof cacheEvents]>

/** Event name → payload, for `cache.on(name, listener)`. */
export type CacheEvents = { [E in AnyCacheEvent as E['name']]: E['data'] }

/** Name of a cache event. */
export type CacheEventName = keyof CacheEvents

/** A listener for one event. */
export type CacheListener<E extends CacheEventName> = (data: CacheEvents[E]) => void

/**
 * A small typed emitter. A listener that throws is isolated: the operation that emitted the
 * event carries on and the other listeners still run. `has()` lets hot paths skip building a
 * payload nobody listens to.
 */
export class CacheEventEmitter {
  readonly #listeners = new Map<CacheEventName, Set<(data: never) => void>>()

  on<E extends CacheEventName>(name: E, listener: CacheListener<E>): void {
    let set = this.#listeners.get(name)
    if (!set) this.#listeners.set(name, (set = new Set()))
    set.add(listener)
  }

  off<E extends CacheEventName>(name: E, listener: CacheListener<E>): void {
    this.#listeners.get(name)?.delete(listener)
  }

  has(name: CacheEventName): boolean {
    // Checked on every operation; a listener-free cache pays one Map.size read.
    if (this.#listeners.size === 0) return false
    const set = this.#listeners.get(name)
    return set !== undefined && set.size > 0
  }

  emit(event: AnyCacheEvent): void {
    const set = this.#listeners.get(event.name)
    if (!set) return
    for (const listener of set) {
      try {
        ;(listener as (data: unknown) => void)(event.data)
      } catch {
        // A faulty listener must never break a cache operation; it is the listener's own bug.
      }
    }
  }

  removeAll(): void {
    this.#listeners.clear()
  }
}
