/**
 * `strata restore`: writes the entries of a backup file back into Redis, through
 * `CacheMigrationManager.restoreBackup()`: bytes as they were, TTLs from their absolute
 * expiries (expired entries skipped), tag indexes rebuilt, existing keys kept unless
 * `--overwrite`. `--dry-run` verifies the whole file without contacting Redis.
 */
import { accessSync, constants, statSync } from 'node:fs'

import type { Command } from 'commander'

import { BackupFormatError, type BackupHeader, CacheMigrationManager, GenericRedisCache, InvalidOptionsError, L2UnavailableError, type RestoreResult } from '../../index.js'
import { formatCount, redactSecrets, renderTable } from '../format.js'
import { type CliIo, type CommandContext, ExitCode, type ExitCodeValue } from '../io.js'
import { progressBar } from '../progress-bar.js'
import { addTargetOptions, resolveTarget, type Target, type TargetFlags } from '../target.js'

/** Flags of `strata restore`, as commander parses them. */
export interface RestoreFlags extends TargetFlags {
  /** `--in <file>`: the backup file to read. */
  in?: string | undefined
  /** `--dry-run`: verify and count, write nothing. @default false */
  dryRun?: boolean | undefined
  /** `--overwrite`: replace existing keys. @default false */
  overwrite?: boolean | undefined
  /** `--json`: print the summary as JSON. @default false */
  json?: boolean | undefined
  /** `--rate <entries/s>`. @default unlimited */
  rate?: string | undefined
}

/** The largest `--rate` accepted, in entries per second. */
const MAX_RATE = 1_000_000

const NOTES = `
Without --namespace, entries go back to the namespace they were backed up from (the file's
header says which). Restoring is idempotent: keys that exist are kept (counted as existing)
unless --overwrite. Encrypted entries can only be restored into their own namespace.
--dry-run reads and verifies the whole file (every record's CRC, the count and the checksum) and
counts what would be restored, without contacting Redis.

Exit codes: 0 done, 1 Redis unreachable or failing, or the file is damaged (E_BACKUP_FORMAT:
the message names the byte offset, the record and how many entries were restored before it),
2 invalid options or an unreadable --in file.

Examples:
  $ strata restore --url redis://cache:6379 --in app.backup
  $ strata restore --in app.backup --dry-run --json`

/** Adds `restore` to `program`. */
export function registerRestoreCommand(program: Command, context: CommandContext): void {
  addTargetOptions(program.command('restore').description('write the entries of a backup file back into Redis'), "namespace to restore into (default: the backup's own)")
    .option('--in <file>', 'backup file to read (gzipped or not)')
    .option('--dry-run', 'verify the file and count what would be restored; write nothing')
    .option('--overwrite', 'replace keys that already exist')
    .option('--json', 'print the summary as JSON instead of a table')
    .option('--rate <entries/s>', 'at most this many entries per second, to spare a production Redis')
    .addHelpText('after', NOTES)
    .action(async (flags: RestoreFlags, command: Command) => {
      const explicitNamespace = command.getOptionValueSource('namespace') !== 'default'
      context.setExitCode(await runRestore(explicitNamespace ? flags : { ...flags, namespace: undefined }, context.io))
    })
}

/**
 * Runs `strata restore` with parsed flags (`namespace` undefined: the backup's own) and resolves
 * the exit code; never calls `process.exit`.
 */
