/**
 * What `strata stats` reports, and its two renderings: an aligned table for people and a JSON
 * document (`--json`) for scripts. Every number is what Redis said; `null` means Redis did not
 * say (a field missing from INFO; INFO, DBSIZE or MEMORY USAGE refused, as for an ACL user
 * without them).
 */
import { formatBytes, formatCount, formatRatio, formatUptime, renderTable } from '../format.js'

/** Estimated memory of the namespace's entry keys. */
export interface MemoryEstimate {
  /** Average `MEMORY USAGE` of the sampled keys × number of entry keys, in bytes; `null` if unknown. */
  readonly estimatedBytes: number | null
  /** Entry keys measured with `MEMORY USAGE` (at most 1,000). */
  readonly sampledKeys: number
  /** How the figure was obtained, or why there is none. */
  readonly note: string
}

/** Keys of one namespace in the selected database, counted with SCAN. */
export interface NamespaceReport {
  /** What these numbers cover. */
  readonly scope: string
  /** Cache entries: keys `<namespace>:*`. */
  readonly keys: number
  /** Tag indexes: keys `<namespace>#tag:*` (one set per tag). */
  readonly tagIndexKeys: number
  /** Cross-instance `getOrSet` locks held right now: keys `<namespace>#lock:*`. */
  readonly lockKeys: number
  /**
   * `false` when the namespace had more keys than the CLI de-duplicates in memory: SCAN may
   * return a key twice while Redis resizes its tables, so counts may then be slightly high.
   */
  readonly countsExact: boolean
  /** Estimated bytes of the entry keys. */
  readonly memory: MemoryEstimate
}

/**
 * Server-wide figures from `INFO` and `DBSIZE`; they are not per namespace. A command Redis
 * refuses (ACL `NOPERM`, a command disabled by a managed service) leaves its fields `null`.
 */
export interface ServerReport {
  /** What these numbers cover. */
  readonly scope: string
  /** INFO `redis_version`. */
  readonly redisVersion: string | null
  /** INFO `uptime_in_seconds`. */
  readonly uptimeSeconds: number | null
  /** INFO `connected_clients`. */
  readonly connectedClients: number | null
  /** INFO `used_memory`, in bytes. */
  readonly usedMemory: number | null
  /** INFO `used_memory_human`, as Redis formats it. */
  readonly usedMemoryHuman: string | null
  /** INFO `maxmemory` in bytes; `0` means no limit. */
  readonly maxmemory: number | null
  /** INFO `maxmemory_policy`. */
  readonly maxmemoryPolicy: string | null
  /** INFO `keyspace_hits`: successful key lookups since start or `CONFIG RESETSTAT`. */
  readonly keyspaceHits: number | null
  /** INFO `keyspace_misses`: failed key lookups since start or `CONFIG RESETSTAT`. */
  readonly keyspaceMisses: number | null
  /** hits / (hits + misses); `null` before the first lookup. */
  readonly hitRatio: number | null
  /** `DBSIZE`: every key of the selected database, any namespace or none; `null` when DBSIZE is refused. */
  readonly databaseKeys: number | null
  /** Which commands Redis refused and what it answered, e.g. `INFO unavailable: NOPERM …`; `null` when none was. */
  readonly note: string | null
}

/** The full result of `strata stats`. */
export interface StatsReport {
  /** What was inspected; the URL has its password redacted. */
  readonly target: { readonly url: string; readonly namespace: string }
  /** Keys of the namespace. */
  readonly namespace: NamespaceReport
  /** Server-wide figures. */
  readonly server: ServerReport
}

/** The report as pretty-printed JSON, ending with a newline. */
export function renderStatsJson(report: StatsReport): string {
  return `${JSON.stringify(report, null, 2)}\n`
}

/** The report as an aligned table, ending with a newline. */
export function renderStatsTable(report: StatsReport): string {
  const { namespace: ns, server } = report
  const header = `strata stats: ${report.target.url}, namespace "${report.target.namespace}"\n\n`
  const approx = ns.countsExact ? '' : ' (approximate)'
  return (
    header +
    renderTable([
      {
        title: `Namespace "${report.target.namespace}" (${ns.scope})`,
        rows: [
          ['keys (cache entries)', formatCount(ns.keys) + approx],
          ['tag index keys', formatCount(ns.tagIndexKeys) + approx],
          ['lock keys', formatCount(ns.lockKeys) + approx],
          ['estimated size', `${ns.memory.estimatedBytes === null ? 'unknown' : `~${formatBytes(ns.memory.estimatedBytes)}`} (${ns.memory.note})`],
        ],
      },
      { title: `Server (${server.scope})`, rows: serverRows(server) },
    ])
  )
}

function serverRows(server: ServerReport): Array<[string, string]> {
  const maxmemory = server.maxmemory === 0 ? '0 (no limit)' : maybe(server.maxmemory, (v) => `${formatCount(v)} (${formatBytes(v)})`)
  return [
    ['redis_version', server.redisVersion ?? 'unknown'],
    ['uptime_in_seconds', maybe(server.uptimeSeconds, (v) => `${formatCount(v)} (${formatUptime(v)})`)],
    ['connected_clients', maybe(server.connectedClients, formatCount)],
    ['used_memory', maybe(server.usedMemory, (v) => `${formatCount(v)} (${server.usedMemoryHuman ?? formatBytes(v)})`)],
    ['maxmemory', maxmemory],
    ['maxmemory_policy', server.maxmemoryPolicy ?? 'unknown'],
    ['keyspace_hits', maybe(server.keyspaceHits, formatCount)],
    ['keyspace_misses', maybe(server.keyspaceMisses, formatCount)],
    ['hit ratio', hitRatioText(server)],
    ['keys in database (DBSIZE)', maybe(server.databaseKeys, formatCount)],
    ...(server.note === null ? [] : [['note', server.note] as [string, string]]),
  ]
}

/** The ratio; "n/a" only when Redis said there was no lookup yet, "unknown" when it did not say. */
function hitRatioText(server: ServerReport): string {
  if (server.hitRatio !== null) return formatRatio(server.hitRatio)
  return server.keyspaceHits === null || server.keyspaceMisses === null ? 'unknown' : 'n/a (no lookups yet)'
}

function maybe(value: number | null, format: (value: number) => string): string {
  return value === null ? 'unknown' : format(value)
}
