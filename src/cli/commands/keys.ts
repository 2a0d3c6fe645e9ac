/**
 * `strata keys [pattern]`: the keys of a namespace matching a glob, streamed with SCAN through
 * `GenericRedisCache.scanKeys()`; the scan stops at `--limit`, so a huge namespace is not read
 * to the end to print its first keys.
 */
import type { Command } from 'commander'

import type { GenericRedisCache } from '../../index.js'
import { type DataSession, badFlag, integerFlag, runDataCommand } from '../data-cache.js'
import { formatCount } from '../format.js'
import { type CliIo, type CommandContext, ExitCode, type ExitCodeValue } from '../io.js'
import { addTargetOptions, type TargetFlags } from '../target.js'

/** Default of `--limit`. */
export const DEFAULT_KEYS_LIMIT = 1000

/** Largest `--limit`: the keys printed are held in memory (de-duplicated). */
export const MAX_KEYS_LIMIT = 10_000_000

/** Flags of `strata keys`, as commander parses them. */
export interface KeysCommandFlags extends TargetFlags {
  /** `--limit <n>`: stop after this many keys. @default 1000 */
  limit?: string | undefined
  /** `--json`: print a JSON document. @default false */
  json?: boolean | undefined
}

const NOTES = `
The pattern is a Redis glob over keys without the namespace prefix (* ? [abc] \\x); default *.
Keys are listed in SCAN order (no order at all), each once, and the scan stops once --limit keys
are found: a note on stderr (and "truncated": true in JSON) says more keys match.

Exit codes: 0 done (also when no key matches), 1 Redis unreachable or failing, 2 invalid arguments.

Examples:
  $ strata keys 'user:*' --namespace app --limit 20
  $ strata keys --namespace app --json | jq -r '.keys[]'`

/** Adds `keys` to `program`. */
export function registerKeysCommand(program: Command, context: CommandContext): void {
  addTargetOptions(program.command('keys').argument('[pattern]', 'glob over keys without the namespace prefix', '*').description('list the keys of a namespace matching a glob (SCAN, stops at --limit)'), 'cache namespace to list')
    .option('--limit <n>', `stop after this many keys (1 to ${MAX_KEYS_LIMIT})`, String(DEFAULT_KEYS_LIMIT))
    .option('--json', 'print JSON instead of one key per line')
    .addHelpText('after', NOTES)
    .action(async (pattern: string, flags: KeysCommandFlags) => {
      context.setExitCode(await runKeys(pattern, flags, context.io))
    })
}

/** Runs `strata keys` and resolves the exit code. */
export async function runKeys(pattern: string, flags: KeysCommandFlags, io: CliIo): Promise<ExitCodeValue> {
  let limit = DEFAULT_KEYS_LIMIT
  return runDataCommand({
    name: 'keys',
    flags,
    io,
    usesKeys: false,
    check: () => {
      if (pattern === '') throw badFlag('pattern', 'expected a non-empty glob such as "user:*"')
      limit = integerFlag(flags.limit, '--limit', { min: 1, max: MAX_KEYS_LIMIT, fallback: DEFAULT_KEYS_LIMIT })
    },
    body: async ({ cache, target }: DataSession) => {
      const { keys, truncated } = await firstKeys(cache, pattern, limit)
      if (flags.json === true) {
        io.stdout(`${JSON.stringify({ namespace: target.namespace, pattern, count: keys.length, truncated, keys }, null, 2)}\n`)
      } else {
        io.stdout(keys.map((key) => `${key}\n`).join(''))
      }
      if (truncated) io.stderr(`strata keys: stopped at --limit ${formatCount(limit)}; more keys match "${pattern}"\n`)
      return ExitCode.ok
    },
  })
}

/**
 * Up to `limit` distinct keys matching `pattern`; `truncated` when one more was found. The scan
 * stops there: the rest of the namespace is never read.
 */
export async function firstKeys(cache: GenericRedisCache, pattern: string, limit: number): Promise<{ keys: string[]; truncated: boolean }> {
  const found = new Set<string>()
  for await (const key of cache.scanKeys(pattern)) {
    found.add(key)
    if (found.size > limit) break
  }
  const keys = [...found]
  const truncated = keys.length > limit
  if (truncated) keys.length = limit
  return { keys, truncated }
}
