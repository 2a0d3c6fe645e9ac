/**
 * Turns the connection flags every command shares (`--url`, `--namespace`, `--timeout`) into a
 * validated target. Validation goes through the library's own resolver, so the CLI accepts
 * exactly what `new GenericRedisCache()` accepts and reports it with the same coded error.
 */
import { RedisClient } from '@redis/client'

import { InvalidOptionsError, type OptionIssue } from '../index.js'
import { DEFAULTS } from '../options/cache-options.js'
import type { Duration } from '../shared/duration.js'
import { resolveRedisCacheOptions } from '../options/resolve-cache-options.js'
import { redactUrl } from './format.js'

/** Connection flags as commander hands them over (strings, unset when not given). */
export interface TargetFlags {
  /** `--url`. @default env `REDIS_URL`, else `redis://127.0.0.1:6379` */
  url?: string | undefined
  /** `--namespace`. @default 'strata' (the library's default) */
  namespace?: string | undefined
  /** `--timeout`: a duration (`'500ms'`, `'2s'`) or a number of milliseconds. @default '2s' */
  timeout?: string | undefined
}

/** A validated Redis target. */
export interface Target {
  /** The URL to connect to; may carry a password, so never print it: print {@link Target.displayUrl}. */
  readonly url: string
  /** The URL with its password (and a lone user-info part) replaced by `***`. */
  readonly displayUrl: string
  /** The password from the URL, so error texts can be scrubbed of it; `undefined` when none. */
  readonly password: string | undefined
  /** Cache namespace whose keys are inspected. */
  readonly namespace: string
  /** Deadline of the connection and of each Redis command, in ms. */
  readonly timeoutMs: number
}

/** Option paths of the library's resolver, as the flag a CLI user typed. */
const FLAG_FOR_PATH: Readonly<Record<string, string>> = {
  redisUrl: '--url',
  namespace: '--namespace',
  connectTimeout: '--timeout',
}

/**
 * Validates the flags with `resolveRedisCacheOptions` and the URL with node-redis' parser.
 * @throws InvalidOptionsError (`E_INVALID_OPTIONS`) listing every bad flag by its name.
 */
export function resolveTarget(flags: TargetFlags, env: Readonly<Record<string, string | undefined>>): Target {
  const url = flags.url ?? nonEmpty(env.REDIS_URL) ?? DEFAULTS.redisUrl
  const namespace = flags.namespace ?? DEFAULTS.namespace
  let resolved
  try {
    resolved = resolveRedisCacheOptions({ redisUrl: url, namespace, connectTimeout: durationFlag(flags.timeout) })
  } catch (error) {
    if (error instanceof InvalidOptionsError) throw new InvalidOptionsError(error.issues.map(asFlagIssue))
    throw error
  }
  const password = parseUrlPassword(url)
  return Object.freeze({
    url,
    displayUrl: redactUrl(url),
    password,
    namespace: resolved.namespace,
    timeoutMs: resolved.connectTimeoutMs,
  })
}

/** A bare number is milliseconds, as for every library duration; anything else is parsed as one. */
function durationFlag(value: string | undefined): Duration {
  if (value === undefined) return DEFAULTS.connectTimeout
  return /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : (value as Duration)
}

function asFlagIssue(issue: OptionIssue): OptionIssue {
  return { path: FLAG_FOR_PATH[issue.path] ?? issue.path, message: issue.message }
}

/** The scheme was checked by the resolver; this catches a bad host, port or `/db` part. */
function parseUrlPassword(url: string): string | undefined {
  try {
    const password = RedisClient.parseURL(url).password
    return password === undefined || password === '' ? undefined : password
  } catch {
    // Never echo the URL: it may carry a password.
    throw new InvalidOptionsError([{ path: '--url', message: 'is not a valid redis:// URL (check the host, port and /db part)' }])
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}
