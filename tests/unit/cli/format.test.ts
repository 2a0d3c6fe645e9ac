import { describe, expect, it } from 'vitest'
import { formatBytes, formatCount, formatRatio, formatUptime, redactSecrets, redactUrl, renderTable } from '../../../src/cli/format.js'

describe('redactUrl', () => {
  it('replaces the password and keeps the user, host, port and database', () => {
    expect(redactUrl('redis://alice:s3cret@cache.internal:6380/2')).toBe('redis://alice:***@cache.internal:6380/2')
    expect(redactUrl('rediss://:s3cret@cache:6379')).toBe('rediss://:***@cache:6379')
  })

  it('redacts a user-info part without a colon, which some clients read as a password', () => {
    expect(redactUrl('redis://s3cret@cache:6379')).toBe('redis://***@cache:6379')
  })

  it('leaves a URL without credentials unchanged', () => {
    expect(redactUrl('redis://127.0.0.1:6379/0')).toBe('redis://127.0.0.1:6379/0')
    expect(redactUrl('not a url')).toBe('not a url')
  })

  it('does not treat an @ after the host as credentials', () => {
    expect(redactUrl('redis://cache:6379/0?name=a@b')).toBe('redis://cache:6379/0?name=a@b')
  })
})

describe('redactSecrets', () => {
  it('redacts the credentials of every redis:// and rediss:// URL in a message, and keeps the rest', () => {
    expect(redactSecrets('cannot connect to Redis at redis://:Redis@127.0.0.1:6379: connect ECONNREFUSED 127.0.0.1:6379')).toBe(
      'cannot connect to Redis at redis://:***@127.0.0.1:6379: connect ECONNREFUSED 127.0.0.1:6379',
    )
    expect(redactSecrets('from rediss://app:s3cret@a:1/2 to redis://b@c:3 via redis://d:4')).toBe(
      'from rediss://app:***@a:1/2 to redis://***@c:3 via redis://d:4',
    )
  })

  it('keeps a word equal to the password, and a host that contains it', () => {
    // The password 'Redis' and the password '127.0.0' must not be guessable from what is left.
    expect(redactSecrets('Redis said: Redis is loading')).toBe('Redis said: Redis is loading')
    expect(redactSecrets('redis://:127.0.0@127.0.0.1:1 refused: connect ECONNREFUSED 127.0.0.1:1')).toBe(
      'redis://:***@127.0.0.1:1 refused: connect ECONNREFUSED 127.0.0.1:1',
    )
  })

  it('redacts a password with @ or : in it, which ends at the last @ before the host', () => {
    expect(redactSecrets('at redis://u:p@ss:w@rd@cache:6379/0 failed')).toBe('at redis://u:***@cache:6379/0 failed')
  })

  it('redacts the values of known secret fields, quoted or not', () => {
    expect(redactSecrets('password=hunter2 user=app')).toBe('password=*** user=app')
    expect(redactSecrets('{"password":"hunter2","db":2}')).toBe('{"password":"***","db":2}')
    expect(redactSecrets("requirepass: 'hunter2', masterauth=hunter3")).toBe("requirepass: '***', masterauth=***")
    expect(redactSecrets('redis://cache:6379/0?password=hunter2&db=1')).toBe('redis://cache:6379/0?password=***&db=1')
  })

  it('leaves Redis error texts about passwords readable', () => {
    const text = 'WRONGPASS invalid username-password pair or user is disabled.'
    expect(redactSecrets(text)).toBe(text)
    expect(redactSecrets('NOAUTH Authentication required.')).toBe('NOAUTH Authentication required.')
  })

  it('is idempotent on redacted text', () => {
    const once = redactSecrets('redis://app:s3cret@cache:1 password=x')
    expect(redactSecrets(once)).toBe(once)
  })
})

describe('number formatting', () => {
  it('groups thousands in counts', () => {
    expect(formatCount(1_234_567)).toBe('1,234,567')
    expect(formatCount(0)).toBe('0')
  })

  it('prints bytes in binary units with one decimal', () => {
    expect(formatBytes(512)).toBe('512 B')
    expect(formatBytes(1536)).toBe('1.5 KiB')
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB')
  })

  it('prints a ratio as a percentage, and an unknown ratio as n/a', () => {
    expect(formatRatio(0.8333)).toBe('83.3%')
    expect(formatRatio(null)).toBe('n/a')
  })

  it('prints uptime as its two largest units', () => {
    expect(formatUptime(0)).toBe('0s')
    expect(formatUptime(59)).toBe('59s')
    expect(formatUptime(3600)).toBe('1h')
    expect(formatUptime(93_784)).toBe('1d 2h')
    expect(formatUptime(3_725)).toBe('1h 2m')
  })
})

describe('renderTable', () => {
  it('aligns values in one column across sections', () => {
    const text = renderTable([
      { title: 'A', rows: [['short', '1'], ['a longer label', '2']] },
      { title: 'B', rows: [['x', '3']] },
    ])
    expect(text).toBe('A\n  short           1\n  a longer label  2\n\nB\n  x               3\n')
  })
})
