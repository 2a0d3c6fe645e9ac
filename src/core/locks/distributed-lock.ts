import { randomUUID } from 'node:crypto'
import { LockTimeoutError } from '../../errors.js'
import type { Clock } from '../../shared/clock.js'
import type { RemoteTier } from '../remote-tier.js'

/** Lease and wait of a lock, in ms. */
export interface LockSettings {
  readonly leaseMs: number
  readonly waitMs: number
}

/** A held lock: renewed in the background until released. */
export interface Lease {
  release(): Promise<void>
}

/** What `acquire` ends with: the lock, a value another instance wrote meanwhile, or neither (Redis unreachable). */
export type LockOutcome<T> = { lease: Lease } | { value: T } | { degraded: true }

/**
 * Cross-instance single-flight on Redis. The holder takes `SET NX PX` with a random token,
 * renews the lease every third of it, and releases with a compare-and-delete that also
 * publishes the release. Waiters do not poll blindly: they sleep until that message or until
 * the holder's remaining lease runs out (a dead holder), then re-read L2 and either return the
 * value or try to take the lock themselves. When Redis cannot be asked, callers load without
 * the lock (the in-process single-flight still holds).
 */
export class DistributedLocks {
  readonly #tier: RemoteTier
  readonly #clock: Clock
  readonly #waiters = new Map<string, Set<() => void>>()
  #listening = false

  constructor(tier: RemoteTier, clock: Clock) {
    this.#tier = tier
    this.#clock = clock
  }

  /** Takes the lock for `key`, or waits for its holder and returns what `check` then finds. */
  async acquire<T>(key: string, settings: LockSettings, check: () => Promise<T | undefined>): Promise<LockOutcome<T>> {
    const { lockKey, channel } = this.#tier.lockKeys(key)
    this.#listen(channel)
    const token = randomUUID()
    const deadline = this.#clock.now() + settings.waitMs
    for (;;) {
      const outcome = await this.#tier.tryLock(lockKey, token, settings.leaseMs)
      if (outcome === 'acquired') return { lease: this.#lease(lockKey, token, channel, settings.leaseMs) }
      if (outcome === 'unavailable') return { degraded: true }
      const remainingMs = deadline - this.#clock.now()
      if (remainingMs <= 0) throw new LockTimeoutError(key, settings.waitMs)
      await this.#waitForRelease(lockKey, remainingMs)
      const value = await check()
      if (value !== undefined) return { value }
    }
  }

  /** Sleeps until the lock is released (message) or its lease runs out, whichever is first. */
  async #waitForRelease(lockKey: string, capMs: number): Promise<void> {
    let wake!: () => void
    const released = new Promise<void>((resolve) => (wake = resolve))
    // Register before reading the lease, so a release in between is either seen as a message
    // or as a lock that is already gone.
    let set = this.#waiters.get(lockKey)
    if (!set) this.#waiters.set(lockKey, (set = new Set()))
    set.add(wake)
    try {
      const leaseLeftMs = await this.#tier.lockTtl(lockKey)
      if (leaseLeftMs === undefined) return
      const waitMs = Math.min(Number.isFinite(leaseLeftMs) ? leaseLeftMs + 5 : capMs, capMs)
      let timer: NodeJS.Timeout | undefined
      await Promise.race([released, new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs)))])
      clearTimeout(timer)
    } finally {
      set.delete(wake)
      if (set.size === 0) this.#waiters.delete(lockKey)
    }
  }

  #listen(channel: string): void {
    if (this.#listening) return
    this.#listening = true
    this.#tier.store.listen(channel, (lockKey) => {
      for (const wake of this.#waiters.get(lockKey) ?? []) wake()
    })
  }

  #lease(lockKey: string, token: string, channel: string, leaseMs: number): Lease {
    // Renew well before expiry so a slow loader keeps its lock; a lost renewal is not fatal.
    const renew = setInterval(() => void this.#tier.extendLock(lockKey, token, leaseMs), Math.max(5, leaseMs / 3))
    renew.unref()
    return {
      release: async () => {
        clearInterval(renew)
        await this.#tier.unlock(lockKey, token, channel)
      },
    }
  }
}
