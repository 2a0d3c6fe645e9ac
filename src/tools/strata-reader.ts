/**
 * Reads strata caches for `migrate` and `validateDataConsistency`, through the public API:
 * values with `getMany`, logical TTLs with `getTtl`. When the cache also offers the entry API of
 * `GenericRedisCache` (`exportEntries`, `inspectEntry`), keys are streamed from it and tags and
 * codec ids are read too; without it (an `InMemoryCache`) tags are unknown and not compared.
 */
import type { CacheInterface } from '../index.js'
import type { EntryCodecIds, MigrationEntry, MigrationSource, SourceItem, SourceLike } from './migration-types.js'

/** The part of `GenericRedisCache.exportEntries()`'s entries read here. */
interface ExportedLike {
  readonly key: string
  readonly tags: readonly string[]
  readonly decoded: boolean
}

/** The part of `GenericRedisCache.inspectEntry()`'s answer read here. */
interface InspectionLike {
  readonly header?: { readonly serializerId: number; readonly compressorId: number; readonly keyId: number | undefined } | undefined
  readonly metadata?: { readonly tags: readonly string[]; readonly state: string; readonly ttlMs: number | undefined } | undefined
  readonly decodable: boolean
  readonly value?: unknown
}

/** The entry API, when the cache has it. */
interface EntryApi {
  exportEntries?(options?: { batchSize?: number }): AsyncIterable<ExportedLike | ExportedLike[]>
  inspectEntry?(key: string): Promise<InspectionLike | undefined>
}

/** Whether `value` is a strata cache rather than a {@link MigrationSource}. */
export function isCache(value: SourceLike): value is CacheInterface {
  return typeof (value as Partial<CacheInterface>).getMany === 'function' && typeof (value as Partial<CacheInterface>).getKeys === 'function'
}

/** `cache` as a migration source (the cache stays open: its owner closes it). */
export function strataSource(cache: CacheInterface, description = 'strata cache'): MigrationSource {
  return {
    description,
    async *read(batchSize: number): AsyncIterable<SourceItem[]> {
      for await (const keys of listKeys(cache, batchSize)) {
        const entries = await readEntries(cache, keys)
        yield keys.map((key, i): SourceItem => {
          const entry = entries[i]
          return entry === undefined ? { kind: 'skip', key, reason: 'expired or deleted while read' } : { kind: 'entry', entry }
        })
      }
    },
    close: () => Promise.resolve(),
  }
}

/** Keys of the cache's namespace, in batches: streamed by `exportEntries` when there, else one `getKeys('*')`. */
export async function* listKeys(cache: CacheInterface, batchSize: number): AsyncIterable<string[]> {
  const api = cache as CacheInterface & EntryApi
  if (typeof api.exportEntries === 'function') {
    let batch: string[] = []
    for await (const item of api.exportEntries({ batchSize })) {
      for (const entry of Array.isArray(item) ? item : [item]) batch.push(entry.key)
      if (batch.length < batchSize) continue
      yield batch
      batch = []
    }
    if (batch.length > 0) yield batch
    return
  }
  const keys = (await cache.getKeys('*')).sort()
  for (let i = 0; i < keys.length; i += batchSize) yield keys.slice(i, i + batchSize)
}

/**
 * The live entries of `keys`, aligned (`undefined`: missing or expired). With `inspectEntry`
 * each entry is read once (value, TTL, tags, codec ids); without it, `getMany` then `getTtl`.
 */
export async function readEntries(cache: CacheInterface, keys: readonly string[]): Promise<Array<MigrationEntry | undefined>> {
  const api = cache as CacheInterface & EntryApi
  if (typeof api.inspectEntry === 'function') {
    const inspect = api.inspectEntry.bind(cache)
    return Promise.all(keys.map(async (key) => fromInspection(key, await inspect(key))))
  }
  const [values, ttls] = await Promise.all([cache.getMany(keys), Promise.all(keys.map((key) => cache.getTtl(key)))])
  return keys.map((key, i) => {
    const value = values[i]
    const ttl = ttls[i]
    if (value === undefined || ttl === undefined) return undefined
    return { key, value, ttlMs: ttl === Number.POSITIVE_INFINITY ? undefined : ttl, tags: undefined }
  })
}

function fromInspection(key: string, inspection: InspectionLike | undefined): MigrationEntry | undefined {
  const metadata = inspection?.metadata
  // Reads return fresh entries only: stale (graced) and undecodable ones are not the cache's data.
  if (inspection === undefined || !inspection.decodable || metadata === undefined || metadata.state !== 'fresh' || inspection.value === undefined) return undefined
  const header = inspection.header
  const codec: EntryCodecIds | undefined = header && { serializerId: header.serializerId, compressorId: header.compressorId, keyId: header.keyId ?? 0 }
  return { key, value: inspection.value, ttlMs: metadata.ttlMs, tags: metadata.tags, codec }
}
