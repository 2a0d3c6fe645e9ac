/**
 * `strata del <key...>`: deletes keys through `GenericRedisCache.deleteMany()`, so each leaves
 * its delete mark (a load in flight elsewhere cannot write its older value back) and other
 * instances drop them from their L1 (Redis reports the change). `--rate` paces the deletes.
 */
import type { Command } from 'commander'

import { type DataSession, badFlag, runDataCommand } from '../data-cache.js'
import { formatCount } from '../format.js'
import { type CliIo, type CommandContext, ExitCode, type ExitCodeValue } from '../io.js'
import { batchSizeFor, createPacer, parseRate } from '../rate-pacer.js'
import { addTargetOptions, type TargetFlags } from '../target.js'

/** Keys per `deleteMany` call without `--rate`. */
const DELETE_BATCH = 500

/** Flags of `strata del`, as commander parses them. */
export interface DelFlags extends TargetFlags {
  /** `--rate <ops/s>`: at most this many deletes a second. @default unlimited */
  rate?: string | undefined
  /** `--json`: print `{ namespace, requested, deleted }`. @default false */
  json?: boolean | undefined
}

const NOTES = `
Deletes through the library: each key leaves a delete mark, and instances with L1 drop it. Prints
how many of the keys existed. --rate <ops/s> spreads the deletes (batches of a tenth of a second).

Exit codes: 0 done (also when no key existed), 1 Redis unreachable or failing (keys deleted so far
stay deleted), 2 invalid arguments.`

/** Adds `del` to `program`. */
export function registerDelCommand(program: Command, context: CommandContext): void {
  addTargetOptions(program.command('del').argument('<key...>', 'keys without the namespace prefix').description('delete keys (with delete marks, as cache.deleteMany does)'), 'cache namespace of the keys')
    .option('--rate <ops/s>', 'at most this many deletes a second')
    .option('--json', 'print JSON')
    .addHelpText('after', NOTES)
    .action(async (keys: string[], flags: DelFlags) => {
      context.setExitCode(await runDel(keys, flags, context.io))
    })
}

/** Runs `strata del` and resolves the exit code. */
export async function runDel(keys: readonly string[], flags: DelFlags, io: CliIo): Promise<ExitCodeValue> {
  let rate: number | undefined
  return runDataCommand({
    name: 'del',
    flags,
    io,
    usesKeys: false,
    check: () => {
      if (keys.some((key) => key === '')) throw badFlag('key', 'keys must be non-empty')
      rate = parseRate(flags.rate)
    },
    body: async ({ cache, target }: DataSession) => {
      const unique = [...new Set(keys)]
      const size = batchSizeFor(rate, DELETE_BATCH)
      const pace = createPacer(rate)
      let deleted = 0
      for (let at = 0; at < unique.length; at += size) {
        const batch = unique.slice(at, at + size)
        deleted += await cache.deleteMany(batch)
        await pace(batch.length)
      }
      const report = { namespace: target.namespace, requested: unique.length, deleted }
      io.stdout(flags.json === true ? `${JSON.stringify(report, null, 2)}\n` : `deleted ${formatCount(deleted)} of ${formatCount(unique.length)} keys (the others did not exist)\n`)
      return ExitCode.ok
    },
  })
}
