import { readFileSync } from 'node:fs'
import { isIP } from 'node:net'
import type { ConnectionOptions } from 'node:tls'
import { X509Certificate, createPrivateKey } from 'node:crypto'

import type { SecurityConfig, SecurityFinding, SecurityLevel } from '../security/security-config.js'
import { isRecord } from '../shared/validate.js'

const SECURITY_KEYS = [
  'redisAuth', 'useTls', 'tlsCertPath', 'tlsKeyPath', 'tlsCaPath', 'aclUsername', 'aclPassword',
  'rejectUnauthorized', 'servername', 'minTlsVersion',
] as const
const TLS_FIELDS = ['tlsCertPath', 'tlsKeyPath', 'tlsCaPath', 'rejectUnauthorized', 'servername', 'minTlsVersion'] as const
const TLS_VERSIONS = ['TLSv1.2', 'TLSv1.3']
const OLD_TLS_VERSIONS = ['TLSv1', 'TLSv1.1', 'SSLv3']
/** A certificate closer than this to its expiry is reported. */
const EXPIRY_WARNING_DAYS = 30
const DAY_MS = 86_400_000

/** The connection as `redisUrl` and `redis` describe it, before `security` applies. */
export interface SecurityBase {
  readonly tls: false | ConnectionOptions
  readonly username: string | undefined
  readonly password: string | undefined
  /** Every host the cache connects to (cluster root nodes, or the one host). */
  readonly hosts: readonly string[]
}

/** What a review found, by level, and the connection settings `security` resolves to. */
export interface SecurityReview {
  readonly errors: SecurityFinding[]
  readonly warnings: SecurityFinding[]
  readonly recommendations: SecurityFinding[]
  readonly tls: false | ConnectionOptions
  readonly username: string | undefined
  readonly password: string | undefined
}

/**
 * Reviews `security` against the connection it applies to and resolves it into TLS options (the
 * certificate files read here, once) and credentials. The option resolver keeps the errors (each
 * one an `E_INVALID_OPTIONS` issue); `RedisCacheSecurityManager.validateSecurityConfig` reports
 * every level, and with `now` also checks the certificates' dates.
 */
export function reviewSecurity(raw: unknown, base: SecurityBase, check: { now?: number } = {}): SecurityReview {
  const review: SecurityReview = { errors: [], warnings: [], recommendations: [], tls: base.tls, username: base.username, password: base.password }
  const add = (level: SecurityLevel, code: string, field: string, message: string): void => {
    const list = level === 'error' ? review.errors : level === 'warning' ? review.warnings : review.recommendations
    list.push({ code, path: field === '' ? 'security' : field.includes('.') ? field : `security.${field}`, message })
  }
  if (!isRecord(raw)) {
    add('error', 'INVALID_VALUE', '', 'expected an object such as { aclUsername, aclPassword, useTls, tlsCaPath }')
    return review
  }
  for (const key of Object.keys(raw)) {
    if (!(SECURITY_KEYS as readonly string[]).includes(key)) add('error', 'UNKNOWN_OPTION', key, `unknown option; expected one of ${SECURITY_KEYS.join(', ')}`)
  }
  const config = typedFields(raw, add)
  const credentials = resolveCredentials(config, base, add)
  const tls = resolveSecureTls(config, base, add, check.now)
  postureFindings(config, base, { tls, ...credentials }, add)
  return { ...review, tls, ...credentials }
}

type Add = (level: SecurityLevel, code: string, field: string, message: string) => void

/** The fields with the expected types; a wrong type is an error and the field is left out. */
function typedFields(raw: Record<string, unknown>, add: Add): SecurityConfig {
  const config: Record<string, unknown> = {}
  for (const key of SECURITY_KEYS) {
    const value = raw[key]
    if (value === undefined) continue
    const wanted = key === 'useTls' || key === 'rejectUnauthorized' ? 'boolean' : 'string'
    // Never echo the value: it may be a password.
    if (typeof value !== wanted || value === '') add('error', 'INVALID_VALUE', key, `expected a ${wanted === 'string' ? 'non-empty string' : 'boolean'}`)
    else config[key] = value
  }
  const version = config.minTlsVersion as string | undefined
  if (version !== undefined && !TLS_VERSIONS.includes(version)) {
    const old = OLD_TLS_VERSIONS.includes(version)
    add('error', old ? 'TLS_VERSION_TOO_OLD' : 'INVALID_VALUE', 'minTlsVersion', `expected 'TLSv1.2' or 'TLSv1.3'${old ? `: ${version} is broken and no supported Redis needs it` : ''}`)
    delete config.minTlsVersion
  }
  return config
}

