/**
 * Turns the connection flags every command shares (`--url`, `--namespace`, `--timeout`) into a
 * validated target. Validation goes through the library's public API (the `GenericRedisCache`
 * constructor validates without connecting), so the CLI accepts exactly what the library
 * accepts and reports it with the same coded error.
 */
import { RedisClient } from '@redis/client'
import type { Command } from 'commander'

import { type Duration, GenericRedisCache, InvalidOptionsError, type OptionIssue } from '../index.js'
import { redactUrl } from './format.js'
import type { TlsSettings } from './tls-flags.js'

/**
 * Defaults of the connection flags. The URL and namespace repeat the library's defaults (the
 * CLI sees only the public API, which does not export them); the timeout is the library's
 * `connectTimeout` default, applied to every command too.
 */
export const CLI_DEFAULTS = Object.freeze({
  redisUrl: 'redis://127.0.0.1:6379',
  namespace: 'strata',
  timeout: '2s',
} as const)

/**
 * Adds the shared connection flags to `command`: `--url`, `--namespace` (described by
 * `namespaceHelp`) and `--timeout`.
 */
export function addTargetOptions(command: Command, namespaceHelp: string, urlHelp = 'Redis URL, redis:// or rediss://'): Command {
  return command
    .option('--url <url>', `${urlHelp} (default: $REDIS_URL, else ${CLI_DEFAULTS.redisUrl})`)
    .option('--namespace <ns>', namespaceHelp, CLI_DEFAULTS.namespace)
    .option('--timeout <duration>', 'deadline of each connection and of each Redis command: 500ms, 2s, or ms', CLI_DEFAULTS.timeout)
}

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
  /** Cache namespace whose keys are inspected. */
  readonly namespace: string
  /** Deadline of the connection and of each Redis command, in ms. */
  readonly timeoutMs: number
  /** TLS files and server name from the `--tls-*` flags (`rediss://` URLs only). @default Node's defaults */
  readonly tls?: TlsSettings | undefined
}

/** Option paths of the library, as the flag a CLI user typed. */
const FLAG_FOR_PATH: Readonly<Record<string, string>> = {
  redisUrl: '--url',
  namespace: '--namespace',
  connectTimeout: '--timeout',
}

/** Said of the URL when the library rejects a part of it (host, port, database); never echoes it. */
const BAD_URL = 'is not a valid redis:// URL (check the host, port and /db part)'

/**
 * Validates the flags by building (never connecting) a `GenericRedisCache` from them, and the
 * URL with node-redis' parser.
 * @throws InvalidOptionsError (`E_INVALID_OPTIONS`) listing every bad flag by its name.
 */
export function resolveTarget(flags: TargetFlags, env: Readonly<Record<string, string | undefined>>): Target {
  const url = flags.url ?? nonEmpty(env.REDIS_URL) ?? CLI_DEFAULTS.redisUrl
  const namespace = flags.namespace ?? CLI_DEFAULTS.namespace
  const timeout = durationFlag(flags.timeout)
  try {
    // Validation only: the constructor checks every option and opens no connection.
    new GenericRedisCache({ redisUrl: url, namespace, connectTimeout: timeout })
  } catch (error) {
    if (error instanceof InvalidOptionsError) throw new InvalidOptionsError(asFlagIssues(error.issues))
    throw error
  }
  checkUrl(url)
  return Object.freeze({ url, displayUrl: redactUrl(url), namespace, timeoutMs: durationMs(timeout) })
}

/** A bare number is milliseconds, as for every library duration; anything else is parsed as one. */
function durationFlag(value: string | undefined): Duration {
  if (value === undefined) return CLI_DEFAULTS.timeout
  return /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : (value as Duration)
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const

/** Milliseconds of a duration the library has already accepted (`Duration`'s grammar). */
function durationMs(duration: Duration): number {
  if (typeof duration === 'number') return duration
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(duration.trim())
  if (match === null) {
    throw new InvalidOptionsError([{ path: '--timeout', message: "expected milliseconds or a duration such as '500ms' or '2s'" }])
  }
  return Number(match[1]) * UNIT_MS[match[2] as keyof typeof UNIT_MS]
}

/**
 * Names each issue by its flag. The CLI passes only the URL, namespace and timeout, so any
 * other path (`url`, `socket.port`, `database` from parsing the URL) is a bad `--url`, said once.
 */
function asFlagIssues(issues: readonly OptionIssue[]): OptionIssue[] {
  const result: OptionIssue[] = []
  for (const issue of issues) {
    const flag = FLAG_FOR_PATH[issue.path]
    if (flag !== undefined) result.push({ path: flag, message: issue.message })
  }
  const other = issues.some((issue) => FLAG_FOR_PATH[issue.path] === undefined)
  if (other && !result.some((issue) => issue.path === '--url')) result.push({ path: '--url', message: BAD_URL })
  return result
}

/** Parses the URL as node-redis will when connecting (the library checked it already). */
function checkUrl(url: string): void {
  try {
    RedisClient.parseURL(url)
  } catch {
    // Never echo the URL: it may carry a password.
    throw new InvalidOptionsError([{ path: '--url', message: BAD_URL }])
  }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}
