import { describe, expect, it } from 'vitest'
import { infoNumber, infoText, parseInfo } from '../../../src/cli/redis-info.js'

const SAMPLE = [
  '# Server',
  'redis_version:7.2.4',
  'uptime_in_seconds:3600',
  '',
  '# Memory',
  'used_memory:1048576',
  'used_memory_human:1.00M',
  'maxmemory_policy:allkeys-lru',
  '# Keyspace',
  'db0:keys=12,expires=3,avg_ttl=0',
  '',
].join('\r\n')

describe('parseInfo', () => {
  it('reads field:value lines across sections and skips headings and blanks', () => {
    const fields = parseInfo(SAMPLE)
    expect(fields.get('redis_version')).toBe('7.2.4')
    expect(fields.get('used_memory_human')).toBe('1.00M')
    expect(fields.get('db0')).toBe('keys=12,expires=3,avg_ttl=0')
    expect(fields.has('# Server')).toBe(false)
  })

  it('accepts LF-only text', () => {
    expect(parseInfo('a:1\nb:2').get('b')).toBe('2')
  })
})

describe('infoNumber / infoText', () => {
  const fields = parseInfo(SAMPLE)

  it('returns numbers for numeric fields and null for absent or non-numeric ones', () => {
    expect(infoNumber(fields, 'used_memory')).toBe(1_048_576)
    expect(infoNumber(fields, 'keyspace_hits')).toBeNull()
    expect(infoNumber(fields, 'maxmemory_policy')).toBeNull()
  })

  it('returns text fields, or null when absent', () => {
    expect(infoText(fields, 'maxmemory_policy')).toBe('allkeys-lru')
    expect(infoText(fields, 'missing')).toBeNull()
  })
})
