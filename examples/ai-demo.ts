/**
 * The AI response cache on one cache (memory, or Redis with L1 when REDIS_URL is set): a
 * summarization endpoint whose model call is saved by the cache, with the savings counted from a
 * price table, then a streamed answer replayed chunk by chunk. The "model" is a stand-in that
 * takes 300 ms and reports token usage like a real SDK; there is no network call.
 */
import { AIResponseCache } from '../src/ai/index.js'
import type { CacheInterface } from '../src/index.js'

const MODEL_DELAY_MS = 300
const PRICES = { 'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 } }

let modelCalls = 0
/** A stand-in for an LLM call: slow, and billed by tokens. */
async function summarizeWithModel(text: string): Promise<{ text: string; finishReason: string; usage: { inputTokens: number; outputTokens: number } }> {
  modelCalls++
  await new Promise((resolve) => setTimeout(resolve, MODEL_DELAY_MS))
  return { text: `Summary of ${text.length} characters: checkout fails after payment.`, finishReason: 'stop', usage: { inputTokens: Math.ceil(text.length / 4), outputTokens: 40 } }
}

/** A stand-in for a streaming LLM call: one chunk every 30 ms. */
async function* streamFromModel(): AsyncIterable<string> {
  modelCalls++
  for (const chunk of ['Checkout ', 'fails ', 'after ', 'the ', 'payment ', 'step.']) {
    await new Promise((resolve) => setTimeout(resolve, 30))
    yield chunk
  }
}

const ticket = 'Customer reports: after entering card details the checkout page shows a 502. '.repeat(40)

/** Runs the AI part of `npm start` on `cache`. */
export async function runAIDemo(cache: CacheInterface): Promise<void> {
  const ai = new AIResponseCache(cache, { prices: PRICES })
  // A demo run starts cold, also on a Redis that kept the previous run's entries.
  await ai.invalidateByOperation('summarize')
  await ai.invalidateByOperation('key_points')
  const request = { text: ticket, operation: 'summarize', options: { model: 'gpt-4o-mini', temperature: 0, maxTokens: 120 } }
  console.log(`\nAI response cache: summarize a ${ticket.length}-character ticket; the model takes ${MODEL_DELAY_MS} ms a call`)

  for (const step of ['6. first request (miss)', '7. same request again (hit)']) {
    const before = modelCalls
    const started = performance.now()
    const summary = await ai.getOrGenerate(request, () => summarizeWithModel(ticket))
    console.log(`${step.padEnd(34)} ${(performance.now() - started).toFixed(0).padStart(6)} ms  model calls ${modelCalls - before}  "${summary.text}"`)
  }
  const before = modelCalls
  const burst = await Promise.all(Array.from({ length: 20 }, () => ai.getOrGenerate({ ...request, options: { ...request.options, maxTokens: 60 } }, () => summarizeWithModel(ticket))))
  console.log(`8. 20 concurrent new requests        model calls ${modelCalls - before} (one shared call, ${burst.length} answers)`)

  const streamed: string[][] = []
  for (let i = 0; i < 2; i++) {
    const stream = await ai.getOrGenerateStream({ text: ticket, operation: 'key_points', options: { model: 'gpt-4o-mini', temperature: 0 } }, streamFromModel)
    const chunks: string[] = []
    for await (const chunk of stream) chunks.push(chunk)
    streamed.push(chunks)
    console.log(`${`${9 + i}. streamed answer (${stream.source})`.padEnd(34)} ${chunks.length} chunks: ${JSON.stringify(chunks)}`)
  }

  const { saved, totals } = ai.getAIPerformanceSummary()
  console.log(
    `   saved: ${saved.modelCalls} model calls, ${saved.inputTokens + saved.outputTokens} tokens, $${saved.cost.toFixed(6)}, ` +
      `${saved.latencyMs} ms of model time; hit ratio ${(totals.hitRatio * 100).toFixed(0)}%`,
  )
}
