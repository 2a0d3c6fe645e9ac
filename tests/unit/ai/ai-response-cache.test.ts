import { afterEach, describe, expect, it, vi } from 'vitest'

import { AIResponseCache, type AIResponseCacheOptions } from '../../../src/ai/index.js'
import { InMemoryCache, errors } from '../../../src/index.js'
import { FakeClock, uniqueNamespace } from '../../helpers/fake-clock.js'

const MODEL = { model: 'gpt-4o-mini', temperature: 0 }
const request = { text: 'Strata keeps serving when Redis fails.', operation: 'summarize', options: MODEL }

function answer(text: string): Record<string, unknown> {
  return { text, finishReason: 'stop', usage: { inputTokens: 100, outputTokens: 20 } }
}

/** An AI cache on a fresh InMemoryCache whose summaries live 1 min, both on `clock`. */
function open(options: AIResponseCacheOptions = {}, clock: { now(): number } = new FakeClock()) {
  const cache = new InMemoryCache({ namespace: uniqueNamespace('ai-unit'), clock })
  return { cache, ai: new AIResponseCache(cache, { clock, operationTtls: { summarize: '1m' }, ...options }) }
}

/** A model call that fails, as a provider outage would. */
const outage = () => Promise.reject(new Error('provider down'))

describe('AIResponseCache tenant views', () => {
  it('share the counters, in-flight calls and load policy of the cache they come from', async () => {
    const clock = new FakeClock()
    const { ai } = open({ loadPolicy: { grace: '1h' } }, clock)
    const acme = ai.forTenant('acme')
    let calls = 0
    const generate = async () => {
      calls++
      await Promise.resolve()
      return answer(`summary ${calls}`)
    }
    const both = await Promise.all([ai.getOrGenerate({ ...request, tenant: 'acme' }, generate), acme.getOrGenerate(request, generate)])
    expect(both).toEqual([answer('summary 1'), answer('summary 1')])
    expect(calls).toBe(1)
    expect(ai.getAIPerformanceSummary().operations.summarize).toMatchObject({ requests: 2, misses: 1, hits: 1 })
    expect(acme.getAIPerformanceSummary()).toEqual(ai.getAIPerformanceSummary())
    clock.advance(61_000)
    expect(await acme.getOrGenerate(request, outage)).toEqual(answer('summary 1'))
    acme.resetAIStats()
    expect(ai.getAIPerformanceSummary().totals.requests).toBe(0)
  })

  it('are AI caches bound to their tenant, with the key generator of their parent', () => {
    const { ai } = open()
    const acme = ai.forTenant('acme')
    expect(acme).toBeInstanceOf(AIResponseCache)
    expect([ai.tenant, acme.tenant]).toEqual([undefined, 'acme'])
    expect(acme.keyGenerator).toBe(ai.keyGenerator)
    expect(acme.forTenant('acme').tenant).toBe('acme')
  })

  it('put the tenant in the key and the tags of every entry they store', async () => {
    const { ai, cache } = open()
    await ai.forTenant('acme').cacheResponse(request.text, 'summarize', MODEL, answer('for acme'))
    const tenantKey = ai.keyGenerator.keyFor({ ...request, tenant: 'acme' })
    expect(await cache.get(tenantKey)).toMatchObject({ value: answer('for acme') })
    expect(await cache.get(ai.keyGenerator.keyFor(request))).toBeUndefined()
    expect(await ai.invalidateByOperation('summarize', 'globex')).toBe(0)
    expect(await ai.invalidateTenant('acme')).toBe(1)
    expect(await cache.get(tenantKey)).toBeUndefined()
  })

  it.each([[''], ['acme:op'], ['a|b'], ['acme*'], [42]])('refuses the tenant id %j', (tenant) => {
    const { ai } = open()
    expect(() => ai.forTenant(tenant as string)).toThrow(errors.E_INVALID_OPTIONS)
  })
})

