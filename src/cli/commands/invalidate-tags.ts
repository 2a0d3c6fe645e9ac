/**
 * `strata invalidate --tag … --dry-run`: which entries carry a tag. The library keeps tag
 * indexes for its own invalidation, but they may still name keys since rewritten without the
 * tag; the dry run reads the entries themselves (SCAN, then each entry's tags through
 * `inspectEntry()`, a few at a time), so it reports what is stored now.
 */
import type { GenericRedisCache } from '../../index.js'

/** Entries inspected at once (node-redis pipelines concurrent commands). */
const CONCURRENCY = 64

/** Entries carrying any of `tags`: how many, the first `limit` keys, and how many could not be read. */
export async function tagDryRun(cache: GenericRedisCache, tags: readonly string[], limit: number): Promise<{ count: number; keys: string[]; unknown: number }> {
  const wanted = new Set(tags)
  const seen = new Set<string>()
  const keys: string[] = []
  let count = 0
  let unknown = 0
  let pending: string[] = []
  const check = async () => {
    const entries = await Promise.all(pending.map((key) => cache.inspectEntry(key)))
    for (const entry of entries) {
      if (entry === undefined) continue
      if (entry.metadata === undefined) unknown++
      else if (entry.metadata.tags.some((tag) => wanted.has(tag))) {
        count++
        if (keys.length < limit) keys.push(entry.key)
      }
    }
    pending = []
  }
  for await (const key of cache.scanKeys('*')) {
    if (seen.has(key)) continue
    seen.add(key)
    pending.push(key)
    if (pending.length >= CONCURRENCY) await check()
  }
  if (pending.length > 0) await check()
  return { count, keys, unknown }
}
