/** A value with the metadata both tiers keep for it. */
export interface CacheEntry {
  /** The stored value; never `undefined`. */
  readonly value: unknown
  /** When the entry was written, epoch ms. */
  readonly createdAt: number
  /** Logical expiry, epoch ms; `undefined` when the entry never expires. */
  readonly expiresAt: number | undefined
  /**
   * End of grace, epoch ms: past `expiresAt` the entry is stale, yet kept until here so
   * `getOrSet` can serve it when its loader fails or is slow. Absent when there is no grace.
   */
  readonly staleUntil?: number
  /** Tags given at `set` time, for tag invalidation. */
  readonly tags: readonly string[]
}
