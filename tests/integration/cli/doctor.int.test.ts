/**
 * `strata doctor` against real redis-server processes: a deliberately weak one (no password,
 * protected mode off, noeviction, no maxmemory, the default user with everything, RDB and AOF
 * on) reports each weakness and exits 2; a hardened one (TLS with a client certificate, the
 * README's least-privilege user, default user off, protected mode on, maxmemory + allkeys-lru,
 * no persistence) passes every check and exits 0; JSON has every check; no password ever
 * appears in any output; an unreachable server or a wrong password exits 1 at once.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createClient } from '@redis/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DoctorReport } from '../../../src/cli/commands/doctor-report.js'
import { run } from '../../../src/cli/main.js'
import { POSTURE_CHECK_IDS } from '../../../src/index.js'
import { documentedAclRulesFor } from '../../helpers/acl-rules.js'
import { captureIo } from '../../helpers/cli-io.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { type RedisServer, requireRedis, startRedis, tlsClientOptions } from '../../helpers/redis-server.js'
import { secret } from '../../helpers/secrets.js'
import { type TlsFixture, makeTlsFixture, requireOpenssl } from '../../helpers/tls-certs.js'

const ready = requireRedis() && requireOpenssl()
/** Allowed overrun of --timeout: timer granularity and a machine loaded by the whole suite (1.6 s seen), far below a hang. */
const SLACK_MS = 1500
const ADMIN_PASSWORD = secret('the admin password', 'Adm1n-doctor-S3cret')
const APP_PASSWORD = secret('the app password', 'App-doctor-pw-7781')
const WRONG_PASSWORD = secret('a wrong password', 'Wr0ng-doctor-pw-5532')
const SECRETS = [ADMIN_PASSWORD, APP_PASSWORD, WRONG_PASSWORD]

/** Every output of every run, scanned for the passwords at the end. */
const outputs: string[] = []

async function doctor(args: string[], env: Record<string, string> = {}): Promise<{ code: number; out: string; err: string }> {
  // captureIo's writers append to the object it returns: set env on that object, do not copy it.
  const io = Object.assign(captureIo(), { env })
  const code = await run(['doctor', ...args], io)
  outputs.push(io.out, io.err)
  return { code, out: io.out, err: io.err }
}

async function doctorJson(args: string[], env: Record<string, string> = {}): Promise<DoctorReport> {
  const { code, out, err } = await doctor([...args, '--json'], env)
  expect(err).toBe('')
  const report = JSON.parse(out) as DoctorReport
  expect(report.exitCode).toBe(code)
  return report
}

function byId(report: DoctorReport): Record<string, DoctorReport['checks'][number]> {
  return Object.fromEntries(report.checks.map((c) => [c.id, c]))
}

/**
 * A CA, a server certificate for `redis.test` valid for 400 days (the helper's are valid for 2,
 * which the certificate check rightly warns about), and a client certificate for mutual TLS.
 */
