/**
 * Posture checks of the ACL: the `default` user, and the user under review, which should be
 * able to run what the cache sends (`required-permissions.ts`) and little more.
 */
import { errorMessage } from '../errors.js'
import { type PostureCheck, type PostureProbe, type ProbeRunner, ADMIN_HINT, ProbeRefusal, ask, check, configValue, replyFields, replyText, skipped } from './posture-check.js'
import { type PermissionScope, checkPermissions, leastPrivilegeRules } from './required-permissions.js'

/** A user's ACL as `ACL GETUSER` reports it (passwords left out: never read, never printed). */
export interface AclUser {
  readonly flags: readonly string[]
  /** Command rules, e.g. `-@all +get +set`. */
  readonly commands: string
  /** Key patterns, e.g. `~app:*`, `%R~other:*`. */
  readonly keys: readonly string[]
  /** Channel patterns, e.g. `&app#lock-released`. */
  readonly channels: readonly string[]
}

/** What the ACL checks share: the user under review and a connection that may run `ACL DRYRUN`. */
export interface AclContext {
  readonly user: string
  /** Runs `ACL DRYRUN` (the user's own connection when allowed, else the admin one), or why none can. */
  readonly dryRun: ProbeRunner | ProbeRefusal
}

/**
 * Commands that let a client destroy all data, read every key at once, block the server, or
 * take it over (configuration, modules, replication, users), as `ACL DRYRUN` is asked about them.
 */
export const DANGEROUS_COMMANDS: ReadonlyArray<readonly string[]> = [
  ['FLUSHALL'], ['FLUSHDB'], ['CONFIG', 'SET', 'dir', '/tmp'], ['CONFIG', 'GET', 'requirepass'], ['DEBUG', 'SLEEP', '0'],
  ['KEYS', '*'], ['SHUTDOWN'], ['MODULE', 'LOAD', '/tmp/x.so'], ['ACL', 'SETUSER', 'x'], ['REPLICAOF', 'NO', 'ONE'],
  ['MONITOR'], ['CLIENT', 'KILL', 'ID', '1'], ['SWAPDB', '0', '1'],
]

/** The user under review (`ACL WHOAMI`, else as configured) and the connection for `ACL DRYRUN`. */
export async function aclContext(probe: PostureProbe): Promise<AclContext> {
  const whoami = await probe.user(['ACL', 'WHOAMI'])
  const user = whoami.ok ? String(whoami.value) : probe.configuredUser
  let refusal = ''
  for (const runner of [probe.user, probe.admin]) {
    if (runner === undefined) continue
    const answer = await runner(['ACL', 'DRYRUN', user, 'PING'])
    if (answer.ok) return { user, dryRun: runner }
    refusal = answer.error
  }
  return { user, dryRun: new ProbeRefusal(['ACL', 'DRYRUN'], refusal) }
}

/** `default-user`: disabled, or at least protected by a password and restricted. */
export async function checkDefaultUser(probe: PostureProbe): Promise<PostureCheck> {
  let acl: AclUser | undefined
  try {
    acl = parseAclUser(await ask(probe, ['ACL', 'GETUSER', 'default']))
  } catch (error) {
    return skipped('default-user', error, 'the default user (ACL GETUSER default)')
  }
  if (acl === undefined || acl.flags.includes('off')) return check('default-user', 'pass', 'the default user is disabled')
  const off = 'ACL SETUSER default off, once every client connects as its own ACL user'
  if (acl.flags.includes('nopass')) return check('default-user', 'fail', 'the default user is enabled with no password, so every client that connects is that user', off)
  const broad = broadGrants(acl)
  if (broad.length > 0) return check('default-user', 'warn', `the default user is enabled with ${broad.join(', ')}: its password (requirepass) opens everything`, off)
  return check('default-user', 'pass', `the default user is enabled with a password and restricted (${acl.commands})`)
}

/** `least-privilege`: the user under review has no `+@all`, no `~*`, no `&*`. */
export async function checkLeastPrivilege(probe: PostureProbe, context: AclContext): Promise<PostureCheck> {
  let acl: AclUser | undefined
  try {
    acl = parseAclUser(await ask(probe, ['ACL', 'GETUSER', context.user]))
  } catch (error) {
    return skipped('least-privilege', error, `the rules of user "${context.user}" (ACL GETUSER)`)
  }
  if (acl === undefined) return check('least-privilege', 'skip', `ACL GETUSER found no user "${context.user}"`)
  const broad = broadGrants(acl)
  if (broad.length === 0) return check('least-privilege', 'pass', `user "${context.user}" is limited to keys ${acl.keys.join(' ') || '(none)'} and commands ${acl.commands}`)
  const rules = leastPrivilegeRules(scopeOf(probe)).join(' ')
  const fix = `ACL SETUSER ${context.user} reset on ><password> ${rules} (README 'Least-privilege ACL')`
  return check('least-privilege', 'warn', `user "${context.user}" has ${broad.join(', ')}: far more than a cache needs`, fix)
}

