import type { CacheInterface, SetManyEntry } from '../index.js'

/** One write in the terms of keyv and cache-manager: ttl in ms, `undefined` for "never expires". */
export interface CompatEntry {
  key: string
  value: unknown
  ttl?: number | undefined
}

/**
 * Writes entries with keyv's and cache-manager's meaning of their fields, which differs from
 * strata's in three places: no ttl means "never expires" (strata would apply its `defaultTtl`), a
 * negative ttl means "expired at once" (strata rejects it), and storing `undefined` leaves nothing
 * to read back (strata rejects it). The last two become deletes, so a read afterwards misses
 * exactly as it does on the original.
 */
export async function writeEntries(cache: CacheInterface, entries: readonly CompatEntry[]): Promise<void> {
  const writes: SetManyEntry[] = []
  const deletes: string[] = []
  for (const { key, value, ttl } of entries) {
    if (value === undefined || (ttl !== undefined && ttl < 0)) deletes.push(key)
    else writes.push({ key, value, ttl: ttl ?? 0 })
  }
  if (deletes.length > 0) await cache.deleteMany(deletes)
  if (writes.length === 1) {
    const [{ key, value, ttl }] = writes as [SetManyEntry]
    await cache.set(key, value, { ttl: ttl ?? 0 })
  } else if (writes.length > 1) await cache.setMany(writes)
}

/** Absolute expiry (epoch ms) of a strata remaining ttl, `undefined` when it never expires or is missing. */
export function expiresAt(remainingMs: number | undefined, now: number): number | undefined {
  return remainingMs === undefined || !Number.isFinite(remainingMs) ? undefined : now + remainingMs
}

/** Escapes the glob characters of a literal prefix, so a namespace matches only itself. */
export function escapeGlob(literal: string): string {
  return literal.replace(/[*?[\]\\]/g, '\\$&')
}