function longLivedFixture(): TlsFixture & { clientCertFile: string; clientKeyFile: string } {
  const dir = mkdtempSync(join(tmpdir(), 'strata-doctor-tls-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const openssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '400', '-subj', '/CN=doctor-ca', '-keyout', 'ca.key', '-out', 'ca.pem')
  writeFileSync(join(dir, 'server.ext'), 'subjectAltName=DNS:redis.test\n')
  for (const name of ['server', 'client']) {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`)
    const ext = name === 'server' ? ['-extfile', 'server.ext'] : []
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-days', '400', ...ext, '-out', `${name}.pem`)
  }
  const ca = readFileSync(join(dir, 'ca.pem'), 'utf8')
  return {
    serverName: 'redis.test', caFile: join(dir, 'ca.pem'), certFile: join(dir, 'server.pem'), keyFile: join(dir, 'server.key'),
    ca, otherCa: ca, clientCertFile: join(dir, 'client.pem'), clientKeyFile: join(dir, 'client.key'),
  }
}

describe.skipIf(!ready)('strata doctor against a weak redis-server', () => {
  let weak: RedisServer

  beforeAll(async () => {
    // The helper's defaults already leave protected mode off, no maxmemory and noeviction.
    weak = await startRedis({ args: ['--save', '3600 1', '--appendonly', 'yes', '--rename-command', 'FLUSHALL', ''] })
  })
  afterAll(async () => {
    await weak?.stop()
  })

  it('reports every weakness with its fix, and exits 2', async () => {
    const report = await doctorJson(['--url', weak.url])
    const checks = byId(report)
    expect(report.status).toBe('fail')
    expect(report.exitCode).toBe(2)
    expect(checks.tls).toMatchObject({ status: 'warn', message: expect.stringContaining('plain TCP') })
    expect(checks['auth-required']).toMatchObject({ status: 'fail', message: expect.stringContaining('without credentials is accepted') })
    expect(checks['default-user']).toMatchObject({ status: 'fail', message: expect.stringContaining('no password') })
    expect(checks['protected-mode']).toMatchObject({ status: 'fail', message: expect.stringContaining('protected mode is off') })
    expect(checks['least-privilege']).toMatchObject({ status: 'warn', message: expect.stringMatching(/\+@all.*~\*/) })
    expect(checks['dangerous-commands']?.status).toBe('warn')
    expect(checks['dangerous-commands']?.message).toMatch(/may run FLUSHDB, CONFIG SET, CONFIG GET, KEYS, SHUTDOWN, .*ACL SETUSER/)
    // Renamed away (rename-command), and DEBUG / MODULE while enable-debug-command and
    // enable-module-command are `no` (Redis 7's default): not reachable.
    for (const name of ['FLUSHALL', 'DEBUG', 'MODULE']) expect(checks['dangerous-commands']?.message).not.toContain(name)
    expect(checks.maxmemory).toMatchObject({ status: 'fail', message: expect.stringContaining('maxmemory is 0') })
    expect(checks['eviction-policy']).toMatchObject({ status: 'fail', message: expect.stringContaining('noeviction') })
    expect(checks.persistence).toMatchObject({ status: 'warn', message: expect.stringMatching(/RDB snapshots \(save "3600 1"\) and AOF/) })
    // The default user may run everything, the cache's commands included.
    expect(checks['required-permissions']?.status).toBe('pass')
    expect(checks['server-version']?.status).toBe('pass')
    expect(checks['clock-skew']?.status).toBe('pass')
    for (const c of report.checks) {
      expect(c.node).toBe(`127.0.0.1:${weak.port}`)
      if (c.status === 'warn' || c.status === 'fail') expect(c.fix, c.id).toBeTruthy()
    }
  })

  it('prints one line per check and the fixes in text mode, with the same exit code', async () => {
    const { code, out, err } = await doctor(['--url', weak.url])
    expect(code).toBe(2)
    expect(err).toBe('')
    for (const id of POSTURE_CHECK_IDS) expect(out).toMatch(new RegExp(`^  (PASS|WARN|FAIL|SKIP)  ${id} +\\S`, 'm'))
    expect(out).toMatch(/^ +fix: CONFIG SET maxmemory-policy allkeys-lru/m)
    expect(out).toMatch(/^Result: fail \(\d+ pass, \d+ warn, \d+ fail, \d+ not checked\); exit code 2$/m)
  })

  it('exits 1 when the worst finding is a warning', async () => {
    const admin = createClient({ url: weak.url })
    await admin.connect()
    try {
      // Leave only warnings: a password, protected mode, a memory limit with a volatile policy.
      await admin.sendCommand(['CONFIG', 'SET', 'maxmemory', '64mb', 'maxmemory-policy', 'volatile-lru', 'protected-mode', 'yes'])
      await admin.sendCommand(['ACL', 'SETUSER', 'default', 'on', `>${ADMIN_PASSWORD}`])
      const url = `redis://default:${ADMIN_PASSWORD}@127.0.0.1:${weak.port}`
      const report = await doctorJson(['--url', url])
      const checks = byId(report)
      expect(checks['eviction-policy']).toMatchObject({ status: 'warn', message: expect.stringContaining('volatile-lru') })
      expect(checks['auth-required']?.status).toBe('pass')
      expect(checks['default-user']).toMatchObject({ status: 'warn', message: expect.stringContaining('+@all') })
      expect(report.status).toBe('warn')
      expect(report.exitCode).toBe(1)
      expect(report.target).toBe(`redis://default:***@127.0.0.1:${weak.port}`)
    } finally {
      await admin.sendCommand(['AUTH', ADMIN_PASSWORD]).catch(() => undefined)
      await admin.sendCommand(['ACL', 'SETUSER', 'default', 'nopass'])
      await admin.sendCommand(['CONFIG', 'SET', 'maxmemory', '0', 'maxmemory-policy', 'noeviction', 'protected-mode', 'no'])
      admin.destroy()
    }
  })

  it('exits 1 at once with a clear message when nothing listens', async () => {
    const gone = await startRedis()
    await gone.stop()
    const started = performance.now()
    const { code, out, err } = await doctor(['--url', gone.url, '--timeout', '500ms'])
    expect(code).toBe(1)
    expect(performance.now() - started).toBeLessThan(500 + SLACK_MS)
    expect(err).toMatch(new RegExp(`^strata doctor: cannot connect to Redis at ${gone.url}: .*ECONNREFUSED`))
    expect(out).toBe('')
  })

  it('exits 1 within the timeout when Redis accepts the connection but never answers', async () => {
    const frozen = await startRedis()
    frozen.pause()
    try {
      const started = performance.now()
      const { code, err } = await doctor(['--url', frozen.url, '--timeout', '400ms', '--json'])
      expect(code).toBe(1)
      expect(performance.now() - started).toBeLessThan(400 + SLACK_MS)
      expect(err).toContain('no answer within 400 ms')
    } finally {
      await frozen.stop()
    }
  })

  it('exits 2 before connecting on invalid flags, naming each', async () => {
    const { code, err, out } = await doctor(['--url', 'redis://127.0.0.1:1', '--tls-ca', '/nonexistent/ca.pem', '--tls-cert', '/nonexistent/c.pem', '--timeout', '0'])
    expect(code).toBe(2)
    expect(err).toContain('E_INVALID_OPTIONS')
    expect(err).toContain('--timeout')
    expect(out).toBe('')
    const tls = await doctor(['--url', 'redis://127.0.0.1:1', '--tls-ca', '/nonexistent/ca.pem', '--tls-cert', '/nonexistent/c.pem'])
    expect(tls.code).toBe(2)
    for (const text of ['rediss://', '--tls-cert: needs --tls-key', '--tls-ca: cannot read /nonexistent/ca.pem (ENOENT)']) expect(tls.err).toContain(text)
  })
})

