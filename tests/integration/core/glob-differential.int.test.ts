/**
 * Differential test of the memory tier's glob matcher against Redis itself: the same keys are
 * stored in a private redis-server, and for several hundred seeded random patterns the keys
 * Redis returns (KEYS, and SCAN MATCH under a namespace prefix as the cache sends it) must be
 * exactly those `globMatcher` accepts. Redis matches bytes of the UTF-8 encoding, so the
 * alphabet mixes ASCII, Latin-1, CJK, emoji and every glob metacharacter.
 */
import { createClient } from '@redis/client'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GenericRedisCache } from '../../../src/index.js'
import { escapeGlob, globMatcher } from '../../../src/shared/key.js'
import { uniqueNamespace } from '../../helpers/fake-clock.js'
import { prng } from '../../helpers/prng.js'
import { requireRedis, useRedisServer } from '../../helpers/redis-server.js'

const hasRedis = requireRedis()

/** Fixed, so a failure replays; GLOB_DIFF_SEED=<n> explores other seeds. */
const SEED = Number(process.env.GLOB_DIFF_SEED ?? 0x6c0b_5eed)
const KEY_COUNT = 400
const RANDOM_PATTERNS = 350
const DERIVED_PATTERNS = 350

const ASCII = ['a', 'b', 'c', 'm', 'z', 'A', 'Z', '0', '9', ':', '_', '.', '`', ' ']
const SPECIAL = ['[', ']', '^', '-', '\\', '*', '?']
const LATIN1 = ['é', 'à', 'ÿ', 'ñ', 'Ã', '\u00a0', '\u0080']
const WIDE = ['中', '文', '€', '\uFFFD', '\u0800']
const EMOJI = ['😀', '🎉', '\u{10FFFF}']
const CHARS = [...ASCII, ...SPECIAL, ...LATIN1, ...WIDE, ...EMOJI]

/** Patterns worth checking whatever the seed: byte counting, odd classes, escapes. */
const FIXED_PATTERNS = [
  '*', '**', '?', '??', '???', '????', '*?', '?*', '[z-a]', '[z-a]*', '[', '[abc', '[^', '[^a', '[]a]', '[^]a]', '[]', '[^]',
  '[a-]', '[-a]', '[a-c-z]', '[a-é]*', '[é-a]*', '[à-é]*', '[\\', '[a\\', '[\\]]', '[\\-a]', '\\', 'a\\', '\\\\*', '\\?',
  '\\*', '[é]*', '[é][é]', '[中]*', '*中*', '*é', '[^é]*', '[\u0080-\u00ff]*', '[\u007f-\u0080]*', '[a-\u0080]', '*]', '*[',
  '[[]', '[[]*', '[]]', '[]-]', '[^-]', '[*]', '[?]*', 'a*', '*a*', '*a*a*a*a*b', '[a-z]*[0-9]', '😀', '?😀', '*😀*',
]

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)] as T
}

function randomChar(random: () => number): string {
  const roll = random()
  if (roll < 0.4) return pick(random, ASCII)
  if (roll < 0.55) return pick(random, SPECIAL)
  if (roll < 0.75) return pick(random, LATIN1)
  if (roll < 0.9) return pick(random, WIDE)
  return pick(random, EMOJI)
}

function randomKeys(random: () => number): string[] {
  const keys = new Set<string>(CHARS)
  for (const a of ['a', 'é', '中', '😀', '[', ']']) for (const b of ['a', 'é', '中', '😀', ']', '-']) keys.add(a + b)
  while (keys.size < KEY_COUNT) {
    const length = 1 + Math.floor(random() * 5)
    let key = ''
    for (let i = 0; i < length; i++) key += randomChar(random)
    keys.add(key)
  }
  return [...keys]
}

function classItem(random: () => number): string {
  const roll = random()
  if (roll < 0.45) return randomChar(random)
  if (roll < 0.85) return `${randomChar(random)}-${randomChar(random)}` // both orders: reversed ranges too
  return `\\${randomChar(random)}`
}

function classToken(random: () => number, terminated: boolean): string {
  let token = '['
  if (random() < 0.3) token += '^'
  if (random() < 0.1) token += ']'
  const items = Math.floor(random() * 4)
  for (let i = 0; i < items; i++) token += classItem(random)
  return terminated ? `${token}]` : token
}

function randomPattern(random: () => number): string {
  const tokens = 1 + Math.floor(random() * 6)
  let pattern = ''
  for (let i = 0; i < tokens; i++) {
    const roll = random()
    if (roll < 0.35) pattern += randomChar(random)
    else if (roll < 0.5) pattern += '?'
    else if (roll < 0.65) pattern += '*'
    else if (roll < 0.85) pattern += classToken(random, random() < 0.9)
    else pattern += `\\${randomChar(random)}`
  }
  if (random() < 0.05) pattern += '\\'
  return pattern
}

