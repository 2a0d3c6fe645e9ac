/**
 * The shapes shared by the posture checks of a live Redis (`strata doctor`): one result per
 * check, and the probe through which the checks talk to Redis. The checks send commands only
 * through the probe, so they hold no connection logic and a unit test can answer for Redis.
 */
import type { ConnectionOptions } from 'node:tls'

/**
 * How a check came out. `skip`: it could not be checked (a command the user may not run, a
 * feature the server lacks, TLS off); the message says why. It does not count towards the
 * exit code of `strata doctor`.
 */
export type PostureStatus = 'pass' | 'warn' | 'fail' | 'skip'

/** One check of a Redis server as a cache's home. */
export interface PostureCheck {
  /** Stable id, e.g. `eviction-policy`, `auth-required`. */
  readonly id: string
  readonly status: PostureStatus
  /** What was found. Never quotes a password or a key. */
  readonly message: string
  /** What to change (or, for `skip`, how to get it checked); absent on `pass`. */
  readonly fix?: string | undefined
}

/** Redis' answer to one command: its value, or the error it replied (`NOPERM …`, `ERR …`). */
export type ProbeReply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: string }

/**
 * Sends one command. Resolves Redis' answer, an error reply included; rejects only when the
 * connection itself fails (closed, past its deadline), which ends the whole review.
 */
export type ProbeRunner = (args: readonly string[]) => Promise<ProbeReply>

/** What the checks need from the server under review. */
export interface PostureProbe {
  /** Commands as the user under review: the cache's own user. */
  readonly user: ProbeRunner
  /**
   * Commands on a connection allowed `ACL`, `CONFIG` and `ACL DRYRUN` (an admin user), used for
   * what the user under review may not run. Without it those checks are skipped.
   */
  readonly admin?: ProbeRunner | undefined
  /** The user the connection authenticated as, as configured (`default` when none is given). */
  readonly configuredUser: string
  /** The server's address, as connected to. */
  readonly host: string
  readonly port: number
  /** TLS options of the connection (no secrets needed: the handshake sends none), or `false` for plain TCP. */
  readonly tls: false | ConnectionOptions
  /** Deadline of the TLS handshake probe, in ms. */
  readonly timeoutMs: number
  /**
   * Connects as the user's connection does (same TLS, client certificate included) but with no
   * credentials, sends `PING`, and resolves its reply; rejects when that connection fails.
   */
  pingWithoutCredentials(): Promise<ProbeReply>
  /** The cache's namespace, for the permission check. @default 'strata' */
  readonly namespace?: string | undefined
  /** The database the cache uses. @default 0 */
  readonly database?: number | undefined
  /** Whether the server is a node of a Redis Cluster (adds what a cluster client sends). @default false */
  readonly cluster?: boolean | undefined
  /** Clock of this host, epoch ms. @default Date.now */
  readonly now?: (() => number) | undefined
}

/** A failure to run a command (`NOPERM`, an unknown or renamed command). */
export class ProbeRefusal extends Error {
  constructor(readonly args: readonly string[], readonly reply: string) {
    super(`${args.slice(0, 2).join(' ').toUpperCase()} was refused: ${reply}`)
    this.name = 'ProbeRefusal'
  }
}

/** Hint for checks skipped because the user under review may not run what they need. */
export const ADMIN_HINT = 'give an admin connection (strata doctor --admin-url, or $STRATA_DOCTOR_ADMIN_URL) to check it'

/** Builds a result; `fix` is left out when undefined. */
export function check(id: string, status: PostureStatus, message: string, fix?: string): PostureCheck {
  return fix === undefined ? { id, status, message } : { id, status, message, fix }
}

/**
 * Runs `args` as the user under review, then, when refused there, on the admin connection.
 * Resolves the value, or rejects with a {@link ProbeRefusal} carrying the last refusal.
 */
export async function ask(probe: PostureProbe, args: readonly string[]): Promise<unknown> {
  const first = await probe.user(args)
  if (first.ok) return first.value
  if (probe.admin === undefined) throw new ProbeRefusal(args, first.error)
  const second = await probe.admin(args)
  if (second.ok) return second.value
  throw new ProbeRefusal(args, second.error)
}

/** A result for a check whose command was refused; rethrows anything else (a connection failure). */
export function skipped(id: string, error: unknown, what: string): PostureCheck {
  if (!(error instanceof ProbeRefusal)) throw error
  const noAdmin = /NOPERM|no permissions/i.test(error.reply)
  return check(id, 'skip', `could not check ${what}: ${error.message}`, noAdmin ? ADMIN_HINT : undefined)
}

/** `CONFIG GET <name>` as a string, through {@link ask}. */
export async function configValue(probe: PostureProbe, name: string): Promise<string> {
  return replyText(replyFields(await ask(probe, ['CONFIG', 'GET', name])).get(name))
}

/**
 * A reply of name/value pairs as a Map of raw values, whichever shape the client gave it: a flat
 * `[name, value, …]` array (RESP2), a Map (RESP3), or the plain object node-redis makes of both.
 */
export function replyFields(reply: unknown): Map<string, unknown> {
  const result = new Map<string, unknown>()
  if (Array.isArray(reply)) {
    for (let i = 0; i + 1 < reply.length; i += 2) result.set(String(reply[i]), reply[i + 1])
  } else if (reply instanceof Map) {
    for (const [key, value] of reply) result.set(String(key), value)
  } else if (typeof reply === 'object' && reply !== null) {
    for (const [key, value] of Object.entries(reply)) result.set(key, value)
  }
  return result
}

/** A string, or a Buffer's text; anything else is `''`. */
export function replyText(value: unknown): string {
  return typeof value === 'string' ? value : Buffer.isBuffer(value) ? value.toString('utf8') : ''
}

/** `INFO` text as a map of `field → value`. */
export function parseInfo(text: unknown): Map<string, string> {
  const fields = new Map<string, string>()
  for (const line of replyText(text).split(/\r?\n/)) {
    const colon = line.indexOf(':')
    if (colon > 0 && !line.startsWith('#')) fields.set(line.slice(0, colon), line.slice(colon + 1).trim())
  }
  return fields
}
