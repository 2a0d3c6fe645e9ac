/**
 * The shared frame of the data commands (`keys`, `inspect`, `get`, `del`, `invalidate`): check
 * the arguments, build a `GenericRedisCache` (L1 and coherence off: the CLI reads and writes
 * Redis only, through the library, so delete marks and tag epochs apply), connect within
 * `--timeout`, run, and map every failure to one line and an exit code.
 */
import { type EncryptionOptions, GenericRedisCache, InvalidKeyError, InvalidOptionsError, L2UnavailableError } from '../index.js'
import { redactSecrets } from './format.js'
import { CliFailure, type CliIo, ExitCode, type ExitCodeValue } from './io.js'
import { type KeysFlags, readOptionalKeys } from './keys-source.js'
import { resolveTarget, type Target, type TargetFlags } from './target.js'

/** What a data command's body gets. */
export interface DataSession {
  readonly cache: GenericRedisCache
  readonly target: Target
  /** Whether encryption keys were given (`--keys-file`, `--keys-env` or `$STRATA_ENCRYPTION_KEYS`). */
  readonly withKeys: boolean
}

/** How {@link runDataCommand} runs one command. */
export interface DataCommand {
  /** Command name, for messages: `strata <name>: …`. */
  readonly name: string
  readonly flags: TargetFlags & KeysFlags
  readonly io: CliIo
  /** Whether the command reads keys (`--keys-file`/env); otherwise they are never read. */
  readonly usesKeys: boolean
  /** Checks the command's own arguments before anything is sent; throws `E_INVALID_OPTIONS`. */
  readonly check: () => void
  /** The work; resolves the exit code. */
  readonly body: (session: DataSession) => Promise<ExitCodeValue>
}

/**
 * Runs a data command. Exit codes: 2 for bad arguments (nothing is sent to Redis: arguments,
 * flags and keys are checked before connecting), 1 when Redis is unreachable, refuses or misses
 * `--timeout`, else what the body resolves.
 */
export async function runDataCommand(command: DataCommand): Promise<ExitCodeValue> {
  const { name, io } = command
  const env = io.env ?? process.env
  let session: DataSession
  try {
    command.check()
    const target = resolveTarget(command.flags, env)
    const encryption: EncryptionOptions | undefined = command.usesKeys ? readOptionalKeys(command.flags, env) : undefined
    const cache = new GenericRedisCache({
      redisUrl: target.url,
      namespace: target.namespace,
      connectTimeout: target.timeoutMs,
      l2Timeout: target.timeoutMs,
      l1: false,
      coherence: false,
      suppressL2Errors: false,
      ...(encryption !== undefined && { encryption }),
    })
    session = { cache, target, withKeys: encryption !== undefined }
  } catch (error) {
    return usageOrThrow(name, io, error)
  }
  try {
    if (!(await session.cache.connect())) {
      io.stderr(`strata ${name}: cannot reach Redis at ${session.target.displayUrl} within ${session.target.timeoutMs}ms\n`)
      return ExitCode.failure
    }
    return await command.body(session)
  } catch (error) {
    if (error instanceof InvalidOptionsError || error instanceof InvalidKeyError) return usageOrThrow(name, io, error)
    if (!(error instanceof L2UnavailableError || error instanceof CliFailure)) throw error
    io.stderr(`strata ${name}: ${redactSecrets(error.message)}\n`)
    return ExitCode.failure
  } finally {
    await session.cache.disconnect()
  }
}

function usageOrThrow(name: string, io: CliIo, error: unknown): ExitCodeValue {
  if (!(error instanceof InvalidOptionsError || error instanceof InvalidKeyError)) throw error
  io.stderr(`strata ${name}: ${error.code}: ${redactSecrets(error.message)}\n`)
  return ExitCode.usage
}

/** `E_INVALID_OPTIONS` for one flag. */
export function badFlag(path: string, message: string): InvalidOptionsError {
  return new InvalidOptionsError([{ path, message }])
}

/** A whole number flag in `[min, max]`, or `fallback` when not given. */
export function integerFlag(value: string | undefined, path: string, range: { min: number; max: number; fallback: number }): number {
  if (value === undefined) return range.fallback
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || n < range.min || n > range.max) throw badFlag(path, `expected a whole number from ${range.min} to ${range.max}; got "${value}"`)
  return n
}
