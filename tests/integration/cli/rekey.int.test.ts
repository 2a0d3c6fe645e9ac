import { randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

import { afterAll, describe, expect, it } from 'vitest'

import { run } from '../../../src/cli/main.js'
import { GenericRedisCache } from '../../../src/index.js'
import { captureIo } from '../../helpers/cli-io.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()
const KEY_1 = randomBytes(32).toString('base64')
const KEY_2 = randomBytes(32).toString('base64')
const SECRET = `cli-secret-${randomBytes(16).toString('hex')}`

describe.skipIf(!hasRedis)('strata rekey against a real Redis', () => {
  const server = useRedisServer()
  const dir = mkdtempSync(join(tmpdir(), 'strata-rekey-'))

  afterAll(() => rmSync(dir, { recursive: true, force: true }))

  function keysFile(content: string): string {
    const path = join(dir, `${uniqueNamespace('keys')}.json`)
    writeFileSync(path, content, { mode: 0o600 })
    return path
  }

  function expectNoSecrets(...texts: string[]): void {
    for (const text of texts) for (const secret of [KEY_1, KEY_2, SECRET, KEY_1.slice(0, 20)]) expect(text).not.toContain(secret)
  }

  async function seed(namespace: string, count: number): Promise<void> {
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace, l1: false, encryption: { keys: { 1: KEY_1 }, current: 1 } })
    for (let i = 0; i < count; i++) await cache.set(`k${i}`, i)
    await cache.disconnect()
  }

  it('re-encrypts a namespace with keys from the environment, prints progress on stderr and a table on stdout', async () => {
    const namespace = uniqueNamespace('rekey')
    await seed(namespace, 30)
    const io = { ...captureIo(), env: { STRATA_ENCRYPTION_KEYS: JSON.stringify({ keys: { 1: KEY_1, 2: { secret: SECRET } }, current: 2 }) } }
    Object.assign(io, { stdout: (t: string) => void (io.out += t), stderr: (t: string) => void (io.err += t) })
    expect(await run(['rekey', '--url', server.url, '--namespace', namespace], io)).toBe(0)
    expect(io.out).toMatch(/Rekey of namespace .* \(current key id 2\)/)
    expect(io.out).toMatch(/rewritten\s+30\n/)
    expect(io.err).toMatch(/strata rekey: 30 scanned, 30 rewritten, 0 already current, 0 failed/)
    expectNoSecrets(io.out, io.err)
    const after = new GenericRedisCache({ redisUrl: server.url, namespace, l1: false, encryption: { keys: { 2: { secret: SECRET } }, current: 2 } })
    expect(await after.get('k7')).toBe(7)
    await after.disconnect()
  })

  it('prints a JSON summary with --json and reports entries it cannot authenticate as failed', async () => {
    const namespace = uniqueNamespace('rekey')
    await seed(namespace, 5)
    const io = captureIo()
    // Key 1 listed with other material: the entries fail authentication and are left alone.
    const file = keysFile(JSON.stringify({ keys: { 1: KEY_2, 2: KEY_2 }, current: 2 }))
    expect(await run(['rekey', '--url', server.url, '--namespace', namespace, '--keys-file', file, '--json'], io)).toBe(0)
    expect(JSON.parse(io.out)).toMatchObject({ namespace, current: 2, scanned: 5, rewritten: 0, alreadyCurrent: 0, failed: 5, changed: 0 })
    expect(io.err).toMatch(/5 entries could not be authenticated/)
    expectNoSecrets(io.out, io.err)
  })

  it('refuses bad keys, bad JSON and missing keys with exit 2, never quoting key material', async () => {
    const cases: Array<[string[], RegExp]> = [
      [['--keys-file', keysFile(JSON.stringify({ keys: { 1: KEY_1.slice(0, 32) }, current: 1 }))], /encryption\.keys\.1: .*decodes to 24 bytes/],
      [['--keys-file', keysFile(`{ "keys": { "1": "${KEY_1}" `)], /is not valid JSON/],
      [['--keys-file', keysFile(JSON.stringify({ keys: { 1: KEY_1 }, current: 2 }))], /key id 2 is not in encryption.keys/],
      [['--keys-file', join(dir, 'missing.json')], /cannot read .*missing\.json \(ENOENT\)/],
      [[], /--keys-file <path> or in \$STRATA_ENCRYPTION_KEYS/],
      [['--keys-file', keysFile(JSON.stringify({ keys: { 1: KEY_1 }, current: 1 })), '--batch-size', 'lots'], /batchSize/],
    ]
    for (const [args, message] of cases) {
      const io = captureIo()
      expect(await run(['rekey', '--url', server.url, '--namespace', uniqueNamespace('rekey'), ...args], io)).toBe(2)
      expect(io.err).toMatch(/E_INVALID_OPTIONS/)
      expect(io.err).toMatch(message)
      expectNoSecrets(io.out, io.err)
    }
    const io = captureIo()
    expect(await run(['rekey', '--keys', KEY_1], io)).toBe(2)
    expect(io.err).toMatch(/unknown option '--keys'/)
  })

  it('exits 1 with one line when Redis is unreachable', async () => {
    const io = captureIo()
    const file = keysFile(JSON.stringify({ keys: { 1: KEY_1 }, current: 1 }))
    expect(await run(['rekey', '--url', 'redis://:pw@127.0.0.1:1', '--timeout', '300ms', '--keys-file', file], io)).toBe(1)
    expect(io.err).toMatch(/^strata rekey: cannot reach Redis at redis:\/\/:\*\*\*@127\.0\.0\.1:1 within 300ms\n$/)
  })
})
