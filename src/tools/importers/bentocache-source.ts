/**
 * Importer for bentocache 1.x data in Redis (its `redisDriver`, read from its source):
 *
 * - key: `<prefix>:<key>`, the prefix defaulting to `bentocache`; a namespace adds
 *   `<namespace>:` (`bentocache:users:1`);
 * - value: JSON `{"value":…,"logicalExpiration":<epoch ms>,"tags":[…],"createdAt":<epoch ms>}`
 *   (`logicalExpiration` absent when the entry never expires; `tags` absent in older versions);
 * - TTL: `PX` is the grace period when grace is on, else the ttl: past `logicalExpiration` an
 *   entry is stale, kept only to be served when its factory fails;
 * - tags: `deleteByTag` writes `<prefix>:___bc:t:<tag>`, an entry whose value is the time of the
 *   invalidation; an entry created at or before it is invalid.
 *
 * The imported TTL is `logicalExpiration - now` (what bentocache reads as fresh); stale entries,
 * entries invalidated by a tag and the tag keys themselves are skipped. Tags are kept.
 */
import type { SourceItem } from '../migration-types.js'
import { type RawItem, type RawRedisClient, redisKeySource, type RedisSourceOptions } from './redis-key-reader.js'
import { checkedKey } from './source-keys.js'

/** Options of {@link bentocacheSource}. */
export interface BentocacheSourceOptions extends RedisSourceOptions {
  /** bentocache's `prefix` option. @default 'bentocache' */
  prefix?: string
  /** Read one namespace (`bento.namespace('users')`) only; keys lose the `<namespace>:` part. @default the whole prefix */
  namespace?: string
}

/** Marks bentocache's tag invalidation keys. */
const TAG_KEY = '___bc:t:'

/** The raw prefix bentocache wrote the keys under. */
export function bentocachePrefix(options: Pick<BentocacheSourceOptions, 'prefix' | 'namespace'>): string {
  const prefix = (options.prefix ?? 'bentocache').replace(/:+$/, '')
  const base = prefix === '' ? '' : `${prefix}:`
  return options.namespace === undefined || options.namespace === '' ? base : `${base}${options.namespace}:`
}

/** A migration source over the entries of a bentocache Redis store. */
export function bentocacheSource(options: BentocacheSourceOptions) {
  const root = bentocachePrefix(options.prefix === undefined ? {} : { prefix: options.prefix })
  const source = redisKeySource(options, {
    format: 'bentocache',
    prefix: bentocachePrefix(options),
    parse: async (items, now) => {
      const parsed = items.map((item) => parseBentoItem(item, now))
      const invalidations = await tagInvalidations(await source.client(), root, parsed)
      return parsed.map((one) => withTagCheck(one, invalidations))
    },
  })
  return source
}

/** A parsed entry, with its creation time for the tag check. */
type ParsedItem = SourceItem | { readonly kind: 'tagged'; readonly item: SourceItem & { kind: 'entry' }; readonly createdAt: number; readonly redisKey: string }

function parseBentoItem(item: RawItem, now: number): ParsedItem {
  if (item.key.startsWith(TAG_KEY) || item.key.includes(`:${TAG_KEY}`)) return { kind: 'skip', key: item.redisKey, reason: 'bentocache tag invalidation key' }
  const key = checkedKey(item.key)
  if (typeof key !== 'string') return { kind: 'fail', key: item.redisKey, reason: key.reason }
  let stored: unknown
  try {
    stored = JSON.parse(item.raw)
  } catch {
    return { kind: 'fail', key: item.redisKey, reason: 'not JSON: not a bentocache entry (or a custom serializer)' }
  }
  if (typeof stored !== 'object' || stored === null || !('value' in stored)) return { kind: 'fail', key: item.redisKey, reason: 'no { value, logicalExpiration } entry' }
  const { value, logicalExpiration, tags, createdAt } = stored as { value: unknown; logicalExpiration?: unknown; tags?: unknown; createdAt?: unknown }
  if (logicalExpiration !== undefined && typeof logicalExpiration !== 'number') return { kind: 'fail', key: item.redisKey, reason: '"logicalExpiration" is not a number' }
  if (tags !== undefined && !(Array.isArray(tags) && tags.every((tag) => typeof tag === 'string'))) return { kind: 'fail', key: item.redisKey, reason: '"tags" is not a list of strings' }
  if (typeof logicalExpiration === 'number' && logicalExpiration <= now) return { kind: 'skip', key: item.redisKey, reason: 'stale (past its logical expiry, kept for grace)' }
  const entry = { kind: 'entry' as const, entry: { key, value, ttlMs: typeof logicalExpiration === 'number' ? logicalExpiration - now : undefined, tags: tags ?? [] } }
  if (entry.entry.tags.length === 0 || typeof createdAt !== 'number') return entry
  return { kind: 'tagged', item: entry, createdAt, redisKey: item.redisKey }
}

/** Time of the last `deleteByTag` of each tag the batch uses (tags never invalidated are left out). */
async function tagInvalidations(client: RawRedisClient, root: string, parsed: readonly ParsedItem[]): Promise<Map<string, number>> {
  const tags = [...new Set(parsed.flatMap((one) => (one.kind === 'tagged' ? (one.item.entry.tags ?? []) : [])))]
  const found = new Map<string, number>()
  if (tags.length === 0) return found
  const values = await client.mGet(tags.map((tag) => `${root}${TAG_KEY}${tag}`))
  tags.forEach((tag, i) => {
    const raw = values[i]
    if (raw === null || raw === undefined) return
    try {
      const at = (JSON.parse(String(raw)) as { value?: unknown }).value
      if (typeof at === 'number') found.set(tag, at)
    } catch {
      // A tag key bentocache cannot read either: it invalidates nothing.
    }
  })
  return found
}

function withTagCheck(one: ParsedItem, invalidations: ReadonlyMap<string, number>): SourceItem {
  if (one.kind !== 'tagged') return one
  const invalidatedBy = (one.item.entry.tags ?? []).find((tag) => one.createdAt <= (invalidations.get(tag) ?? -Infinity))
  return invalidatedBy === undefined ? one.item : { kind: 'skip', key: one.redisKey, reason: `invalidated by tag ${JSON.stringify(invalidatedBy)}` }
}
