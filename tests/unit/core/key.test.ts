import { afterEach, describe, expect, it, vi } from 'vitest'
import { InMemoryCache } from '../../../src/core/in-memory-cache.js'
import { errors } from '../../../src/errors.js'
import {
  MAX_KEY_LENGTH,
  assertValidKey,
  assertValidPattern,
  assertValidTags,
  escapeGlob,
  globMatcher,
  isTagList,
  isWellFormedText,
} from '../../../src/shared/key.js'

/** Strings that are not well-formed UTF-16: each encodes to U+FFFD in UTF-8, as '\uFFFD' does. */
const LONE_SURROGATES = ['😀'.slice(0, 1), '😀'.slice(1), '\uDC00x', 'a\uD800b', 'user:\uDBFF', '\uDFFF\uD800']

describe('globMatcher (Redis SCAN MATCH / KEYS semantics, byte for byte)', () => {
  // Every expectation below was checked against redis-server 7.0 (KEYS) on x86-64; the
  // differential test in tests/integration/core/glob-differential.int.test.ts keeps checking it.
  const cases: Array<[string, string[], string[]]> = [
    ['user:*', ['user:', 'user:1', 'user:1:2', 'user:a/b', 'user:é'], ['users:1', 'xuser:1', 'user']],
    ['user:?', ['user:1', 'user:x'], ['user:', 'user:10', 'user:é']],
    ['[ab]c', ['ac', 'bc'], ['cc', 'abc']],
    ['[^a]c', ['bc', 'zc'], ['ac']],
    ['[a-c]x', ['ax', 'bx', 'cx'], ['dx']],
    ['a\\*b', ['a*b'], ['axb', 'ab']],
    ['a.b+(c)', ['a.b+(c)'], ['aXb+(c)', 'a.bb(c)']],
    ['*', ['a', 'é', '😀', '*'], []],
    ['**', ['a', 'é'], []],
    ['a*', ['a', 'ab', 'aé'], ['b', 'é']],
    ['abc', ['abc'], ['ab', 'abcd', 'Abc']],
    // `?` and classes match one BYTE of the UTF-8 encoding, not one character.
    ['?', ['a', '['], ['é', 'ab', '中', '😀']],
    ['??', ['é', 'ab', 'ÿ'], ['a', '中', '😀']],
    ['???', ['中', 'aé', '\uFFFD'], ['é', '😀']],
    ['????', ['😀', '中a', 'éé'], ['中']],
    ['é', ['é'], ['e', 'ÿ']],
    ['[é]*', ['é', 'ÿ', 'à'], ['e', 'a']], // the class holds the bytes C3 and A9: it matches a lead byte C3
    ['[é][é]', ['é'], ['ée', 'e']],
    // Reversed ranges are swapped, as Redis does.
    ['[z-a]', ['a', 'm', 'z'], ['A', '-', 'é']],
    ['[c-a]x', ['ax', 'bx', 'cx'], ['dx']],
    ['[a-c-z]', ['a', 'b', 'c', '-', 'z'], ['d', 'y']],
    ['[-a]', ['-', 'a'], ['b']],
    ['[a-]', [']', '^', '`', 'a'], ['b', '-', 'A']], // a range from 'a' to ']', and an unterminated class
    // A range with one ASCII end and one byte >= 0x80 compares signed chars (Redis on x86-64).
    ['[a-é]*', ['a', 'A', '*', 'é', '中', '😀'], ['b', 'z']],
    // Unterminated classes run to the end of the pattern.
    ['[', [], ['[', 'a']],
    ['a[', [], ['a', 'a[']],
    ['[abc', ['a', 'b', 'c'], ['[', 'd', 'ab']],
    ['[^', ['a', '[', '^'], ['é', 'ab']],
    ['[\\', ['\\'], ['[', 'a']],
    ['[a\\', ['a', '\\'], ['b']],
    // `]` first closes an empty class, which matches nothing; negated, it matches any byte.
    ['[]a]', [], [']', 'a', 'a]', ']a]', 'xa]']],
    ['[^]a]', ['xa]', ']a]'], ['a]', 'a', 'xa']],
    ['[\\]]', [']'], ['\\', '\\]']],
    ['[\\-a]', ['-', 'a'], ['b', '\\']],
    // Escapes, and a trailing backslash that is a literal.
    ['\\', ['\\'], ['a']],
    ['a\\', ['a\\'], ['a']],
    ['\\?', ['?'], ['a']],
    ['\\\\*', ['\\', '\\x'], ['x']],
  ]
  for (const [glob, matching, other] of cases) {
    it(`${JSON.stringify(glob)} matches ${JSON.stringify(matching)} and not ${JSON.stringify(other)}`, () => {
      const matches = globMatcher(glob)
      for (const key of matching) expect(matches(key), `${JSON.stringify(key)} should match`).toBe(true)
      for (const key of other) expect(matches(key), `${JSON.stringify(key)} should not match`).toBe(false)
    })
  }

  it('escapeGlob makes every glob character literal', () => {
    for (const text of ['a*b?c[d]e\\f', '[z-a]', 'é?😀*', '[^]', '\\']) {
      const matches = globMatcher(escapeGlob(text))
      expect(matches(text)).toBe(true)
      expect(matches(`${text}x`)).toBe(false)
    }
    expect(globMatcher(escapeGlob('a*b?c[d]e\\f'))('aXbYc[d]e\\f')).toBe(false)
  })

  it('is bounded on patterns that make a backtracking matcher exponential', () => {
    // The old RegExp translation took 0.24 s for '*a' x 8 + '*b' on 'a' x 30, and 57 s for
    // x 12 on 'a' x 40; these are the longest such inputs a valid key and pattern can be.
    const key = 'a'.repeat(MAX_KEY_LENGTH)
    const patterns = [
      `${'*a'.repeat(MAX_KEY_LENGTH / 2 - 1)}*b`,
      `${'a*'.repeat(MAX_KEY_LENGTH / 2 - 1)}b`,
      `${'*?'.repeat(MAX_KEY_LENGTH / 2 - 1)}b`,
      `${'*[a-z]'.repeat(MAX_KEY_LENGTH / 6)}b`,
      `${'*é'.repeat(MAX_KEY_LENGTH / 2 - 1)}*b`,
    ]
    const startedAt = performance.now()
    for (const pattern of patterns) {
      expect(pattern.length).toBeLessThanOrEqual(MAX_KEY_LENGTH)
      expect(globMatcher(pattern)(key)).toBe(false)
      expect(globMatcher(pattern)(`${key.slice(1)}é`)).toBe(false)
    }
    expect(globMatcher(`${'*a'.repeat(100)}*`)(key)).toBe(true)
    expect(performance.now() - startedAt).toBeLessThan(1000)
  })

})

