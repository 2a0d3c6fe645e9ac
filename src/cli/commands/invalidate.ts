/**
 * `strata invalidate --pattern <glob> | --tag <tag...>`: deletes the entries of a namespace
 * matching a glob, or carrying a tag, through the library (delete marks, tag epochs), with
 * `--dry-run` to see what would go, `--force` for broad patterns, and `--rate` to pace deletes.
 */
import type { Command } from 'commander'

import type { GenericRedisCache } from '../../index.js'
import { type DataSession, badFlag, integerFlag, runDataCommand } from '../data-cache.js'
import { formatCount } from '../format.js'
import { type CliIo, type CommandContext, ExitCode, type ExitCodeValue } from '../io.js'
import { addKeysOptions, KEYS_ENV, type KeysFlags } from '../keys-source.js'
import { batchSizeFor, createPacer, parseRate } from '../rate-pacer.js'
import { addTargetOptions, type TargetFlags } from '../target.js'
import { BROAD_MATCH_LIMIT, matchesEverything } from './invalidate-rules.js'
import { tagDryRun } from './invalidate-tags.js'

/** Keys per `deleteMany` call without `--rate`. */
const DELETE_BATCH = 500

/** Flags of `strata invalidate`, as commander parses them. */
export interface InvalidateFlags extends TargetFlags, KeysFlags {
  /** `--pattern <glob>`: entries whose key (without the namespace) matches. */
  pattern?: string | undefined
  /** `--tag <tag...>`: entries carrying any of these tags. */
  tag?: string[] | undefined
  /** `--dry-run`: count and list what would be deleted; delete nothing. @default false */
  dryRun?: boolean | undefined
  /** `--force`: allow a broad pattern. @default false */
  force?: boolean | undefined
  /** `--rate <ops/s>`: at most this many deletes a second (`--pattern` only). */
  rate?: string | undefined
  /** `--limit <n>`: keys listed by `--dry-run`. @default 100 */
  limit?: string | undefined
  /** `--json`: print a JSON document. @default false */
  json?: boolean | undefined
}

const NOTES = `
Give exactly one of --pattern and --tag. --pattern needs --force when it has no literal character
(*, **, ?*, [a-z]*: every key) or matches more than ${formatCount(BROAD_MATCH_LIMIT)} keys (counted before
anything is deleted; nothing is deleted when refused). --dry-run never deletes and never needs --force.

--tag uses the library's tag invalidation (one bounded script per tag); its --dry-run reads every
entry of the namespace to find the tagged ones (encrypted entries need --keys-file or $${KEYS_ENV},
else they are counted as unknown). --rate <ops/s> paces --pattern deletes only.

Exit codes: 0 done, 1 Redis unreachable or failing (entries deleted so far stay deleted),
2 invalid arguments, or a broad pattern without --force (nothing deleted).

Examples:
  $ strata invalidate --pattern 'user:*' --namespace app --dry-run
  $ strata invalidate --pattern '*' --namespace app --force --rate 2000
  $ strata invalidate --tag users admins --namespace app --json`

/** Adds `invalidate` to `program`. */
export function registerInvalidateCommand(program: Command, context: CommandContext): void {
  const command = addTargetOptions(program.command('invalidate').description('delete the entries matching a glob or carrying tags (--dry-run to see them first)'), 'cache namespace to invalidate in')
  addKeysOptions(command)
    .option('--pattern <glob>', 'entries whose key (without the namespace) matches this glob')
    .option('--tag <tag...>', 'entries carrying any of these tags')
    .option('--dry-run', 'count and list what would be deleted, delete nothing')
    .option('--force', `allow a pattern with no literal character, or matching more than ${BROAD_MATCH_LIMIT} keys`)
    .option('--rate <ops/s>', 'at most this many deletes a second (--pattern only)')
    .option('--limit <n>', 'keys listed by --dry-run', '100')
    .option('--json', 'print JSON')
    .addHelpText('after', NOTES)
    .action(async (flags: InvalidateFlags) => {
      context.setExitCode(await runInvalidate(flags, context.io))
    })
}

/** Runs `strata invalidate` and resolves the exit code. */
export async function runInvalidate(flags: InvalidateFlags, io: CliIo): Promise<ExitCodeValue> {
  let rate: number | undefined
  let limit = 100
  return runDataCommand({
    name: 'invalidate',
    flags,
    io,
    usesKeys: flags.tag !== undefined && flags.dryRun === true,
    check: () => {
      rate = checkInvalidateFlags(flags)
      limit = integerFlag(flags.limit, '--limit', { min: 0, max: 1_000_000, fallback: 100 })
    },
    body: async (session: DataSession) => {
      const report = flags.pattern === undefined ? await byTags(session, flags.tag ?? [], flags, limit) : await byPattern(session, flags.pattern, { flags, rate, limit })
      io.stdout(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : summary(report))
      return ExitCode.ok
    },
  })
}

/** The argument rules, checked before anything is sent; resolves `--rate`. */
function checkInvalidateFlags(flags: InvalidateFlags): number | undefined {
  const { pattern, tag } = flags
  if ((pattern === undefined) === (tag === undefined)) throw badFlag('--pattern', 'give exactly one of --pattern <glob> and --tag <tag...>')
  if (pattern === '') throw badFlag('--pattern', 'expected a non-empty glob such as "user:*"')
  if (tag !== undefined && tag.some((name) => name === '')) throw badFlag('--tag', 'tags must be non-empty')
  const rate = parseRate(flags.rate)
  if (rate !== undefined && tag !== undefined) throw badFlag('--rate', 'paces --pattern deletes only (a tag is invalidated by one bounded script per tag)')
  if (pattern !== undefined && matchesEverything(pattern) && flags.force !== true && flags.dryRun !== true) {
    throw badFlag('--force', `"${pattern}" matches every key of the namespace; add --force to delete them all (or --dry-run to count them)`)
  }
  return rate
}