function resolveCredentials(config: SecurityConfig, base: SecurityBase, add: Add): { username: string | undefined; password: string | undefined } {
  const { redisAuth, aclUsername, aclPassword } = config
  if (redisAuth !== undefined && aclPassword !== undefined) {
    add('error', 'PASSWORD_TWICE', 'redisAuth', 'is given with security.aclPassword: give redisAuth for the default user, or aclUsername and aclPassword, not both')
  }
  if (redisAuth !== undefined && aclUsername !== undefined) {
    add('error', 'AUTH_WITH_ACL_USER', 'redisAuth', "is the default user's password: with security.aclUsername, give its password as security.aclPassword")
  }
  const password = aclPassword ?? redisAuth
  if (password !== undefined && base.password !== undefined) {
    add('error', 'PASSWORD_TWICE', aclPassword === undefined ? 'redisAuth' : 'aclPassword', 'a password is also given in redisUrl or redis.password: keep one of them (remove it from the URL)')
  }
  if (aclUsername !== undefined && base.username !== undefined && base.username !== aclUsername) {
    add('error', 'USER_CONFLICT', 'aclUsername', 'differs from the user of redisUrl or redis.username: keep one of them')
  }
  const username = aclUsername ?? base.username
  if (aclPassword !== undefined && username === undefined) {
    add('error', 'ACL_PASSWORD_WITHOUT_USER', 'aclPassword', "is given without a user: set security.aclUsername (or use redisAuth for the default user's password)")
  }
  return { username, password: password ?? base.password }
}

function resolveSecureTls(config: SecurityConfig, base: SecurityBase, add: Add, now: number | undefined): false | ConnectionOptions {
  const tlsFields = TLS_FIELDS.filter((field) => config[field] !== undefined)
  const explicitTls = base.tls !== false && Object.keys(base.tls).length > 0
  if (tlsFields.length > 0 && explicitTls) {
    add('error', 'TLS_CONFLICT', tlsFields[0]!, 'TLS options are also given in redis.socket.tls: give them in one place (security or redis.socket.tls)')
  }
  if (config.useTls === false && base.tls !== false) {
    add('error', 'TLS_CONFLICT', 'useTls', 'is false but redisUrl is rediss:// or redis.socket.tls is set: say TLS in one place')
  }
  const on = config.useTls ?? base.tls !== false
  if (!on) {
    if (tlsFields.length > 0) {
      add('error', 'TLS_OPTIONS_WITHOUT_TLS', tlsFields[0]!, 'is a TLS setting but TLS is off: set security.useTls: true (or use a rediss:// URL); plain TCP is never used for a TLS configuration')
    }
    return false
  }
  if (config.tlsKeyPath !== undefined && config.tlsCertPath === undefined) add('error', 'KEY_WITHOUT_CERT', 'tlsKeyPath', 'is given without security.tlsCertPath: a client certificate needs both')
  if (config.tlsCertPath !== undefined && config.tlsKeyPath === undefined) add('error', 'CERT_WITHOUT_KEY', 'tlsCertPath', 'is given without security.tlsKeyPath: a client certificate needs both')
  const ca = readPem(config.tlsCaPath, 'tlsCaPath', add)
  const cert = readPem(config.tlsCertPath, 'tlsCertPath', add)
  const key = readPem(config.tlsKeyPath, 'tlsKeyPath', add)
  checkCertificates({ ca, cert, key }, add, now)
  const tls: ConnectionOptions = explicitTls ? { ...base.tls } : {}
  if (ca !== undefined) tls.ca = ca
  if (cert !== undefined) tls.cert = cert
  if (key !== undefined) tls.key = key
  if (config.servername !== undefined) tls.servername = config.servername
  if (config.rejectUnauthorized !== undefined) tls.rejectUnauthorized = config.rejectUnauthorized
  if (config.minTlsVersion !== undefined) tls.minVersion = config.minTlsVersion
  return tls
}

