/**
 * `strata backup`: writes every entry of a namespace to a backup file (gzipped unless
 * `--no-gzip`), through `CacheMigrationManager.createBackup()`. Stored bytes are copied as they
 * are, so encrypted entries need no key (without one, their tags are not read: see the notes).
 */
import type { Command } from 'commander'

import { type BackupResult, CacheMigrationManager, GenericRedisCache, InvalidOptionsError, L2UnavailableError } from '../../index.js'
import { formatCount, redactSecrets, renderTable } from '../format.js'
import { type CliIo, type CommandContext, ExitCode, type ExitCodeValue } from '../io.js'
import { progressBar } from '../progress-bar.js'
import { addTargetOptions, resolveTarget, type Target, type TargetFlags } from '../target.js'
import { fileErrorCode, parseRateFlag } from './restore.js'

/** Flags of `strata backup`, as commander parses them. */
export interface BackupFlags extends TargetFlags {
  /** `--out <file>`: the backup file to write. */
  out?: string | undefined
  /** `--no-gzip` sets it to false. @default true */
  gzip?: boolean | undefined
  /** `--json`: print the summary as JSON. @default false */
  json?: boolean | undefined
  /** `--rate <entries/s>`: at most this many entries per second. @default unlimited */
  rate?: string | undefined
}

const NOTES = `
The file holds each entry's stored bytes as they are (compressed or encrypted entries stay so),
its absolute expiry and its tags, with a checksum (format: docs/backup-format.md). It appears
under its name only once complete. Encrypted entries are copied without their key; their tags
are not readable without it, so they are restored without tag indexes.

Exit codes: 0 done, 1 Redis unreachable or failing on the way, or the file cannot be written,
2 invalid options.

Examples:
  $ strata backup --url redis://cache:6379 --namespace app --out app.backup
  $ strata backup --namespace app --out app.backup --rate 5000 --json`

/** Adds `backup` to `program`. */
export function registerBackupCommand(program: Command, context: CommandContext): void {
  addTargetOptions(program.command('backup').description('write every entry of a namespace to a backup file'), 'cache namespace to back up')
    .option('--out <file>', 'backup file to write')
    .option('--no-gzip', 'write the raw backup stream instead of gzipping it')
    .option('--json', 'print the summary as JSON instead of a table')
    .option('--rate <entries/s>', 'at most this many entries per second, to spare a production Redis')
    .addHelpText('after', NOTES)
    .action(async (flags: BackupFlags) => {
      context.setExitCode(await runBackup(flags, context.io))
    })
}

/** Runs `strata backup` with parsed flags and resolves the exit code; never calls `process.exit`. */
export async function runBackup(flags: BackupFlags, io: CliIo): Promise<ExitCodeValue> {
  let target: Target
  let rate: number | undefined
  try {
    target = resolveTarget(flags, io.env ?? process.env)
    rate = parseRateFlag(flags.rate)
    if (flags.out === undefined || flags.out.trim() === '') throw new InvalidOptionsError([{ path: '--out', message: 'give the backup file to write: --out <file>' }])
  } catch (error) {
    if (!(error instanceof InvalidOptionsError)) throw error
    io.stderr(`strata backup: ${error.code}: ${error.message}\n`)
    return ExitCode.usage
  }
  const cache = new GenericRedisCache({ redisUrl: target.url, namespace: target.namespace, connectTimeout: target.timeoutMs, l2Timeout: target.timeoutMs, l1: false, coherence: false })
  const json = flags.json === true
  const bar = progressBar(io, json, 'backup |{bar}| {value} entries', 0)
  try {
    if (!(await cache.connect())) {
      io.stderr(`strata backup: cannot reach Redis at ${target.displayUrl} within ${target.timeoutMs}ms\n`)
      return ExitCode.failure
    }
    const result = await new CacheMigrationManager().createBackup(cache, flags.out, {
      gzip: flags.gzip !== false,
      rate,
      onProgress: ({ entries }) => bar.update(entries),
    })
    bar.stop()
    io.stdout(json ? `${JSON.stringify({ url: target.displayUrl, ...result }, null, 2)}\n` : renderReport(target, result))
    if (result.undecoded > 0) io.stderr(`strata backup: ${formatCount(result.undecoded)} entries could not be decoded (encrypted, or not strata entries): backed up as bytes, without their tags\n`)
    return ExitCode.ok
  } catch (error) {
    bar.stop()
    if (error instanceof L2UnavailableError) {
      io.stderr(`strata backup: ${redactSecrets(error.message)}; no file was written\n`)
      return ExitCode.failure
    }
    const code = fileErrorCode(error)
    if (code === undefined) throw error
    io.stderr(`strata backup: cannot write ${flags.out} (${code})\n`)
    return ExitCode.failure
  } finally {
    await cache.disconnect()
  }
}

function renderReport(target: Target, result: BackupResult): string {
  return renderTable([
    {
      title: `Backup of namespace ${target.namespace} at ${target.displayUrl}`,
      rows: [
        ['file', result.path],
        ['entries', formatCount(result.entries)],
        ['expired, left out', formatCount(result.expiredSkipped)],
        ['without tags (undecodable)', formatCount(result.undecoded)],
        ['file size', `${formatCount(result.bytes)} bytes`],
        ['checksum (SHA-256)', result.checksum],
        ['duration', `${formatCount(result.durationMs)} ms`],
      ],
    },
  ])
}
