import type { OptionIssue } from '../errors.js'
import { KEY_BYTES, deriveKey } from '../security/hkdf.js'
import { KeyRing } from '../security/key-ring.js'
import { booleanOption, isRecord, rejectUnknownKeys } from '../shared/validate.js'

/**
 * One encryption key: 32 raw bytes, the same as a base64 string (standard with padding, or
 * base64url), or derived with HKDF-SHA256 from a random secret (see `security/hkdf.ts`).
 */
export type EncryptionKey = Uint8Array | string | EncryptionSecret

/** A key derived with HKDF-SHA256 from `secret`, `salt` and the key id. */
export interface EncryptionSecret {
  /**
   * A random secret of at least 16 bytes (for example 32 random bytes in base64). HKDF does not
   * slow down guessing: never a password.
   */
  readonly secret: string
  /** @default '' (HKDF's zero salt) */
  readonly salt?: string
}

/**
 * Encryption at rest of the values stored in Redis: AES-256-GCM after serialization and
 * compression. Each entry records the id of the key it was encrypted with; `current` encrypts,
 * every listed key decrypts, so keys rotate without a flush (see the README, "Encryption at rest").
 */
export interface EncryptionOptions {
  /**
   * Keys by id. Ids are integers from 1 to 255 (stored in one header byte). Keep a retired key
   * listed until `strata rekey` (or `rekey()`) has rewritten its entries: an entry under an id
   * not listed here is a miss and is deleted.
   * @example { 1: process.env.CACHE_KEY_1, 2: { secret: process.env.CACHE_SECRET_2 } }
   */
  readonly keys: Readonly<Record<number, EncryptionKey>>
  /** Id of the key new entries are encrypted with; must be listed in `keys`. */
  readonly current: number
  /**
   * Rewrite an entry read under an older listed key with the current one (compare-and-set: only
   * if it is unchanged; its remaining TTL is kept), so hot keys move to the new key by themselves.
   * @default false
   */
  readonly rekeyOnRead?: boolean
}

/** Encryption after validation: the key ring and the lazy re-encryption setting. */
export interface ResolvedEncryption {
  readonly keyRing: KeyRing
  readonly rekeyOnRead: boolean
}

const MIN_SECRET_BYTES = 16
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/
const BASE64URL = /^[A-Za-z0-9_-]*$/

/**
 * Validates `encryption` and builds its key ring. Every issue is recorded under its path
 * (`encryption.keys.2`); no message ever quotes key material, only lengths and types.
 */
export function resolveEncryption(raw: unknown, issues: OptionIssue[]): ResolvedEncryption | false {
  if (raw === undefined || raw === false) return false
  if (!isRecord(raw)) {
    issues.push({ path: 'encryption', message: `expected { keys, current, rekeyOnRead? }; got ${typeName(raw)}` })
    return false
  }
  rejectUnknownKeys(raw, ['keys', 'current', 'rekeyOnRead'], 'encryption.', issues)
  const before = issues.length
  const keys = resolveKeys(raw.keys, issues)
  const current = raw.current
  const listed = isRecord(raw.keys) ? Object.keys(raw.keys).filter((name) => /^[1-9][0-9]{0,2}$/.test(name) && Number(name) <= 255) : []
  if (typeof current !== 'number' || !Number.isInteger(current) || current < 1 || current > 255) {
    const got = typeof current === 'number' ? String(current) : typeName(current)
    issues.push({ path: 'encryption.current', message: `expected a key id, an integer from 1 to 255; got ${got}` })
  } else if (keys !== undefined && !listed.includes(String(current))) {
    issues.push({ path: 'encryption.current', message: `key id ${current} is not in encryption.keys (listed: ${listed.join(', ')}); add it there` })
  }
  const rekeyOnRead = booleanOption(raw.rekeyOnRead ?? false, 'encryption.rekeyOnRead', issues) ?? false
  if (keys === undefined || issues.length > before) {
    for (const key of keys?.values() ?? []) key.fill(0)
    return false
  }
  const keyRing = new KeyRing(keys, current as number)
  for (const key of keys.values()) key.fill(0)
  return Object.freeze({ keyRing, rekeyOnRead })
}

