/**
 * Secrets never leave through an output: every password, encryption key and key-derivation
 * secret used here is registered (tests/helpers/secrets.ts), then every output surface is driven
 * through success and failure and collected: error messages and causes, `cache:error` events,
 * `getStats()`, `util.inspect` and JSON of the cache, the monitor's summary, the security
 * manager's validation and status, option errors, and the CLI's stdout and stderr (`stats`,
 * `doctor`, `rekey`, with the password in the URL). The collected text must contain none of them;
 * it is also printed, so the per-file scan of tests/setup/secret-scan.ts sees it too.
 *
 * Not vacuous: the same scan finds the password in the raw URL the caches were given.
 */
import { randomBytes } from 'node:crypto'
import { inspect } from 'node:util'
import { RESP_TYPES, createClient } from '@redis/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { run } from '../../../src/cli/main.js'
import { CachePerformanceMonitor, GenericRedisCache, RedisCacheSecurityManager } from '../../../src/index.js'
import { captureIo } from '../../helpers/cli-io.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'
import { secret, secretsIn } from '../../helpers/secrets.js'

const hasRedis = requireRedis()

const PASSWORD = secret('the ACL password', `leak-pw-${randomBytes(6).toString('hex')}`)
const WRONG_PASSWORD = secret('a wrong password', `wrong-pw-${randomBytes(6).toString('hex')}`)
const KEY_1 = secret('encryption key 1', randomBytes(32).toString('base64'))
const KEY_2 = secret('encryption key 2', randomBytes(32).toString('base64'))
const PHRASE = secret('a key-derivation secret', `hkdf-phrase-${randomBytes(6).toString('hex')}`)
const SHORT_KEY = secret('a key of the wrong length', randomBytes(31).toString('base64'))

/** Every text an output surface produced, with where it came from. */
const outputs: Array<{ from: string; text: string }> = []

function collect(from: string, value: unknown): void {
  const text = typeof value === 'string' ? value : value instanceof Error ? errorText(value) : inspect(value, { depth: 8 }) + (safeJson(value) ?? '')
  outputs.push({ from, text })
}

function errorText(error: Error): string {
  let text = `${error.name}: ${error.message}\n${error.stack ?? ''}`
  for (let cause = error.cause; cause instanceof Error; cause = cause.cause) text += `\ncause: ${cause.message}`
  return text + inspect(error, { depth: 4 })
}

function safeJson(value: unknown): string | undefined {
  try {
    return JSON.stringify(value)
  } catch {
    return undefined
  }
}