describe.skipIf(!ready)('strata doctor against a hardened redis-server (TLS, ACL user)', () => {
  const certs = ready ? longLivedFixture() : undefined
  const namespace = uniqueNamespace('doc')
  let server: RedisServer
  let appUrl: string
  let adminUrl: string
  let tlsFlags: string[]

  beforeAll(async () => {
    server = await startRedis({
      tls: certs,
      // `optional`: the helper's readiness check connects without a client certificate; the
      // doctor's connections present one.
      args: ['--tls-auth-clients', 'optional', '--protected-mode', 'yes', '--maxmemory', '64mb', '--maxmemory-policy', 'allkeys-lru', '--save', '', '--appendonly', 'no'],
    })
    const admin = createClient({ url: server.url, socket: { tls: true, ...tlsClientOptions(certs!) } })
    await admin.connect()
    await admin.sendCommand(['ACL', 'SETUSER', 'admin', 'on', `>${ADMIN_PASSWORD}`, '~*', '&*', '+@all'])
    await admin.sendCommand(['ACL', 'SETUSER', namespace, 'on', `>${APP_PASSWORD}`, ...documentedAclRulesFor(namespace)])
    await admin.sendCommand(['ACL', 'SETUSER', 'default', 'off'])
    admin.destroy()
    appUrl = `rediss://${namespace}:${APP_PASSWORD}@127.0.0.1:${server.port}`
    adminUrl = `rediss://admin:${ADMIN_PASSWORD}@127.0.0.1:${server.port}`
    tlsFlags = ['--tls-ca', certs!.caFile, '--tls-cert', certs!.clientCertFile, '--tls-key', certs!.clientKeyFile, '--tls-servername', certs!.serverName]
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('passes every check with the README least-privilege user and an admin connection, and exits 0', async () => {
    const report = await doctorJson(['--url', appUrl, '--namespace', namespace, ...tlsFlags], { STRATA_DOCTOR_ADMIN_URL: adminUrl })
    expect(report.checks.map((c) => c.id)).toEqual([...POSTURE_CHECK_IDS])
    for (const c of report.checks) expect({ id: c.id, status: c.status, message: c.message }).toMatchObject({ status: 'pass' })
    const checks = byId(report)
    expect(checks.tls?.message).toMatch(/TLS in use: TLSv1\.[23], .+, with a client certificate/)
    expect(checks['tls-certificate']?.message).toMatch(/valid until .* \((399|400) days\)/)
    expect(checks['auth-required']?.message).toContain('NOAUTH')
    expect(checks['default-user']?.message).toBe('the default user is disabled')
    expect(checks['required-permissions']?.message).toContain(`user "${namespace}" may run all`)
    expect(checks['dangerous-commands']?.message).toContain(`user "${namespace}" may run none of FLUSHALL`)
    expect(report).toMatchObject({ status: 'pass', exitCode: 0, counts: { pass: POSTURE_CHECK_IDS.length, warn: 0, fail: 0, skip: 0 } })
    expect(report.target).toBe(`rediss://${namespace}:***@127.0.0.1:${server.port}`)
  })

  it('says what the least-privilege user alone cannot check and why, and still exits 0', async () => {
    const { code, out, err } = await doctor(['--url', appUrl, '--namespace', namespace, ...tlsFlags])
    expect(err).toBe('')
    expect(code).toBe(0)
    for (const id of ['default-user', 'protected-mode', 'required-permissions', 'least-privilege', 'dangerous-commands']) {
      expect(out).toMatch(new RegExp(`^  SKIP  ${id} +could not check .*NOPERM`, 'm'))
    }
    expect(out).toContain('how: give an admin connection (strata doctor --admin-url')
    // INFO and TIME are in the least-privilege rules: these are checked as the user.
    for (const id of ['tls', 'tls-certificate', 'auth-required', 'maxmemory', 'eviction-policy', 'server-version', 'clock-skew']) {
      expect(out).toMatch(new RegExp(`^  PASS  ${id} `, 'm'))
    }
  })

  it('exits 1 at once with a clear message on a wrong password', async () => {
    const url = `rediss://${namespace}:${WRONG_PASSWORD}@127.0.0.1:${server.port}`
    const started = performance.now()
    const { code, out, err } = await doctor(['--url', url, '--namespace', namespace, '--timeout', '1s', ...tlsFlags])
    expect(code).toBe(1)
    expect(performance.now() - started).toBeLessThan(1000 + SLACK_MS)
    expect(err).toMatch(/^strata doctor: cannot connect to Redis at rediss:\/\/.*:\*\*\*@127\.0\.0\.1:\d+: WRONGPASS/)
    expect(out).toBe('')
  })

  it('names a wrong admin password as the admin connection\'s', async () => {
    const { code, err } = await doctor(['--url', appUrl, '--namespace', namespace, '--admin-url', `rediss://admin:${WRONG_PASSWORD}@127.0.0.1:${server.port}`, ...tlsFlags])
    expect(code).toBe(1)
    expect(err).toMatch(/^strata doctor: admin connection \(--admin-url\): cannot connect .*WRONGPASS/)
  })
})

describe.skipIf(!ready)('strata doctor and a server certificate near its expiry', () => {
  // The helper's certificates are valid for 2 days.
  const certs = ready ? makeTlsFixture() : undefined
  let server: RedisServer
  beforeAll(async () => {
    server = await startRedis({ tls: certs })
  })
  afterAll(async () => {
    await server?.stop()
  })

  it('warns that the certificate expires within 30 days', async () => {
    const report = await doctorJson(['--url', server.url, '--tls-ca', certs!.caFile, '--tls-servername', certs!.serverName])
    expect(byId(report)['tls-certificate']).toMatchObject({ status: 'warn', message: expect.stringMatching(/expires on .*, in [01] day\(s\)/), fix: expect.stringContaining('renew') })
    expect(byId(report).tls?.status).toBe('pass')
  })
})

describe.skipIf(!ready)('strata doctor output', () => {
  it('never contains a password used by any run of this file', () => {
    expect(outputs.length).toBeGreaterThan(10)
    for (const text of outputs) {
      for (const secret of SECRETS) expect(text).not.toContain(secret)
    }
  })
})
