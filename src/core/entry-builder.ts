import type { ResolvedBaseOptions } from '../options/resolve-cache-options.js'
import type { CacheEntry } from '../shared/cache-entry.js'
import { checkValueSize } from './value-size.js'

/** What an entry is written with. */
export interface EntryShape {
  readonly ttlMs: number
  readonly graceMs: number
  readonly ttlJitter: number
  readonly tags: readonly string[]
}

/** What {@link buildEntry} needs. */
export interface BuildEntryParams {
  readonly key: string
  readonly value: unknown
  readonly shape: EntryShape
  readonly options: Pick<ResolvedBaseOptions, 'clock' | 'random' | 'maxValueBytes'>
  /** A cache without L2 never encodes: `maxValueBytes` is checked here instead. */
  readonly memoryOnly: boolean
}

/**
 * Builds the entry to store: logical expiry from the ttl (less its jitter), and the end of grace.
 * Without L2 nothing is encoded, so `maxValueBytes` is checked on the value's encoded size all
 * the same (see `checkValueSize`).
 */
export function buildEntry({ key, value, shape, options, memoryOnly }: BuildEntryParams): CacheEntry {
  if (memoryOnly) checkValueSize(key, value, options.maxValueBytes)
  const now = options.clock.now()
  const tags = shape.tags
  if (shape.ttlMs <= 0) return { value, createdAt: now, expiresAt: undefined, tags }
  const ttlMs = shape.ttlJitter > 0 ? shape.ttlMs * (1 - options.random() * shape.ttlJitter) : shape.ttlMs
  const expiresAt = now + Math.max(1, Math.round(ttlMs))
  if (shape.graceMs <= 0) return { value, createdAt: now, expiresAt, tags }
  return { value, createdAt: now, expiresAt, staleUntil: expiresAt + shape.graceMs, tags }
}
