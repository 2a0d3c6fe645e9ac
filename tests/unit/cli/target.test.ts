import { describe, expect, it } from 'vitest'
import { CLI_DEFAULTS, resolveTarget } from '../../../src/cli/target.js'
import { GenericRedisCache, errors } from '../../../src/index.js'

function issuesOf(fn: () => unknown): Array<{ path: string; message: string }> {
  try {
    fn()
  } catch (error) {
    expect(error).toBeInstanceOf(errors.E_INVALID_OPTIONS)
    return [...(error as InstanceType<typeof errors.E_INVALID_OPTIONS>).issues]
  }
  throw new Error('expected E_INVALID_OPTIONS')
}

describe('resolveTarget', () => {
  it('defaults to the library defaults: local Redis, namespace strata, 2 s', () => {
    const target = resolveTarget({}, {})
    expect(target).toEqual({ url: 'redis://127.0.0.1:6379', displayUrl: 'redis://127.0.0.1:6379', namespace: 'strata', timeoutMs: 2000 })
  })

  it('repeats the library default namespace, which the public API does not export', () => {
    // Constructing validates and does not connect.
    expect(new GenericRedisCache({ redisUrl: CLI_DEFAULTS.redisUrl }).namespace).toBe(CLI_DEFAULTS.namespace)
  })

  it('takes the URL from REDIS_URL when --url is not given, and --url over REDIS_URL', () => {
    expect(resolveTarget({}, { REDIS_URL: 'redis://env-host:6390' }).url).toBe('redis://env-host:6390')
    expect(resolveTarget({ url: 'redis://flag-host:1' }, { REDIS_URL: 'redis://env-host:6390' }).url).toBe('redis://flag-host:1')
    expect(resolveTarget({}, { REDIS_URL: '' }).url).toBe('redis://127.0.0.1:6379')
  })

  it('reads --timeout as a duration, and a bare number as milliseconds', () => {
    expect(resolveTarget({ timeout: '500ms' }, {}).timeoutMs).toBe(500)
    expect(resolveTarget({ timeout: '3s' }, {}).timeoutMs).toBe(3000)
    expect(resolveTarget({ timeout: '750' }, {}).timeoutMs).toBe(750)
  })

  it('shows the URL with only its credentials redacted, even when the password is part of the host', () => {
    expect(resolveTarget({ url: 'redis://app:hunter2@cache:6379/3' }, {}).displayUrl).toBe('redis://app:***@cache:6379/3')
    expect(resolveTarget({ url: 'redis://:cache@cache.internal:6379' }, {}).displayUrl).toBe('redis://:***@cache.internal:6379')
  })

  it('reports every invalid flag at once, by its flag name, through the library resolver', () => {
    const issues = issuesOf(() => resolveTarget({ url: 'http://cache', namespace: 'a:b', timeout: '0' }, {}))
    expect(issues.map((issue) => issue.path).sort()).toEqual(['--namespace', '--timeout', '--url'])
    expect(issues.find((issue) => issue.path === '--namespace')?.message).toMatch(/without ':' or '#'/)
  })

  it('rejects a malformed duration and an empty namespace like the library does', () => {
    expect(issuesOf(() => resolveTarget({ timeout: 'soon' }, {}))[0]?.path).toBe('--timeout')
    expect(issuesOf(() => resolveTarget({ namespace: '' }, {}))[0]?.path).toBe('--namespace')
    expect(issuesOf(() => resolveTarget({ namespace: 'a#b' }, {}))[0]?.path).toBe('--namespace')
  })

  it('rejects a URL with a bad port or database without echoing the password', () => {
    for (const url of ['redis://u:hunter2@cache:99999999', 'redis://u:hunter2@cache:6379/notadb']) {
      const issues = issuesOf(() => resolveTarget({ url }, {}))
      expect(issues).toEqual([{ path: '--url', message: expect.stringMatching(/not a valid redis:\/\/ URL/) }])
      expect(JSON.stringify(issues)).not.toContain('hunter2')
    }
  })
})
