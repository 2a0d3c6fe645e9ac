/**
 * Importer for keyv data in Redis (`keyv` 5 with `@keyv/redis` 5, read from their source):
 *
 * - key: `<ns>::<ns>:<key>` with `new Keyv(new KeyvRedis(url), { namespace })` (the adapter adds
 *   `<ns>::`, Keyv itself `<ns>:`; the namespace defaults to `keyv`), or `<ns>::<key>` with
 *   `createKeyv(url, { namespace })`, which turns Keyv's own prefix off;
 * - value: a JSON string `{"value":…,"expires":<epoch ms>}` (`expires` absent when the entry
 *   never expires) written by `@keyv/serialize`: a string starting with `:` gets one more `:`,
 *   a Buffer is the string `:base64:<data>`;
 * - TTL: `PX` of the same duration; no set of keys per namespace is kept (v5 scans instead).
 *
 * The logical expiry `expires` is what keyv reads by, so the imported TTL is `expires - now`;
 * entries past it are skipped. Compressed keyv data (`@keyv/compress-*`) is not decoded: each
 * such entry is a failure that names the key.
 */
import type { SourceItem } from '../migration-types.js'
import { type RawItem, redisKeySource, type RedisSourceOptions } from './redis-key-reader.js'
import { checkedKey } from './source-keys.js'

/** Options of {@link keyvSource}. */
export interface KeyvSourceOptions extends RedisSourceOptions {
  /** The keyv namespace. @default 'keyv' */
  namespace?: string
  /**
   * Whether Keyv added its own `<ns>:` prefix (its default, `useKeyPrefix: true`); `false` for
   * stores made with `createKeyv(url, { namespace })`.
   * @default true
   */
  useKeyPrefix?: boolean
  /** The raw Redis key prefix, instead of the one derived from `namespace` (`''` for keys without one). */
  prefix?: string
}

/** The raw prefix keyv wrote its keys under. */
export function keyvPrefix(options: Pick<KeyvSourceOptions, 'namespace' | 'useKeyPrefix' | 'prefix'>): string {
  if (options.prefix !== undefined) return options.prefix
  const namespace = options.namespace ?? 'keyv'
  return options.useKeyPrefix === false ? `${namespace}::` : `${namespace}::${namespace}:`
}

/** A migration source over the keyv entries of one namespace. */
export function keyvSource(options: KeyvSourceOptions) {
  return redisKeySource(options, { format: 'keyv', prefix: keyvPrefix(options), parse: (items, now) => items.map((item) => parseKeyvItem(item, now)) })
}

/** One stored keyv entry as a source item. */
export function parseKeyvItem(item: RawItem, now: number): SourceItem {
  const key = checkedKey(item.key)
  if (typeof key !== 'string') return { kind: 'fail', key: item.redisKey, reason: key.reason }
  let envelope: unknown
  try {
    envelope = JSON.parse(item.raw, revive)
  } catch {
    return { kind: 'fail', key: item.redisKey, reason: 'not JSON: not a keyv entry, or compressed' }
  }
  if (typeof envelope !== 'object' || envelope === null || !('value' in envelope)) return { kind: 'fail', key: item.redisKey, reason: 'no { value, expires } envelope' }
  const { value, expires } = envelope as { value: unknown; expires?: unknown }
  if (value === undefined) return { kind: 'fail', key: item.redisKey, reason: 'the value is undefined' }
  if (expires !== undefined && expires !== null && typeof expires !== 'number') return { kind: 'fail', key: item.redisKey, reason: '"expires" is not a number' }
  if (typeof expires === 'number' && expires <= now) return { kind: 'skip', key: item.redisKey, reason: 'expired' }
  return { kind: 'entry', entry: { key, value, ttlMs: typeof expires === 'number' ? expires - now : undefined, tags: [] } }
}

/** `@keyv/serialize`'s reviver: `:base64:` strings are Buffers, one leading `:` is an escape. */
function revive(_key: string, value: unknown): unknown {
  if (typeof value !== 'string') return value
  if (value.startsWith(':base64:')) return Buffer.from(value.slice(8), 'base64')
  return value.startsWith(':') ? value.slice(1) : value
}
