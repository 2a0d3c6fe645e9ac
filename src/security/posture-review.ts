/**
 * Every posture check of one Redis server, in a fixed order (the way in, the ACL, the server's
 * settings), as `strata doctor` prints them. On a cluster it runs once per master: TLS, ACL
 * users and settings are per node.
 */
import { type PostureCheck, type PostureProbe, type PostureStatus } from './posture-check.js'
import { aclContext, checkDangerousCommands, checkDefaultUser, checkLeastPrivilege, checkRequiredPermissions } from './posture-acl.js'
import { checkClockSkew, checkMemory, checkPersistence, checkServerVersion, readInfo } from './posture-server.js'
import { checkAuthRequired, checkProtectedMode, checkTls } from './posture-transport.js'

/** Ids of every check, in the order {@link reviewRedisPosture} returns them. */
export const POSTURE_CHECK_IDS = [
  'tls', 'tls-certificate', 'auth-required', 'default-user', 'protected-mode', 'required-permissions', 'least-privilege',
  'dangerous-commands', 'maxmemory', 'eviction-policy', 'persistence', 'server-version', 'clock-skew',
] as const

/**
 * Runs every posture check against the server behind `probe`. A command the user may not run
 * makes its check `skip` (with the reason); a lost connection rejects.
 */
export async function reviewRedisPosture(probe: PostureProbe): Promise<PostureCheck[]> {
  const tls = await checkTls(probe)
  const auth = await checkAuthRequired(probe)
  const acl = await aclContext(probe)
  const info = await readInfo(probe)
  return [
    ...tls,
    auth.result,
    await checkDefaultUser(probe),
    await checkProtectedMode(probe, auth.required),
    await checkRequiredPermissions(probe, acl),
    await checkLeastPrivilege(probe, acl),
    await checkDangerousCommands(probe, acl),
    ...checkMemory(info),
    await checkPersistence(probe, info),
    checkServerVersion(info),
    await checkClockSkew(probe),
  ]
}

const SEVERITY: Readonly<Record<PostureStatus, number>> = { skip: 0, pass: 0, warn: 1, fail: 2 }

/** The worst status among `checks` (`skip` counts as `pass`): `fail`, else `warn`, else `pass`. */
export function worstPostureStatus(checks: readonly PostureCheck[]): 'pass' | 'warn' | 'fail' {
  const worst = Math.max(0, ...checks.map((c) => SEVERITY[c.status]))
  return worst === 2 ? 'fail' : worst === 1 ? 'warn' : 'pass'
}