/** A pattern built from a stored key, so that many patterns match something. */
function derivedPattern(random: () => number, key: string): string {
  let pattern = random() < 0.1 ? '*' : ''
  for (const char of key) {
    const roll = random()
    if (roll < 0.4) pattern += escapeGlob(char)
    else if (roll < 0.5) pattern += char
    else if (roll < 0.6) pattern += '?'.repeat(Buffer.byteLength(char))
    else if (roll < 0.65) pattern += '?'
    else if (roll < 0.8) pattern += '*'
    else if (roll < 0.9) pattern += `[${random() < 0.2 ? '^' : ''}${escapeGlob(char)}${randomChar(random)}]`
    else pattern += `[${randomChar(random)}-${randomChar(random)}]`
  }
  if (random() < 0.1) pattern += '*'
  return pattern
}

describe.skipIf(!hasRedis)('glob matcher against Redis (differential)', () => {
  const server = useRedisServer()
  let raw: ReturnType<typeof createClient>
  let prefixed: ReturnType<typeof createClient>

  beforeAll(async () => {
    raw = createClient({ url: server.url })
    prefixed = createClient({ url: server.url, database: 1 })
    await raw.connect()
    await prefixed.connect()
  })
  afterAll(async () => {
    await raw?.close()
    await prefixed?.close()
  })

  it('matches exactly the keys Redis KEYS and SCAN MATCH return, for every pattern', async () => {
    const random = prng(SEED)
    const keys = randomKeys(random)
    const patterns = new Set<string>(FIXED_PATTERNS)
    for (let i = 0; i < RANDOM_PATTERNS; i++) patterns.add(randomPattern(random))
    for (let i = 0; i < DERIVED_PATTERNS; i++) patterns.add(derivedPattern(random, pick(random, keys)))

    // The cache's layout: `<namespace>:<key>`, scanned with an escaped prefix. The namespace
    // holds glob characters on purpose (they cannot be ':' or '#').
    const namespace = 'n[s]*?\\^-é'
    const prefix = `${namespace}:`
    await raw.flushAll()
    await raw.mSet(keys.map((key) => [key, '1'] as [string, string]))
    await prefixed.mSet(keys.map((key) => [prefix + key, '1'] as [string, string]))
    expect(await raw.dbSize()).toBe(keys.length)
    expect(await prefixed.dbSize()).toBe(keys.length)

    const differences: string[] = []
    let matched = 0
    let nonEmpty = 0
    for (const pattern of patterns) {
      const expected = new Set(await raw.keys(pattern))
      const scanned = new Set<string>()
      for await (const batch of prefixed.scanIterator({ MATCH: escapeGlob(namespace) + ':' + pattern, COUNT: 1000 })) {
        for (const key of batch) scanned.add(key.slice(prefix.length))
      }
      matched += expected.size
      if (expected.size > 0) nonEmpty++
      let actual: Set<string>
      try {
        const matches = globMatcher(pattern)
        actual = new Set(keys.filter((key) => matches(key)))
      } catch (error) {
        differences.push(`${JSON.stringify(pattern)}: the matcher threw ${String(error)}`)
        continue
      }
      const describeSet = (set: Set<string>) => JSON.stringify([...set].sort())
      if (describeSet(expected) !== describeSet(actual)) {
        const missing = [...expected].filter((key) => !actual.has(key))
        const extra = [...actual].filter((key) => !expected.has(key))
        differences.push(`KEYS ${JSON.stringify(pattern)}: Redis only ${JSON.stringify(missing)}, matcher only ${JSON.stringify(extra)}`)
      }
      if (describeSet(scanned) !== describeSet(actual)) {
        differences.push(`SCAN MATCH <ns>:${JSON.stringify(pattern)}: Redis ${describeSet(scanned)}, matcher ${describeSet(actual)}`)
      }
    }
    console.log(
      `glob differential (seed ${SEED}): ${keys.length} keys, ${patterns.size} patterns, ` +
        `${nonEmpty} matched at least one key, ${matched} matches in all, ${differences.length} differences`,
    )
    for (const line of differences.slice(0, 20)) console.log(`  ${line}`)
    expect(nonEmpty).toBeGreaterThan(patterns.size / 3)
    expect(differences).toEqual([])
  })

  it('invalidatePattern removes the same keys from L1 and from Redis', async () => {
    const namespace = uniqueNamespace('glob')
    const cache = new GenericRedisCache({ redisUrl: server.url, namespace, coherence: false })
    try {
      for (const key of ['é', 'ab', 'a', '中', 'm']) await cache.set(key, key)
      expect(await cache.get('é')).toBe('é') // from L1

      expect(await cache.invalidatePattern('??')).toBe(2) // 'é' is two bytes, as 'ab' is
      expect(await raw.exists([`${namespace}:é`, `${namespace}:ab`])).toBe(0)
      expect(await raw.exists([`${namespace}:a`, `${namespace}:中`, `${namespace}:m`])).toBe(3)
      expect(await cache.get('é')).toBeUndefined() // L1 dropped it too
      expect(await cache.get('ab')).toBeUndefined()
      expect(await cache.get('中')).toBe('中')

      expect(await cache.invalidatePattern('[z-a]')).toBe(2) // a reversed range, as Redis reads it
      expect(await cache.getMany(['a', 'm', '中'])).toEqual([undefined, undefined, '中'])
      expect(await cache.getKeys('*')).toEqual(['中'])
    } finally {
      await cache.disconnect()
    }
  })
})
