import { hkdfSync, randomBytes } from 'node:crypto'
import { inspect } from 'node:util'

import { describe, expect, it } from 'vitest'

import { GenericRedisCache, InvalidOptionsError, type GenericRedisCacheOptions } from '../../../src/index.js'
import { resolveRedisCacheOptions } from '../../../src/options/resolve-cache-options.js'
import { deriveKey } from '../../../src/security/hkdf.js'

const KEY_A = randomBytes(32)
const KEY_B = randomBytes(32)
const SECRET = `secret-${randomBytes(24).toString('hex')}`

/** Every form a key takes in these tests: none may appear in any output. */
const MATERIAL = [KEY_A.toString('base64'), KEY_A.toString('hex'), KEY_A.toString('base64url'), KEY_B.toString('base64'), KEY_B.toString('hex'), SECRET]

function expectNoKeyMaterial(text: string): void {
  for (const secret of MATERIAL) expect(text).not.toContain(secret)
  // A Buffer printed by util.inspect shows its bytes as hex pairs.
  expect(text).not.toContain(inspect(KEY_A).slice(8, 40))
}

function optionsError(options: GenericRedisCacheOptions): InvalidOptionsError {
  try {
    new GenericRedisCache({ l1: false, ...options })
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidOptionsError)
    expectNoKeyMaterial((error as Error).message)
    expectNoKeyMaterial(inspect(error, { depth: 10 }))
    expectNoKeyMaterial(JSON.stringify(error))
    return error as InvalidOptionsError
  }
  return expect.fail('expected E_INVALID_OPTIONS')
}

const paths = (error: InvalidOptionsError) => error.issues.map((issue) => issue.path)

describe('encryption options', () => {
  it('accepts 32-byte Buffers and Uint8Arrays, base64 and base64url strings, and HKDF secrets', () => {
    const resolved = resolveRedisCacheOptions({
      encryption: {
        keys: { 1: KEY_A, 2: new Uint8Array(KEY_B), 3: KEY_A.toString('base64'), 4: KEY_B.toString('base64url'), 255: { secret: SECRET, salt: 'app' } },
        current: 255,
        rekeyOnRead: true,
      },
    })
    expect(resolved.encryption).not.toBe(false)
    if (resolved.encryption === false) return
    expect(resolved.encryption.keyRing.ids).toEqual([1, 2, 3, 4, 255])
    expect(resolved.encryption.keyRing.current).toBe(255)
    expect(resolved.encryption.rekeyOnRead).toBe(true)
    expect(resolveRedisCacheOptions({}).encryption).toBe(false)
  })

  it('rejects a key of the wrong length, bad base64, a bad secret, with the path and without the key', () => {
    const error = optionsError({
      encryption: {
        keys: { 1: KEY_A.subarray(0, 31), 2: KEY_B.toString('base64').slice(0, 40), 3: `${KEY_A.toString('base64').slice(0, 20)}!!`, 4: { secret: 'short' }, 5: Buffer.concat([KEY_A, KEY_B]) },
        current: 1,
      },
    })
    expect(paths(error)).toEqual(['encryption.keys.1', 'encryption.keys.2', 'encryption.keys.3', 'encryption.keys.4.secret', 'encryption.keys.5'])
    expect(error.message).toMatch(/keys\.1: expected a 32-byte key \(AES-256\); got 31 bytes/)
    expect(error.message).toMatch(/keys\.2: expected a base64 string of 32 bytes .*decodes to 30 bytes/)
    expect(error.message).toMatch(/keys\.3: .*that is not valid base64/)
    expect(error.message).toMatch(/keys\.5: .*got 64 bytes/)
    expect(error.code).toBe('E_INVALID_OPTIONS')
  })

  it('rejects key ids outside 1..255 and a current id that is not listed', () => {
    const error = optionsError({ encryption: { keys: { 0: KEY_A, 256: KEY_B, 1.5: KEY_A }, current: 2 } })
    expect(paths(error)).toEqual(['encryption.keys.0', 'encryption.keys.256', 'encryption.keys.1.5', 'encryption.current'])
    expect(error.message).toMatch(/integers from 1 to 255/)
    const notListed = optionsError({ encryption: { keys: { 1: KEY_A }, current: 2 } })
    expect(notListed.issues).toEqual([{ path: 'encryption.current', message: expect.stringMatching(/key id 2 is not in encryption.keys \(listed: 1\)/) as unknown }])
    expect(paths(optionsError({ encryption: { keys: { 1: KEY_A }, current: 0 } }))).toEqual(['encryption.current'])
    // A key pasted as the id: reported by its length, never printed.
    expect(paths(optionsError({ encryption: { keys: { [KEY_A.toString('base64')]: KEY_B }, current: 1 } }))).toEqual(['encryption.keys.(a 44-character name)', 'encryption.current'])
    expect(paths(optionsError({ encryption: { keys: { 1: KEY_A }, current: 256 } }))).toEqual(['encryption.current'])
  })

  it('reports every problem at once, including unknown fields and a missing key set', () => {
    const error = optionsError({ encryption: { keys: {}, current: 1, rekeyOnRead: 'yes', extra: 1 } as never })
    expect(paths(error).sort()).toEqual(['encryption.extra', 'encryption.keys', 'encryption.rekeyOnRead'])
    expect(paths(optionsError({ encryption: KEY_A.toString('base64') as never }))).toEqual(['encryption'])
    expect(paths(optionsError({ encryption: { keys: { 1: 12345 as never }, current: 1 } }))).toEqual(['encryption.keys.1'])
    expect(paths(optionsError({ encryption: { keys: { 1: { secret: SECRET, pepper: 'x' } as never }, current: 1 } }))).toEqual(['encryption.keys.1.pepper'])
  })

  it('derives keys with HKDF-SHA256, with info naming the project, the purpose and the key id', () => {
    const expected = Buffer.from(hkdfSync('sha256', SECRET, 'salt', 'strata-cache/encryption-at-rest/v1/key-id:7', 32))
    expect(deriveKey(SECRET, 'salt', 7)).toEqual(expected)
    expect(deriveKey(SECRET, 'salt', 8)).not.toEqual(expected)
    expect(deriveKey(SECRET, 'other', 7)).not.toEqual(expected)
    expect(deriveKey(SECRET, '', 7)).toHaveLength(32)
  })

  it('never shows a key through util.inspect, JSON.stringify or String, of the cache or its options', () => {
    const options = { keys: { 1: KEY_A, 2: KEY_B.toString('base64'), 3: { secret: SECRET } }, current: 2 }
    const cache = new GenericRedisCache({ l1: false, encryption: options })
    const resolved = resolveRedisCacheOptions({ encryption: options })
    for (const view of [inspect(cache, { depth: 20, showHidden: true }), inspect(resolved, { depth: 20, showHidden: true }), JSON.stringify(resolved), String(resolved.encryption && resolved.encryption.keyRing), JSON.stringify(cache.getStats())]) {
      expectNoKeyMaterial(view)
    }
    expect(inspect(resolved.encryption)).toMatch(/KeyRing\(ids: 1, 2, 3; current: 2\)/)
    expect(JSON.stringify(resolved.encryption)).toBe('{"keyRing":{"ids":[1,2,3],"current":2},"rekeyOnRead":false}')
  })
})
