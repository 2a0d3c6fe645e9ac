import { ErrorReply } from '@redis/client'
import { describe, expect, it } from 'vitest'
import { connectionError, isPersistentFailure, reconnectDelayMs } from '../../../src/stores/redis-client.js'

describe('connection errors', () => {
  it('name their reason: the Redis error word or the Node error code', () => {
    expect(connectionError(new ErrorReply('WRONGPASS invalid username-password pair or user is disabled.'))).toEqual({
      code: 'WRONGPASS',
      message: 'WRONGPASS invalid username-password pair or user is disabled.',
    })
    expect(connectionError(new ErrorReply('ERR max number of clients reached')).code).toBe('ERR')
    expect(connectionError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })).code).toBe('ECONNREFUSED')
    const tls = Object.assign(new Error("Hostname/IP does not match certificate's altnames"), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' })
    expect(connectionError(tls).code).toBe('ERR_TLS_CERT_ALTNAME_INVALID')
    expect(connectionError('something odd').code).toBe('UNKNOWN')
  })

  it('treat refused credentials and certificates as persistent, and the rest as transient', () => {
    expect(isPersistentFailure(new ErrorReply('WRONGPASS invalid username-password pair'))).toBe(true)
    expect(isPersistentFailure(new ErrorReply('NOAUTH Authentication required.'))).toBe(true)
    expect(isPersistentFailure(Object.assign(new Error('self signed certificate'), { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' }))).toBe(true)
    expect(isPersistentFailure(Object.assign(new Error('unable to verify'), { code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' }))).toBe(true)
    expect(isPersistentFailure(Object.assign(new Error('altnames'), { code: 'ERR_TLS_CERT_ALTNAME_INVALID' }))).toBe(true)
    expect(isPersistentFailure(Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }))).toBe(false)
    expect(isPersistentFailure(new ErrorReply('ERR max number of clients reached'))).toBe(false)
    expect(isPersistentFailure(new ErrorReply('LOADING Redis is loading the dataset in memory'))).toBe(false)
  })

  it('back off between bounds with jitter', () => {
    expect(reconnectDelayMs(0, 1000, 30_000, () => 0)).toBe(500)
    expect(reconnectDelayMs(10, 1000, 30_000, () => 1)).toBe(30_000)
  })
})
