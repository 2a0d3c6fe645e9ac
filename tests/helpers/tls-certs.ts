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
  const fixture = writeTlsFixture()
  afterAll(() => fixture.remove())
  return fixture
}

/** Makes a fresh fixture outside any test suite (the bench); `remove()` deletes its directory. */
export function writeTlsFixture(): TlsFixture & { remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'strata-tls-'))
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
    remove: () => rmSync(dir, { recursive: true, force: true }),
  }
}

/**
 * Files of {@link makeSecurityTlsFixture}: a CA and, signed by it, a server certificate for
 * `localhost` and 127.0.0.1, a client certificate and an expired server certificate; a second CA
 * with a server and a client certificate of its own. Each certificate has its key beside it.
 */
export interface SecurityTlsFixture {
  readonly caFile: string
  readonly otherCaFile: string
  /** SAN `DNS:localhost, IP:127.0.0.1`: valid for the URL's host without `servername`. */
  readonly server: { readonly certFile: string; readonly keyFile: string }
  /** Signed by the CA, for mutual TLS. */
  readonly client: { readonly certFile: string; readonly keyFile: string }
  /** Same names as `server`, but its validity ended a day before it was made. */
  readonly expiredServer: { readonly certFile: string; readonly keyFile: string }
  /** Same names as `server`, signed by the other CA. */
  readonly otherServer: { readonly certFile: string; readonly keyFile: string }
  /** Signed by the other CA: refused by a server that trusts only the CA. */
  readonly otherClient: { readonly certFile: string; readonly keyFile: string }
  /**
   * `redis-server` arguments for a TLS listener on `port` (beside the plain port the helper's
   * readiness check uses), presenting `cert` (default `server`), asking clients for a certificate
   * signed by the CA when `mutual`.
   */
  serverArgs(port: number, opts?: { cert?: { certFile: string; keyFile: string }; mutual?: boolean }): string[]
}

/** Makes a fresh {@link SecurityTlsFixture}; its directory is removed after the enclosing suite. */
export function makeSecurityTlsFixture(): SecurityTlsFixture {
  const dir = mkdtempSync(join(tmpdir(), 'strata-tls-sec-'))
  afterAll(() => rmSync(dir, { recursive: true, force: true }))
  const file = (name: string): string => join(dir, name)
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  }
  for (const ca of ['ca', 'other-ca']) {
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', `/CN=strata-${ca}`, '-keyout', `${ca}.key`, '-out', `${ca}.pem`)
  }
  writeFileSync(file('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\n')
  writeFileSync(file('client.ext'), 'extendedKeyUsage=clientAuth\n')
  // `-days -1` ends the validity a day before it starts: openssl 3 signs it, TLS clients refuse it as expired.
  const sign = (name: string, ca: string, ext: string, days: string) => {
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${name}`, '-keyout', `${name}.key`, '-out', `${name}.csr`)
    openssl('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-days', days, '-extfile', ext, '-out', `${name}.pem`)
    return { certFile: file(`${name}.pem`), keyFile: file(`${name}.key`) }
  }
  const server = sign('server', 'ca', 'server.ext', '2')
  const fixture = {
    caFile: file('ca.pem'),
    otherCaFile: file('other-ca.pem'),
    server,
    client: sign('client', 'ca', 'client.ext', '2'),
    expiredServer: sign('expired-server', 'ca', 'server.ext', '-1'),
    otherServer: sign('other-server', 'other-ca', 'server.ext', '2'),
    otherClient: sign('other-client', 'other-ca', 'client.ext', '2'),
    serverArgs: (port: number, opts: { cert?: { certFile: string; keyFile: string }; mutual?: boolean } = {}) => {
      const cert = opts.cert ?? server
      return ['--tls-port', String(port), '--tls-cert-file', cert.certFile, '--tls-key-file', cert.keyFile, '--tls-ca-cert-file', file('ca.pem'), '--tls-auth-clients', opts.mutual === true ? 'yes' : 'no']
    },
  }
  return fixture
}