/** What `invalidate` reports (`--json` prints it as is). */
export interface InvalidateReport {
  readonly namespace: string
  readonly pattern?: string
  readonly tags?: readonly string[]
  readonly dryRun: boolean
  /** Entries deleted; with `--dry-run`, entries that would be. */
  readonly count: number
  /** `--dry-run`: up to `--limit` of those keys. */
  readonly keys?: readonly string[]
  /** `--dry-run`: more keys than listed. */
  readonly truncated?: boolean
  /** `--dry-run --pattern`: whether deleting would need `--force`. */
  readonly needsForce?: boolean
  /** `--dry-run --tag`: entries whose tags could not be read (encrypted without keys, corrupt). */
  readonly unknown?: number
}

interface PatternRun {
  readonly flags: InvalidateFlags
  readonly rate: number | undefined
  readonly limit: number
}

async function byPattern({ cache, target }: DataSession, pattern: string, { flags, rate, limit }: PatternRun): Promise<InvalidateReport> {
  const base = { namespace: target.namespace, pattern }
  if (flags.dryRun === true) {
    const { count, keys } = await countMatches(cache, pattern, { listUpTo: limit })
    return { ...base, dryRun: true, count, keys, truncated: count > keys.length, needsForce: matchesEverything(pattern) || count > BROAD_MATCH_LIMIT }
  }
  if (flags.force !== true) {
    // Counted first, deleted after: a refused pattern deletes nothing.
    const { count } = await countMatches(cache, pattern, { stopAfter: BROAD_MATCH_LIMIT + 1 })
    if (count > BROAD_MATCH_LIMIT) {
      throw badFlag('--force', `"${pattern}" matches more than ${formatCount(BROAD_MATCH_LIMIT)} keys; nothing was deleted. See them with --dry-run, delete them with --force`)
    }
  }
  return { ...base, dryRun: false, count: await deleteMatches(cache, pattern, rate) }
}

/** Distinct keys matching `pattern`, counted; the first `listUpTo` kept; the scan ends after `stopAfter`. */
async function countMatches(cache: GenericRedisCache, pattern: string, bounds: { listUpTo?: number; stopAfter?: number }): Promise<{ count: number; keys: string[] }> {
  const seen = new Set<string>()
  const keys: string[] = []
  for await (const key of cache.scanKeys(pattern)) {
    if (seen.has(key)) continue
    seen.add(key)
    if (keys.length < (bounds.listUpTo ?? 0)) keys.push(key)
    if (bounds.stopAfter !== undefined && seen.size >= bounds.stopAfter) break
  }
  return { count: seen.size, keys }
}

/**
 * SCANs and deletes batch by batch through `deleteMany` (delete marks, as `invalidatePattern`
 * leaves), paced by `rate`. Deleting behind the cursor is safe: SCAN still returns every key
 * that was there from start to end.
 */
async function deleteMatches(cache: GenericRedisCache, pattern: string, rate: number | undefined): Promise<number> {
  const size = batchSizeFor(rate, DELETE_BATCH)
  const pace = createPacer(rate)
  let deleted = 0
  let batch: string[] = []
  const flush = async () => {
    deleted += await cache.deleteMany(batch)
    await pace(batch.length)
    batch = []
  }
  for await (const key of cache.scanKeys(pattern)) {
    batch.push(key)
    if (batch.length >= size) await flush()
  }
  if (batch.length > 0) await flush()
  return deleted
}

async function byTags(session: DataSession, tags: readonly string[], flags: InvalidateFlags, limit: number): Promise<InvalidateReport> {
  const base = { namespace: session.target.namespace, tags }
  if (flags.dryRun === true) {
    const found = await tagDryRun(session.cache, tags, limit)
    return { ...base, dryRun: true, count: found.count, keys: found.keys, truncated: found.count > found.keys.length, unknown: found.unknown }
  }
  return { ...base, dryRun: false, count: await session.cache.invalidateTags(tags) }
}

function summary(report: InvalidateReport): string {
  const what = report.pattern === undefined ? `tagged ${(report.tags ?? []).join(', ')}` : `matching "${report.pattern}"`
  if (!report.dryRun) return `deleted ${formatCount(report.count)} entries ${what} in namespace "${report.namespace}"\n`
  const lines = [`dry run: would delete ${formatCount(report.count)} entries ${what} in namespace "${report.namespace}" (nothing deleted)`]
  if (report.needsForce === true) lines.push(`deleting them needs --force (a pattern without literal characters, or more than ${formatCount(BROAD_MATCH_LIMIT)} keys)`)
  if (report.unknown !== undefined && report.unknown > 0) lines.push(`${formatCount(report.unknown)} entries could not be read (encrypted without keys, or corrupt): their tags are unknown`)
  for (const key of report.keys ?? []) lines.push(`  ${key}`)
  if (report.truncated === true) lines.push(`  … and ${formatCount(report.count - (report.keys?.length ?? 0))} more (raise --limit to list them)`)
  return `${lines.join('\n')}\n`
}
