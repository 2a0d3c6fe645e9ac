/**
 * Reads what `strata stats` reports from Redis: one SCAN pass over the namespace's keys, a
 * bounded MEMORY USAGE sample, then INFO and DBSIZE. Read-only, and never KEYS: SCAN walks the
 * keyspace in small steps, so a large database is never blocked.
 *
 * Only SCAN is required. MEMORY USAGE, INFO and DBSIZE may be refused (a least-privilege ACL
 * user, a managed service that disables INFO): their figures are then `null`, with the reason.
 */
import { ErrorReply } from '@redis/client'

import { redactSecrets } from '../format.js'
import type { CliConnection, CliRedisClient } from '../redis-connection.js'
import { infoNumber, infoText, parseInfo } from '../redis-info.js'
import type { Target } from '../target.js'
import type { MemoryEstimate, NamespaceReport, ServerReport, StatsReport } from './stats-report.js'

/** SCAN COUNT hint: keys Redis examines per call. */
const SCAN_COUNT = 1000
/** Entry keys measured with MEMORY USAGE; the total is extrapolated from them. */
export const MEMORY_SAMPLE_LIMIT = 1000
/** MEMORY USAGE commands sent together (node-redis pipelines commands issued in one tick). */
const MEMORY_BATCH = 100
/** Keys remembered to drop SCAN duplicates; past it, counting goes on without de-duplication. */
const DEDUPE_LIMIT = 1_000_000

/** What a key of the namespace is, from its prefix (see the library's key layout). */
export type KeyKind = 'entry' | 'tag' | 'lock' | 'other'

/** Escapes Redis glob characters so `text` matches only itself in a MATCH pattern. */
export function escapeGlob(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}

/**
 * SCAN MATCH pattern of every key of `namespace`: entries `<ns>:…` and internal keys `<ns>#…`,
 * in one pass (SCAN walks the whole keyspace whatever the pattern, so two patterns cost twice).
 */
export function namespaceMatch(namespace: string): string {
  return `${escapeGlob(namespace)}[:#]*`
}

/** Classifies a key returned by the {@link namespaceMatch} pattern. */
export function classifyKey(key: string, namespace: string): KeyKind {
  const rest = key.slice(namespace.length)
  if (rest.startsWith(':')) return 'entry'
  if (rest.startsWith('#tag:')) return 'tag'
  if (rest.startsWith('#lock:')) return 'lock'
  return 'other'
}

/** Counts SCAN results by kind, dropping duplicates, and keeps the first entry keys as a sample. */
export class KeyTally {
  readonly counts: Record<KeyKind, number> = { entry: 0, tag: 0, lock: 0, other: 0 }
  readonly sample: string[] = []
  #seen: Set<string> | undefined = new Set()

  constructor(
    readonly namespace: string,
    readonly limits: { dedupe: number; sample: number } = { dedupe: DEDUPE_LIMIT, sample: MEMORY_SAMPLE_LIMIT },
  ) {}

  /** Whether every key was counted once (false once more keys than the dedupe limit were seen). */
  get exact(): boolean {
    return this.#seen !== undefined
  }

