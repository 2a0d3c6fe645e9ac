/**
 * Reads the keys another library left in one Redis database: SCAN (never KEYS) over a prefix,
 * then one MGET and one pipelined PTTL batch per SCAN step, each under a deadline. The formats
 * themselves are parsed by the importers (`keyv-source.ts`, `cache-manager-source.ts`,
 * `bentocache-source.ts`); this module only moves strings.
 */
import { createClient } from '@redis/client'

import { InvalidOptionsError, type OptionIssue } from '../../index.js'
import type { MigrationSource, SourceItem } from '../migration-types.js'

/** Where an importer reads: a URL it connects to, or a node-redis client of the caller's. */
export interface RedisSourceOptions {
  /** `redis://` or `rediss://` URL; the importer opens and closes its own connection. */
  url?: string
  /** A connected `@redis/client` client (node-redis 4 to 6) to read with; the importer never closes it. */
  client?: RawRedisClient
  /** Deadline of the connection and of each Redis command, in ms. @default 2000 */
  timeoutMs?: number
}

/** The commands an importer sends; a node-redis client has them all. */
export interface RawRedisClient {
  scan(cursor: string, options: { MATCH: string; COUNT: number }): Promise<{ cursor: string | number; keys: string[] }>
  mGet(keys: string[]): Promise<Array<string | null>>
  pTTL(key: string): Promise<number>
}

/** One stored string with its Redis TTL (ms; -1 none). */
export interface RawItem {
  /** The full Redis key. */
  readonly redisKey: string
  /** The key with the scanned prefix removed. */
  readonly key: string
  readonly raw: string
  readonly pttlMs: number
}

/** Turns raw items of one SCAN step into source items (may read more, e.g. bentocache's tag keys). */
export type RawParser = (items: readonly RawItem[], now: number) => SourceItem[] | Promise<SourceItem[]>

/** What {@link redisKeySource} needs besides the connection. */
export interface KeySourceParams {
  /** Name of the format, for the description (`keyv`). */
  readonly format: string
  /** Raw key prefix scanned and removed from every key. */
  readonly prefix: string
  readonly parse: RawParser
  /** Epoch ms. @default Date.now */
  readonly now?: () => number
}

const DEFAULT_TIMEOUT_MS = 2000

/** A {@link MigrationSource} over every key under `params.prefix` of the given Redis. */
export function redisKeySource(options: RedisSourceOptions, params: KeySourceParams): MigrationSource & { readonly client: () => Promise<RawRedisClient> } {
  const timeoutMs = checkConnection(options)
  const now = params.now ?? Date.now
  let own: ReturnType<typeof createClient> | undefined
  let connected: Promise<RawRedisClient> | undefined
  const client = (): Promise<RawRedisClient> => {
    if (options.client !== undefined) return Promise.resolve(options.client)
    connected ??= (async () => {
      own = createClient({ url: options.url ?? '', socket: { connectTimeout: timeoutMs, reconnectStrategy: false }, disableOfflineQueue: true, commandOptions: { timeout: 0 }, pingInterval: 0 })
      // Without a listener node-redis' 'error' events would crash the process; failures reach callers as rejections.
      own.on('error', () => undefined)
      await withDeadline(own.connect(), timeoutMs, 'connect')
      return own
    })()
    return connected
  }
  return {
    description: `${params.format} ${JSON.stringify(params.prefix)} at ${options.url === undefined ? 'a given client' : redactUrl(options.url)}`,
    client,
    async *read(batchSize: number): AsyncIterable<SourceItem[]> {
      const redis = await client()
      const match = `${escapeGlob(params.prefix)}*`
      let cursor = '0'
      do {
        const reply = await withDeadline(redis.scan(cursor, { MATCH: match, COUNT: batchSize }), timeoutMs, 'SCAN')
        cursor = String(reply.cursor)
        const keys = [...new Set(reply.keys.map(String))]
        if (keys.length === 0) continue
        const [values, ttls] = await Promise.all([withDeadline(redis.mGet(keys), timeoutMs, 'MGET'), withDeadline(Promise.all(keys.map((key) => redis.pTTL(key))), timeoutMs, 'PTTL')])
        const items: RawItem[] = []
        keys.forEach((redisKey, i) => {
          const raw = values[i]
          // Gone between SCAN and MGET (expired, deleted): nothing to copy.
          if (raw === null || raw === undefined) return
          items.push({ redisKey, key: redisKey.slice(params.prefix.length), raw: String(raw), pttlMs: Number(ttls[i]) })
        })
        if (items.length > 0) yield await params.parse(items, now())
      } while (cursor !== '0')
    },
    close(): Promise<void> {
      if (own?.isOpen === true) own.destroy()
      return Promise.resolve()
    },
  }
}

/** Validates the connection options; throws `E_INVALID_OPTIONS` listing every problem. */
function checkConnection(options: RedisSourceOptions): number {
  const issues: OptionIssue[] = []
  if (typeof options !== 'object' || options === null) throw new InvalidOptionsError([{ path: 'options', message: 'expected { url } or { client }' }])
  if ((options.url === undefined) === (options.client === undefined)) issues.push({ path: 'url', message: 'give exactly one of url (a redis:// URL) or client (a connected node-redis client)' })
  else if (options.url !== undefined && (typeof options.url !== 'string' || !/^rediss?:\/\//.test(options.url))) issues.push({ path: 'url', message: 'expected a redis:// or rediss:// URL' })
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS
  if (typeof timeoutMs !== 'number' || !Number.isFinite(timeoutMs) || timeoutMs <= 0) issues.push({ path: 'timeoutMs', message: 'expected a positive number of milliseconds' })
  if (issues.length > 0) throw new InvalidOptionsError(issues)
  return timeoutMs
}

/** Escapes Redis glob characters so a prefix matches itself only. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, (c) => `\\${c}`)
}

/** The URL with its password replaced by `***`. */
function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i, (_, scheme: string, info: string) => `${scheme}${info.includes(':') ? `${info.slice(0, info.indexOf(':'))}:***` : '***'}@`)
}

/** Rejects when `promise` does not settle within `ms`; the command itself is not cancelled. */
function withDeadline<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer from Redis within ${ms} ms`)), ms)
  })
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer))
}