function readPem(path: string | undefined, field: string, add: Add): Buffer | undefined {
  if (path === undefined) return undefined
  try {
    return readFileSync(path)
  } catch (error) {
    const code = (error as { code?: string }).code ?? 'error'
    add('error', 'FILE_UNREADABLE', field, `cannot read ${path} (${code}): check the path and that this process may read it`)
    return undefined
  }
}

/** Parses the certificates (and checks the key matches); with `now`, checks their dates too. */
function checkCertificates(files: { ca?: Buffer | undefined; cert?: Buffer | undefined; key?: Buffer | undefined }, add: Add, now: number | undefined): void {
  const parsed: Partial<Record<'ca' | 'cert', X509Certificate>> = {}
  for (const [name, field] of [['ca', 'tlsCaPath'], ['cert', 'tlsCertPath']] as const) {
    const pem = files[name]
    if (pem === undefined) continue
    try {
      parsed[name] = new X509Certificate(pem)
    } catch {
      add('error', 'CERT_INVALID', field, 'is not a PEM certificate: give the PEM file (-----BEGIN CERTIFICATE-----)')
      continue
    }
    if (now !== undefined) checkDates(parsed[name], field, add, now)
  }
  if (parsed.cert !== undefined && files.key !== undefined) {
    let matches = false
    try {
      matches = parsed.cert.checkPrivateKey(createPrivateKey(files.key))
    } catch {
      // Never quote the key's bytes: say only that it could not be read.
      add('error', 'KEY_INVALID', 'tlsKeyPath', 'is not a readable PEM private key (an encrypted key is not supported)')
      return
    }
    if (!matches) add('error', 'KEY_MISMATCH', 'tlsKeyPath', 'does not belong to the certificate of security.tlsCertPath: give the key the certificate was made for')
  }
}

function checkDates(cert: X509Certificate, field: string, add: Add, now: number): void {
  const validTo = Date.parse(cert.validTo)
  const validFrom = Date.parse(cert.validFrom)
  const days = Math.floor((validTo - now) / DAY_MS)
  if (validTo <= now) add('error', 'CERT_EXPIRED', field, `expired on ${cert.validTo}: renew it`)
  else if (validFrom > now) add('error', 'CERT_NOT_YET_VALID', field, `is valid only from ${cert.validFrom}: check the clock or the certificate`)
  else if (days < EXPIRY_WARNING_DAYS) add('warning', 'CERT_EXPIRES_SOON', field, `expires on ${cert.validTo}, in ${days} day(s): renew it`)
}

function postureFindings(
  config: SecurityConfig,
  base: SecurityBase,
  resolved: { tls: false | ConnectionOptions; username: string | undefined; password: string | undefined },
  add: Add,
): void {
  const remote = base.hosts.filter((host) => !isLoopback(host))
  if (resolved.tls === false && remote.length > 0) {
    add('warning', 'PLAINTEXT_REMOTE', 'useTls', `plain TCP to ${remote.join(', ')}: passwords and values cross the network readable; set security.useTls: true`)
  }
  if (resolved.tls !== false && resolved.tls.rejectUnauthorized === false) {
    add('warning', 'TLS_VERIFY_OFF', 'rejectUnauthorized', 'is false: any certificate is accepted, so the connection can be intercepted; trust the server CA with security.tlsCaPath instead')
  }
  if (resolved.password === undefined) {
    add('warning', 'NO_AUTH', resolved.username === undefined ? 'aclUsername' : 'aclPassword', 'no password is given: any client that reaches Redis can read and change the cache; use an ACL user with a password')
  }
  if (resolved.username === undefined || resolved.username === 'default') {
    add('recommendation', 'USE_ACL_USER', 'aclUsername', "the default user usually may run every command: use an ACL user limited to the namespace (README, 'Least-privilege ACL')")
  }
  if (resolved.tls !== false && config.minTlsVersion !== 'TLSv1.3') {
    add('recommendation', 'TLS13', 'minTlsVersion', "set 'TLSv1.3' when the server supports it")
  }
  if (resolved.tls !== false && resolved.tls.cert === undefined && remote.length > 0) {
    add('recommendation', 'MUTUAL_TLS', 'tlsCertPath', 'a client certificate (tls-auth-clients yes on the server) keeps clients without one from even reaching AUTH')
  }
}

function isLoopback(host: string): boolean {
  if (host === 'localhost') return true
  if (isIP(host) === 4) return host.startsWith('127.')
  return host === '::1' || host === '[::1]'
}