/** Raw 32-byte keys by id (copies the caller may zero), or `undefined` when `keys` is no object. */
function resolveKeys(raw: unknown, issues: OptionIssue[]): Map<number, Uint8Array> | undefined {
  if (!isRecord(raw) || Object.keys(raw).length === 0) {
    issues.push({ path: 'encryption.keys', message: 'expected an object of keys by id, such as { 1: key }, with at least one key' })
    return undefined
  }
  const keys = new Map<number, Uint8Array>()
  for (const [name, value] of Object.entries(raw)) {
    // A name longer than any id may be a key pasted in the wrong place: never print it.
    const path = `encryption.keys.${name.length > 4 ? `(a ${name.length}-character name)` : name}`
    const id = /^[1-9][0-9]{0,2}$/.test(name) ? Number(name) : 0
    if (id < 1 || id > 255) {
      issues.push({ path, message: 'key ids are integers from 1 to 255 (each entry stores its key id in one byte)' })
      continue
    }
    const key = keyBytes(value, id, path, issues)
    if (key !== undefined) keys.set(id, key)
  }
  return keys
}

function keyBytes(value: unknown, id: number, path: string, issues: OptionIssue[]): Uint8Array | undefined {
  if (value instanceof Uint8Array) {
    if (value.length === KEY_BYTES) return Uint8Array.from(value)
    issues.push({ path, message: `expected a ${KEY_BYTES}-byte key (AES-256); got ${value.length} bytes` })
    return undefined
  }
  if (typeof value === 'string') return base64Key(value, path, issues)
  if (isRecord(value) && 'secret' in value) return secretKey(value, id, path, issues)
  issues.push({
    path,
    message: `expected ${KEY_BYTES} bytes (a Buffer or Uint8Array), a base64 string of ${KEY_BYTES} bytes, or { secret, salt? }; got ${typeName(value)}`,
  })
  return undefined
}

function base64Key(value: string, path: string, issues: OptionIssue[]): Uint8Array | undefined {
  const text = value.trim()
  const standard = BASE64.test(text)
  if (!standard && !BASE64URL.test(text)) {
    issues.push({ path, message: `expected a base64 string of ${KEY_BYTES} bytes; got a ${value.length}-character string that is not valid base64 (44 characters with padding, or base64url)` })
    return undefined
  }
  const bytes = Buffer.from(text, standard ? 'base64' : 'base64url')
  if (bytes.length === KEY_BYTES) return bytes
  bytes.fill(0)
  issues.push({ path, message: `expected a base64 string of ${KEY_BYTES} bytes (44 characters); it decodes to ${bytes.length} bytes` })
  return undefined
}

function secretKey(value: Record<string, unknown>, id: number, path: string, issues: OptionIssue[]): Uint8Array | undefined {
  rejectUnknownKeys(value, ['secret', 'salt'], `${path}.`, issues)
  const { secret, salt = '' } = value
  let ok = true
  if (typeof secret !== 'string' || Buffer.byteLength(secret) < MIN_SECRET_BYTES) {
    const got = typeof secret === 'string' ? `${Buffer.byteLength(secret)} bytes` : typeName(secret)
    issues.push({ path: `${path}.secret`, message: `expected a random string of at least ${MIN_SECRET_BYTES} bytes; got ${got}` })
    ok = false
  }
  if (typeof salt !== 'string') {
    issues.push({ path: `${path}.salt`, message: `expected a string; got ${typeName(salt)}` })
    ok = false
  }
  return ok ? deriveKey(secret as string, salt as string, id) : undefined
}

/** The type of a value, never the value: options here hold secrets. */
function typeName(value: unknown): string {
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'an array'
  return `a ${typeof value}`
}
