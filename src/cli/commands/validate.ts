/**
 * `strata validate`: compares a source (a strata namespace, or keyv, cache-manager or
 * bentocache data) with a strata namespace through `validateDataConsistency()`.
 */
import type { Command } from 'commander'

import { type DetailedValidationResult, InvalidOptionsError, validateDataConsistency } from '../../index.js'
import { formatCount, redactSecrets, renderTable } from '../format.js'
import { type CliIo, type CommandContext, ExitCode, type ExitCodeValue } from '../io.js'
import { closeEndpoints, type Endpoints, progressBar, resolveEndpoints, SOURCE_FORMATS, type SourceFlags } from '../migration-endpoints.js'
import { addTargetOptions } from '../target.js'

/** Flags of `strata validate`, as commander parses them. */
export interface ValidateFlags extends SourceFlags {
  /** `--json`: print the full result as JSON. @default false */
  json?: boolean | undefined
  /** `--ttl-tolerance <duration>`: TTLs this close match. @default '1s' */
  ttlTolerance?: string | undefined
  /** `--max-reported <n>`: keys listed per kind of mismatch. @default 20 */
  maxReported?: string | undefined
}

const NOTES = `
The source is named as for strata migrate (--from, --source-url, --source-namespace,
--source-prefix). Compared: keys on each side, values, TTLs (within --ttl-tolerance), and tags
and codec ids when both sides can tell them.

Exit codes: 0 consistent, 1 inconsistent (the differences are listed) or Redis unreachable or
failing (one line on stderr says which), 2 invalid options (nothing is sent to Redis).

Examples:
  $ strata validate --source-namespace app --url redis://new:6379 --source-url redis://old:6379 --namespace app
  $ strata validate --from keyv --source-namespace sessions --namespace sessions --json`

/** Adds `validate` to `program`. */
export function registerValidateCommand(program: Command, context: CommandContext): void {
  addTargetOptions(program.command('validate').description('compare a source with a strata namespace: keys, values, TTLs, tags'), 'target cache namespace')
    .option('--from <format>', `format of the source: ${SOURCE_FORMATS.join(', ')}`, 'strata')
    .option('--source-url <url>', 'Redis URL of the source (default: --url)')
    .option('--source-namespace <ns>', 'strata or keyv namespace, cache-manager keyPrefix, bentocache namespace')
    .option('--source-prefix <prefix>', 'raw Redis key prefix of keyv, cache-manager or bentocache data')
    .option('--ttl-tolerance <duration>', 'TTLs this close match: 500ms, 2s, or ms', '1s')
    .option('--max-reported <n>', 'keys listed per kind of mismatch', '20')
    .option('--json', 'print JSON instead of a table')
    .addHelpText('after', NOTES)
    .action(async (flags: ValidateFlags) => {
      context.setExitCode(await runValidate(flags, context.io))
    })
}

/** Runs `strata validate` with parsed flags and resolves the exit code; never calls `process.exit`. */
export async function runValidate(flags: ValidateFlags, io: CliIo): Promise<ExitCodeValue> {
  let ends: Endpoints
  const maxReported = Number(flags.maxReported ?? 20)
  const tolerance = flags.ttlTolerance ?? '1s'
  const ttlTolerance = /^\d+(\.\d+)?$/.test(tolerance) ? Number(tolerance) : tolerance
  try {
    if (!Number.isInteger(maxReported) || maxReported < 0) throw new InvalidOptionsError([{ path: '--max-reported', message: `expected an integer of at least 0; got "${flags.maxReported}"` }])
    if (typeof ttlTolerance === 'string' && !/^\d+(\.\d+)?(ms|s|m|h|d)$/.test(ttlTolerance)) throw new InvalidOptionsError([{ path: '--ttl-tolerance', message: `expected milliseconds or a duration such as '500ms' or '2s'; got "${tolerance}"` }])
    ends = resolveEndpoints(flags, io.env ?? process.env)
  } catch (error) {
    if (!(error instanceof InvalidOptionsError)) throw error
    io.stderr(`strata validate: ${error.code}: ${redactSecrets(error.message)}\n`)
    return ExitCode.usage
  }
  const bar = progressBar(io, flags.json === true, 'strata validate | {scanned} source entries compared')
  try {
    if (!(await ends.target.connect())) {
      io.stderr(`strata validate: cannot reach Redis at ${ends.targetInfo.displayUrl} within ${ends.targetInfo.timeoutMs}ms\n`)
      return ExitCode.failure
    }
    const result = await validateDataConsistency(ends.source, ends.target, { maxReported, ttlTolerance: ttlTolerance as number, onProgress: (scanned) => bar.update({ scanned }) })
    bar.stop()
    const report = { source: ends.sourceLabel, target: `strata namespace ${ends.targetInfo.namespace} at ${ends.targetInfo.displayUrl}`, ...result }
    io.stdout(flags.json === true ? `${JSON.stringify(report, jsonSafe, 2)}\n` : renderReport(report))
    return result.isConsistent ? ExitCode.ok : ExitCode.failure
  } catch (error) {
    bar.stop()
    if (error instanceof InvalidOptionsError) throw error
    io.stderr(`strata validate: ${redactSecrets(error instanceof Error ? error.message : String(error))}\n`)
    return ExitCode.failure
  } finally {
    await closeEndpoints(ends)
  }
}

/** Values of any type in the JSON report: BigInt as a string, Buffer as base64, Map and Set as arrays. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`
  if (value instanceof Map) return [...value.entries()]
  if (value instanceof Set) return [...value]
  if (value instanceof Uint8Array) return { base64: Buffer.from(value).toString('base64') }
  return value
}

function renderReport(report: DetailedValidationResult & { source: string; target: string }): string {
  const list = (keys: readonly string[], count: number) => (count === 0 ? '0' : `${formatCount(count)}: ${keys.join(', ')}${count > keys.length ? ', …' : ''}`)
  return renderTable([
    {
      title: `Validation of ${report.target} against ${report.source}: ${report.isConsistent ? 'consistent' : 'INCONSISTENT'}`,
      rows: [
        ['source entries', formatCount(report.sourceKeyCount)],
        ['target entries', formatCount(report.targetKeyCount)],
        ['missing in target', list(report.missingInTarget, report.counts.missingInTarget)],
        ['extra in target', list(report.extraInTarget, report.counts.extraInTarget)],
        ['value mismatches', list(report.valueMismatches.map((m) => m.key), report.counts.valueMismatches)],
        ['ttl mismatches', list(report.ttlMismatches.map((m) => m.key), report.counts.ttlMismatches)],
        ['metadata mismatches', list(report.metadataMismatches.map((m) => `${m.key} (${m.field})`), report.counts.metadataMismatches)],
        ['duration', `${formatCount(report.durationMs)} ms`],
      ],
    },
  ])
}
