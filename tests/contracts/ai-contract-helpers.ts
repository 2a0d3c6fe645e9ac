import { afterEach } from 'vitest'

import { AIResponseCache, type AIResponseCacheOptions } from '../../src/ai/index.js'
import type { CacheInterface } from '../../src/index.js'
import { FakeClock, uniqueNamespace } from '../helpers/fake-clock.js'

/** How an AI contract builds the cache under test. */
export interface AICacheContractTarget {
  /** Builds a connected cache on `namespace` using `clock`. */
  make(params: { namespace: string; clock: FakeClock }): Promise<CacheInterface>
}

/** What each test gets: a fresh cache, an AI cache on it, and the shared fake clock. */
export interface AIFixture {
  readonly cache: CacheInterface
  readonly ai: AIResponseCache
  readonly clock: FakeClock
}

/** Opens fresh caches for a suite and closes them after each test. */
export function aiFixtures(target: AICacheContractTarget): (options?: AIResponseCacheOptions) => Promise<AIFixture> {
  const opened: CacheInterface[] = []
  const clock = new FakeClock()
  afterEach(async () => {
    for (const cache of opened.splice(0)) {
      await cache.clear()
      await cache.disconnect()
    }
  })
  return async (options = {}) => {
    const cache = await target.make({ namespace: uniqueNamespace('ai'), clock })
    opened.push(cache)
    return { cache, ai: new AIResponseCache(cache, { clock, ...options }), clock }
  }
}

/** A well-formed model answer with usage. */
export function answer(text: string, usage = { inputTokens: 1000, outputTokens: 200 }): Record<string, unknown> {
  return { text, finishReason: 'stop', usage }
}

/**
 * A fake model: counts calls and answers after `latencyMs` of fake time (the clock moves while
 * the call is pending), yielding to the event loop so concurrent callers really overlap.
 */
export function fakeModel<T>(clock: FakeClock, reply: (call: number) => T | Promise<T>, latencyMs = 0) {
  const model = {
    calls: 0,
    generate: async (): Promise<T> => {
      const call = ++model.calls
      await new Promise((resolve) => setTimeout(resolve, 5))
      clock.advance(latencyMs)
      return reply(call)
    },
  }
  return model
}

/** Reads a whole stream into an array. */
export async function collect<C>(stream: AsyncIterable<C>): Promise<C[]> {
  const chunks: C[] = []
  for await (const chunk of stream) chunks.push(chunk)
  return chunks
}

/** A fake streaming model: yields `chunks` (one tick apart), optionally throwing after `failAfter` of them. */
export function fakeStreamModel<C>(chunks: readonly C[], options: { failAfter?: number } = {}) {
  const model = {
    calls: 0,
    /** Upstreams that were cancelled (their `finally` ran before the end). */
    cancelled: 0,
    generate: (): AsyncIterable<C> => {
      model.calls++
      return (async function* () {
        let finished = false
        try {
          for (let i = 0; i < chunks.length; i++) {
            if (options.failAfter === i) throw new Error('connection reset mid-stream')
            await new Promise((resolve) => setTimeout(resolve, 1))
            yield chunks[i] as C
          }
          finished = true
        } finally {
          if (!finished && options.failAfter === undefined) model.cancelled++
        }
      })()
    },
  }
  return model
}
