import { createHash } from 'node:crypto'

import fc from 'fast-check'
import { describe, expect, it, vi } from 'vitest'

import { CacheKeyGenerator } from '../../../src/ai/cache-key-generator.js'
import { CanonicalWriter } from '../../../src/ai/canonical-hash.js'
import { errors } from '../../../src/errors.js'

const keys = new CacheKeyGenerator()
const base = { model: 'gpt-4o-mini', temperature: 0, system: 'You are terse.', tools: [{ name: 'search', parameters: { q: 'string' } }] }
const key = (options: Record<string, unknown> = base, text = 'Some article', question?: string): string =>
  keys.generateCacheKey(text, 'summarize', options, question)

describe('CacheKeyGenerator', () => {
  it('builds a deterministic, versioned key with the text inline below the threshold', () => {
    const k = key()
    expect(k).toBe(key())
    expect(k).toMatch(/^ai:v1:op:summarize\|txt:Some article\|opts:[\w-]{43}\|q:-$/)
    expect(new CacheKeyGenerator().generateCacheKey('Some article', 'summarize', base)).toBe(k)
  })

  it.each([
    ['the model', { ...base, model: 'gpt-4o' }],
    ['the temperature', { ...base, temperature: 0.7 }],
    ['the system prompt', { ...base, system: 'You are verbose.' }],
    ['the tools', { ...base, tools: [{ name: 'search', parameters: { q: 'number' } }] }],
    ['the tool order', { ...base, tools: [...base.tools, { name: 'calc' }].reverse() }],
    ['an added option', { ...base, maxTokens: 100 }],
    ['an option type (1 vs "1")', { ...base, temperature: '0' }],
    ['null vs a missing option', { ...base, seed: null }],
  ])('changes when %s changes', (_what, options) => {
    expect(key(options)).not.toBe(key())
  })

  it('changes with the question, the text and the operation', () => {
    expect(key(base, 'Some article', 'Who?')).not.toBe(key())
    expect(key(base, 'Some article', 'Who?')).not.toBe(key(base, 'Some article', 'Why?'))
    expect(key(base, 'Some article.')).not.toBe(key())
    expect(keys.generateCacheKey('Some article', 'sentiment', base)).not.toBe(key())
  })

  it('does not change with the order of option keys, at any depth', () => {
    const reordered = { tools: [{ parameters: { q: 'string' }, name: 'search' }], system: 'You are terse.', temperature: 0, model: 'gpt-4o-mini' }
    expect(key(reordered)).toBe(key())
  })

  it('gives an omitted option and an explicit undefined the same key, at any depth', () => {
    expect(key({ ...base, topP: undefined })).toBe(key())
    expect(key({ ...base, tools: [{ name: 'search', parameters: { q: 'string', extra: undefined } }] })).toBe(key())
    expect(keys.generateCacheKey('t', 'qa', undefined)).toBe(keys.generateCacheKey('t', 'qa', {}))
    expect(keys.generateCacheKey('t', 'qa', {}, undefined)).toBe(keys.generateCacheKey('t', 'qa', {}))
  })

  it('keeps a 1 MB text out of a key under 200 characters', () => {
    const text = 'secret prompt text '.repeat(60_000).slice(0, 1 << 20)
    const k = keys.generateCacheKey(text, 'summarize', base, 'What is it about?')
    expect(k.length).toBeLessThan(200)
    expect(k).not.toContain('secret')
    expect(k).toMatch(/\|txth:[\w-]{43}\|/)
  })

  it('hashes texts longer than the threshold as SHA-256 of their UTF-8 bytes', () => {
    const text = 'é'.repeat(65)
    const digest = createHash('sha256').update(text, 'utf8').digest('base64url')
    expect(keys.generateCacheKey(text, 'qa', {})).toContain(`|txth:${digest}|`)
    expect(keys.generateCacheKey('é'.repeat(64), 'qa', {})).toContain(`|txt:${'é'.repeat(64)}|`)
    expect(new CacheKeyGenerator({ textHashThreshold: 0 }).generateCacheKey('a', 'qa', {})).toContain('|txth:')
  })

  it('hashes a large text in slices without splitting surrogate pairs', () => {
    const text = `${'a'.repeat((1 << 16) - 1)}😀${'b'.repeat(10)}`
    const digest = createHash('sha256').update(text, 'utf8').digest('base64url')
    expect(keys.generateCacheKey(text, 'qa', {})).toContain(`|txth:${digest}|`)
  })

  it('tells apart texts that differ only in lone surrogates (UTF-8 would merge them)', () => {
    const a = keys.generateCacheKey('x\uD800', 'qa', {})
    const b = keys.generateCacheKey('x\uDBFF', 'qa', {})
    expect(a).not.toBe(b)
    expect(a).toContain('|txth:')
    const long = (s: string) => keys.generateCacheKey(s.repeat(40_000), 'qa', {})
    expect(long('\uD800')).not.toBe(long('\uDBFF'))
  })

  it('hashes images and other bytes by content', () => {
    const image = (fill: number) => ({ ...base, image: new Uint8Array(4096).fill(fill) })
    expect(key(image(1))).toBe(key(image(1)))
    expect(key(image(1))).not.toBe(key(image(2)))
    expect(key({ ...base, image: Buffer.alloc(4096, 1) })).toBe(key(image(1)))
    expect(key({ ...base, image: new Uint8Array(4096).fill(1).buffer })).toBe(key(image(1)))
  })

  it('keeps types apart that JSON would merge', () => {
    const forms = [[undefined], [null], [Number.NaN], [Infinity], [1n], ['1'], [1], [new Date(0)], ['1970-01-01T00:00:00.000Z'], [{}], [[]]]
    const all = forms.map((items) => key({ ...base, items }))
    expect(new Set(all).size).toBe(forms.length)
  })

  it('ignores the insertion order of Sets and Maps but not of arrays', () => {
    expect(key({ ...base, stop: new Set(['a', 'b']) })).toBe(key({ ...base, stop: new Set(['b', 'a']) }))
    expect(key({ ...base, m: new Map([['a', 1], ['b', 2]]) })).toBe(key({ ...base, m: new Map([['b', 2], ['a', 1]]) }))
    expect(key({ ...base, stop: ['a', 'b'] })).not.toBe(key({ ...base, stop: ['b', 'a'] }))
  })

  it('hashes long strings inside options without embedding them', () => {
    const long = (c: string) => ({ ...base, system: c.repeat(5000) })
    expect(key(long('a'))).not.toBe(key(long('b')))
    expect(key(long('a'))).toBe(key(long('a')))
  })

  it('refuses what cannot be hashed safely, naming the path', () => {
    const cyclic: Record<string, unknown> = { a: 1 }
    cyclic.self = cyclic
    const cases: Array<[unknown, string]> = [
      [{ fn: () => 1 }, 'options.fn'],
      [{ s: Symbol('x') }, 'options.s'],
      [{ nested: { signal: new AbortController().signal } }, 'options.nested.signal'],
      [cyclic, 'options.self'],
    ]
    for (const [options, path] of cases) {
      let caught: unknown
      try {
        key(options as Record<string, unknown>)
      } catch (error) {
        caught = error
      }
      expect(caught).toBeInstanceOf(errors.E_INVALID_OPTIONS)
      expect((caught as InstanceType<typeof errors.E_INVALID_OPTIONS>).issues[0]?.path).toBe(path)
    }
  })

  it('uses toJSON of objects such as URL', () => {
    expect(key({ ...base, url: new URL('https://example.com/a') })).toBe(key({ ...base, url: 'https://example.com/a' }))
  })

  it('puts a validated tenant first so no tenant can forge another one`s key', () => {
    const a = keys.keyFor({ text: 't', operation: 'qa', options: {}, tenant: 'acme' })
    expect(a.startsWith('ai:v1:t:acme|op:qa|')).toBe(true)
    expect(keys.keyFor({ text: 't', operation: 'qa', options: {}, tenant: 'globex' })).not.toBe(a)
    expect(keys.keyFor({ text: 't', operation: 'qa', options: {} })).not.toBe(a)
    for (const tenant of ['acme|op:qa', 'a:b', 'a*', '', 'x'.repeat(65), 'spa ce']) {
      expect(() => keys.keyFor({ text: 't', operation: 'qa', tenant })).toThrow(errors.E_INVALID_OPTIONS)
    }
  })

  it('refuses operation names that could forge a segment', () => {
    for (const operation of ['sum|txt:x', 'a:b', '', 'a b']) {
      expect(() => keys.generateCacheKey('t', operation, {})).toThrow(errors.E_INVALID_OPTIONS)
    }
  })

  it('marks stream entries apart from whole responses', () => {
    const parts = { text: 't', operation: 'qa', options: base }
    expect(keys.keyFor({ ...parts, stream: true })).toBe(`${keys.keyFor(parts)}|stream`)
  })

  it('stays within strata`s key limit at the largest settings', () => {
    const widest = new CacheKeyGenerator({ textHashThreshold: 512, hashAlgorithm: 'sha512' })
    const k = widest.keyFor({ text: 'x'.repeat(512), operation: 'o'.repeat(64), options: base, question: 'q', tenant: 't'.repeat(64), stream: true })
    expect(k.length).toBeLessThanOrEqual(1024)
  })

  it('reports every invalid constructor option at once', () => {
    let caught: unknown
    try {
      new CacheKeyGenerator({ textHashThreshold: 1000, hashAlgorithm: 'md5' as never })
    } catch (error) {
      caught = error
    }
    expect((caught as InstanceType<typeof errors.E_INVALID_OPTIONS>).issues.map((i) => i.path)).toEqual(['textHashThreshold', 'hashAlgorithm'])
  })

  it('records key generation time and calls onKeyGenerated for every key', () => {
    const durations: number[] = []
    const timed = new CacheKeyGenerator({ onKeyGenerated: (ms) => durations.push(ms) })
    // Each timed generation reads the clock twice: at 10·i and 10·i + i + 0.5.
    const readings = Array.from({ length: 5 }, (_, i) => [10 * i, 10 * i + i + 0.5]).flat()
    const clock = vi.spyOn(performance, 'now').mockImplementation(() => readings.shift() ?? 0)
    try {
      for (let i = 0; i < 5; i++) timed.generateCacheKey(`t${i}`, 'qa', base)
    } finally {
      clock.mockRestore()
    }
    expect(durations).toEqual([0.5, 1.5, 2.5, 3.5, 4.5])
    expect(timed.getStats()).toMatchObject({ generated: 5 })
    expect(timed.getStats().averageMs).toBeCloseTo(2.5, 10)
  })

  it('gives memoized flat options the digest of the general writer, on first and later calls', () => {
    const value = fc.oneof(fc.string({ maxLength: 200 }), fc.double(), fc.integer(), fc.bigInt(), fc.boolean(), fc.constant(null), fc.constant(undefined))
    const memoized = new CacheKeyGenerator()
    fc.assert(
      fc.property(fc.dictionary(fc.string({ maxLength: 12 }), value, { maxKeys: 20 }), (options) => {
        const writer = new CanonicalWriter('sha256')
        writer.write(options)
        const expected = writer.digest()
        expect(memoized.hashOptions(options)).toBe(expected)
        expect(memoized.hashOptions({ ...options })).toBe(expected)
      }),
      { numRuns: 1000 },
    )
  })

  it('returns from its memo exactly the keys a fresh generator builds, also past the memo bounds', () => {
    const memoized = new CacheKeyGenerator()
    const request = fc.record({
      text: fc.oneof(fc.constantFrom('a', 'b', 'x'.repeat(100)), fc.string({ maxLength: 80 })),
      operation: fc.constantFrom('summarize', 'qa'),
      options: fc.record({ model: fc.constantFrom('m1', 'm2'), temperature: fc.constantFrom(0, 0.5, undefined), n: fc.integer({ min: 0, max: 3 }) }),
      question: fc.constantFrom(undefined, 'why?', 'how?'),
      tenant: fc.constantFrom(undefined, 'acme', 'globex'),
      stream: fc.boolean(),
    })
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 50 }), (requests) => {
        for (const parts of requests) expect(memoized.keyFor(parts)).toBe(new CacheKeyGenerator().keyFor(parts))
      }),
      { numRuns: 400 },
    )
  })
})

