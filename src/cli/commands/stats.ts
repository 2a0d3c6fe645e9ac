/**
 * `strata stats`: connects to Redis and prints what can be read there about one namespace
 * (key counts, estimated size) and about the server (memory, hit and miss counters).
 */
import type { Command } from 'commander'

import { InvalidOptionsError } from '../../index.js'
import { CliFailure, type CliIo, type CommandContext, ExitCode, type ExitCodeValue } from '../io.js'
import { type CliConnection, openConnection } from '../redis-connection.js'
import { addTargetOptions, resolveTarget, type TargetFlags } from '../target.js'
import { collectClusterStats } from './stats-cluster.js'
import { collectStats } from './stats-collect.js'
import { sentinelMasterTarget } from './stats-sentinel.js'
import { renderStatsJson, renderStatsTable } from './stats-report.js'

/** Flags of `strata stats`, as commander parses them. */
export interface StatsFlags extends TargetFlags {
  /** `--json`: print the report as JSON instead of a table. @default false */
  json?: boolean | undefined
  /** `--cluster`: the URL is one node of a Redis Cluster; report every master, added up. @default false */
  cluster?: boolean | undefined
  /** `--sentinel <name>`: the URL is a sentinel; report the master it names for `<name>`. */
  sentinel?: string | undefined
}

const NOTES = `
Counts come from SCAN (never KEYS) over this namespace's keys in the URL's database; the size
is an estimate from MEMORY USAGE of up to 1,000 keys. INFO figures (memory, keyspace_hits,
keyspace_misses, clients) are server-wide, not per namespace. Only SCAN is required: figures of
a refused MEMORY USAGE, INFO or DBSIZE (ACL NOPERM) are shown as unknown (null in JSON).

Exit codes: 0 done, 1 Redis unreachable, refusing SCAN or not answering within --timeout,
2 invalid options.

With --cluster, the URL names one node of a Redis Cluster: every master is read the same way
(with the URL's credentials and TLS), and the figures are added up. With --sentinel <name>, the
URL names a sentinel, and the master it names for <name> is read (with the URL's credentials).

Examples:
  $ strata stats --namespace app
  $ strata stats --cluster --url redis://:secret@10.0.0.1:7000 --namespace app
  $ strata stats --sentinel mymaster --url redis://10.0.0.1:26379 --namespace app
  $ REDIS_URL=redis://:secret@cache:6379/2 strata stats --namespace app --json`

/** Adds `stats` to `program`. */
export function registerStatsCommand(program: Command, context: CommandContext): void {
  addTargetOptions(program.command('stats').description('show key counts and estimated size of a namespace, and Redis memory and hit/miss counters'), 'cache namespace to inspect')
    .option('--json', 'print JSON instead of a table')
    .option('--cluster', 'the URL is one node of a Redis Cluster: count and add up every master')
    .option('--sentinel <name>', 'the URL is a sentinel: report the master it names for <name>')
    .addHelpText('after', NOTES)
    .action(async (flags: StatsFlags) => {
      context.setExitCode(await runStats(flags, context.io))
    })
}

/**
 * Runs `strata stats` with parsed flags. Resolves the exit code; never calls `process.exit`.
 * Invalid flags print the `E_INVALID_OPTIONS` message (exit 2); Redis failures print one line (exit 1).
 */
export async function runStats(flags: StatsFlags, io: CliIo): Promise<ExitCodeValue> {
  let target
  try {
    target = resolveTarget(flags, io.env ?? process.env)
  } catch (error) {
    if (!(error instanceof InvalidOptionsError)) throw error
    io.stderr(`strata stats: ${error.code}: ${error.message}\n`)
    return ExitCode.usage
  }
  let connection: CliConnection | undefined
  try {
    connection = await openConnection(target)
    if (flags.sentinel !== undefined) {
      const master = await sentinelMasterTarget(connection, target, flags.sentinel)
      connection.close()
      connection = await openConnection(master)
      target = master
    }
    const report = flags.cluster === true ? await collectClusterStats(connection, target, openConnection) : await collectStats(connection, target)
    io.stdout(flags.json === true ? renderStatsJson(report) : renderStatsTable(report))
    return ExitCode.ok
  } catch (error) {
    if (!(error instanceof CliFailure)) throw error
    io.stderr(`strata stats: ${error.message}\n`)
    return ExitCode.failure
  } finally {
    connection?.close()
  }
}
