/**
 * What a strata cache sends to Redis, as Redis ACLs see it: every command with representative
 * keys and channels of a namespace, the least-privilege rule set that allows exactly these, and
 * the `ACL DRYRUN` check of a user against them (used by `RedisCacheSecurityManager` and
 * `strata doctor`).
 *
 * The list follows the stores: the commands `RedisStore` and `RedisClusterStore` send, the
 * handshake and health PING of every connection (`redis-client.ts`), the lock subscriber
 * (`redis-subscriber.ts`), coherence tracking (`redis-tracking.ts`, `cluster-tracking.ts`), and
 * every command inside every Lua script: Redis checks each `redis.call` of a script against the
 * caller's ACL too, with its own keys. `scriptCommands()` reads a script's commands from its body,
 * and a unit test holds the table below to it.
 */
import { globMatcher } from '../shared/glob.js'
import { escapeGlob } from '../shared/key.js'
import { DELETE_IF_EQUALS } from '../stores/scripts/delete-if-equals.js'
import { DELETE_MARKED } from '../stores/scripts/delete-marked.js'
import { EXTEND_LOCK } from '../stores/scripts/extend-lock.js'
import { GET_BOUNDED } from '../stores/scripts/get-bounded.js'
import { GET_LOCAL } from '../stores/scripts/get-local.js'
import { INDEX_ENTRY } from '../stores/scripts/index-entry.js'
import { INVALIDATE_TAG } from '../stores/scripts/invalidate-tag.js'
import type { LuaScript } from '../stores/scripts/lua-script.js'
import { MARK_CLEARED } from '../stores/scripts/mark-cleared.js'
import { MARK_TAG_INVALIDATED } from '../stores/scripts/mark-tag-invalidated.js'
import { RELEASE_LOCK } from '../stores/scripts/release-lock.js'
import { REPLACE_IF_EQUALS } from '../stores/scripts/replace-if-equals.js'
import { SET_ENTRY } from '../stores/scripts/set-entry.js'
import { SET_UNMARKED } from '../stores/scripts/set-unmarked.js'
import { UNLINK_MARKED } from '../stores/scripts/unlink-marked.js'

/** The part of the cache a permission serves. */
export type PermissionFeature = 'connection' | 'entries' | 'tags' | 'deletes' | 'lock' | 'coherence' | 'stats' | 'cluster'

/** One command the cache sends, as `ACL DRYRUN` is asked about it. */
export interface RequiredPermission {
  /** ACL name of the command: `get`, `client|tracking`. */
  readonly command: string
  /** The command with representative keys and channels of the namespace, as sent to `ACL DRYRUN <user>`. */
  readonly args: readonly string[]
  readonly feature: PermissionFeature
  /** What sends it: a store method, a connection step, or `script SET_ENTRY`. */
  readonly sentBy: string
}

/** Which cache the permissions are for. */
export interface PermissionScope {
  /** The cache's namespace. @default 'strata' */
  readonly namespace?: string | undefined
  /** Add what a Redis Cluster needs (slot map, per-slot delete marks, cluster scripts). @default false */
  readonly cluster?: boolean | undefined
  /** A database other than 0 adds `SELECT`. @default 0 */
  readonly database?: number | undefined
}

/** A permission `ACL DRYRUN` refused, with the rule that grants it. */
export interface MissingPermission extends RequiredPermission {
  /** `ACL DRYRUN`'s answer, e.g. "This user has no permissions to run the 'publish' command". */
  readonly reason: string
  /** The ACL rule to add, e.g. `+publish`, `~app#lock:*`, `&app#lock-released`. */
  readonly rule: string
  /** The whole fix: `ACL SETUSER <user> <rule>`. */
  readonly fix: string
}

/** The outcome of {@link checkPermissions}. */
export interface PermissionReport {
  readonly user: string
  /** How many distinct commands were asked about. */
  readonly checked: number
  /** Everything refused; empty when the user can run all the cache sends. */
  readonly missing: readonly MissingPermission[]
}