describe('CacheKeyGenerator repeated-request shortcut', () => {
  it('never returns the previous key for a request that differs from it in any part', () => {
    const fresh = new CacheKeyGenerator()
    const reference = new CacheKeyGenerator()
    const base = { text: 't'.repeat(100), operation: 'summarize', options: { model: 'm', temperature: 0, maxTokens: 5 } }
    const variants = [
      base,
      { ...base, options: { model: 'm', temperature: 0, maxTokens: 6 } },
      { ...base, options: { model: 'm', temperature: 0 } },
      { ...base, options: { model: 'm', temperature: 0, maxTokens: 5, top: 1 } },
      { ...base, options: { temperature: 0, maxTokens: 5, model: 'm' } },
      { ...base, options: { model: 'm', temperature: 0, maxTokens: 5, seed: undefined } },
      { ...base, options: { model: 'm', temperature: 0, maxTokens: 5, tools: ['a'] } },
      { ...base, text: 'u'.repeat(100) },
      { ...base, operation: 'qa' },
      { ...base, question: 'why?' },
      { ...base, tenant: 'acme' },
      { ...base, stream: true },
    ]
    // Each variant right after the base, and the base right after each variant.
    for (const variant of variants) {
      for (const parts of [base, variant, variant, base]) {
        expect(fresh.keyFor(parts)).toBe(new CacheKeyGenerator().keyFor(parts))
      }
    }
    expect(reference.keyFor(variants[4]!)).toBe(reference.keyFor(base))
  })
})