describe('AIResponseCache loadPolicy', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('serves the expired answer within loadPolicy.grace when the model fails', async () => {
    const clock = new FakeClock()
    const { ai } = open({ loadPolicy: { grace: '1h' } }, clock)
    await ai.getOrGenerate(request, () => answer('before the outage'))
    clock.advance(61_000)
    expect(await ai.getCachedResponse(request.text, 'summarize', MODEL)).toBeUndefined()
    expect(await ai.getOrGenerate(request, outage)).toEqual(answer('before the outage'))
  })

  it('passes the model error through once the answer expired when loadPolicy has no grace', async () => {
    const clock = new FakeClock()
    const { ai } = open({}, clock)
    await ai.getOrGenerate(request, () => answer('before the outage'))
    clock.advance(61_000)
    await expect(ai.getOrGenerate(request, outage)).rejects.toThrow('provider down')
  })

  it('rejects with E_FACTORY_TIMEOUT when the model is slower than loadPolicy.timeout.hard', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const { ai } = open({ loadPolicy: { timeout: { hard: '1s' } } }, { now: () => Date.now() })
    const slowModel = () => new Promise((resolve) => setTimeout(() => resolve(answer('late')), 5_000))
    const outcome = expect(ai.getOrGenerate(request, slowModel)).rejects.toBeInstanceOf(errors.E_FACTORY_TIMEOUT)
    // Past the model's own 5 s, so a load without the deadline settles too (and fails the test).
    await Promise.all([outcome, vi.advanceTimersByTimeAsync(5_000)])
  })

  it('refreshes a hot answer in the background past the loadPolicy.eagerRefresh fraction of its ttl', async () => {
    const clock = new FakeClock()
    const { ai } = open({ loadPolicy: { eagerRefresh: 0.5 } }, clock)
    let calls = 0
    const generate = () => answer(`summary ${++calls}`)
    await ai.getOrGenerate(request, generate)
    clock.advance(40_000)
    expect(await ai.getOrGenerate(request, generate)).toEqual(answer('summary 1'))
    await vi.waitFor(() => expect(calls).toBe(2))
    await vi.waitFor(async () => expect(await ai.getCachedResponse(request.text, 'summarize', MODEL)).toEqual(answer('summary 2')))
  })

  it('rejects an invalid loadPolicy on the first load, naming the option', async () => {
    const { ai } = open({ loadPolicy: { grace: 'a while' as never } })
    await expect(ai.getOrGenerate(request, () => answer('never stored'))).rejects.toMatchObject({
      code: 'E_INVALID_OPTIONS',
      issues: [expect.objectContaining({ path: expect.stringContaining('grace') })],
    })
  })
})

/**
 * Calls `call` and checks it does not throw synchronously: it must return a promise that rejects
 * with E_INVALID_OPTIONS naming `path` (DESIGN: a promise-returning method never throws).
 */
async function expectRejects(call: () => Promise<unknown>, path: string): Promise<void> {
  let result: unknown
  expect(() => {
    result = call()
  }).not.toThrow()
  expect(result).toBeInstanceOf(Promise)
  await expect(result).rejects.toMatchObject({ code: 'E_INVALID_OPTIONS', issues: [expect.objectContaining({ path })] })
}

