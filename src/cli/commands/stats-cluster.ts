/**
 * `strata stats --cluster`: the URL names one node of a Redis Cluster; the report covers every
 * master. Each master is read as a single server would be (`collectStats`), over a connection
 * with the URL's credentials and TLS, and the figures are added up: key counts, the size
 * estimate, memory, hits, misses, clients and DBSIZE. Fields a master refused stay `null`.
 */
import { hitRatio, type CliConnectionOpener, collectStats } from './stats-collect.js'
import type { ServerReport, StatsReport } from './stats-report.js'
import type { CliConnection } from '../redis-connection.js'
import type { Target } from '../target.js'

/** The masters' `host:port`, from `CLUSTER NODES` on a node of the cluster (failed ones left out). */
export async function clusterMasters(connection: CliConnection): Promise<Array<{ host: string; port: number }>> {
  const reply: unknown = await connection.call('CLUSTER NODES', (client) => client.sendCommand(['CLUSTER', 'NODES']))
  const text = typeof reply === 'string' ? reply : Buffer.isBuffer(reply) ? reply.toString('utf8') : ''
  const masters: Array<{ host: string; port: number }> = []
  for (const line of text.split('\n')) {
    const [, address, flags] = line.split(' ')
    if (address === undefined || flags === undefined) continue
    const flagSet = new Set(flags.split(','))
    if (!flagSet.has('master') || flagSet.has('fail') || flagSet.has('fail?')) continue
    // `ip:port@bus-port[,hostname]`
    const match = /^(.*):(\d+)@/.exec(address)
    if (match !== null) masters.push({ host: match[1]!, port: Number(match[2]) })
  }
  return masters
}

/** Reads every master with `open` and adds the figures up; `server.scope` names how many. */
export async function collectClusterStats(connection: CliConnection, target: Target, open: CliConnectionOpener): Promise<StatsReport> {
  const masters = await clusterMasters(connection)
  const reports: StatsReport[] = []
  for (const master of masters) {
    const url = new URL(target.url)
    url.hostname = master.host
    url.port = String(master.port)
    const node = await open({ ...target, url: url.toString() })
    try {
      reports.push(await collectStats(node, target))
    } finally {
      node.close()
    }
  }
  return sumReports(reports, target)
}

function sumReports(reports: readonly StatsReport[], target: Target): StatsReport {
  const sum = (pick: (server: ServerReport) => number | null): number | null =>
    reports.some((r) => pick(r.server) === null) ? null : reports.reduce((total, r) => total + (pick(r.server) ?? 0), 0)
  const estimates = reports.map((r) => r.namespace.memory.estimatedBytes)
  const first = reports[0]?.server
  const keyspaceHits = sum((s) => s.keyspaceHits)
  const keyspaceMisses = sum((s) => s.keyspaceMisses)
  const notes = reports.flatMap((r) => (r.server.note === null ? [] : [r.server.note]))
  return {
    target: { url: target.displayUrl, namespace: target.namespace },
    namespace: {
      scope: `keys on the ${reports.length} masters of the cluster, counted with SCAN on each`,
      keys: reports.reduce((total, r) => total + r.namespace.keys, 0),
      tagIndexKeys: reports.reduce((total, r) => total + r.namespace.tagIndexKeys, 0),
      lockKeys: reports.reduce((total, r) => total + r.namespace.lockKeys, 0),
      countsExact: reports.every((r) => r.namespace.countsExact),
      memory: {
        estimatedBytes: estimates.includes(null) ? null : estimates.reduce<number>((total, bytes) => total + (bytes ?? 0), 0),
        sampledKeys: reports.reduce((total, r) => total + r.namespace.memory.sampledKeys, 0),
        note: `the sum of each master's estimate (${reports.map((r) => r.namespace.memory.note).join('; ')})`,
      },
    },
    server: {
      scope: `the ${reports.length} masters of the cluster, added up: every namespace and client, not this namespace alone`,
      redisVersion: first?.redisVersion ?? null,
      uptimeSeconds: reports.some((r) => r.server.uptimeSeconds === null) ? null : Math.min(...reports.map((r) => r.server.uptimeSeconds ?? 0)),
      connectedClients: sum((s) => s.connectedClients),
      usedMemory: sum((s) => s.usedMemory),
      usedMemoryHuman: null,
      maxmemory: sum((s) => s.maxmemory),
      maxmemoryPolicy: first?.maxmemoryPolicy ?? null,
      keyspaceHits,
      keyspaceMisses,
      hitRatio: hitRatio(keyspaceHits, keyspaceMisses),
      databaseKeys: sum((s) => s.databaseKeys),
      note: notes.length === 0 ? null : [...new Set(notes)].join('; '),
    },
  }
}
