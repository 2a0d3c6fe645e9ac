import { type LanguageModelMiddleware, generateText, jsonSchema, streamText, tool, wrapLanguageModel } from 'ai'
import { MockLanguageModelV3, simulateReadableStream } from 'ai/test'
import { describe, expect, it } from 'vitest'

import { AIResponseCache, createAICacheMiddleware } from '../../../src/ai/index.js'
import { InMemoryCache } from '../../../src/index.js'

const usage = {
  inputTokens: { total: 12, noCache: 12, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
}
const finish = { type: 'finish' as const, finishReason: { unified: 'stop' as const, raw: 'stop' }, usage }
const PARTS = [
  { type: 'stream-start' as const, warnings: [] },
  { type: 'text-start' as const, id: 't1' },
  { type: 'text-delta' as const, id: 't1', delta: 'Hello' },
  { type: 'text-delta' as const, id: 't1', delta: ', ' },
  { type: 'text-delta' as const, id: 't1', delta: 'world' },
  { type: 'text-end' as const, id: 't1' },
  finish,
]

/** A fake model with no network: counts calls, answers with numbered text or the given stream parts. */
function setup(streamParts: readonly unknown[] = PARTS) {
  const calls = { generate: 0, stream: 0 }
  const model = new MockLanguageModelV3({
    provider: 'fake',
    modelId: 'fake-1',
    doGenerate: async () => {
      calls.generate++
      return {
        content: [{ type: 'text', text: `answer ${calls.generate}` }],
        finishReason: { unified: 'stop', raw: 'stop' },
        usage,
        warnings: [],
        request: { body: 'the whole prompt again' },
        response: { id: `r${calls.generate}`, modelId: 'fake-1', timestamp: new Date(0), headers: { 'x-ratelimit-remaining': '9' } },
      }
    },
    doStream: async () => {
      calls.stream++
      return { stream: simulateReadableStream({ chunks: [...streamParts] as never[], chunkDelayInMs: 1 }) }
    },
  })
  const ai = new AIResponseCache(new InMemoryCache({ namespace: 'sdk' }), { prices: { 'fake-1': { inputPerMillion: 1, outputPerMillion: 2 } } })
  const middleware: LanguageModelMiddleware = createAICacheMiddleware(ai)
  return { calls, ai, middleware, model: wrapLanguageModel({ model, middleware }) }
}

async function streamedParts(result: { fullStream: AsyncIterable<{ type: string }> }): Promise<unknown[]> {
  const parts: unknown[] = []
  for await (const part of result.fullStream) parts.push(part)
  return parts
}

describe('createAICacheMiddleware (AI SDK language-model middleware)', () => {
  it('answers a repeated generateText call from the cache', async () => {
    const { calls, ai, model } = setup()
    const first = await generateText({ model, prompt: 'Summarize strata-cache', temperature: 0 })
    const second = await generateText({ model, prompt: 'Summarize strata-cache', temperature: 0 })
    expect(first.text).toBe('answer 1')
    expect(second.text).toBe('answer 1')
    expect(second.usage.inputTokens).toBe(12)
    expect(calls.generate).toBe(1)
    expect(ai.getAIPerformanceSummary().saved).toMatchObject({ modelCalls: 1, inputTokens: 12, outputTokens: 5, cost: (12 + 10) / 1e6 })
  })

  it('calls the model again when the prompt, system prompt, output limit or temperature change', async () => {
    const { calls, model } = setup()
    await generateText({ model, prompt: 'A', temperature: 0 })
    await generateText({ model, prompt: 'B', temperature: 0 })
    await generateText({ model, prompt: 'A', system: 'Be brief.', temperature: 0 })
    await generateText({ model, prompt: 'A', temperature: 0, maxOutputTokens: 10 })
    await generateText({ model, prompt: 'A', temperature: 0.7 })
    await generateText({ model, prompt: 'A', temperature: 0.7 })
    expect(calls.generate).toBe(6)
  })

  it('calls the model again when only the tools change', async () => {
    const { calls, model } = setup()
    const city = jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] })
    const weather = tool({ description: 'Weather of a city', inputSchema: city, execute: async () => 'sunny' })
    const forecast = tool({ description: 'Three-day forecast of a city', inputSchema: city, execute: async () => 'sunny, then rain' })
    await generateText({ model, prompt: 'Plan my trip', temperature: 0 })
    await generateText({ model, prompt: 'Plan my trip', temperature: 0, tools: { weather } })
    await generateText({ model, prompt: 'Plan my trip', temperature: 0, tools: { weather, forecast } })
    expect(calls.generate).toBe(3)
    await generateText({ model, prompt: 'Plan my trip', temperature: 0, tools: { weather } })
    expect(calls.generate).toBe(3)
  })

  it('calls the model again for the same model id served by another provider', async () => {
    const ai = new AIResponseCache(new InMemoryCache({ namespace: 'sdk' }))
    const middleware = createAICacheMiddleware(ai)
    const calls: string[] = []
    const providerModel = (provider: string) =>
      wrapLanguageModel({
        middleware,
        model: new MockLanguageModelV3({
          provider,
          modelId: 'gpt-4o-mini',
          doGenerate: async () => {
            calls.push(provider)
            return { content: [{ type: 'text', text: `from ${provider}` }], finishReason: { unified: 'stop', raw: 'stop' }, usage, warnings: [] }
          },
        }),
      })
    const openai = await generateText({ model: providerModel('openai.chat'), prompt: 'Same prompt', temperature: 0 })
    const azure = await generateText({ model: providerModel('azure.chat'), prompt: 'Same prompt', temperature: 0 })
    expect([openai.text, azure.text]).toEqual(['from openai.chat', 'from azure.chat'])
    expect(calls).toEqual(['openai.chat', 'azure.chat'])
  })

  it('does not replay request bodies or response headers', async () => {
    const { model } = setup()
    await generateText({ model, prompt: 'P', temperature: 0 })
    const cached = await generateText({ model, prompt: 'P', temperature: 0 })
    expect(cached.response.headers).toBeUndefined()
    expect(cached.request.body).toBeUndefined()
    expect(cached.response.id).toBe('r1')
  })

  it('passes a model error through unchanged and caches nothing', async () => {
    const boom = new Error('provider down')
    const failing = new MockLanguageModelV3({ doGenerate: () => Promise.reject(boom) })
    const ai = new AIResponseCache(new InMemoryCache({ namespace: 'sdk' }))
    const model = wrapLanguageModel({ model: failing, middleware: createAICacheMiddleware(ai) })
    await expect(generateText({ model, prompt: 'x', temperature: 0, maxRetries: 0 })).rejects.toBe(boom)
    expect(ai.getAIPerformanceSummary().operations.chat?.stored ?? 0).toBe(0)
  })

  it('replays a cached streamText call part by part', async () => {
    const { calls, model } = setup()
    const first = streamText({ model, prompt: 'Stream it', temperature: 0 })
    const firstParts = await streamedParts(first)
    const second = streamText({ model, prompt: 'Stream it', temperature: 0 })
    const chunks: string[] = []
    for await (const chunk of second.textStream) chunks.push(chunk)
    expect(chunks).toEqual(['Hello', ', ', 'world'])
    expect(calls.stream).toBe(1)
    const third = await streamedParts(streamText({ model, prompt: 'Stream it', temperature: 0 }))
    expect(third.map(withoutTimes)).toEqual(firstParts.map(withoutTimes))
  })

  it.each([
    ['an error part', [...PARTS.slice(0, 3), { type: 'error' as const, error: new Error('overloaded') }, finish]],
    ['no finish part (truncated)', PARTS.slice(0, 5)],
    ['a length finish', [...PARTS.slice(0, 6), { ...finish, finishReason: { unified: 'length' as const, raw: 'max_tokens' } }]],
  ])('does not cache a stream with %s', async (_what, parts) => {
    const { calls, model } = setup(parts)
    await streamedParts(streamText({ model, prompt: 'S', temperature: 0, onError: () => undefined }))
    await streamedParts(streamText({ model, prompt: 'S', temperature: 0, onError: () => undefined }))
    expect(calls.stream).toBe(2)
  })

  it('cancels the upstream and caches nothing when the reader cancels the stream', async () => {
    let upstreams = 0
    let cancelled = 0
    const doStream = async () => {
      upstreams++
      let i = 0
      const stream = new ReadableStream<unknown>({
        pull: async (controller) => {
          await new Promise((resolve) => setTimeout(resolve, 1))
          if (i < PARTS.length) controller.enqueue(PARTS[i++])
          else controller.close()
        },
        cancel: () => void cancelled++,
      })
      return { stream }
    }
    const middleware = createAICacheMiddleware(new AIResponseCache(new InMemoryCache({ namespace: 'sdk' })))
    const call = { doStream, model: { provider: 'fake', modelId: 'fake-1' }, params: { prompt: [{ role: 'user', content: 'cancel me' }], temperature: 0 } }
    const reader = (await middleware.wrapStream(call)).stream.getReader()
    await reader.read()
    await reader.cancel()
    await new Promise((resolve) => setTimeout(resolve, 10))
    expect(cancelled).toBe(1)
    await middleware.wrapStream(call)
    expect(upstreams).toBe(2)
  })
})

/** Stream parts without what the SDK makes up on each run: timings and generated response ids. */
function withoutTimes(part: unknown): unknown {
  const volatile = (key: string, value: unknown) => /^(ms|timestamp|.*Ms)$/.test(key) || (typeof value === 'string' && value.startsWith('aitxt-'))
  return JSON.parse(JSON.stringify(part, (key, value: unknown) => (volatile(key, value) ? undefined : value)))
}
