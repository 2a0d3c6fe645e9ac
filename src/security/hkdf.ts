import { hkdfSync } from 'node:crypto'

/** Bytes of every encryption key: AES-256. */
export const KEY_BYTES = 32

/**
 * Derives the 32-byte key of `keyId` from a secret with HKDF-SHA256 (RFC 5869). The info names
 * the project, the purpose and the key id, so one secret never yields the same key for two ids
 * or for another use. HKDF spreads a secret's entropy, it does not add any and does not slow
 * down guessing: the secret must already be random (a generated value, not a password).
 * The caller owns the returned buffer and should zero it once the key is imported.
 */
export function deriveKey(secret: string, salt: string, keyId: number): Buffer {
  const info = `strata-cache/encryption-at-rest/v1/key-id:${keyId}`
  return Buffer.from(hkdfSync('sha256', secret, salt, info, KEY_BYTES))
}
