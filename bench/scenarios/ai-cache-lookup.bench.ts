/**
 * AI cache lookup: an L1 hit on `AIResponseCache.getCachedResponse(text, 'summarize', options)`
 * beside a plain `cache.get(key)` of the same stored value, on one InMemoryCache, 1 in flight.
 *
 * The AI call does everything a request handler's lookup does: validates the request, builds
 * the key from a 100-character text (hashed: over the 64-character threshold) and a fresh
 * options object, reads the cache, checks the entry and counts the hit and its savings. The
 * plain get reads the same entry under the key computed once beforehand.
 *
 * Target (issue): the AI lookup within 3x of the plain get, i.e. a ratio >= 0.33. Shown for
 * context: the same pair on GenericRedisCache with L1 (both are L1 hits).
 */
import { deepStrictEqual } from 'node:assert/strict'

import { AIResponseCache } from '../../src/ai/index.js'
import type { CacheInterface } from '../../src/index.js'
import { strataMemory, strataRedis } from '../contenders.js'
import { type BenchCase, type Scenario, type TargetCheck, check, info, payload, rate, runCases } from '../helpers.js'

const TEXT = 'Customer reports that checkout fails with a 502 after the payment step; retried twice, same result.'.slice(0, 100)
const OPERATION = 'summarize'
/** Calls timed together: one call is well below the timer's cost. */
const BATCH = 64

/** The response a model returned: text, finish reason and usage, about 1 KB. */
function response(): Record<string, unknown> {
  return { text: payload('1KB').bio, finishReason: 'stop', usage: { inputTokens: 412, outputTokens: 96 } }
}

/** A fresh options object per call, as a request handler builds it. */
const options = () => ({ model: 'gpt-4o-mini', temperature: 0, maxTokens: 256 })

async function pair(cache: CacheInterface, label: string): Promise<{ cases: BenchCase[]; ai: AIResponseCache }> {
  const ai = new AIResponseCache(cache, { prices: { 'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 } } })
  const value = response()
  const aiKey = ai.keyGenerator.generateCacheKey(TEXT, OPERATION, options())
  const workload = `AI lookup, L1 hit (${label})`
  return {
    ai,
    cases: [
      {
        workload,
        contender: 'cache.get(key)',
        concurrency: 1,
        batch: BATCH,
        note: 'the same entry, key computed once',
        prepare: async () => {
          await ai.cacheResponse(TEXT, OPERATION, options(), value)
          deepStrictEqual(((await cache.get(aiKey)) as { value: unknown }).value, value)
        },
        op: { async: () => cache.get(aiKey) },
      },
      {
        workload,
        contender: 'ai.getCachedResponse(text, op, options)',
        concurrency: 1,
        batch: BATCH,
        prepare: async () => deepStrictEqual(await ai.getCachedResponse(TEXT, OPERATION, options()), value),
        op: { async: () => ai.getCachedResponse(TEXT, OPERATION, options()) },
      },
    ],
  }
}

export const scenario: Scenario = {
  name: 'ai-cache-lookup',
  title: 'AIResponseCache.getCachedResponse L1 hit vs a plain get of the same value, 1 in flight',
  async run({ redis, config }) {
    const memory = strataMemory()
    const tiered = await strataRedis(redis, 'ailookup')
    try {
      const mem = await pair(memory, 'InMemoryCache')
      const red = await pair(tiered, 'GenericRedisCache with L1')
      const results = [...(await runCases(this.name, mem.cases, config)), ...(await runCases(this.name, red.cases, config))]
      const ratio = (label: string): number =>
        rate(results, `AI lookup, L1 hit (${label})`, 'ai.getCachedResponse(text, op, options)') / rate(results, `AI lookup, L1 hit (${label})`, 'cache.get(key)')
      const checks: TargetCheck[] = [
        check(this.name, 'getCachedResponse L1 hit within 3x of a plain get (InMemoryCache)', 'getCachedResponse / get ops/s', ratio('InMemoryCache'), '>=', 0.33),
        info(this.name, 'same, GenericRedisCache with L1', 'getCachedResponse / get ops/s', ratio('GenericRedisCache with L1')),
      ]
      const summary = mem.ai.getAIPerformanceSummary()
      return {
        cases: results,
        checks,
        notes: [
          `InMemoryCache AI summary after the run: ${summary.totals.hits} hits, ${summary.totals.misses} misses, key generation ${(summary.keyGeneration.averageMs * 1000).toFixed(2)} µs on average`,
        ],
      }
    } finally {
      await memory.disconnect()
      await tiered.disconnect()
    }
  },
}