describe.skipIf(!hasRedis)('no secret in any output', () => {
  const server = useRedisServer()
  const port = () => new URL(server.url).port
  const url = (password: string) => `redis://leaker:${password}@127.0.0.1:${port()}`
  const caches: GenericRedisCache[] = []
  let admin: ReturnType<typeof createClient>

  beforeAll(async () => {
    admin = createClient({ url: server.url })
    await admin.connect()
    await admin.sendCommand(['ACL', 'SETUSER', 'leaker', 'on', `>${PASSWORD}`, '~*', '&*', '+@all'])
  })

  afterAll(async () => {
    for (const cache of caches) await cache.disconnect()
    await admin?.quit()
  })

  function open(options: ConstructorParameters<typeof GenericRedisCache>[0]): GenericRedisCache {
    const cache = new GenericRedisCache(options)
    caches.push(cache)
    cache.on('cache:error', (event) => collect('cache:error event', event))
    return cache
  }

  it('a wrong password: connect, events, stats and a rejected call', async () => {
    const cache = open({ redisUrl: url(WRONG_PASSWORD), namespace: uniqueNamespace('leak'), connectTimeout: 1000, suppressL2Errors: false })
    expect(await cache.connect()).toBe(false)
    await cache.get('k').catch((error: unknown) => collect('rejected get', error))
    await cache.set('k', 1).catch((error: unknown) => collect('rejected set', error))
    collect('getStats', cache.getStats())
    collect('inspect(cache)', cache)
    expect(cache.getStats().l2?.lastError?.code).toBe('WRONGPASS')
  })

  it('a working cache with encryption, a monitor, a corrupted entry and a key it cannot read', async () => {
    const namespace = uniqueNamespace('leak')
    const monitor = new CachePerformanceMonitor()
    const cache = open({ redisUrl: url(PASSWORD), namespace, monitor, encryption: { keys: { 1: KEY_1, 2: { secret: PHRASE } }, current: 2 } })
    const other = open({ redisUrl: url(PASSWORD), namespace, encryption: { keys: { 3: KEY_2 }, current: 3 } })
    expect(await cache.connect()).toBe(true)
    await cache.set('a', { v: 1 })
    await cache.set('b', { v: 2 })
    // Swapped bytes fail to decrypt; an entry under a key id it lacks is unknown to `other`.
    const bytes = admin.withTypeMapping({ [RESP_TYPES.BLOB_STRING]: Buffer })
    const [a, b] = await Promise.all([bytes.get(`${namespace}:a`), bytes.get(`${namespace}:b`)])
    await admin.set(`${namespace}:a`, b!)
    await admin.set(`${namespace}:b`, a!)
    expect(await cache.get('a')).toBeUndefined()
    await other.set('c', 'x')
    expect(await cache.get('c')).toBeUndefined()
    await cache.set('d', 'y')
    expect(await other.get('d')).toBeUndefined()
    collect('getStats', cache.getStats())
    collect('inspect(cache)', cache)
    collect('monitor summary', await monitor.getPerformanceSummary())
    const rekeyed = await cache.rekey()
    collect('rekey result', rekeyed)
    expect(cache.getStats().errors).toBeGreaterThanOrEqual(2)
  })

  it('option errors, the security manager and its status', async () => {
    for (const options of [
      { redisUrl: url(PASSWORD), encryption: { keys: { 1: SHORT_KEY }, current: 1 } },
      { redisUrl: url(PASSWORD), security: { aclUsername: 'leaker', aclPassword: WRONG_PASSWORD } },
      { redisUrl: url(PASSWORD), encryption: { keys: { 1: KEY_1 }, current: 2 } },
    ]) {
      try {
        new GenericRedisCache(options)
        collect('constructor', 'no error')
      } catch (error) {
        collect('options error', error)
      }
    }
    const manager = new RedisCacheSecurityManager({ redisUrl: `redis://127.0.0.1:${port()}`, security: { aclUsername: 'leaker', aclPassword: PASSWORD } })
    collect('validateSecurityConfig', manager.validateSecurityConfig({ redisAuth: PASSWORD, rejectUnauthorized: false }, { redisUrl: url(WRONG_PASSWORD) }))
    collect('getSecurityStatus', await manager.getSecurityStatus())
    const refused = new RedisCacheSecurityManager({ redisUrl: `redis://127.0.0.1:${port()}`, security: { aclUsername: 'leaker', aclPassword: WRONG_PASSWORD }, connectTimeout: 1000 })
    await refused.createSecureConnection().then(
      (client) => client.destroy(),
      (error: unknown) => collect('createSecureConnection refused', error),
    )
  })

  it('the CLI: stats, doctor and rekey with the password in the URL, and keys in the environment', async () => {
    const namespace = uniqueNamespace('leak')
    const keys = JSON.stringify({ keys: { 1: KEY_1, 2: KEY_2 }, current: 2 })
    for (const argv of [
      ['stats', '--url', url(PASSWORD), '--namespace', namespace],
      ['stats', '--url', url(WRONG_PASSWORD), '--namespace', namespace, '--timeout', '1s'],
      ['doctor', '--url', url(PASSWORD), '--json'],
      ['doctor', '--url', url(WRONG_PASSWORD), '--timeout', '1s'],
      ['rekey', '--url', url(PASSWORD), '--namespace', namespace],
      ['rekey', '--url', url(PASSWORD), '--namespace', namespace, '--keys', KEY_1],
    ]) {
      const io = captureIo()
      io.env = { STRATA_ENCRYPTION_KEYS: keys }
      await run(argv, io)
      collect(`strata ${argv[0]} stdout`, io.out)
      collect(`strata ${argv[0]} stderr`, io.err)
    }
  })

  it('found no secret in any of it, and would have found the raw URL', () => {
    const surfaces = new Set(outputs.filter(({ text }) => text.trim() !== '').map(({ from }) => from))
    for (const from of ['cache:error event', 'rejected get', 'getStats', 'inspect(cache)', 'monitor summary', 'options error', 'validateSecurityConfig', 'getSecurityStatus', 'strata stats stdout', 'strata stats stderr', 'strata doctor stdout', 'strata doctor stderr', 'strata rekey stdout', 'strata rekey stderr']) {
      expect(surfaces, `no output collected from ${from}`).toContain(from)
    }
    const leaks = outputs.flatMap(({ from, text }) => secretsIn(text).map((label) => `${label} in ${from}`))
    // Printed, so the per-file output scan (tests/setup/secret-scan.ts) covers it as well.
    console.log(outputs.map(({ from, text }) => `--- ${from}\n${text}`).join('\n'))
    expect(leaks).toEqual([])
    expect(secretsIn(url(PASSWORD))).toEqual(['the ACL password'])
  })
})
