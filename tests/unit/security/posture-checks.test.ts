/**
 * The posture checks' rules, decided from given answers (a fake probe stands for Redis here; the
 * same checks against real servers are in tests/integration/cli/doctor.int.test.ts): thresholds
 * of certificate expiry and clock skew, the eviction and persistence rules, versions, ACL reply
 * shapes, and a refused command giving `skip` while a lost connection rejects.
 */
import { describe, expect, it } from 'vitest'
import { parseAclUser } from '../../../src/security/posture-acl.js'
import { type PostureProbe, type ProbeReply, ask } from '../../../src/security/posture-check.js'
import { worstPostureStatus } from '../../../src/security/posture-review.js'
import { checkClockSkew, checkServerVersion, clockSkewCheck, evictionPolicyCheck, maxmemoryCheck, persistenceCheck } from '../../../src/security/posture-server.js'
import { certificateExpiry, checkProtectedMode } from '../../../src/security/posture-transport.js'

const DAY = 86_400_000
const NOW = Date.parse('2030-01-01T00:00:00Z')

/** A probe whose user (and admin, when given) answer from a table keyed by the command line. */
function fakeProbe(user: Record<string, ProbeReply>, admin?: Record<string, ProbeReply>, now = () => NOW): PostureProbe {
  const runner = (table: Record<string, ProbeReply>) => async (args: readonly string[]) => table[args.join(' ')] ?? { ok: false as const, error: `ERR unknown command '${args[0]}'` }
  return {
    user: runner(user), admin: admin === undefined ? undefined : runner(admin), configuredUser: 'app', host: '127.0.0.1', port: 6379, tls: false, timeoutMs: 1000,
    pingWithoutCredentials: async () => ({ ok: false, error: 'NOAUTH' }), now,
  }
}

const noperm = (command: string): ProbeReply => ({ ok: false, error: `NOPERM this user has no permissions to run the '${command}' command` })

