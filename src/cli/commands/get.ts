/**
 * `strata get <key>`: prints a cached value as JSON (types JSON lacks in the tagged form of
 * `tagged-json.ts`). It reads through `GenericRedisCache.inspectEntry()`, not `get()`: an entry
 * the CLI cannot decode (encrypted, no keys given) is reported and left in place, where a cache
 * read would delete it.
 */
import type { Command } from 'commander'

import { type DataSession, badFlag, runDataCommand } from '../data-cache.js'
import { type CliIo, type CommandContext, ExitCode, type ExitCodeValue } from '../io.js'
import { addKeysOptions, KEYS_ENV, type KeysFlags } from '../keys-source.js'
import { tagged, toTaggedJson } from '../tagged-json.js'
import { addTargetOptions, type TargetFlags } from '../target.js'

/** Flags of `strata get`, as commander parses them. */
export interface GetFlags extends TargetFlags, KeysFlags {
  /** `--json`: print `{ key, found, state, ttlMs, value }` instead of the value alone. @default false */
  json?: boolean | undefined
}

const NOTES = `
Prints the value as JSON; Date, Map, Set, BigInt, Buffer/Uint8Array, undefined and non-finite
numbers as tagged objects: {"$date": "…"}, {"$map": [[k, v]]}, {"$set": […]}, {"$bigint": "…"},
{"$bytes": "<base64>"}, {"$undefined": true}, {"$number": "NaN"} (docs/cli.md).

A miss is exit code 1 with a line on stderr, as in the library: an absent key, and an entry past
its TTL (stale within grace or expired; strata inspect shows it). An entry the CLI cannot decode
(encrypted without keys: --keys-file <path> or $${KEYS_ENV}) is exit 1 too, and stays in Redis.

Exit codes: 0 value printed, 1 miss, undecodable, Redis unreachable or failing, 2 invalid arguments.`

/** Adds `get` to `program`. */
export function registerGetCommand(program: Command, context: CommandContext): void {
  const command = addTargetOptions(program.command('get').argument('<key>', 'key without the namespace prefix').description('print a cached value as JSON'), 'cache namespace of the key')
  addKeysOptions(command)
    .option('--json', 'print { key, found, state, ttlMs, value } instead of the value alone')
    .addHelpText('after', NOTES)
    .action(async (key: string, flags: GetFlags) => {
      context.setExitCode(await runGet(key, flags, context.io))
    })
}

/** Runs `strata get` and resolves the exit code. */
export async function runGet(key: string, flags: GetFlags, io: CliIo): Promise<ExitCodeValue> {
  return runDataCommand({
    name: 'get',
    flags,
    io,
    usesKeys: true,
    check: () => {
      if (key === '') throw badFlag('key', 'expected a non-empty key')
    },
    body: async ({ cache, target }: DataSession) => {
      const entry = await cache.inspectEntry(key)
      const where = `"${key}" in namespace "${target.namespace}"`
      const miss = (why: string, state: string | null): ExitCodeValue => {
        if (flags.json === true) io.stdout(`${JSON.stringify({ key, found: false, state }, null, 2)}\n`)
        io.stderr(`strata get: ${why}\n`)
        return ExitCode.failure
      }
      if (entry === undefined) return miss(`no key ${where}`, null)
      if (!entry.decodable) return miss(`cannot decode ${where}: ${entry.problem ?? 'unknown reason'} (left in place)`, entry.metadata?.state ?? null)
      const state = entry.metadata?.state ?? 'fresh'
      if (state !== 'fresh') return miss(`${where} is ${state === 'stale' ? 'stale (past its TTL, within grace)' : 'expired'}: a read misses it; strata inspect shows it`, state)
      const ttlMs = entry.metadata?.ttlMs ?? null
      io.stdout(flags.json === true ? `${JSON.stringify({ key, found: true, state, ttlMs, value: tagged(entry.value, new Set()) }, null, 2)}\n` : `${toTaggedJson(entry.value)}\n`)
      return ExitCode.ok
    },
  })
}
