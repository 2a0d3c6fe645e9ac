import { CacheError, FactoryError, FactoryTimeoutError } from '../../errors.js'
import type { CacheEntry } from '../../shared/cache-entry.js'

/** One caller's view of a shared load. */
export interface AwaitLoadParams<T> {
  readonly key: string
  readonly load: Promise<T | undefined>
  /** The stale (graced) entry known so far; read when a timeout fires or the load fails. */
  readonly stale: () => CacheEntry | undefined
  readonly softTimeoutMs: number | undefined
  readonly hardTimeoutMs: number | undefined
  /** Called once when this caller stops waiting for the load (a timeout or a stale fallback). */
  readonly onAbandon: (error: CacheError) => void
  /** Called when the soft timeout answered the stale value. */
  readonly onSoftTimeout: () => void
  /** Called when the load settles while this caller still waits for it. */
  readonly onLoadSettled?: (() => void) | undefined
}

type Listener = (ok: boolean, result: unknown) => void

/** The callers still waiting on each load, behind that load's one reaction. */
const waiting = new WeakMap<Promise<unknown>, Set<Listener>>()

/**
 * Calls `listener` once `load` settles, unless the returned `detach` ran first. However many
 * callers listen, the load carries one reaction, so a caller that detached leaves nothing on a
 * load that never settles (a reaction per caller would stay reachable from it for good).
 */
function listen(load: Promise<unknown>, listener: Listener): () => void {
  let listeners = waiting.get(load)
  if (listeners === undefined) {
    const set = new Set<Listener>()
    listeners = set
    waiting.set(load, set)
    const notify = (ok: boolean, result: unknown): void => {
      for (const l of set) l(ok, result)
      set.clear()
    }
    load.then(
      (value) => notify(true, value),
      (error: unknown) => notify(false, error),
    )
  }
  const set = listeners
  set.add(listener)
  return () => set.delete(listener)
}

/**
 * Waits for a shared load under this caller's own timeouts:
 * - soft timeout with a stale value: answer stale now, the load goes on and refreshes the cache;
 * - hard timeout: answer stale, else `E_FACTORY_TIMEOUT`; the load still goes on;
 * - load failure: answer stale (the error is reported), else reject with the failure: the
 *   cache's own coded error unchanged (`E_L2_UNAVAILABLE`, `E_LOCK_TIMEOUT`, …), anything else
 *   the loader threw as `E_FACTORY_ERROR`.
 * Timers are created only when a timeout is set, so the common path is the load itself. A caller
 * that stops waiting detaches from the load: nothing of it stays reachable from a load that never
 * settles.
 */
export function awaitLoad<T>(params: AwaitLoadParams<T>): Promise<T | undefined> {
  const { load, softTimeoutMs, hardTimeoutMs, onLoadSettled } = params
  if (softTimeoutMs === undefined && hardTimeoutMs === undefined) {
    // No timeout: this caller waits as long as the load does, so it may hang on to it.
    const settled = onLoadSettled === undefined ? load : load.finally(onLoadSettled)
    return settled.catch((error: unknown) => {
      const after = afterFailure(params, error)
      if ('failure' in after) throw after.failure
      return after.value
    })
  }
  return new Promise<T | undefined>((resolve, reject) => {
    const timers: NodeJS.Timeout[] = []
    const settle = (finish: () => void) => {
      timers.forEach(clearTimeout)
      detach()
      finish()
    }
    const detach = listen(load, (ok, result) => {
      onLoadSettled?.()
      if (ok) return settle(() => resolve(result as T | undefined))
      const after = afterFailure(params, result)
      settle(() => ('failure' in after ? reject(after.failure) : resolve(after.value)))
    })
    if (softTimeoutMs !== undefined) {
      timers.push(
        setTimeout(() => {
          const stale = params.stale()
          // Without a stale value the soft timeout has nothing to offer: keep waiting.
          if (stale === undefined) return
          params.onSoftTimeout()
          settle(() => resolve(stale.value as T))
        }, softTimeoutMs),
      )
    }
    if (hardTimeoutMs !== undefined) {
      timers.push(
        setTimeout(() => {
          const stale = params.stale()
          const timeout = new FactoryTimeoutError(params.key, hardTimeoutMs)
          params.onAbandon(timeout)
          settle(() => (stale !== undefined ? resolve(stale.value as T) : reject(timeout)))
        }, hardTimeoutMs),
      )
    }
  })
}

/** A failed load gives the caller the stale value (the failure is then reported), else the failure. */
function afterFailure<T>(params: AwaitLoadParams<T>, error: unknown): { value: T } | { failure: CacheError } {
  const failure = error instanceof CacheError ? error : new FactoryError(params.key, error)
  const stale = params.stale()
  if (stale === undefined) return { failure }
  params.onAbandon(failure)
  return { value: stale.value as T }
}