describe('posture checks', () => {
  it('fails an expired certificate, warns within 30 days, passes beyond', () => {
    expect(certificateExpiry(new Date(NOW - 1000).toUTCString(), NOW).status).toBe('fail')
    expect(certificateExpiry(new Date(NOW + 29 * DAY).toUTCString(), NOW)).toMatchObject({ status: 'warn', message: expect.stringContaining('in 29 day(s)') })
    expect(certificateExpiry(new Date(NOW + 31 * DAY).toUTCString(), NOW)).toMatchObject({ status: 'pass', message: expect.stringContaining('(31 days)') })
    expect(certificateExpiry('not a date', NOW).status).toBe('skip')
  })

  it('passes allkeys-lru and allkeys-lfu, warns on volatile-* and allkeys-random, fails noeviction', () => {
    expect(evictionPolicyCheck('allkeys-lru').status).toBe('pass')
    expect(evictionPolicyCheck('allkeys-lfu').status).toBe('pass')
    for (const policy of ['volatile-lru', 'volatile-lfu', 'volatile-ttl', 'volatile-random', 'allkeys-random']) expect(evictionPolicyCheck(policy).status).toBe('warn')
    expect(evictionPolicyCheck('noeviction')).toMatchObject({ status: 'fail', fix: expect.stringContaining('allkeys-lru') })
  })

  it('fails a zero maxmemory and passes a limit', () => {
    expect(maxmemoryCheck(0).status).toBe('fail')
    expect(maxmemoryCheck(64 * 1_048_576)).toMatchObject({ status: 'pass', message: expect.stringContaining('64.0 MiB') })
  })

  it('warns, never fails, on RDB or AOF, naming the trade-off', () => {
    expect(persistenceCheck('3600 1', false)).toMatchObject({ status: 'warn', message: expect.stringContaining('warm cache after a restart') })
    expect(persistenceCheck('', true)).toMatchObject({ status: 'warn', message: expect.stringContaining('AOF') })
    expect(persistenceCheck('', false).status).toBe('pass')
    expect(persistenceCheck(undefined, false).status).toBe('skip')
  })

  it('fails before 6.0 (no client tracking), warns on 6.x, passes 7.0+', () => {
    const info = (version: string) => new Map([['redis_version', version]])
    expect(checkServerVersion(info('5.0.14'))).toMatchObject({ status: 'fail', message: expect.stringContaining('client tracking') })
    expect(checkServerVersion(info('6.2.14'))).toMatchObject({ status: 'warn', message: expect.stringContaining('ACL DRYRUN (permission checks) needs 7.0+') })
    expect(checkServerVersion(info('7.2.4')).status).toBe('pass')
  })

  it('warns on clock skew above 500 ms and fails above 3 s, saying why it matters', () => {
    expect(clockSkewCheck(499, 1).status).toBe('pass')
    expect(clockSkewCheck(-800, 1)).toMatchObject({ status: 'warn', message: expect.stringMatching(/800 ms behind .*TTL/) })
    expect(clockSkewCheck(3500, 1)).toMatchObject({ status: 'fail', message: expect.stringContaining('3500 ms ahead of') })
  })

  it('measures skew against TIME with half the round trip allowed for', async () => {
    let t = NOW
    // 2 s ahead: Redis says NOW + 2 s + 50 ms while this host reads NOW, then NOW + 100 ms.
    const probe = fakeProbe({ TIME: { ok: true, value: [String(Math.floor((NOW + 2050) / 1000)), String(((NOW + 2050) % 1000) * 1000)] } }, undefined, () => (t += 50) - 50)
    expect(await checkClockSkew(probe)).toMatchObject({ status: 'warn', message: expect.stringContaining('2025 ms ahead') })
  })

  it('asks the admin connection what the user may not run, and skips with the reason when neither may', async () => {
    const withAdmin = fakeProbe({ 'CONFIG GET protected-mode': noperm('config|get') }, { 'CONFIG GET protected-mode': { ok: true, value: { 'protected-mode': 'no' } } })
    expect(await checkProtectedMode(withAdmin, true)).toMatchObject({ status: 'warn' })
    expect(await checkProtectedMode(withAdmin, false)).toMatchObject({ status: 'fail' })
    const alone = fakeProbe({ 'CONFIG GET protected-mode': noperm('config|get') })
    expect(await checkProtectedMode(alone, true)).toMatchObject({ status: 'skip', message: expect.stringContaining('NOPERM'), fix: expect.stringContaining('--admin-url') })
  })

  it('rejects when the connection fails instead of reporting a check', async () => {
    const probe = { ...fakeProbe({}), user: async () => Promise.reject(new Error('socket closed')) }
    await expect(checkProtectedMode(probe, true)).rejects.toThrow('socket closed')
    await expect(ask(probe, ['PING'])).rejects.toThrow('socket closed')
  })

  it('reads ACL GETUSER as node-redis objects, RESP2 arrays and Redis 6 lists, leaving passwords out', () => {
    const fromObject = parseAclUser({ flags: ['on'], passwords: ['abc'], commands: '-@all +get', keys: '~app:* %R~x:*', channels: '', selectors: [] })
    expect(fromObject).toEqual({ flags: ['on'], commands: '-@all +get', keys: ['~app:*', '%R~x:*'], channels: [] })
    const flat = parseAclUser(['flags', ['on', 'allkeys'], 'passwords', [], 'commands', '+@all', 'keys', ['*'], 'channels', ['*']])
    expect(flat).toMatchObject({ flags: ['on', 'allkeys'], commands: '+@all', keys: ['*'] })
    expect(parseAclUser(null)).toBeUndefined()
  })

  it('counts skip as pass in the overall status', () => {
    const c = (status: 'pass' | 'warn' | 'fail' | 'skip') => ({ id: 'x', status, message: '' })
    expect(worstPostureStatus([c('pass'), c('skip')])).toBe('pass')
    expect(worstPostureStatus([c('skip'), c('warn')])).toBe('warn')
    expect(worstPostureStatus([c('warn'), c('fail'), c('pass')])).toBe('fail')
  })
})
