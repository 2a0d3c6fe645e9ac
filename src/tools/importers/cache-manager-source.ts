/**
 * Importer for cache-manager 5 data in Redis written by `cache-manager-redis-yet` 5 (read from
 * its source): the key is `<keyPrefix>:<key>` (the bare key without `keyPrefix`), the value is
 * `JSON.stringify(value)` with no envelope, and the TTL is Redis' own (`PX` in ms; none when the
 * ttl is 0 or unset). The imported TTL is the remaining `PTTL`.
 *
 * Without a prefix every key of the database is read: point it at a database that holds only
 * cache-manager's keys, or give the prefix.
 */
import type { SourceItem } from '../migration-types.js'
import { type RawItem, redisKeySource, type RedisSourceOptions } from './redis-key-reader.js'
import { checkedKey } from './source-keys.js'

/** Options of {@link cacheManagerSource}. */
export interface CacheManagerSourceOptions extends RedisSourceOptions {
  /** The store's `keyPrefix` option; keys are then `<keyPrefix>:<key>`. @default none */
  keyPrefix?: string
  /** The raw Redis key prefix, instead of the one derived from `keyPrefix`. */
  prefix?: string
}

/** The raw prefix cache-manager-redis-yet wrote its keys under. */
export function cacheManagerPrefix(options: Pick<CacheManagerSourceOptions, 'keyPrefix' | 'prefix'>): string {
  if (options.prefix !== undefined) return options.prefix
  return options.keyPrefix === undefined || options.keyPrefix === '' ? '' : `${options.keyPrefix}:`
}

/** A migration source over the entries a cache-manager 5 Redis store wrote. */
export function cacheManagerSource(options: CacheManagerSourceOptions) {
  return redisKeySource(options, { format: 'cache-manager', prefix: cacheManagerPrefix(options), parse: (items) => items.map(parseCacheManagerItem) })
}

/** One stored cache-manager entry as a source item. */
export function parseCacheManagerItem(item: RawItem): SourceItem {
  const key = checkedKey(item.key)
  if (typeof key !== 'string') return { kind: 'fail', key: item.redisKey, reason: key.reason }
  // -2: expired between the read of the value and of its TTL.
  if (item.pttlMs === -2 || item.pttlMs === 0) return { kind: 'skip', key: item.redisKey, reason: 'expired' }
  let value: unknown
  try {
    value = JSON.parse(item.raw)
  } catch {
    return { kind: 'fail', key: item.redisKey, reason: 'not JSON: not a cache-manager entry' }
  }
  // The store writes the string "undefined" for a value JSON cannot represent.
  if (value === 'undefined') return { kind: 'skip', key: item.redisKey, reason: 'stored as "undefined"' }
  return { kind: 'entry', entry: { key, value, ttlMs: item.pttlMs > 0 ? item.pttlMs : undefined, tags: [] } }
}
