/**
 * Encryption keys for the commands that read or rewrite encrypted entries (`rekey`, `inspect`,
 * `get`, `invalidate --tag --dry-run`): from a JSON file or an environment variable, never from
 * the command line, where `ps` and shell history would show them. Messages name the source,
 * never its content.
 */
import { readFileSync } from 'node:fs'

import type { Command } from 'commander'

import { type EncryptionOptions, InvalidOptionsError } from '../index.js'

/** Environment variable read for the keys when `--keys-file` is not given. */
export const KEYS_ENV = 'STRATA_ENCRYPTION_KEYS'

/** Key flags, as commander parses them. */
export interface KeysFlags {
  /** `--keys-file <path>`: JSON `{ "keys": { "1": "<base64>" }, "current": 2 }`. */
  keysFile?: string | undefined
  /** `--keys-env <name>`: the variable holding that JSON. @default STRATA_ENCRYPTION_KEYS */
  keysEnv?: string | undefined
}

/** Adds `--keys-file` and `--keys-env` to `command`. */
export function addKeysOptions(command: Command): Command {
  return command
    .option('--keys-file <path>', 'JSON file with the encryption keys and the current key id')
    .option('--keys-env <name>', `environment variable holding that JSON (default: ${KEYS_ENV})`)
}

/**
 * The keys when they are given (`--keys-file`, `--keys-env`, or `$STRATA_ENCRYPTION_KEYS` set),
 * else `undefined`: for commands that also work without keys. Throws as {@link readKeys}.
 */
export function readOptionalKeys(flags: KeysFlags, env: Readonly<Record<string, string | undefined>>): EncryptionOptions | undefined {
  const given = flags.keysFile !== undefined || flags.keysEnv !== undefined || (env[KEYS_ENV] ?? '').trim() !== ''
  return given ? readKeys(flags, env) : undefined
}

/**
 * The keys from `--keys-file` or the environment. Throws `E_INVALID_OPTIONS` naming the source
 * for a missing, unreadable or invalid one (the library's constructor validates the keys themselves).
 */
export function readKeys(flags: KeysFlags, env: Readonly<Record<string, string | undefined>>): EncryptionOptions {
  const variable = flags.keysEnv ?? KEYS_ENV
  let text: string | undefined
  let source: string
  if (flags.keysFile !== undefined) {
    source = `--keys-file ${flags.keysFile}`
    try {
      text = readFileSync(flags.keysFile, 'utf8')
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'unreadable'
      throw new InvalidOptionsError([{ path: '--keys-file', message: `cannot read ${flags.keysFile} (${code})` }])
    }
  } else {
    source = `$${variable}`
    text = env[variable]
    if (text === undefined || text.trim() === '') {
      throw new InvalidOptionsError([{ path: '--keys-file', message: `give the keys with --keys-file <path> or in $${variable} (never on the command line)` }])
    }
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    // JSON.parse quotes the text around the error: that could be key material.
    throw new InvalidOptionsError([{ path: source, message: 'is not valid JSON; expected { "keys": { "1": "<base64>" }, "current": 1 }' }])
  }
  return parsed as EncryptionOptions
}