/** The Redis commands a script body calls (`redis.call` / `redis.pcall`), upper case, in order of first use. */
export function scriptCommands(script: LuaScript): string[] {
  const found = [...script.body.matchAll(/redis\.p?call\(\s*'([A-Za-z]+)'/g)].map((match) => match[1]!.toUpperCase())
  return [...new Set(found)]
}

/** Names of the cache's Lua scripts by SHA-1, so an error naming a script can name its commands. */
export const CACHE_SCRIPTS: Readonly<Record<string, LuaScript>> = Object.freeze({
  SET_ENTRY, DELETE_MARKED, GET_BOUNDED, INVALIDATE_TAG, MARK_CLEARED, DELETE_IF_EQUALS, EXTEND_LOCK, RELEASE_LOCK,
  REPLACE_IF_EQUALS, GET_LOCAL, INDEX_ENTRY, MARK_TAG_INVALIDATED, SET_UNMARKED, UNLINK_MARKED,
})

const PROBE = 'strata-acl-check'

/** Representative keys and the channel of a namespace (see the key layout in `core/remote-tier.ts`). */
function namesOf(namespace: string) {
  return {
    entry: `${namespace}:${PROBE}`,
    state: `${namespace}#tags`,
    index: `${namespace}#tag:${PROBE}`,
    mark: `${namespace}#gone:${PROBE}`,
    // On a cluster a delete mark carries its entry's slot as a leading hash tag.
    clusterMark: `{${PROBE}}${namespace}#gone:${PROBE}`,
    lock: `${namespace}#lock:${PROBE}`,
    channel: `${namespace}#lock-released`,
  }
}

type Names = ReturnType<typeof namesOf>
type Call = readonly string[]

/** Each script with the commands it calls, on the keys it calls them with. */
export function scriptCalls(n: Names, cluster: boolean): ReadonlyArray<{ name: string; script: LuaScript; calls: readonly Call[]; feature: PermissionFeature }> {
  const index: Call[] = [['TIME'], ['ZREMRANGEBYSCORE', n.index, '-inf', '0'], ['ZADD', n.index, '1', n.entry], ['ZRANGE', n.index, '-1', '-1', 'WITHSCORES'], ['PERSIST', n.index], ['PEXPIREAT', n.index, '1']]
  const standalone = [
    { name: 'GET_BOUNDED', script: GET_BOUNDED, feature: 'entries' as const, calls: [['STRLEN', n.entry], ['UNLINK', n.entry], ['GET', n.entry]] },
    { name: 'DELETE_IF_EQUALS', script: DELETE_IF_EQUALS, feature: 'entries' as const, calls: [['GET', n.entry], ['UNLINK', n.entry]] },
    { name: 'REPLACE_IF_EQUALS', script: REPLACE_IF_EQUALS, feature: 'entries' as const, calls: [['GET', n.entry], ['SET', n.entry, 'v', 'KEEPTTL']] },
    { name: 'SET_ENTRY', script: SET_ENTRY, feature: 'tags' as const, calls: [['HGET', n.state, '*'], ['GET', n.mark], ['SET', n.entry, 'v', 'PX', '1000'], ...index] },
    { name: 'DELETE_MARKED', script: DELETE_MARKED, feature: 'deletes' as const, calls: [['HINCRBY', n.state, 'epoch', '1'], ['UNLINK', n.entry], ['SET', n.mark, '1', 'PX', '60000']] },
    { name: 'INVALIDATE_TAG', script: INVALIDATE_TAG, feature: 'tags' as const, calls: [['HINCRBY', n.state, 'epoch', '1'], ['HSET', n.state, `t:${PROBE}`, '1'], ['ZRANGE', n.index, '0', '499'], ['UNLINK', n.entry], ['ZREM', n.index, n.entry], ['ZCARD', n.index]] },
    { name: 'MARK_CLEARED', script: MARK_CLEARED, feature: 'deletes' as const, calls: [['HINCRBY', n.state, 'epoch', '1'], ['HSET', n.state, '*', '1']] },
    { name: 'EXTEND_LOCK', script: EXTEND_LOCK, feature: 'lock' as const, calls: [['GET', n.lock], ['PEXPIRE', n.lock, '1000']] },
    { name: 'RELEASE_LOCK', script: RELEASE_LOCK, feature: 'lock' as const, calls: [['GET', n.lock], ['DEL', n.lock], ['PUBLISH', n.channel, 'released']] },
  ]
  if (!cluster) return standalone
  return [
    ...standalone,
    { name: 'GET_LOCAL', script: GET_LOCAL, feature: 'cluster' as const, calls: [['GET', n.entry]] },
    { name: 'INDEX_ENTRY', script: INDEX_ENTRY, feature: 'cluster' as const, calls: index },
    { name: 'MARK_TAG_INVALIDATED', script: MARK_TAG_INVALIDATED, feature: 'cluster' as const, calls: [['HINCRBY', n.state, 'epoch', '1'], ['HSET', n.state, `t:${PROBE}`, '1']] },
    { name: 'SET_UNMARKED', script: SET_UNMARKED, feature: 'cluster' as const, calls: [['GET', n.clusterMark], ['SET', n.entry, 'v', 'PX', '1000']] },
    { name: 'UNLINK_MARKED', script: UNLINK_MARKED, feature: 'cluster' as const, calls: [['UNLINK', n.entry], ['SET', n.clusterMark, '1', 'PX', '60000']] },
  ]
}

/**
 * The commands sent outside scripts: by the stores, the connections' health check, the lock
 * subscriber and coherence. Left out: `HELLO` and `AUTH` (never refused by ACLs), and node-redis'
 * `CLIENT SETINFO`, whose refusal it ignores (Redis 7.2+ logs it in `ACL LOG`; grant
 * `+client|setinfo` there to keep that log clean; Redis 7.0 does not know the command).
 */
function directCalls(n: Names, scope: PermissionScope): Array<{ call: Call; feature: PermissionFeature; sentBy: string }> {
  const calls: Array<{ call: Call; feature: PermissionFeature; sentBy: string }> = [
    { call: ['PING'], feature: 'connection', sentBy: 'the health check of every connection' },
    { call: ['GET', n.entry], feature: 'entries', sentBy: 'get' },
    { call: ['MGET', n.entry, n.entry], feature: 'entries', sentBy: 'getMany' },
    { call: ['SET', n.entry, 'v', 'PX', '1000'], feature: 'entries', sentBy: 'set' },
    { call: ['PTTL', n.entry], feature: 'entries', sentBy: 'getTtl' },
    { call: ['UNLINK', n.entry], feature: 'entries', sentBy: 'deleteMany' },
    { call: ['SCAN', '0', 'MATCH', `${escapeGlob(n.entry.slice(0, -PROBE.length))}*`, 'COUNT', '500'], feature: 'entries', sentBy: 'getKeys, invalidatePattern, clear' },
    { call: ['SCRIPT', 'LOAD', 'return 1'], feature: 'entries', sentBy: 'loading the scripts on each new connection' },
    { call: ['EVALSHA', SET_ENTRY.sha, '3', n.entry, n.state, n.mark], feature: 'entries', sentBy: 'every script call' },
    { call: ['EVAL', 'return 1', '3', n.entry, n.state, n.mark], feature: 'entries', sentBy: 'a script call after NOSCRIPT' },
    { call: ['HGET', n.state, 'epoch'], feature: 'tags', sentBy: 'the tag epoch read before a load' },
    { call: ['UNLINK', n.index], feature: 'tags', sentBy: 'clear (tag indexes)' },
    { call: ['SET', n.lock, 'token', 'NX', 'PX', '1000'], feature: 'lock', sentBy: 'getOrSet lock' },
    { call: ['SUBSCRIBE', n.channel], feature: 'lock', sentBy: 'the lock subscriber' },
    { call: ['CLIENT', 'TRACKING', 'ON', 'REDIRECT', '1', 'BCAST', 'PREFIX', n.entry.slice(0, -PROBE.length), 'PREFIX', n.state, 'NOLOOP'], feature: 'coherence', sentBy: 'coherence: tracking on the data connection' },
    { call: ['CLIENT', 'ID'], feature: 'coherence', sentBy: 'coherence: the invalidation connection' },
    { call: ['INFO', 'memory'], feature: 'stats', sentBy: 'getStats memory figure (optional: refused, it is left out)' },
  ]
  if ((scope.database ?? 0) !== 0) calls.push({ call: ['SELECT', String(scope.database)], feature: 'connection', sentBy: 'the handshake (database is not 0)' })
  if (scope.cluster === true) {
    calls.push(
      { call: ['CLUSTER', 'SLOTS'], feature: 'cluster', sentBy: 'the slot map of the cluster client' },
      { call: ['HINCRBY', n.state, 'epoch', '1'], feature: 'cluster', sentBy: 'delete on a cluster (the epoch its marks hold)' },
      { call: ['HMGET', n.state, '*', `t:${PROBE}`], feature: 'cluster', sentBy: 'the tag-state check of a tagged write on a cluster' },
      { call: ['ZSCORE', n.index, n.entry], feature: 'cluster', sentBy: 'the index check of a tagged write on a cluster' },
      { call: ['ZPOPMIN', n.index, '500'], feature: 'cluster', sentBy: 'invalidateTags on a cluster' },
    )
  }
  return calls
}

/** ACL name of a call: `client|tracking` for a command with subcommands, else the command. */
function aclName(call: Call): string {
  const [command = '', sub] = call
  const upper = command.toUpperCase()
  return ['CLIENT', 'SCRIPT', 'CLUSTER', 'CONFIG', 'ACL'].includes(upper) && sub !== undefined ? `${upper}|${sub}`.toLowerCase() : upper.toLowerCase()
}

/** Every command the cache sends on `scope`, each once per distinct key role, in a stable order. */
export function requiredPermissions(scope: PermissionScope = {}): RequiredPermission[] {
  const n = namesOf(scope.namespace ?? 'strata')
  const all: RequiredPermission[] = directCalls(n, scope).map(({ call, feature, sentBy }) => ({ command: aclName(call), args: call, feature, sentBy }))
  for (const { name, calls, feature } of scriptCalls(n, scope.cluster === true)) {
    for (const call of calls) all.push({ command: aclName(call), args: call, feature, sentBy: `script ${name}` })
  }
  const seen = new Set<string>()
  return all.filter((permission) => {
    const id = permission.args.join(' ')
    if (seen.has(id)) return false
    seen.add(id)
    return true
  })
}

/** The key patterns of a namespace, as ACL rules. */
export function namespaceKeyRules(scope: PermissionScope = {}): string[] {
  const ns = escapeGlob(scope.namespace ?? 'strata')
  const rules = [`~${ns}:*`, `~${ns}#tags`, `~${ns}#tag:*`, `~${ns}#gone:*`, `~${ns}#lock:*`]
  if (scope.cluster === true) rules.push(`~{*}${ns}#gone:*`)
  return rules
}

/**
 * The least-privilege ACL rules of a cache on `scope`: its keys, its lock channel, and exactly
 * the commands of {@link requiredPermissions}. `ACL SETUSER <user> on ><password> ` + these.
 */
export function leastPrivilegeRules(scope: PermissionScope = {}): string[] {
  const ns = escapeGlob(scope.namespace ?? 'strata')
  const commands = [...new Set(requiredPermissions(scope).map((permission) => `+${permission.command}`))]
  return ['resetkeys', ...namespaceKeyRules(scope), 'resetchannels', `&${ns}#lock-released`, '-@all', ...commands]
}

/** The part of a client that {@link checkPermissions} uses. */
export interface CommandClient {
  sendCommand(args: string[]): Promise<unknown>
}

/**
 * Asks Redis, with `ACL DRYRUN <user> …`, whether `user` may run each command of
 * {@link requiredPermissions}; resolves what is refused, with the rule that grants it. `client`
 * must itself be allowed `acl|dryrun` (an admin connection, usually). Rejects when it is not.
 */
export async function checkPermissions(client: CommandClient, user: string, scope: PermissionScope = {}): Promise<PermissionReport> {
  const required = requiredPermissions(scope)
  const answers = await Promise.all(required.map((permission) => dryRun(client, user, permission.args)))
  const missing: MissingPermission[] = []
  required.forEach((permission, i) => {
    const answer = answers[i]!
    if (answer === 'OK') return
    const rule = ruleFor(answer, scope) ?? `+${permission.command}`
    missing.push({ ...permission, reason: answer, rule, fix: `ACL SETUSER ${user} ${rule}` })
  })
  return { user, checked: new Set(required.map((permission) => permission.command)).size, missing }
}

/**
 * `ACL DRYRUN`'s answer as text. An error reply about the command itself (a newer Redis may
 * refuse these arguments) is an answer too; a refusal of `ACL DRYRUN` (NOPERM) or a lost
 * connection rejects, since nothing can then be said about the user.
 */
async function dryRun(client: CommandClient, user: string, args: readonly string[]): Promise<string> {
  try {
    const answer = await client.sendCommand(['ACL', 'DRYRUN', user, ...args])
    return Buffer.isBuffer(answer) ? answer.toString('utf8') : typeof answer === 'string' ? answer : 'OK'
  } catch (error) {
    const message = error instanceof Error ? error.message : ''
    if (!message.startsWith('ERR') || /acl\|dryrun|no such user/i.test(message)) throw error
    return message
  }
}

/** The rule that grants what a refusal (`ACL DRYRUN`'s answer or a NOPERM reply) names, if it names one. */
function ruleFor(refusal: string, scope: PermissionScope): string | undefined {
  const command = /permissions to run the '([^']+)' command/i.exec(refusal)?.[1]
  if (command !== undefined) return `+${command.toLowerCase()}`
  const key = /access the '(.*)' key/i.exec(refusal)?.[1]
  if (key !== undefined) return namespaceKeyRules(scope).find((rule) => globMatcher(rule.slice(1))(key)) ?? `~${escapeGlob(key)}`
  const channel = /access the '(.*)' channel/i.exec(refusal)?.[1]
  if (channel !== undefined) return `&${escapeGlob(channel)}`
  return undefined
}

