/**
 * `strata doctor`: checks a live Redis as a cache's home (TLS, AUTH, ACL, protected mode,
 * dangerous commands, memory limit and eviction, persistence, version, clock) and prints pass,
 * warn or fail for each check, with the fix. The checks are the library's posture checks
 * (`reviewRedisPosture`); this file connects and reports.
 */
import type { Command } from 'commander'

import { InvalidOptionsError, type OptionIssue, reviewRedisPosture } from '../../index.js'
import { redactUrl } from '../format.js'
import { CliFailure, type CliIo, type CommandContext, ExitCode, type ExitCodeValue } from '../io.js'
import { openConnection } from '../redis-connection.js'
import { addTargetOptions, resolveTarget, type Target, type TargetFlags } from '../target.js'
import { resolveTlsFlags, TLS_FLAG_HELP, type TlsFlags } from '../tls-flags.js'
import { type DoctorCheck, doctorReport, renderDoctorJson, renderDoctorText } from './doctor-report.js'
import { openProbe, type ProbeScope } from './doctor-probe.js'
import { clusterMasters } from './stats-cluster.js'

/** Environment variable read for the admin connection when `--admin-url` is not given. */
export const ADMIN_URL_ENV = 'STRATA_DOCTOR_ADMIN_URL'

/** Flags of `strata doctor`, as commander parses them. */
export interface DoctorFlags extends TargetFlags, TlsFlags {
  /** `--admin-url <url>`: a user allowed ACL and CONFIG, for what the cache's user may not run. @default $STRATA_DOCTOR_ADMIN_URL */
  adminUrl?: string | undefined
  /** `--json`: print one JSON document. @default false */
  json?: boolean | undefined
  /** `--cluster`: the URL is one node of a Redis Cluster; check every master. @default false */
  cluster?: boolean | undefined
}

const NOTES = `
Checks, each pass, warn or fail (or "not checked", with the reason): tls, tls-certificate,
auth-required, default-user, protected-mode, required-permissions, least-privilege,
dangerous-commands, maxmemory, eviction-policy, persistence, server-version, clock-skew.

Connect as the cache's own user. ACL and CONFIG checks need a user allowed ACL GETUSER,
ACL DRYRUN and CONFIG GET: give one with --admin-url or $${ADMIN_URL_ENV} (prefer the
variable: a password on the command line shows in ps). Without it, those checks are not checked.

Exit codes: 0 every check passed, 1 the worst is a warning, 2 a check failed.
As for every command: 1 also when Redis is unreachable, refuses the credentials or does not
answer within --timeout (one line on stderr, no report), 2 also on invalid options.

Examples:
  $ REDIS_URL=rediss://app:secret@cache:6380 strata doctor --namespace app --tls-ca ca.pem
  $ STRATA_DOCTOR_ADMIN_URL=rediss://admin:pw@cache:6380 strata doctor --url rediss://app@cache:6380 --json
  $ strata doctor --cluster --url redis://10.0.0.1:7000`

/** Adds `doctor` to `program`. */
export function registerDoctorCommand(program: Command, context: CommandContext): void {
  const doctor = program.command('doctor').description('check a live Redis as a cache\'s home: TLS, AUTH, ACL, eviction, persistence, version, clock')
  const command = addTargetOptions(doctor, 'cache namespace whose permissions are checked', 'Redis URL of the cache\'s user, redis:// or rediss://')
    .option('--admin-url <url>', `URL of an admin user for the ACL and CONFIG checks (default: $${ADMIN_URL_ENV})`)
  for (const [flag, help] of TLS_FLAG_HELP) command.option(flag, help)
  command
    .option('--json', 'print one JSON document with every check')
    .option('--cluster', 'the URL is one node of a Redis Cluster: check every master')
    .addHelpText('after', NOTES)
    .action(async (flags: DoctorFlags) => {
      context.setExitCode(await runDoctor(flags, context.io))
    })
}

