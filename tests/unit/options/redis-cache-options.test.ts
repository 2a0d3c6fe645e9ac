import { describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/core/generic-redis-cache.js'
import { errors, type InvalidOptionsError } from '../../../src/errors.js'
import { resolveRedisCacheOptions } from '../../../src/options/resolve-cache-options.js'

function issuesOf(build: () => unknown): string[] {
  try {
    build()
  } catch (error) {
    expect(error).toBeInstanceOf(errors.E_INVALID_OPTIONS)
    return (error as InvalidOptionsError).issues.map((issue) => issue.path).sort()
  }
  throw new Error('expected E_INVALID_OPTIONS')
}

describe('GenericRedisCache options', () => {
  it('turns durations into ms and fills every default', () => {
    const resolved = resolveRedisCacheOptions({ redisUrl: 'redis://h:1', defaultTtl: '10m', l2Timeout: 50 })
    expect(resolved).toMatchObject({
      namespace: 'strata',
      defaultTtlMs: 600_000,
      l2TimeoutMs: { read: 50, write: 50 },
      connectTimeoutMs: 2_000,
      l1: { maxEntries: 10_000, maxBytes: undefined },
      compression: false,
      breaker: { failureThreshold: 5, openMs: 1_000 },
      suppressL2Errors: true,
    })
    expect(Object.isFrozen(resolved)).toBe(true)
  })

  it('reports every invalid option at once, with its path', () => {
    expect(
      issuesOf(
        () =>
          new GenericRedisCache({
            redisUrl: 'http://nope',
            l1: { maxEntries: -1, maxItems: 3 } as never,
            compression: { level: 12 },
            l2Timeout: 0,
            serializer: 'xml' as never,
            circuitBreaker: { failureThreshold: 0 },
            suppressL2Errors: 'yes' as never,
            namespace: 'a#b',
          }),
      ),
    ).toEqual([
      'circuitBreaker.failureThreshold',
      'compression.level',
      'l1.maxEntries',
      'l1.maxItems',
      'l2Timeout',
      'namespace',
      'redisUrl',
      'serializer',
      'suppressL2Errors',
    ])
  })

  it('never echoes the Redis URL, which may hold a password', () => {
    try {
      new GenericRedisCache({ redisUrl: 'htp://user:hunter2@host' })
    } catch (error) {
      expect(String((error as Error).message)).not.toContain('hunter2')
      return
    }
    throw new Error('expected E_INVALID_OPTIONS')
  })

  it('keeps coherence on by default (100 ms, serve), off with false or without L1, and checks its fields', () => {
    expect(resolveRedisCacheOptions({}).coherence).toEqual({ maxStalenessMs: 100, offline: 'serve' })
    expect(resolveRedisCacheOptions({ coherence: { maxStaleness: '1s', offline: 'bypass' } }).coherence).toEqual({ maxStalenessMs: 1000, offline: 'bypass' })
    expect(resolveRedisCacheOptions({ coherence: false }).coherence).toBe(false)
    expect(resolveRedisCacheOptions({ l1: false }).coherence).toBe(false)
    expect(new GenericRedisCache({ coherence: false }).getStats().coherence?.state).toBe('off')
    expect(issuesOf(() => new GenericRedisCache({ coherence: { maxStaleness: '5ms', offline: 'maybe' as never, bound: 1 } as never }))).toEqual([
      'coherence.bound',
      'coherence.maxStaleness',
      'coherence.offline',
    ])
    expect(issuesOf(() => new GenericRedisCache({ coherence: true as never }))).toEqual(['coherence'])
  })

  it('turns compression on with true or an object, defaulting threshold 1024 and level 1', () => {
    expect(resolveRedisCacheOptions({ compression: true }).compression).toEqual({ thresholdBytes: 1024, level: 1 })
    expect(resolveRedisCacheOptions({ compression: { level: 6 } }).compression).toEqual({ thresholdBytes: 1024, level: 6 })
  })

  it('takes separate read and write deadlines, defaulting to 250 ms and 500 ms', () => {
    expect(resolveRedisCacheOptions({}).l2TimeoutMs).toEqual({ read: 250, write: 500 })
    expect(resolveRedisCacheOptions({ l2Timeout: { read: '20ms' } }).l2TimeoutMs).toEqual({ read: 20, write: 500 })
  })

  it('accepts l1: false and compression: false', () => {
    const resolved = resolveRedisCacheOptions({ l1: false, compression: false })
    expect(resolved.l1).toBe(false)
    expect(resolved.compression).toBe(false)
  })

  it('resolves sentinel, defaulting its TLS to the data nodes\' and keeping the URL\'s credentials and database', () => {
    const sentinels = [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }]
    const resolved = resolveRedisCacheOptions({ redisUrl: 'rediss://app:pw@ignored:1/3', sentinel: { name: 'mymaster', sentinels, password: 'sp' } })
    expect(resolved.redis).toMatchObject({ username: 'app', password: 'pw', database: 3, tls: {} })
    expect(resolved.redis.sentinel).toEqual({ name: 'mymaster', nodes: sentinels, username: undefined, password: 'sp', tls: {} })
    const plain = resolveRedisCacheOptions({ sentinel: { name: 'm', sentinels, tls: false } })
    expect(plain.redis.sentinel?.tls).toBe(false)
    expect(resolveRedisCacheOptions({}).redis.sentinel).toBeUndefined()
  })

  it('reports every invalid sentinel option with its path, and sentinel beside a host, a port or a client', () => {
    const bad = { name: '', sentinels: [{ host: 'a', port: 0 }, 'x', { host: 'b', port: 1, extra: 1 }], pass: 'x', tls: 'yes' }
    expect(issuesOf(() => new GenericRedisCache({ sentinel: bad as never }))).toEqual(
      ['sentinel.name', 'sentinel.pass', 'sentinel.sentinels[0].port', 'sentinel.sentinels[1]', 'sentinel.sentinels[2].extra', 'sentinel.tls'].sort(),
    )
    expect(issuesOf(() => new GenericRedisCache({ sentinel: { sentinels: [] } as never }))).toEqual(['sentinel.name', 'sentinel.sentinels'])
    expect(issuesOf(() => new GenericRedisCache({ sentinel: 'mymaster' as never }))).toEqual(['sentinel'])
    const sentinel = { name: 'm', sentinels: [{ host: 's', port: 1 }] }
    expect(issuesOf(() => new GenericRedisCache({ sentinel, redis: { socket: { host: 'h', port: 2 } } }))).toEqual(['redis.socket.host', 'redis.socket.port'])
    const client = {} as never
    expect(issuesOf(() => resolveRedisCacheOptions({ sentinel, client }))).toContain('sentinel')
  })
})