describe('AIResponseCache reports invalid input as a rejected promise, never a synchronous throw', () => {
  const model = vi.fn(() => answer('never'))
  const stream = vi.fn(async function* () {
    yield 'never'
  })

  afterEach(() => {
    expect(model).not.toHaveBeenCalled()
    expect(stream).not.toHaveBeenCalled()
  })

  it.each([
    ['a request that is not an object', null, 'request'],
    ['a string request', 'summarize this', 'request'],
    ['an invalid operation', { ...request, operation: 'sum|marize' }, 'operation'],
    ['a missing operation', { text: 't', options: MODEL }, 'operation'],
    ['a text that is not a string', { ...request, text: 42 }, 'text'],
    ['options without a model', { ...request, options: { temperature: 0 } }, 'options.model'],
    ['options that are not an object', { ...request, options: 'gpt-4o-mini' }, 'options'],
    ['an option that cannot be hashed', { ...request, options: { ...MODEL, onToken: () => undefined } }, 'options.onToken'],
    ['a question that is not a string', { ...request, question: 7 }, 'question'],
    ['an invalid tenant', { ...request, tenant: 'a:b' }, 'tenant'],
  ])('getOrGenerate and getOrGenerateStream: %s', async (_, bad, path) => {
    const { ai } = open()
    await expectRejects(() => ai.getOrGenerate(bad as never, model), path)
    await expectRejects(() => ai.getOrGenerateStream(bad as never, stream), path)
  })

  it('getOrGenerate and getOrGenerateStream: another tenant on a tenant view', async () => {
    const acme = open().ai.forTenant('acme')
    await expectRejects(() => acme.getOrGenerate({ ...request, tenant: 'globex' }, model), 'tenant')
    await expectRejects(() => acme.getOrGenerateStream({ ...request, tenant: 'globex' }, stream), 'tenant')
  })

  it.each([
    ['a generate that is not a function', 'not a function', undefined, 'generate'],
    ['controls that are not an object', model, 'fast', 'controls'],
    ['null controls', model, null, 'controls'],
    ['a non-boolean forceRefresh', model, { forceRefresh: 'yes' }, 'controls.forceRefresh'],
    ['an invalid ttl', model, { ttl: 'soon' }, 'controls.ttl'],
  ])('getOrGenerate and getOrGenerateStream: %s', async (_, generate, controls, path) => {
    const { ai } = open()
    await expectRejects(() => ai.getOrGenerate(request, generate as never, controls as never), path)
    await expectRejects(() => ai.getOrGenerateStream(request, (generate === model ? stream : generate) as never, controls as never), path)
  })

  it.each([
    ['an assemble that is not a function', { assemble: 'join' }, 'controls.assemble'],
    ['a negative maxChunks', { maxChunks: -1 }, 'controls.maxChunks'],
  ])('getOrGenerateStream: %s', async (_, controls, path) => {
    const { ai } = open()
    await expectRejects(() => ai.getOrGenerateStream(request, stream, controls as never), path)
  })

  it.each([
    ['an invalid operation', ['t', 'sum marize', MODEL], 'operation'],
    ['a text that is not a string', [undefined, 'summarize', MODEL], 'text'],
    ['options without a model', ['t', 'summarize', {}], 'options.model'],
    ['an option that cannot be hashed', ['t', 'summarize', { ...MODEL, client: new (class Client {})() }], 'options.client'],
    ['a question that is not a string', ['t', 'qa', MODEL, 1], 'question'],
  ])('getCachedResponse and cacheResponse: %s', async (_, [text, operation, options, question], path) => {
    const { ai } = open()
    const args = [text, operation, options] as [string, string, Record<string, unknown>]
    await expectRejects(() => ai.getCachedResponse(...args, question as string), path)
    await expectRejects(() => ai.cacheResponse(...args, answer('s'), question as string), path)
  })

  it('invalidateByOperation and invalidateTenant: invalid names and another tenant on a view', async () => {
    const { ai } = open()
    await expectRejects(() => ai.invalidateByOperation('op:x'), 'operation')
    await expectRejects(() => ai.invalidateByOperation(42 as never), 'operation')
    await expectRejects(() => ai.invalidateByOperation('summarize', 'a|b'), 'tenant')
    await expectRejects(() => ai.forTenant('acme').invalidateByOperation('summarize', 'globex'), 'tenant')
    await expectRejects(() => ai.invalidateTenant('acme*'), 'tenant')
    await expectRejects(() => ai.forTenant('acme').invalidateTenant('globex'), 'tenant')
    await expectRejects(() => ai.invalidateTenant(), 'tenant')
  })

  it('counts nothing for a refused request, and the view still works afterwards', async () => {
    const { ai } = open()
    await expectRejects(() => ai.getOrGenerate({ ...request, options: {} }, model), 'options.model')
    await expectRejects(() => ai.getOrGenerate(request, model, { ttl: 'soon' as never }), 'controls.ttl')
    await expectRejects(() => ai.getOrGenerateStream(request, stream, { maxChunks: 1.5 }), 'controls.maxChunks')
    const summary = ai.getAIPerformanceSummary()
    expect(summary.totals.requests).toBe(0)
    expect(summary.textTierDistribution).toEqual({ small: 0, medium: 0, large: 0, xlarge: 0 })
    expect(summary.keyGeneration.generated).toBe(0)
    expect(await ai.getOrGenerate(request, () => answer('fine'))).toEqual(answer('fine'))
  })
})