/**
 * How to fix an ACL refusal that a cache command met (a `NOPERM` reply, or a script whose
 * command, key or channel the user may not use), naming the command and the rule to add;
 * `undefined` for any other error.
 */
export function aclRefusalFix(message: string, scope: PermissionScope = {}): string | undefined {
  const where = "; README 'Least-privilege ACL' has the whole rule set, and RedisCacheSecurityManager.getSecurityStatus() lists what is missing"
  const ns = escapeGlob(scope.namespace ?? 'strata')
  if (message.startsWith('NOPERM')) {
    const command = /run the '([^']+)' command/i.exec(message)?.[1]
    if (command !== undefined) return `the Redis user may not run ${command.toUpperCase()}: add +${command.toLowerCase()} to its ACL rules${where}`
    if (/keys/i.test(message)) return `the Redis user may not use this cache's keys: add ${namespaceKeyRules(scope).join(' ')}${where}`
    if (/channel/i.test(message)) return `the Redis user may not use the lock channel: add &${ns}#lock-released${where}`
    return `Redis refused the command (ACL)${where}`
  }
  if (!message.includes('user executing the script')) return undefined
  const sha = /script: ([0-9a-f]{40})/.exec(message)?.[1]
  const entry = Object.entries(CACHE_SCRIPTS).find(([, script]) => script.sha === sha)
  const name = entry === undefined ? 'a cache script' : `the script ${entry[0]}`
  if (/can't publish/.test(message)) return `${name} may not publish on the lock channel: add &${ns}#lock-released${where}`
  if (/keys/.test(message)) return `${name} may not use this cache's keys: add ${namespaceKeyRules(scope).join(' ')}${where}`
  const commands = entry === undefined ? [] : scriptCommands(entry[1])
  const rules = commands.map((command) => `+${command.toLowerCase()}`).join(' ')
  return `${name} calls a command the Redis user may not run${commands.length === 0 ? '' : ` (it calls ${commands.join(', ')}): add ${rules}`}${where}`
}
