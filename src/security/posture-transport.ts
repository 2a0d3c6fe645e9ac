/**
 * Posture checks of the way in: TLS and its certificate, whether Redis asks for credentials, and
 * protected mode.
 */
import { isIP } from 'node:net'

import { errorMessage } from '../errors.js'
import { type PostureCheck, type PostureProbe, check, configValue, skipped } from './posture-check.js'
import { negotiateTls, type TlsSession } from './secure-connection.js'

/** A server certificate closer than this to its expiry is a warning. */
export const CERT_WARNING_DAYS = 30
const DAY_MS = 86_400_000

/**
 * `tls` and `tls-certificate`: TLS in use (plain TCP is a failure to another host, a warning on
 * loopback, where the traffic never leaves the machine), and the server certificate's expiry.
 * The certificate is read from a handshake of its own that sends nothing: it is read even when
 * it no longer verifies, so an expired one is reported as such.
 */
export async function checkTls(probe: PostureProbe): Promise<PostureCheck[]> {
  if (probe.tls === false) {
    const fix = 'serve TLS (tls-port, tls-cert-file, tls-key-file; port 0 to close plain TCP) and connect with a rediss:// URL'
    const local = isLoopback(probe.host)
    const message = local
      ? `plain TCP to ${probe.host} (loopback: the traffic stays on this machine, but any local process can read it)`
      : `plain TCP to ${probe.host}: passwords and cached values cross the network readable and changeable`
    return [check('tls', local ? 'warn' : 'fail', message, fix), check('tls-certificate', 'skip', 'no TLS: no server certificate to check')]
  }
  let session: TlsSession
  try {
    // Verification is the user's connection's job (it already succeeded); this one only reads.
    session = await negotiateTls({ ...probe.tls, rejectUnauthorized: false }, { host: probe.host, port: probe.port }, probe.timeoutMs)
  } catch (error) {
    const message = `the TLS handshake to read the certificate failed: ${errorMessage(error)}`
    return [check('tls', 'pass', 'TLS is in use (the connection was made with TLS)'), check('tls-certificate', 'skip', message)]
  }
  const mutual = session.clientCertificate ? ', with a client certificate' : ''
  const tls = check('tls', 'pass', `TLS in use: ${session.version}, ${session.cipher}${mutual}`)
  const validTo = session.serverCertificate?.validTo
  if (validTo === undefined) return [tls, check('tls-certificate', 'skip', 'the server presented no certificate that could be read')]
  return [tls, certificateExpiry(validTo, (probe.now ?? Date.now)())]
}

/** `tls-certificate` for a certificate valid until `validTo` (as in an X.509 certificate), at `now`. */
export function certificateExpiry(validTo: string, now: number): PostureCheck {
  const expiresAt = Date.parse(validTo)
  const days = Math.floor((expiresAt - now) / DAY_MS)
  const renew = "renew the server certificate and reload it (CONFIG SET tls-cert-file … or a restart); clients trust it again at once"
  if (Number.isNaN(expiresAt)) return check('tls-certificate', 'skip', `the certificate's expiry "${validTo}" could not be read`)
  if (expiresAt <= now) return check('tls-certificate', 'fail', `the server certificate expired on ${validTo}: verifying clients refuse to connect`, renew)
  if (days < CERT_WARNING_DAYS) return check('tls-certificate', 'warn', `the server certificate expires on ${validTo}, in ${days} day(s)`, renew)
  return check('tls-certificate', 'pass', `the server certificate is valid until ${validTo} (${days} days)`)
}

/**
 * `auth-required`: a connection with no credentials (same TLS) is refused. Resolves whether it
 * was, for `protected-mode`.
 */
export async function checkAuthRequired(probe: PostureProbe): Promise<{ result: PostureCheck; required: boolean }> {
  let reply
  try {
    reply = await probe.pingWithoutCredentials()
  } catch (error) {
    // Refused before any command (a client certificate required, a connection limit): no
    // anonymous command runs, which is what this check is about.
    return { result: check('auth-required', 'pass', `a connection without credentials was refused: ${errorMessage(error)}`), required: true }
  }
  if (!reply.ok) return { result: check('auth-required', 'pass', `a connection without credentials is refused (${reply.error})`), required: true }
  const fix = "disable the default user (ACL SETUSER default off) and connect as an ACL user with a password (README 'Least-privilege ACL'); at least set requirepass"
  return { result: check('auth-required', 'fail', 'a connection without credentials is accepted: anyone who reaches the port can read, change or flush the cache', fix), required: false }
}

/**
 * `protected-mode`: on, or off with credentials required. Off while anonymous connections are
 * accepted is a failure: Redis then answers every host it is bound to.
 */
export async function checkProtectedMode(probe: PostureProbe, authRequired: boolean): Promise<PostureCheck> {
  let value: string
  try {
    value = await configValue(probe, 'protected-mode')
  } catch (error) {
    return skipped('protected-mode', error, 'protected mode (CONFIG GET protected-mode)')
  }
  if (value === 'yes') return check('protected-mode', 'pass', 'protected mode is on')
  const fix = 'CONFIG SET protected-mode yes (and protected-mode yes in redis.conf), or require a password for every user'
  if (!authRequired) return check('protected-mode', 'fail', 'protected mode is off and no password is required: Redis answers anonymous clients on every address it is bound to', fix)
  return check('protected-mode', 'warn', 'protected mode is off (passwords are required, so it would only matter if they were removed)', fix)
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return host === '::1' || host === '[::1]'
}