/** `required-permissions`: `ACL DRYRUN` of every command the cache sends, on its namespace. */
export async function checkRequiredPermissions(probe: PostureProbe, context: AclContext): Promise<PostureCheck> {
  const id = 'required-permissions'
  if (context.dryRun instanceof ProbeRefusal) return dryRunSkipped(id, context.dryRun, 'the commands the cache needs')
  const runner = context.dryRun
  const client = {
    sendCommand: async (args: string[]): Promise<unknown> => {
      const reply = await runner(args)
      if (!reply.ok) throw new ProbeRefusal(args, reply.error)
      return reply.value
    },
  }
  let report
  try {
    report = await checkPermissions(client, context.user, scopeOf(probe))
  } catch (error) {
    return check(id, 'skip', `could not check the commands the cache needs: ${errorMessage(error)}`)
  }
  const namespace = probe.namespace ?? 'strata'
  if (report.missing.length === 0) return check(id, 'pass', `user "${context.user}" may run all ${report.checked} commands the cache sends on namespace "${namespace}" (ACL DRYRUN)`)
  const rules = [...new Set(report.missing.map((missing) => missing.rule))]
  // Refused INFO is left out of getStats() and a refused CLIENT SETINFO is ignored: the cache works.
  const optional = report.missing.every((missing) => missing.feature === 'stats' || missing.command === 'client|setinfo')
  const message = `user "${context.user}" lacks ${rules.length} rule(s) the cache needs on namespace "${namespace}" (ACL DRYRUN): ${rules.join(' ')}`
  return check(id, optional ? 'warn' : 'fail', message, `ACL SETUSER ${context.user} ${rules.join(' ')}`)
}

/**
 * `dangerous-commands`: which of {@link DANGEROUS_COMMANDS} the user could run. A renamed or
 * removed command (`rename-command`), and `DEBUG` / `MODULE` while `enable-debug-command` /
 * `enable-module-command` is `no`, count as not reachable.
 */
export async function checkDangerousCommands(probe: PostureProbe, context: AclContext): Promise<PostureCheck> {
  const id = 'dangerous-commands'
  if (context.dryRun instanceof ProbeRefusal) return dryRunSkipped(id, context.dryRun, 'which dangerous commands the user may run')
  const reachable: string[] = []
  for (const args of DANGEROUS_COMMANDS) {
    const reply = await context.dryRun(['ACL', 'DRYRUN', context.user, ...args])
    // An error reply: the command does not exist here (renamed or removed).
    if (!reply.ok || String(reply.value) !== 'OK') continue
    if (await disabledByConfig(probe, args[0]!)) continue
    reachable.push(args[0] === 'CONFIG' || args[0] === 'CLIENT' || args[0] === 'MODULE' || args[0] === 'ACL' ? `${args[0]} ${args[1]!}` : args[0]!)
  }
  if (reachable.length === 0) return check(id, 'pass', `user "${context.user}" may run none of ${DANGEROUS_COMMANDS.map((args) => args[0]).filter((name, i, all) => all.indexOf(name) === i).join(', ')}`)
  const fix = `ACL SETUSER ${context.user} -@dangerous -@admin (the cache needs none of them), or rename-command <command> "" in redis.conf`
  return check(id, 'warn', `user "${context.user}" may run ${reachable.join(', ')}`, fix)
}

/** Whether `DEBUG` or `MODULE` is switched off by its `enable-*-command` setting (`no`). */
async function disabledByConfig(probe: PostureProbe, command: string): Promise<boolean> {
  const setting = command === 'DEBUG' ? 'enable-debug-command' : command === 'MODULE' ? 'enable-module-command' : undefined
  if (setting === undefined) return false
  try {
    return (await configValue(probe, setting)) === 'no'
  } catch (error) {
    if (error instanceof ProbeRefusal) return false
    throw error
  }
}

function dryRunSkipped(id: string, refusal: ProbeRefusal, what: string): PostureCheck {
  const old = /unknown subcommand|unknown command/i.test(refusal.reply)
  const fix = old ? 'ACL DRYRUN needs Redis 7.0+' : ADMIN_HINT
  return check(id, 'skip', `could not check ${what}: ACL DRYRUN was refused (${refusal.reply || 'no connection may run it'})`, fix)
}

/** `+@all`, every key, every channel: the grants a cache's user never needs. */
function broadGrants(acl: AclUser): string[] {
  const broad: string[] = []
  if (acl.flags.includes('allcommands') || /(^|\s)\+@all(\s|$)/.test(acl.commands)) broad.push('+@all (every command)')
  if (acl.flags.includes('allkeys') || acl.keys.some((pattern) => /^(%RW|%WR|%R|%W)?~\*$/i.test(pattern))) broad.push('~* (every key)')
  if (acl.flags.includes('allchannels') || acl.channels.includes('&*')) broad.push('&* (every channel)')
  return broad
}

/** An `ACL GETUSER` reply (RESP2 flat array or RESP3 map; Redis 6 lists, Redis 7 strings); `undefined` for no such user. */
export function parseAclUser(reply: unknown): AclUser | undefined {
  if (reply === null || reply === undefined) return undefined
  const fields = replyFields(reply)
  const words = (value: unknown): string[] => (Array.isArray(value) ? value.map(replyText) : replyText(value).split(' ')).filter((word) => word !== '')
  return { flags: words(fields.get('flags')), commands: replyText(fields.get('commands')), keys: words(fields.get('keys')), channels: words(fields.get('channels')) }
}

function scopeOf(probe: PostureProbe): PermissionScope {
  return { namespace: probe.namespace, cluster: probe.cluster, database: probe.database }
}
