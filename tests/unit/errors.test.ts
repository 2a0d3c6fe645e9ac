import { describe, expect, it } from 'vitest'
import { CacheError, errors } from '../../src/errors.js'

describe('errors', () => {
  it('pins every code: the map key, the static code and the instance code agree', () => {
    expect(Object.keys(errors).sort()).toEqual([
      'E_BACKUP_FORMAT',
      'E_CODEC_DECODE',
      'E_CODEC_ENCODE',
      'E_COHERENCE_UNAVAILABLE',
      'E_DECRYPT_FAILED',
      'E_FACTORY_ERROR',
      'E_FACTORY_TIMEOUT',
      'E_INVALID_KEY',
      'E_INVALID_OPTIONS',
      'E_L2_UNAVAILABLE',
      'E_LOCK_TIMEOUT',
      'E_PEER_MISSING',
      'E_UNDEFINED_VALUE',
      'E_UNKNOWN_KEY_ID',
      'E_VALUE_TOO_LARGE',
    ])
    for (const [code, ErrorClass] of Object.entries(errors)) expect(ErrorClass.code).toBe(code)
    const samples: CacheError[] = [
      new errors.E_INVALID_OPTIONS([{ path: 'a', message: 'b' }]),
      new errors.E_UNDEFINED_VALUE('k'),
      new errors.E_INVALID_KEY('', 'empty'),
      new errors.E_VALUE_TOO_LARGE('k', 2, 1),
      new errors.E_FACTORY_ERROR('k', new Error('x')),
      new errors.E_FACTORY_TIMEOUT('k', 100),
      new errors.E_LOCK_TIMEOUT('k', 100),
      new errors.E_L2_UNAVAILABLE('get', new Error('x')),
      new errors.E_CODEC_ENCODE('k', new Error('x')),
      new errors.E_CODEC_DECODE('bad'),
      new errors.E_PEER_MISSING('prom-client', 'metrics'),
      new errors.E_COHERENCE_UNAVAILABLE('NOPERM', new Error('x')),
      new errors.E_DECRYPT_FAILED(2, 'failed authentication'),
      new errors.E_UNKNOWN_KEY_ID(7),
      new errors.E_BACKUP_FORMAT('bad record', { offset: 10, record: 2, restored: 1 }),
    ]
    for (const error of samples) {
      expect(error).toBeInstanceOf(CacheError)
      expect(error.code).toBe((error.constructor as typeof CacheError).code)
      expect(error.name).toBe(error.constructor.name)
    }
  })

  it('keeps the cause and names the fix in the message', () => {
    const cause = new Error('db down')
    const error = new errors.E_FACTORY_ERROR('user:1', cause)
    expect(error.cause).toBe(cause)
    expect(error.message).toContain('user:1')
    expect(new errors.E_UNDEFINED_VALUE('k').message).toMatch(/store null instead/)
    expect(new errors.E_PEER_MISSING('prom-client', 'metrics').message).toMatch(/npm install prom-client/)
  })

  it('never prints a whole long key', () => {
    const error = new errors.E_INVALID_KEY('x'.repeat(5000), 'too long')
    expect(error.message.length).toBeLessThan(200)
  })
})
