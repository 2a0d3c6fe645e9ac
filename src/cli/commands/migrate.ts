/**
 * `strata migrate`: copies a strata namespace, or keyv, cache-manager or bentocache data left in
 * Redis, into a strata namespace, through `migrate()` (TTLs and tags kept).
 */
import type { Command } from 'commander'

import { InvalidOptionsError, L2UnavailableError, type MigrationResult, migrate } from '../../index.js'
import { formatCount, redactSecrets, renderTable } from '../format.js'
import { type CliIo, type CommandContext, ExitCode, type ExitCodeValue } from '../io.js'
import { closeEndpoints, type Endpoints, progressBar, resolveEndpoints, SOURCE_FORMATS, type SourceFlags } from '../migration-endpoints.js'
import { parseRate } from '../rate-pacer.js'
import { addTargetOptions } from '../target.js'

/** Flags of `strata migrate`, as commander parses them. */
export interface MigrateFlags extends SourceFlags {
  /** `--dry-run`: read and count, write nothing. @default false */
  dryRun?: boolean | undefined
  /** `--json`: print the result as JSON. @default false */
  json?: boolean | undefined
  /** `--rate <n>`: at most n entries per second. @default unlimited */
  rate?: string | undefined
  /** `--no-overwrite`: keep entries the target already holds. */
  overwrite?: boolean | undefined
}

const NOTES = `
--from strata copies the namespace --source-namespace (at --source-url, default --url) into
--namespace; values are re-encoded by the target. The other formats read what those libraries
wrote, by key prefix:
  keyv           <ns>::<ns>:<key> (--source-namespace, default keyv); createKeyv's <ns>::<key>
                 with --source-prefix '<ns>::'
  cache-manager  cache-manager-redis-yet's <keyPrefix>:<key> (--source-namespace is the
                 keyPrefix; without it every key of the database is read)
  bentocache     <prefix>:<key> (--source-prefix, default bentocache; --source-namespace reads
                 one namespace); stale, tag-invalidated entries and tag keys are skipped
TTLs are the remaining logical TTLs; entries already expired are skipped.

Exit codes: 0 done, 1 Redis unreachable or failing, or some entries failed (listed), 2 invalid
options (nothing is sent to Redis).

Examples:
  $ strata migrate --from keyv --source-url redis://old:6379 --url redis://new:6379 --namespace app --dry-run
  $ strata migrate --from strata --source-namespace app --namespace app2 --rate 5000 --json`

/** Adds `migrate` to `program`. */
export function registerMigrateCommand(program: Command, context: CommandContext): void {
  addTargetOptions(program.command('migrate').description('copy a strata namespace, or keyv, cache-manager or bentocache data, into a strata namespace'), 'target cache namespace')
    .option('--from <format>', `format of the source: ${SOURCE_FORMATS.join(', ')}`, 'strata')
    .option('--source-url <url>', 'Redis URL of the source (default: --url)')
    .option('--source-namespace <ns>', 'strata or keyv namespace, cache-manager keyPrefix, bentocache namespace')
    .option('--source-prefix <prefix>', 'raw Redis key prefix of keyv, cache-manager or bentocache data')
    .option('--dry-run', 'read and count, write nothing')
    .option('--no-overwrite', 'keep entries the target already holds')
    .option('--rate <n>', 'at most n entries per second')
    .option('--json', 'print JSON instead of a table')
    .addHelpText('after', NOTES)
    .action(async (flags: MigrateFlags) => {
      context.setExitCode(await runMigrate(flags, context.io))
    })
}

/** Runs `strata migrate` with parsed flags and resolves the exit code; never calls `process.exit`. */
export async function runMigrate(flags: MigrateFlags, io: CliIo): Promise<ExitCodeValue> {
  let ends: Endpoints
  let rate: number | undefined
  try {
    rate = parseRate(flags.rate)
    ends = resolveEndpoints(flags, io.env ?? process.env)
  } catch (error) {
    if (!(error instanceof InvalidOptionsError)) throw error
    io.stderr(`strata migrate: ${error.code}: ${redactSecrets(error.message)}\n`)
    return ExitCode.usage
  }
  const bar = progressBar(io, flags.json === true, 'strata migrate | {scanned} scanned | {migrated} migrated | {skipped} skipped | {failed} failed')
  try {
    if (!(await ends.target.connect())) {
      io.stderr(`strata migrate: cannot reach Redis at ${ends.targetInfo.displayUrl} within ${ends.targetInfo.timeoutMs}ms\n`)
      return ExitCode.failure
    }
    const result = await migrate(ends.source, ends.target, { dryRun: flags.dryRun === true, overwrite: flags.overwrite !== false, ...(rate !== undefined && { rate }), onProgress: (p) => bar.update({ ...p }) })
    bar.stop()
    const report = { source: ends.sourceLabel, target: `strata namespace ${ends.targetInfo.namespace} at ${ends.targetInfo.displayUrl}`, ...result }
    io.stdout(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report))
    for (const failure of result.errors) io.stderr(`strata migrate: ${redactSecrets(failure.key)}: ${redactSecrets(failure.reason)}\n`)
    return result.failed > 0 ? ExitCode.failure : ExitCode.ok
  } catch (error) {
    bar.stop()
    if (error instanceof InvalidOptionsError) throw error
    // Redis unreachable, refusing or missing a deadline, on either side.
    io.stderr(`strata migrate: ${redactSecrets(error instanceof L2UnavailableError || error instanceof Error ? error.message : String(error))}; entries written so far stay written, run it again to finish\n`)
    return ExitCode.failure
  } finally {
    await closeEndpoints(ends)
  }
}

function renderReport(report: MigrationResult & { source: string; target: string }): string {
  return renderTable([
    {
      title: `${report.dryRun ? 'Dry run: migration' : 'Migration'} of ${report.source} into ${report.target}`,
      rows: [
        ['scanned', formatCount(report.scanned)],
        [report.dryRun ? 'would migrate' : 'migrated', formatCount(report.migrated)],
        ['skipped', formatCount(report.skipped)],
        ['failed', formatCount(report.failed)],
        ['duration', `${formatCount(report.durationMs)} ms`],
      ],
    },
  ])
}
