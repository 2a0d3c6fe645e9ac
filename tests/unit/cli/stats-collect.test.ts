import { ErrorReply } from '@redis/client'
import { describe, expect, it } from 'vitest'
import { KeyTally, classifyKey, escapeGlob, estimateMemory, hitRatio, isRefusal, namespaceMatch, readServer } from '../../../src/cli/commands/stats-collect.js'
import { CliFailure } from '../../../src/cli/io.js'
import { type CliConnection, DeadlineError } from '../../../src/cli/redis-connection.js'
import { globMatcher } from '../../../src/shared/key.js'

describe('namespaceMatch', () => {
  it('matches entries and internal keys of the namespace, and nothing of a longer namespace', () => {
    const match = { test: globMatcher(namespaceMatch('app')) }
    for (const key of ['app:user:1', 'app#tag:users', 'app#lock:user:1']) expect(match.test(key)).toBe(true)
    for (const key of ['apple:user:1', 'app', 'other:app:1', 'xapp:1']) expect(match.test(key)).toBe(false)
  })

  it('escapes glob characters in the namespace so it matches only itself', () => {
    expect(escapeGlob('a*b?[c]\\')).toBe('a\\*b\\?\\[c\\]\\\\')
    const match = { test: globMatcher(namespaceMatch('g*')) }
    expect(match.test('g*:1')).toBe(true)
    expect(match.test('gg:1')).toBe(false)
  })
})

describe('classifyKey', () => {
  it('tells entries, tag indexes and locks apart by prefix', () => {
    expect(classifyKey('app:user:1', 'app')).toBe('entry')
    expect(classifyKey('app:#tag:x', 'app')).toBe('entry')
    expect(classifyKey('app#tag:users', 'app')).toBe('tag')
    expect(classifyKey('app#lock:user:1', 'app')).toBe('lock')
    expect(classifyKey('app#lock-released', 'app')).toBe('other')
  })
})

describe('KeyTally', () => {
  it('counts each kind and ignores keys SCAN returns twice', () => {
    const tally = new KeyTally('app')
    for (const key of ['app:1', 'app:2', 'app:1', 'app#tag:t', 'app#lock:1', 'app#tag:t']) tally.add(key)
    expect(tally.counts).toEqual({ entry: 2, tag: 1, lock: 1, other: 0 })
    expect(tally.exact).toBe(true)
  })

  it('samples only entry keys, up to the sample limit', () => {
    const tally = new KeyTally('app', { dedupe: 100, sample: 2 })
    for (const key of ['app#tag:t', 'app:1', 'app:2', 'app:3']) tally.add(key)
    expect(tally.sample).toEqual(['app:1', 'app:2'])
    expect(tally.counts.entry).toBe(3)
  })

  it('stops de-duplicating past its memory bound and says the counts are approximate', () => {
    const tally = new KeyTally('app', { dedupe: 2, sample: 10 })
    for (const key of ['app:1', 'app:2', 'app:3', 'app:3']) tally.add(key)
    expect(tally.exact).toBe(false)
    expect(tally.counts.entry).toBe(4)
  })
})

describe('hitRatio', () => {
  it('is hits over lookups, and null before the first lookup or when unknown', () => {
    expect(hitRatio(3, 1)).toBe(0.75)
    expect(hitRatio(0, 0)).toBeNull()
    expect(hitRatio(null, 1)).toBeNull()
  })
})

/** A connection whose commands fail as `fail` says (by command name), or answer from `replies`. */
function fakeConnection(replies: Record<string, unknown>, fail: Record<string, Error> = {}): CliConnection {
  return {
    client: undefined as never,
    call: async (what) => {
      const cause = fail[what]
      if (cause !== undefined) throw new CliFailure(`Redis ${what} failed: ${cause.message}`, { cause })
      return replies[what] as never
    },
    close: () => undefined,
  }
}

const NOPERM = (command: string) => new ErrorReply(`NOPERM this user has no permissions to run the '${command}' command`)

describe('isRefusal', () => {
  it('is true only for a command Redis answered with an error', () => {
    expect(isRefusal(new CliFailure('x', { cause: NOPERM('info') }))).toBe(true)
    expect(isRefusal(new CliFailure('x', { cause: new DeadlineError(100) }))).toBe(false)
    expect(isRefusal(new CliFailure('x', { cause: new Error('Socket closed unexpectedly') }))).toBe(false)
    expect(isRefusal(NOPERM('info'))).toBe(false)
  })
})

describe('readServer', () => {
  it('reads INFO and DBSIZE', async () => {
    const server = await readServer(fakeConnection({ INFO: 'redis_version:7.2.4\r\nkeyspace_hits:3\r\nkeyspace_misses:1\r\n', DBSIZE: 9 }))
    expect(server).toMatchObject({ redisVersion: '7.2.4', hitRatio: 0.75, databaseKeys: 9, note: null })
  })

  it('leaves the fields of a refused INFO or DBSIZE null and says why', async () => {
    const server = await readServer(fakeConnection({ DBSIZE: 9 }, { INFO: NOPERM('info') }))
    expect(server).toMatchObject({ redisVersion: null, usedMemory: null, keyspaceHits: null, hitRatio: null, databaseKeys: 9 })
    expect(server.note).toBe("INFO unavailable: NOPERM this user has no permissions to run the 'info' command")
    const neither = await readServer(fakeConnection({}, { INFO: new ErrorReply('ERR unknown command'), DBSIZE: NOPERM('dbsize') }))
    expect(neither.databaseKeys).toBeNull()
    expect(neither.note).toBe("INFO unavailable: ERR unknown command; DBSIZE unavailable: NOPERM this user has no permissions to run the 'dbsize' command")
  })

  it('still fails when INFO misses the deadline or the connection drops', async () => {
    await expect(readServer(fakeConnection({}, { INFO: new DeadlineError(100) }))).rejects.toBeInstanceOf(CliFailure)
    await expect(readServer(fakeConnection({ INFO: '' }, { DBSIZE: new Error('Socket closed unexpectedly') }))).rejects.toThrow('Socket closed')
  })
})

describe('estimateMemory', () => {
  it('gives null when MEMORY USAGE is refused, and fails on a deadline', async () => {
    const refused = await estimateMemory(fakeConnection({}, { 'MEMORY USAGE': NOPERM('memory|usage') }), ['app:1'], 1)
    expect(refused).toEqual({ estimatedBytes: null, sampledKeys: 0, note: expect.stringMatching(/^unavailable: .*NOPERM/) })
    await expect(estimateMemory(fakeConnection({}, { 'MEMORY USAGE': new DeadlineError(100) }), ['app:1'], 1)).rejects.toBeInstanceOf(CliFailure)
  })
})