/** Runs `strata doctor`; resolves the exit code, never calls `process.exit`. */
export async function runDoctor(flags: DoctorFlags, io: CliIo): Promise<ExitCodeValue> {
  let targets: { user: Target; admin: Target | undefined }
  try {
    targets = resolveTargets(flags, io.env ?? process.env)
  } catch (error) {
    if (!(error instanceof InvalidOptionsError)) throw error
    io.stderr(`strata doctor: ${error.code}: ${error.message}\n`)
    return ExitCode.usage
  }
  try {
    const checks = await runChecks(targets.user, targets.admin, flags.cluster === true)
    const report = doctorReport(targets.user.displayUrl, checks)
    io.stdout(flags.json === true ? renderDoctorJson(report) : renderDoctorText(report))
    return report.exitCode
  } catch (error) {
    if (!(error instanceof CliFailure)) throw error
    io.stderr(`strata doctor: ${error.message}\n`)
    return ExitCode.failure
  }
}

/** The user's target and the admin's (same TLS files), validated; every problem at once. */
function resolveTargets(flags: DoctorFlags, env: Readonly<Record<string, string | undefined>>): { user: Target; admin: Target | undefined } {
  const issues: OptionIssue[] = []
  const collect = <T>(resolve: () => T, renameUrl?: string): T | undefined => {
    try {
      return resolve()
    } catch (error) {
      if (!(error instanceof InvalidOptionsError)) throw error
      issues.push(...error.issues.map((issue) => (renameUrl !== undefined && issue.path === '--url' ? { ...issue, path: renameUrl } : issue)))
      return undefined
    }
  }
  const user = collect(() => resolveTarget(flags, env))
  const adminUrl = flags.adminUrl ?? nonEmpty(env[ADMIN_URL_ENV])
  // Only the URL is the admin's own: its timeout and namespace problems are the user's, said once.
  const admin = adminUrl === undefined ? undefined : collect(() => resolveTarget({ url: adminUrl }, env), '--admin-url')
  const tls = collect(() => resolveTlsFlags(flags, user?.url ?? flags.url ?? ''))
  if (admin !== undefined && tls !== undefined && !admin.url.toLowerCase().startsWith('rediss://')) {
    issues.push({ path: '--admin-url', message: 'must be a rediss:// URL, as --url is, when TLS flags are given' })
  }
  if (issues.length > 0 || user === undefined) throw new InvalidOptionsError(issues)
  return { user: { ...user, tls }, admin: admin === undefined ? undefined : { ...admin, tls, timeoutMs: user.timeoutMs } }
}

/** Every check of the server, or of each master with `cluster`. */
async function runChecks(user: Target, admin: Target | undefined, cluster: boolean): Promise<DoctorCheck[]> {
  const scope: ProbeScope = { namespace: user.namespace, cluster }
  if (!cluster) return checkNode(user, admin, scope)
  const seed = await openConnection(user)
  let masters
  try {
    masters = await clusterMasters(seed)
  } finally {
    seed.close()
  }
  if (masters.length === 0) throw new CliFailure(`CLUSTER NODES at ${user.displayUrl} lists no master: is it a cluster node?`)
  const checks: DoctorCheck[] = []
  for (const master of masters) checks.push(...(await checkNode(at(user, master), admin === undefined ? undefined : at(admin, master), scope)))
  return checks
}

async function checkNode(user: Target, admin: Target | undefined, scope: ProbeScope): Promise<DoctorCheck[]> {
  const opened = await openProbe(user, admin, scope)
  try {
    return (await reviewRedisPosture(opened.probe)).map((c) => ({ node: opened.node, ...c }))
  } finally {
    opened.close()
  }
}

/** `target` moved to another node, same credentials, TLS and database. */
function at(target: Target, node: { host: string; port: number }): Target {
  const url = new URL(target.url)
  url.hostname = node.host
  url.port = String(node.port)
  return { ...target, url: url.toString(), displayUrl: redactUrl(url.toString()) }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value
}