export async function runRestore(flags: RestoreFlags, io: CliIo): Promise<ExitCodeValue> {
  const manager = new CacheMigrationManager()
  let target: Target
  let rate: number | undefined
  let header: BackupHeader
  try {
    rate = parseRateFlag(flags.rate)
    const path = readableFile(flags.in)
    header = await manager.readBackupHeader(path)
    target = resolveTarget({ ...flags, namespace: flags.namespace ?? header.namespace }, io.env ?? process.env)
  } catch (error) {
    if (error instanceof BackupFormatError) {
      io.stderr(`strata restore: ${error.code}: ${error.message}\n`)
      return ExitCode.failure
    }
    if (!(error instanceof InvalidOptionsError)) throw error
    io.stderr(`strata restore: ${error.code}: ${error.message}\n`)
    return ExitCode.usage
  }
  const dryRun = flags.dryRun === true
  const json = flags.json === true
  const cache = new GenericRedisCache({ redisUrl: target.url, namespace: target.namespace, connectTimeout: target.timeoutMs, l2Timeout: target.timeoutMs, l1: false, coherence: false })
  const bar = progressBar(io, json, 'restore |{bar}| {percentage}% | {entries} entries | ETA {eta_formatted}', statSync(flags.in!).size)
  try {
    if (!dryRun && !(await cache.connect())) {
      io.stderr(`strata restore: cannot reach Redis at ${target.displayUrl} within ${target.timeoutMs}ms\n`)
      return ExitCode.failure
    }
    const result = await manager.restoreBackup(flags.in!, cache, { dryRun, overwrite: flags.overwrite === true, rate, onProgress: (p) => bar.update(p.fileBytes, { entries: p.entries }) })
    bar.stop()
    io.stdout(json ? `${JSON.stringify({ url: target.displayUrl, namespace: target.namespace, ...result }, null, 2)}\n` : renderReport(target, result))
    return ExitCode.ok
  } catch (error) {
    bar.stop()
    if (error instanceof BackupFormatError || error instanceof L2UnavailableError) {
      io.stderr(`strata restore: ${error.code}: ${redactSecrets(error.message)}\n`)
      return ExitCode.failure
    }
    const code = fileErrorCode(error)
    if (code === undefined) throw error
    io.stderr(`strata restore: cannot read ${flags.in} (${code})\n`)
    return ExitCode.failure
  } finally {
    await cache.disconnect()
  }
}

/** `--rate` checked: a positive number up to {@link MAX_RATE}; `undefined` when not given. */
export function parseRateFlag(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  const rate = Number(value)
  if (value.trim() === '' || !Number.isFinite(rate) || rate <= 0 || rate > MAX_RATE) {
    throw new InvalidOptionsError([{ path: '--rate', message: `expected entries per second, a number above 0 and at most ${MAX_RATE}; got "${value}"` }])
  }
  return rate
}

/** The errno code of a file system error (`ENOENT`, `EACCES`, …), else `undefined`. */
export function fileErrorCode(error: unknown): string | undefined {
  if (!(error instanceof Error) || !('syscall' in error)) return undefined
  const code = (error as NodeJS.ErrnoException).code
  return typeof code === 'string' ? code : undefined
}

function readableFile(path: string | undefined): string {
  if (path === undefined || path.trim() === '') throw new InvalidOptionsError([{ path: '--in', message: 'give the backup file to read: --in <file>' }])
  try {
    accessSync(path, constants.R_OK)
    if (!statSync(path).isFile()) throw Object.assign(new Error('not a file'), { code: 'EISDIR' })
  } catch (error) {
    throw new InvalidOptionsError([{ path: '--in', message: `cannot read ${path} (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})` }])
  }
  return path
}

function renderReport(target: Target, result: RestoreResult): string {
  const { header } = result
  return renderTable([
    {
      title: `${result.dryRun ? 'Dry run of a restore' : 'Restore'} into namespace ${target.namespace} at ${target.displayUrl}`,
      rows: [
        ['backup of', `namespace ${header.namespace} (${header.topology}), ${header.createdAt}, strata-cache ${header.libraryVersion}`],
        ['entries in the file', formatCount(result.entries)],
        [result.dryRun ? 'would be restored' : 'restored', formatCount(result.restored)],
        ['expired, skipped', formatCount(result.skippedExpired)],
        ['existing, kept', formatCount(result.skippedExisting)],
        ['failed', formatCount(result.failed)],
        ['duration', `${formatCount(result.durationMs)} ms`],
      ],
    },
  ])
}