describe('the memory tier uses the Redis semantics', () => {
  it('invalidatePattern and getKeys match bytes, accept reversed ranges', async () => {
    const cache = new InMemoryCache()
    for (const key of ['é', 'ab', 'a', '中', 'm']) await cache.set(key, key)
    expect((await cache.getKeys('??')).sort()).toEqual(['ab', 'é'])
    expect(await cache.invalidatePattern('??')).toBe(2)
    expect(await cache.getMany(['é', 'ab', 'a', '中'])).toEqual([undefined, undefined, 'a', '中'])
    expect((await cache.getKeys('[z-a]')).sort()).toEqual(['a', 'm'])
    expect(await cache.invalidatePattern('[z-a]')).toBe(2)
    expect(await cache.getKeys('*')).toEqual(['中'])
  })
})

describe('keys, tags and patterns must be well-formed UTF-16', () => {
  it('isWellFormedText tells lone surrogates from pairs', () => {
    for (const text of LONE_SURROGATES) expect(isWellFormedText(text), JSON.stringify(text)).toBe(false)
    for (const text of ['', 'a', 'é', '😀', 'a😀b', '\uFFFD', '\uD83D\uDE00']) expect(isWellFormedText(text), JSON.stringify(text)).toBe(true)
  })

  it('assertValidKey rejects lone surrogates with E_INVALID_KEY, and accepts U+FFFD itself', () => {
    for (const key of LONE_SURROGATES) {
      expect(() => assertValidKey(key), JSON.stringify(key)).toThrow(errors.E_INVALID_KEY)
      expect(() => assertValidKey(key)).toThrow(/well-formed/)
    }
    for (const key of ['😀', 'é', '\uFFFD', 'user:中']) expect(() => assertValidKey(key)).not.toThrow()
  })

  it('assertValidPattern rejects lone surrogates with E_INVALID_KEY', () => {
    for (const pattern of LONE_SURROGATES.map((text) => `${text}*`)) {
      expect(() => assertValidPattern(pattern), JSON.stringify(pattern)).toThrow(errors.E_INVALID_KEY)
    }
    expect(() => assertValidPattern('😀*')).not.toThrow()
  })

  it('tags with lone surrogates are not a tag list and are rejected as invalid options', () => {
    for (const tag of LONE_SURROGATES) {
      expect(isTagList(['ok', tag])).toBe(false)
      expect(() => assertValidTags(['ok', tag])).toThrow(errors.E_INVALID_OPTIONS)
      expect(() => assertValidTags(['ok', tag])).toThrow(/tags\[1\].*well-formed/)
    }
    expect(isTagList(['😀', '\uFFFD'])).toBe(true)
  })

  it('every cache call that validates keys, tags or patterns refuses them', async () => {
    const cache = new InMemoryCache()
    const lone = '😀'.slice(0, 1)
    await expect(cache.set(lone, 1)).rejects.toThrow(errors.E_INVALID_KEY)
    // get and getOrSet check plain keys inline on their hot path: that check refuses them too.
    await expect(cache.get(lone)).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.getOrSet(lone, () => 1)).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.setMany([{ key: lone, value: 1 }])).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.delete(lone)).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.exists(lone)).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.getMany(['a', lone])).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.deleteMany([lone])).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.getKeys(`${lone}*`)).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.invalidatePattern(`${lone}*`)).rejects.toThrow(errors.E_INVALID_KEY)
    await expect(cache.invalidateTags([lone])).rejects.toThrow(errors.E_INVALID_OPTIONS)
    await expect(cache.set('k', 1, { tags: [lone] })).rejects.toThrow(errors.E_INVALID_OPTIONS)
    await expect(cache.getOrSet('k', () => 1, { tags: [lone] })).rejects.toThrow(errors.E_INVALID_OPTIONS)
    expect(await cache.getKeys('*')).toEqual([])
  })
})

describe('isWellFormedText without String.prototype.isWellFormed', () => {
  const proto = String.prototype as { isWellFormed?: (() => boolean) | undefined }
  const native = proto.isWellFormed
  afterEach(() => {
    proto.isWellFormed = native
    vi.resetModules()
  })

  it('falls back to a regular expression with the same answers', async () => {
    delete proto.isWellFormed
    vi.resetModules()
    const fresh = await import('../../../src/shared/key.js')
    for (const text of LONE_SURROGATES) expect(fresh.isWellFormedText(text), JSON.stringify(text)).toBe(false)
    for (const text of ['', 'a', 'é', '😀', 'a😀b', '\uFFFD']) expect(fresh.isWellFormedText(text), JSON.stringify(text)).toBe(true)
    expect(() => fresh.assertValidKey(LONE_SURROGATES[0])).toThrow(/well-formed/)
  })
})
