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
}

/**
 * Waits for a shared load under this caller's own timeouts:
 * - soft timeout with a stale value: answer stale now, the load goes on and refreshes the cache;
 * - hard timeout: answer stale, else `E_FACTORY_TIMEOUT`; the load still goes on;
 * - load failure: answer stale (the error is reported), else reject with the failure: the
 *   cache's own coded error unchanged (`E_L2_UNAVAILABLE`, `E_LOCK_TIMEOUT`, …), anything else
 *   the loader threw as `E_FACTORY_ERROR`.
 * Timers are created only when a timeout is set, so the common path is the load itself.
 */
export function awaitLoad<T>(params: AwaitLoadParams<T>): Promise<T | undefined> {
  const { load, softTimeoutMs, hardTimeoutMs } = params
  const withFallback = load.catch((error: unknown) => fallback(params, error))
  if (softTimeoutMs === undefined && hardTimeoutMs === undefined) return withFallback
  return new Promise<T | undefined>((resolve, reject) => {
    const timers: NodeJS.Timeout[] = []
    const settle = (finish: () => void) => {
      timers.forEach(clearTimeout)
      finish()
    }
    withFallback.then(
      (value) => settle(() => resolve(value)),
      (error: Error) => settle(() => reject(error)),
    )
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

function fallback<T>(params: AwaitLoadParams<T>, error: unknown): T {
  const failure = error instanceof CacheError ? error : new FactoryError(params.key, error)
  const stale = params.stale()
  if (stale === undefined) throw failure
  params.onAbandon(failure)
  return stale.value as T
}
