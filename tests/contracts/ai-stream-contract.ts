import { describe, expect, it } from 'vitest'

import type { AIResponseCacheOptions } from '../../src/ai/index.js'
import { type AIFixture, collect, fakeStreamModel } from './ai-contract-helpers.js'

const MODEL = { model: 'gpt-4o-mini', temperature: 0 }
const request = { text: 'Tell me a story', operation: 'summarize', options: MODEL }
/** Chunks whose boundaries matter: joining them would lose the objects and the empty string. */
const CHUNKS = ['Once', ' upon', '', ' a time', { type: 'meta', at: new Date(0), n: [1, 2] }]

/** Streaming through `getOrGenerateStream`, part of the AI cache contract. */
export function registerAIStreamContract(open: (options?: AIResponseCacheOptions) => Promise<AIFixture>): void {
  describe('streams', () => {
    it('stores a stream that ends normally and replays the same chunks, in order, boundaries intact', async () => {
      const { ai } = await open()
      const model = fakeStreamModel(CHUNKS)
      const live = await ai.getOrGenerateStream(request, model.generate)
      expect(live.source).toBe('model')
      expect(await collect(live)).toEqual(CHUNKS)
      const replayed = await ai.getOrGenerateStream(request, model.generate)
      expect(replayed.source).toBe('cache')
      expect(await collect(replayed)).toEqual(CHUNKS)
      expect(model.calls).toBe(1)
      expect(ai.getAIPerformanceSummary().operations.summarize).toMatchObject({ misses: 1, hits: 1, stored: 1 })
    })

    it('keeps streamed and whole responses apart', async () => {
      const { ai } = await open()
      await collect(await ai.getOrGenerateStream(request, fakeStreamModel(['a', 'b']).generate))
      expect(await ai.getCachedResponse(request.text, request.operation, MODEL)).toBeUndefined()
    })

    it('passes an upstream error to the reader and stores nothing', async () => {
      const { ai } = await open()
      const failing = fakeStreamModel(['a', 'b', 'c'], { failAfter: 2 })
      const seen: unknown[] = []
      await expect(
        (async () => {
          for await (const chunk of await ai.getOrGenerateStream(request, failing.generate)) seen.push(chunk)
        })(),
      ).rejects.toThrow('connection reset mid-stream')
      expect(seen).toEqual(['a', 'b'])
      const healthy = fakeStreamModel(['x'])
      const again = await ai.getOrGenerateStream(request, healthy.generate)
      expect(again.source).toBe('model')
      expect(await collect(again)).toEqual(['x'])
      expect(ai.getAIPerformanceSummary().operations.summarize).toMatchObject({ errors: 1, stored: 1 })
    })

    it('cancels the upstream and stores nothing when the reader abandons the stream', async () => {
      const { ai } = await open()
      const model = fakeStreamModel(['a', 'b', 'c', 'd'])
      for await (const chunk of await ai.getOrGenerateStream(request, model.generate)) {
        if (chunk === 'b') break
      }
      await new Promise((resolve) => setTimeout(resolve, 10))
      expect(model.cancelled).toBe(1)
      const again = await ai.getOrGenerateStream(request, model.generate)
      expect(again.source).toBe('model')
      await collect(again)
      expect(model.calls).toBe(2)
    })

    it('shares one upstream between concurrent identical misses, each reading every chunk', async () => {
      const { ai } = await open()
      const model = fakeStreamModel(CHUNKS)
      const streams = await Promise.all(Array.from({ length: 5 }, () => ai.getOrGenerateStream(request, model.generate)))
      expect(streams.map((s) => s.source).sort()).toEqual(['model', 'shared', 'shared', 'shared', 'shared'])
      const read = await Promise.all(streams.map(collect))
      expect(read.every((chunks) => JSON.stringify(chunks) === JSON.stringify(CHUNKS))).toBe(true)
      expect(model.calls).toBe(1)
      expect((await ai.getOrGenerateStream(request, model.generate)).source).toBe('cache')
    })

    it('keeps the upstream running while one of several readers remains', async () => {
      const { ai } = await open()
      const model = fakeStreamModel(['a', 'b', 'c', 'd'])
      const [first, second] = await Promise.all([ai.getOrGenerateStream(request, model.generate), ai.getOrGenerateStream(request, model.generate)])
      for await (const chunk of first) if (chunk === 'a') break
      expect(await collect(second)).toEqual(['a', 'b', 'c', 'd'])
      expect(model.cancelled).toBe(0)
      expect((await ai.getOrGenerateStream(request, model.generate)).source).toBe('cache')
    })

    it('does not store a stream with no output', async () => {
      const { ai } = await open()
      const model = fakeStreamModel(['', ' '])
      await collect(await ai.getOrGenerateStream(request, model.generate))
      expect((await ai.getOrGenerateStream(request, model.generate)).source).toBe('model')
      expect(ai.getAIPerformanceSummary().operations.summarize?.rejected).toBe(1)
    })

    it('honours noStore, bypass and a custom assemble', async () => {
      const { ai } = await open()
      const model = fakeStreamModel([{ t: 'x' }])
      await collect(await ai.getOrGenerateStream(request, model.generate, { noStore: true }))
      await collect(await ai.getOrGenerateStream(request, model.generate, { bypass: true }))
      const unjudged = await ai.getOrGenerateStream(request, model.generate)
      expect(unjudged.source).toBe('model')
      await collect(unjudged)
      const assemble = (chunks: ReadonlyArray<{ t: string }>) => ({ text: chunks.map((c) => c.t).join('') })
      await collect(await ai.getOrGenerateStream(request, model.generate, { assemble }))
      expect((await ai.getOrGenerateStream(request, model.generate, { assemble })).source).toBe('cache')
    })
  })
}
