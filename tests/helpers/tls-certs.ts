/**
 * Throwaway certificates for TLS tests, made with the `openssl` command line in a temporary
 * directory: a CA, a server certificate it signs for the name `redis.test` (and no IP address, so
 * connecting to 127.0.0.1 without `servername` is a hostname mismatch), and a second, unrelated
 * CA that a client can wrongly trust.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll } from 'vitest'

/** The files and PEM texts of one fixture. */
export interface TlsFixture {
  /** The name in the server certificate's subjectAltName. */
  readonly serverName: string
  readonly caFile: string
  readonly certFile: string
  readonly keyFile: string
  /** PEM of the CA that signed the server certificate. */
  readonly ca: string
  /** PEM of a CA that did not. */
  readonly otherCa: string
}

/** Whether `openssl` runs. Throws under `CI` when it does not; warns loudly and returns false otherwise. */
export function requireOpenssl(): boolean {
  try {
    execFileSync('openssl', ['version'], { stdio: 'ignore' })
    return true
  } catch {
    const why = 'openssl was not found on PATH: install it (apt-get install openssl)'
    if (process.env.CI) throw new Error(`TLS tests need openssl under CI. ${why}`)
    const bar = '!'.repeat(78)
    console.warn(`\n${bar}\n!! SKIPPING TLS TESTS\n!! ${why}\n${bar}\n`)
    return false
  }
}

/** Makes a fresh fixture; its directory is removed after the enclosing suite. */
export function makeTlsFixture(): TlsFixture {
  const dir = mkdtempSync(join(tmpdir(), 'strata-tls-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const file = (name: string): string => join(dir, name)
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  }
  const selfSignedCa = (name: string): void => {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.pem`)
  }
  selfSignedCa('strata-test-ca')
  selfSignedCa('strata-other-ca')
  const serverName = 'redis.test'
  writeFileSync(file('server.ext'), `subjectAltName=DNS:${serverName}\n`)
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${serverName}`, '-keyout', 'server.key', '-out', 'server.csr')
  openssl('x509', '-req', '-in', 'server.csr', '-CA', 'strata-test-ca.pem', '-CAkey', 'strata-test-ca.key', '-CAcreateserial', '-days', '2', '-extfile', 'server.ext', '-out', 'server.pem')
  return {
    serverName,
    caFile: file('strata-test-ca.pem'),
    certFile: file('server.pem'),
    keyFile: file('server.key'),
    ca: readFileSync(file('strata-test-ca.pem'), 'utf8'),
    otherCa: readFileSync(file('strata-other-ca.pem'), 'utf8'),
  }
}
