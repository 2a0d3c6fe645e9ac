import { describe, expect, it } from 'vitest'

import { errors } from '../../src/errors.js'
import { type AICacheContractTarget, aiFixtures, answer, fakeModel } from './ai-contract-helpers.js'
import { registerAIStreamContract } from './ai-stream-contract.js'

export type { AICacheContractTarget } from './ai-contract-helpers.js'

const MODEL = { model: 'gpt-4o-mini', temperature: 0 }
const PRICES = { 'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 } }
const article = 'Strata caches stay correct when Redis fails. '.repeat(20)

/**
 * The behaviour of `AIResponseCache` on any `CacheInterface`: run once on memory and once on a
 * real Redis. Each test uses its own namespace.
 */
export function registerAICacheContract(name: string, target: AICacheContractTarget): void {
  describe(`${name}: AI cache contract`, () => {
    const open = aiFixtures(target)

    it('returns a stored response for the same request and misses for any other', async () => {
      const { ai } = await open()
      expect(await ai.getCachedResponse(article, 'summarize', MODEL)).toBeUndefined()
      expect(await ai.cacheResponse(article, 'summarize', MODEL, answer('Short.'))).toBe(true)
      expect(await ai.getCachedResponse(article, 'summarize', { temperature: 0, model: 'gpt-4o-mini' })).toEqual(answer('Short.'))
      expect(await ai.getCachedResponse(article, 'summarize', { ...MODEL, model: 'gpt-4o' })).toBeUndefined()
      expect(await ai.getCachedResponse(article, 'key_points', MODEL)).toBeUndefined()
      expect(await ai.getCachedResponse(article, 'summarize', MODEL, 'Why?')).toBeUndefined()
      expect(await ai.getCachedResponse(`${article}!`, 'summarize', MODEL)).toBeUndefined()
    })

    it('stores each operation with its ttl (summarize 2 h, sentiment 24 h, qa 30 min, others 1 h)', async () => {
      const { ai, cache, clock } = await open({ operationTtls: { translate: '5m' } })
      const expected = { summarize: 2 * 3600e3, sentiment: 24 * 3600e3, key_points: 2 * 3600e3, questions: 3600e3, qa: 1800e3, translate: 300e3, other: 3600e3 }
      for (const [operation, ttl] of Object.entries(expected)) {
        await ai.cacheResponse('text', operation, MODEL, answer('a'))
        const remaining = await cache.getTtl(ai.keyGenerator.generateCacheKey('text', operation, MODEL))
        expect(remaining, operation).toBeGreaterThan(ttl - 2000)
        expect(remaining, operation).toBeLessThanOrEqual(ttl)
      }
      clock.advance(1800e3 + 1)
      expect(await ai.getCachedResponse('text', 'qa', MODEL)).toBeUndefined()
      expect(await ai.getCachedResponse('text', 'summarize', MODEL)).toEqual(answer('a'))
    })

    it('calls generate once for 100 concurrent identical misses', async () => {
      const { ai, clock } = await open()
      const model = fakeModel(clock, () => answer('Once.'))
      const request = { text: article, operation: 'summarize', options: MODEL }
      const results = await Promise.all(Array.from({ length: 100 }, () => ai.getOrGenerate(request, model.generate)))
      expect(model.calls).toBe(1)
      expect(results.every((r) => (r as { text: string }).text === 'Once.')).toBe(true)
      expect(await ai.getOrGenerate(request, model.generate)).toEqual(answer('Once.'))
      expect(model.calls).toBe(1)
      const summary = ai.getAIPerformanceSummary().operations.summarize
      expect(summary).toMatchObject({ misses: 1, hits: 100, shared: 99, stored: 1 })
    })

    it('passes a generate error unchanged to every waiter and stores nothing', async () => {
      const { ai, clock } = await open()
      const boom = new Error('rate limited')
      const model = fakeModel(clock, () => Promise.reject(boom))
      const request = { text: 'x', operation: 'qa', options: MODEL, question: 'q?' }
      const settled = await Promise.allSettled(Array.from({ length: 20 }, () => ai.getOrGenerate(request, model.generate)))
      expect(model.calls).toBe(1)
      expect(settled.every((s) => s.status === 'rejected' && s.reason === boom)).toBe(true)
      expect(await ai.getCachedResponse('x', 'qa', MODEL, 'q?')).toBeUndefined()
      expect(ai.getAIPerformanceSummary().operations.qa?.errors).toBe(1)
    })

    it.each([
      ['an error field', { text: 'partial', error: { message: 'overloaded' } }],
      ['empty output', { text: '  ', finishReason: 'stop' }],
      ['a length finish', { text: 'cut sho', finishReason: 'length' }],
      ['a content-filter finish', { text: 'x', finishReason: { unified: 'content-filter', raw: 'safety' } }],
      ['null', null],
    ])('never stores a response with %s, but still returns it to every caller', async (_what, response) => {
      const { ai, clock } = await open()
      const model = fakeModel(clock, () => response)
      const request = { text: 'x', operation: 'summarize', options: MODEL }
      const both = await Promise.all([ai.getOrGenerate(request, model.generate), ai.getOrGenerate(request, model.generate)])
      expect(both).toEqual([response, response])
      expect(model.calls).toBe(1)
      await ai.getOrGenerate(request, model.generate)
      expect(model.calls).toBe(2)
      expect(ai.getAIPerformanceSummary().operations.summarize).toMatchObject({ stored: 0, rejected: 2 })
      expect(await ai.cacheResponse('x', 'summarize', MODEL, response)).toBe(false)
    })

    it('caches sampled requests only for operations that allow it', async () => {
      const { ai, clock } = await open()
      const model = fakeModel(clock, (n) => answer(`sample ${n}`))
      const sampled = { ...MODEL, temperature: 0.9 }
      const questions = { text: article, operation: 'questions', options: sampled }
      const concurrent = await Promise.all([ai.getOrGenerate(questions, model.generate), ai.getOrGenerate(questions, model.generate)])
      expect(new Set(concurrent.map((r) => (r as { text: string }).text)).size).toBe(2)
      expect(await ai.cacheResponse(article, 'questions', sampled, answer('q'))).toBe(false)
      expect(ai.getAIPerformanceSummary().operations.questions).toMatchObject({ bypassed: 3, stored: 0 })
      const summary = { text: article, operation: 'summarize', options: sampled }
      await ai.getOrGenerate(summary, model.generate)
      await ai.getOrGenerate(summary, model.generate)
      expect(model.calls).toBe(3)
    })

    it('honours bypass, forceRefresh, noStore and ttl per call', async () => {
      const { ai, cache, clock } = await open()
      const model = fakeModel(clock, (n) => answer(`v${n}`))
      const request = { text: 'ctl', operation: 'summarize', options: MODEL }
      expect(await ai.getOrGenerate(request, model.generate, { noStore: true })).toEqual(answer('v1'))
      expect(await ai.getCachedResponse('ctl', 'summarize', MODEL)).toBeUndefined()
      expect(await ai.getOrGenerate(request, model.generate, { ttl: '10s' })).toEqual(answer('v2'))
      expect(await cache.getTtl(ai.keyGenerator.generateCacheKey('ctl', 'summarize', MODEL))).toBeLessThanOrEqual(10_000)
      expect(await ai.getOrGenerate(request, model.generate, { noStore: true })).toEqual(answer('v2'))
      expect(await ai.getOrGenerate(request, model.generate, { bypass: true })).toEqual(answer('v3'))
      expect(await ai.getCachedResponse('ctl', 'summarize', MODEL)).toEqual(answer('v2'))
      expect(await ai.getOrGenerate(request, model.generate, { forceRefresh: true })).toEqual(answer('v4'))
      expect(await ai.getOrGenerate(request, model.generate)).toEqual(answer('v4'))
      expect(model.calls).toBe(4)
    })

    it('counts saved model calls, tokens, cost and latency on hits', async () => {
      const { ai, clock } = await open({ prices: PRICES })
      const model = fakeModel(clock, () => answer('S', { inputTokens: 2000, outputTokens: 500 }), 1200)
      const request = { text: article, operation: 'summarize', options: MODEL }
      await ai.getOrGenerate(request, model.generate)
      await ai.getOrGenerate(request, model.generate)
      await ai.getCachedResponse(article, 'summarize', MODEL)
      const { saved } = ai.getAIPerformanceSummary()
      expect(saved).toMatchObject({ modelCalls: 2, inputTokens: 4000, outputTokens: 1000, latencyMs: 2400, unpricedHits: 0 })
      expect(saved.cost).toBeCloseTo(2 * (2000 * 0.15 + 500 * 0.6) / 1e6, 12)
    })

    it('invalidates one operation through its tag, globally or for one tenant', async () => {
      const { ai } = await open()
      const acme = ai.forTenant('acme')
      const globex = ai.forTenant('globex')
      for (const cacheView of [ai, acme, globex]) {
        await cacheView.cacheResponse('t', 'summarize', MODEL, answer('s'))
        await cacheView.cacheResponse('t', 'sentiment', MODEL, answer('positive'))
      }
      expect(await ai.invalidateByOperation('summarize', 'acme')).toBe(1)
      expect(await acme.getCachedResponse('t', 'summarize', MODEL)).toBeUndefined()
      expect(await globex.getCachedResponse('t', 'summarize', MODEL)).toEqual(answer('s'))
      expect(await ai.invalidateByOperation('summarize')).toBe(2)
      expect(await globex.getCachedResponse('t', 'summarize', MODEL)).toBeUndefined()
      expect(await acme.getCachedResponse('t', 'sentiment', MODEL)).toEqual(answer('positive'))
      expect(await globex.invalidateTenant()).toBe(1)
      expect(await ai.getCachedResponse('t', 'sentiment', MODEL)).toEqual(answer('positive'))
    })

    it('keeps tenants apart: same request, separate entries, no cross-tenant access', async () => {
      const { ai, clock } = await open()
      const model = fakeModel(clock, (n) => answer(`for call ${n}`))
      const request = { text: 'shared text', operation: 'summarize', options: MODEL }
      const a = await ai.getOrGenerate({ ...request, tenant: 'acme' }, model.generate)
      const b = await ai.forTenant('globex').getOrGenerate(request, model.generate)
      expect(a).not.toEqual(b)
      expect(await ai.getCachedResponse('shared text', 'summarize', MODEL)).toBeUndefined()
      await expect(ai.forTenant('acme').getOrGenerate({ ...request, tenant: 'globex' }, model.generate)).rejects.toThrow(errors.E_INVALID_OPTIONS)
      expect(() => ai.forTenant('acme').forTenant('globex')).toThrow(errors.E_INVALID_OPTIONS)
      expect(() => ai.forTenant('acme|op:x')).toThrow(errors.E_INVALID_OPTIONS)
    })

    it('summarizes hit ratios, distributions, tiers and key generation', async () => {
      const { ai } = await open()
      for (const size of [100, 1000, 10_000, 60_000]) {
        const text = 'w'.repeat(size)
        await ai.cacheResponse(text, 'summarize', MODEL, answer('s'))
        await ai.getCachedResponse(text, 'summarize', MODEL)
      }
      await ai.getCachedResponse('nothing', 'sentiment', MODEL)
      const summary = ai.getAIPerformanceSummary()
      expect(summary.operations.summarize).toMatchObject({ requests: 4, hits: 4, hitRatio: 1 })
      expect(summary.operations.sentiment).toMatchObject({ requests: 1, misses: 1, hitRatio: 0 })
      expect(summary.totals.hitRatio).toBeCloseTo(0.8)
      expect(summary.operationDistribution).toEqual({ summarize: 0.8, sentiment: 0.2 })
      expect(summary.textTierDistribution).toEqual({ small: 2, medium: 1, large: 1, xlarge: 1 })
      expect(summary.keyGeneration.generated).toBe(9)
      expect(summary.keyGeneration.averageMs).toBeGreaterThan(0)
      ai.resetAIStats()
      expect(ai.getAIPerformanceSummary().totals.requests).toBe(0)
    })

    it('treats a foreign value under an AI key as a miss and replaces it', async () => {
      const { ai, cache, clock } = await open()
      await cache.set(ai.keyGenerator.generateCacheKey('f', 'qa', MODEL), 'not an AI entry')
      expect(await ai.getCachedResponse('f', 'qa', MODEL)).toBeUndefined()
      const model = fakeModel(clock, () => answer('fresh'))
      expect(await ai.getOrGenerate({ text: 'f', operation: 'qa', options: MODEL }, model.generate)).toEqual(answer('fresh'))
      expect(await ai.getCachedResponse('f', 'qa', MODEL)).toEqual(answer('fresh'))
    })

    it('requires the model in the options unless told otherwise', async () => {
      const { ai } = await open()
      await expect(ai.getCachedResponse('t', 'qa', { temperature: 0 })).rejects.toThrow(/options\.model/)
      const lax = (await open({ requireModel: false })).ai
      expect(await lax.cacheResponse('t', 'qa', {}, 'plain string answer')).toBe(true)
      expect(await lax.getCachedResponse('t', 'qa', {})).toBe('plain string answer')
    })

    registerAIStreamContract(open)
  })
}
