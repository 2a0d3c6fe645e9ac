/**
 * `strata inspect <key>`: one stored entry as Redis holds it, through
 * `GenericRedisCache.inspectEntry()`: size, TTLs, state (fresh, stale within grace, expired),
 * tags, codec ids and encryption. Never changes anything (a read would delete an entry it cannot
 * decode; an inspection leaves it).
 */
import type { Command } from 'commander'

import type { EntryInspection } from '../../index.js'
import { type DataSession, badFlag, runDataCommand } from '../data-cache.js'
import { formatBytes, formatCount, renderTable } from '../format.js'
import { type CliIo, type CommandContext, ExitCode, type ExitCodeValue } from '../io.js'
import { addKeysOptions, KEYS_ENV, type KeysFlags } from '../keys-source.js'
import { addTargetOptions, type TargetFlags } from '../target.js'

/** Flags of `strata inspect`, as commander parses them. */
export interface InspectFlags extends TargetFlags, KeysFlags {
  /** `--json`: print a JSON document. @default false */
  json?: boolean | undefined
}

const NOTES = `
Without keys, an encrypted entry still shows its size, TTL, codec ids and key id; its expiry,
tags and state need the keys: --keys-file <path> or $${KEYS_ENV} (as for strata rekey).

Exit codes: 0 the entry exists (decodable or not), 1 no such key, Redis unreachable or failing,
2 invalid arguments or keys.

Examples:
  $ strata inspect user:1 --namespace app
  $ strata inspect user:1 --namespace app --keys-file /run/secrets/cache-keys.json --json`

/** Adds `inspect` to `program`. */
export function registerInspectCommand(program: Command, context: CommandContext): void {
  const command = addTargetOptions(program.command('inspect').argument('<key>', 'key without the namespace prefix').description('show how one entry is stored: TTL, state, size, tags, codecs, encryption'), 'cache namespace of the key')
  addKeysOptions(command)
    .option('--json', 'print JSON instead of a table')
    .addHelpText('after', NOTES)
    .action(async (key: string, flags: InspectFlags) => {
      context.setExitCode(await runInspect(key, flags, context.io))
    })
}

/** Runs `strata inspect` and resolves the exit code. */
export async function runInspect(key: string, flags: InspectFlags, io: CliIo): Promise<ExitCodeValue> {
  return runDataCommand({
    name: 'inspect',
    flags,
    io,
    usesKeys: true,
    check: () => {
      if (key === '') throw badFlag('key', 'expected a non-empty key')
    },
    body: async ({ cache, target, withKeys }: DataSession) => {
      const entry = await cache.inspectEntry(key)
      if (entry === undefined) {
        if (flags.json === true) io.stdout(`${JSON.stringify({ namespace: target.namespace, key, found: false }, null, 2)}\n`)
        io.stderr(`strata inspect: no key "${key}" in namespace "${target.namespace}"\n`)
        return ExitCode.failure
      }
      io.stdout(flags.json === true ? `${JSON.stringify(inspectionJson(target.namespace, entry, withKeys), null, 2)}\n` : renderInspection(entry, withKeys))
      return ExitCode.ok
    },
  })
}

/** The JSON document of `strata inspect --json` (the value itself is never included). */
export function inspectionJson(namespace: string, entry: EntryInspection, withKeys: boolean): Record<string, unknown> {
  const { metadata, header } = entry
  return {
    namespace,
    key: entry.key,
    found: true,
    storedKey: entry.storedKey,
    sizeBytes: entry.sizeBytes,
    physicalTtlMs: entry.physicalTtlMs ?? null,
    state: metadata?.state ?? null,
    ttlMs: metadata === undefined ? null : (metadata.ttlMs ?? null),
    createdAt: isoOrNull(metadata?.createdAt),
    expiresAt: isoOrNull(metadata?.expiresAt),
    staleUntil: isoOrNull(metadata?.staleUntil),
    tags: metadata?.tags ?? null,
    format: header === undefined ? null : { version: header.formatVersion, serializerId: header.serializerId, serializer: header.serializer ?? null, compressorId: header.compressorId, compressor: header.compressor ?? null },
    encryption: header === undefined ? null : { encrypted: header.encrypted, keyId: header.keyId ?? null, keysGiven: withKeys },
    decodable: entry.decodable,
    problem: entry.problem ?? null,
  }
}

function renderInspection(entry: EntryInspection, withKeys: boolean): string {
  const { metadata: m, header: h } = entry
  const unknown = 'unknown (not decoded)'
  const rows: Array<[string, string]> = [
    ['stored key', entry.storedKey],
    ['size', `${formatCount(entry.sizeBytes)} bytes (${formatBytes(entry.sizeBytes)})`],
    ['state', m === undefined ? unknown : stateText(m.state, m.ttlMs)],
    ['expires at', m === undefined ? unknown : (isoOrNull(m.expiresAt) ?? 'never')],
    ['stale until', m === undefined ? unknown : (isoOrNull(m.staleUntil) ?? 'no grace')],
    ['physical TTL (Redis)', entry.physicalTtlMs === undefined ? 'none (never expires)' : `${formatCount(entry.physicalTtlMs)} ms`],
    ['created at', m === undefined ? unknown : (isoOrNull(m.createdAt) ?? '')],
    ['tags', m === undefined ? unknown : m.tags.length === 0 ? 'none' : m.tags.join(', ')],
  ]
  if (h === undefined) rows.push(['format', 'not a strata-cache entry'])
  else {
    rows.push(['serializer', `${h.serializer ?? 'unknown'} (id ${h.serializerId})`])
    rows.push(['compressor', `${h.compressor ?? 'unknown'} (id ${h.compressorId})`])
    rows.push(['encrypted', h.encrypted ? `yes, key id ${h.keyId}${withKeys ? '' : ' (no keys given)'}` : 'no'])
  }
  rows.push(['decodable', entry.decodable ? 'yes' : `no: ${entry.problem ?? ''}`])
  return renderTable([{ title: `Entry "${entry.key}"`, rows }])
}

function stateText(state: string, ttlMs: number | undefined): string {
  if (state === 'fresh') return ttlMs === undefined ? 'fresh (never expires)' : `fresh, ${formatCount(ttlMs)} ms left`
  if (state === 'stale') return 'stale: past its TTL, within grace (getOrSet may serve it; get misses)'
  return 'expired: past its TTL and grace (reads miss; Redis removes it)'
}

function isoOrNull(epochMs: number | undefined): string | null {
  return epochMs === undefined ? null : new Date(epochMs).toISOString()
}
