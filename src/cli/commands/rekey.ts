/**
 * `strata rekey`: re-encrypts the entries of one namespace under the current encryption key
 * (the last step of a key rotation), through `GenericRedisCache.rekey()`. Keys come from a JSON
 * file or an environment variable, never from the command line, where `ps` would show them.
 */
import type { Command } from 'commander'

import { type EncryptionOptions, GenericRedisCache, InvalidOptionsError, L2UnavailableError, type RekeyResult } from '../../index.js'
import { formatCount, redactSecrets, renderTable } from '../format.js'
import { type CliIo, type CommandContext, ExitCode, type ExitCodeValue } from '../io.js'
import { KEYS_ENV, type KeysFlags, readKeys } from '../keys-source.js'
import { addTargetOptions, resolveTarget, type Target, type TargetFlags } from '../target.js'

export { KEYS_ENV } from '../keys-source.js'

/** Flags of `strata rekey`, as commander parses them. */
export interface RekeyFlags extends TargetFlags, KeysFlags {
  /** `--batch-size <n>`: keys per SCAN step, MGET and rewrite batch. @default 500 */
  batchSize?: string | undefined
  /** `--json`: print the summary as JSON. @default false */
  json?: boolean | undefined
}

/** The summary printed at the end. */
export interface RekeyReport extends RekeyResult {
  /** The target, its password replaced by `***`. */
  readonly url: string
  readonly namespace: string
  /** The key id entries were re-encrypted under. */
  readonly current: number
  readonly durationMs: number
}

const NOTES = `
Keys: --keys-file <path>, or the JSON in $${KEYS_ENV} (or the variable --keys-env names):
  { "keys": { "1": "<base64 of 32 bytes>", "2": { "secret": "<random>", "salt": "<salt>" } }, "current": 2 }
List the old key(s) and the new one. Entries under an old key are rewritten under "current" with
compare-and-set (a write meanwhile wins) and keep their TTL; other namespaces are not touched.
Entries no listed key can authenticate are counted as failed and left alone.

Exit codes: 0 done, 1 Redis unreachable or failing on the way (run it again: it resumes),
2 invalid options or keys.

Examples:
  $ strata rekey --namespace app --keys-file /run/secrets/cache-keys.json
  $ STRATA_ENCRYPTION_KEYS="$(cat keys.json)" strata rekey --url rediss://:pw@cache:6380 --namespace app --json`

/** Adds `rekey` to `program`. */
export function registerRekeyCommand(program: Command, context: CommandContext): void {
  addTargetOptions(program.command('rekey').description('re-encrypt the entries of a namespace under the current encryption key'), 'cache namespace to re-encrypt')
    .option('--keys-file <path>', 'JSON file with the keys and the current key id')
    .option('--keys-env <name>', `environment variable holding that JSON (default: ${KEYS_ENV})`)
    .option('--batch-size <n>', 'keys per SCAN step, MGET and rewrite batch', '500')
    .option('--json', 'print the summary as JSON instead of a table')
    .addHelpText('after', NOTES)
    .action(async (flags: RekeyFlags) => {
      context.setExitCode(await runRekey(flags, context.io))
    })
}

/** Runs `strata rekey` with parsed flags and resolves the exit code; never calls `process.exit`. */
export async function runRekey(flags: RekeyFlags, io: CliIo): Promise<ExitCodeValue> {
  let target: Target
  let cache: GenericRedisCache
  let encryption: EncryptionOptions
  try {
    target = resolveTarget(flags, io.env ?? process.env)
    encryption = readKeys(flags, io.env ?? process.env)
    // L1 off: a rekey reads and writes Redis only. The constructor validates the keys.
    cache = new GenericRedisCache({ redisUrl: target.url, namespace: target.namespace, connectTimeout: target.timeoutMs, l2Timeout: target.timeoutMs, l1: false, encryption })
  } catch (error) {
    if (!(error instanceof InvalidOptionsError)) throw error
    io.stderr(`strata rekey: ${error.code}: ${error.message}\n`)
    return ExitCode.usage
  }
  try {
    if (!(await cache.connect())) {
      io.stderr(`strata rekey: cannot reach Redis at ${target.displayUrl} within ${target.timeoutMs}ms\n`)
      return ExitCode.failure
    }
    const startedAt = performance.now()
    const result = await cache.rekey({ batchSize: Number(flags.batchSize ?? 500), onProgress: progressPrinter(io) })
    const report: RekeyReport = { url: target.displayUrl, namespace: target.namespace, current: encryption.current, ...result, durationMs: Math.round(performance.now() - startedAt) }
    io.stdout(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : renderReport(report))
    if (result.failed > 0) io.stderr(`strata rekey: ${formatCount(result.failed)} entries could not be authenticated with the listed keys and were left as they are (reads delete them)\n`)
    return ExitCode.ok
  } catch (error) {
    if (error instanceof InvalidOptionsError) {
      io.stderr(`strata rekey: ${error.code}: ${error.message}\n`)
      return ExitCode.usage
    }
    if (!(error instanceof L2UnavailableError)) throw error
    io.stderr(`strata rekey: ${redactSecrets(error.message)}; entries rewritten so far stay rewritten, run it again to finish\n`)
    return ExitCode.failure
  } finally {
    await cache.disconnect()
  }
}

/** Progress lines on stderr, at most one a second, plus the first batch. */
function progressPrinter(io: CliIo): (progress: RekeyResult) => void {
  let last = 0
  return (p) => {
    const now = performance.now()
    if (last !== 0 && now - last < 1000) return
    last = now
    io.stderr(`strata rekey: ${formatCount(p.scanned)} scanned, ${formatCount(p.rewritten)} rewritten, ${formatCount(p.alreadyCurrent)} already current, ${formatCount(p.failed)} failed\n`)
  }
}

function renderReport(report: RekeyReport): string {
  return renderTable([
    {
      title: `Rekey of namespace ${report.namespace} at ${report.url} (current key id ${report.current})`,
      rows: [
        ['scanned', formatCount(report.scanned)],
        ['rewritten', formatCount(report.rewritten)],
        ['already current', formatCount(report.alreadyCurrent)],
        ['failed', formatCount(report.failed)],
        ['changed meanwhile', formatCount(report.changed)],
        ['duration', `${formatCount(report.durationMs)} ms`],
      ],
    },
  ])
}