  add(key: string): void {
    if (this.#seen !== undefined) {
      if (this.#seen.has(key)) return
      // Bounded memory on huge namespaces; the report then says the counts are approximate.
      if (this.#seen.size >= this.limits.dedupe) this.#seen = undefined
      else this.#seen.add(key)
    }
    const kind = classifyKey(key, this.namespace)
    this.counts[kind]++
    if (kind === 'entry' && this.sample.length < this.limits.sample) this.sample.push(key)
  }
}

/** One full SCAN cycle over the namespace's keys in the connection's database. */
export async function scanNamespace(connection: CliConnection, namespace: string): Promise<KeyTally> {
  const tally = new KeyTally(namespace)
  const MATCH = namespaceMatch(namespace)
  let cursor = '0'
  do {
    const reply = await connection.call('SCAN', (client) => client.scan(cursor, { MATCH, COUNT: SCAN_COUNT }))
    cursor = String(reply.cursor)
    for (const key of reply.keys) tally.add(key)
  } while (cursor !== '0')
  return tally
}

/**
 * Average MEMORY USAGE of the sampled keys times `keyCount`. Keys that expired since the SCAN
 * are left out of the average. A refused MEMORY USAGE (ACL, managed Redis) gives `null`, not a failure.
 */
export async function estimateMemory(connection: CliConnection, sample: readonly string[], keyCount: number): Promise<MemoryEstimate> {
  if (keyCount === 0) return { estimatedBytes: 0, sampledKeys: 0, note: 'no keys' }
  let total = 0
  let measured = 0
  try {
    for (let i = 0; i < sample.length; i += MEMORY_BATCH) {
      const batch = sample.slice(i, i + MEMORY_BATCH)
      const sizes = await connection.call('MEMORY USAGE', (client) => Promise.all(batch.map((key) => client.memoryUsage(key))))
      for (const size of sizes) {
        if (size === null) continue
        total += size
        measured++
      }
    }
  } catch (error) {
    if (!isRefusal(error)) throw error
    return { estimatedBytes: null, sampledKeys: 0, note: `unavailable: ${error.message}` }
  }
  if (measured === 0) return { estimatedBytes: null, sampledKeys: 0, note: 'unavailable: sampled keys expired during the scan' }
  const estimatedBytes = Math.round((total / measured) * keyCount)
  const how = measured >= keyCount ? `MEMORY USAGE of all ${measured} keys` : `average MEMORY USAGE of ${measured} sampled keys x ${keyCount} keys`
  return { estimatedBytes, sampledKeys: measured, note: `estimate: ${how}` }
}

/**
 * Whether a failed call is Redis refusing the command (an error reply such as `NOPERM` or
 * `ERR unknown command`), as opposed to a lost connection or a missed deadline, which still fail.
 */
export function isRefusal(error: unknown): error is Error & { cause: ErrorReply } {
  return error instanceof Error && error.cause instanceof ErrorReply
}

/** Runs `command`; a refusal is recorded in `refused` and gives `null`, anything else fails. */
async function unlessRefused<T>(
  connection: CliConnection,
  what: string,
  command: (client: CliRedisClient) => Promise<T>,
  refused: string[],
): Promise<T | null> {
  try {
    return await connection.call(what, command)
  } catch (error) {
    if (!isRefusal(error)) throw error
    refused.push(`${what} unavailable: ${redactSecrets(error.cause.message)}`)
    return null
  }
}

/** Server-wide figures from one INFO (default sections) and DBSIZE; a refused command leaves its fields `null`. */
export async function readServer(connection: CliConnection): Promise<ServerReport> {
  const refused: string[] = []
  const infoReply = await unlessRefused(connection, 'INFO', (client) => client.info(), refused)
  const info = parseInfo(infoReply === null ? '' : String(infoReply))
  const databaseKeys = await unlessRefused(connection, 'DBSIZE', (client) => client.dbSize(), refused)
  const keyspaceHits = infoNumber(info, 'keyspace_hits')
  const keyspaceMisses = infoNumber(info, 'keyspace_misses')
  return {
    scope: 'server-wide: every namespace, database and client, not this namespace alone',
    redisVersion: infoText(info, 'redis_version'),
    uptimeSeconds: infoNumber(info, 'uptime_in_seconds'),
    connectedClients: infoNumber(info, 'connected_clients'),
    usedMemory: infoNumber(info, 'used_memory'),
    usedMemoryHuman: infoText(info, 'used_memory_human'),
    maxmemory: infoNumber(info, 'maxmemory'),
    maxmemoryPolicy: infoText(info, 'maxmemory_policy'),
    keyspaceHits,
    keyspaceMisses,
    hitRatio: hitRatio(keyspaceHits, keyspaceMisses),
    databaseKeys,
    note: refused.length === 0 ? null : refused.join('; '),
  }
}

/** hits / (hits + misses), or `null` when unknown or before the first lookup. */
export function hitRatio(hits: number | null, misses: number | null): number | null {
  if (hits === null || misses === null || hits + misses === 0) return null
  return hits / (hits + misses)
}

/** Opens a connection to a target (one node of a cluster, for `--cluster`). */
export type CliConnectionOpener = (target: Target) => Promise<CliConnection>

/** Everything `strata stats` reports, read over an open connection. */
export async function collectStats(connection: CliConnection, target: Target): Promise<StatsReport> {
  const tally = await scanNamespace(connection, target.namespace)
  const memory = await estimateMemory(connection, tally.sample, tally.counts.entry)
  const namespace: NamespaceReport = {
    scope: 'keys in the selected database, counted with SCAN',
    keys: tally.counts.entry,
    tagIndexKeys: tally.counts.tag,
    lockKeys: tally.counts.lock,
    countsExact: tally.exact,
    memory,
  }
  const server = await readServer(connection)
  return { target: { url: target.displayUrl, namespace: target.namespace }, namespace, server }
}
