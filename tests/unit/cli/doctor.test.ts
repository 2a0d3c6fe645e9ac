/**
 * `strata doctor` without a server: its help lists every flag and exit code, invalid flags exit 2
 * before connecting (every problem at once), and a TLS file is named by path, never quoted.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { run } from '../../../src/cli/main.js'
import { resolveTlsFlags } from '../../../src/cli/tls-flags.js'
import { captureIo } from '../../helpers/cli-io.js'

describe('strata doctor (no server)', () => {
  it('documents every flag, every check id and the exit codes in --help', async () => {
    const io = captureIo()
    expect(await run(['doctor', '--help'], io)).toBe(0)
    for (const text of ['--url <url>', '--admin-url <url>', '$STRATA_DOCTOR_ADMIN_URL', '--tls-ca <file>', '--tls-cert <file>', '--tls-key <file>', '--tls-servername <name>', '--json', '--cluster', 'eviction-policy', 'clock-skew', 'Exit codes: 0 every check passed, 1 the worst is a warning, 2 a check failed']) {
      expect(io.out).toContain(text)
    }
  })

  it('exits 2 listing every invalid flag, and never prints the URL passwords', async () => {
    const io = captureIo()
    const code = await run(['doctor', '--url', 'redis://u:hunter2@127.0.0.1:1', '--admin-url', 'redis://a:sesame9@cache:99999999', '--timeout', 'soon'], io)
    expect(code).toBe(2)
    expect(io.err).toContain('E_INVALID_OPTIONS')
    expect(io.err).toContain('--timeout')
    expect(io.err).toContain('--admin-url: is not a valid redis:// URL')
    expect(io.out).toBe('')
    expect(io.err).not.toContain('hunter2')
    expect(io.err).not.toContain('sesame9')
  })

  it('reads the TLS files once, needs rediss:// and both halves of a client certificate', () => {
    const dir = mkdtempSync(join(tmpdir(), 'strata-doctor-unit-'))
    try {
      const ca = join(dir, 'ca.pem')
      writeFileSync(ca, 'PEM-CONTENT-NEVER-PRINTED')
      expect(resolveTlsFlags({}, 'rediss://h:1')).toBeUndefined()
      expect(resolveTlsFlags({ tlsCa: ca, tlsServername: 'redis.test' }, 'rediss://h:1')).toEqual({ ca: Buffer.from('PEM-CONTENT-NEVER-PRINTED'), servername: 'redis.test' })
      let message = ''
      try {
        resolveTlsFlags({ tlsCa: join(dir, 'missing.pem'), tlsKey: ca }, 'redis://h:1')
      } catch (error) {
        message = (error as Error).message
      }
      expect(message).toContain('--url: TLS flags need a rediss:// URL')
      expect(message).toContain('--tls-key: needs --tls-cert')
      expect(message).toContain(`--tls-ca: cannot read ${join(dir, 'missing.pem')} (ENOENT)`)
      expect(message).not.toContain('PEM-CONTENT')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})
