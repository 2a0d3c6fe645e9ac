/**
 * AI cache key generation: `CacheKeyGenerator.generateCacheKey(text, 'summarize', options)` for
 * texts of 100 B, 10 KB and 1 MB, with a fresh options object on every call (as a request
 * handler builds it): `{ model, temperature, maxTokens, system }`.
 *
 * - `100 B, repeated`: the same text again (the cache-hit case; its key is memoized).
 * - `100 B, new text each call`: a different text every call (the miss case: the text and the
 *   key are hashed and built from scratch).
 * - `10 KB` / `1 MB`: above the memo's 1,024-character limit; calls alternate between two texts
 *   of that size so that neither the text memo nor the repeated-request short-cut answers, and
 *   every call hashes the whole text with SHA-256 in 64 Ki-character slices.
 *
 * No target in DESIGN.md; the issue asks for the numbers (µs per key), printed under the table.
 */
import { CacheKeyGenerator } from '../../src/ai/index.js'
import { type BenchCase, type Scenario, fmtUs, runCases } from '../helpers.js'

const SIZES = { '100 B': 100, '10 KB': 10 * 1024, '1 MB': 1024 * 1024 } as const
const SYSTEM = 'You summarize support tickets in two sentences for an on-call engineer.'

/** Deterministic prose-like text of `length` characters. */
function text(length: number, seed = 0): string {
  const words = ['cache', 'redis', 'latency', 'model', 'token', 'answer', 'tenant', 'stream', 'error', 'retry']
  let out = ''
  for (let i = seed; out.length < length; i++) out += `${words[(i * 7) % words.length] ?? 'x'} `
  return out.slice(0, length)
}

export const scenario: Scenario = {
  name: 'ai-keygen',
  title: 'AI cache key generation (CacheKeyGenerator), 1 in flight',
  async run({ config }) {
    const keys = new CacheKeyGenerator()
    const options = () => ({ model: 'gpt-4o-mini', temperature: 0, maxTokens: 256, system: SYSTEM })
    const texts = Object.fromEntries(Object.entries(SIZES).map(([name, size]) => [name, text(size)])) as Record<keyof typeof SIZES, string>
    const others = { '10 KB': text(SIZES['10 KB'], 5), '1 MB': text(SIZES['1 MB'], 5) }
    const alternate = (size: '10 KB' | '1 MB') => (i: number) =>
      keys.generateCacheKey(i % 2 === 0 ? texts[size] : others[size], 'summarize', options())
    const prefix = text(92, 3)
    const workload = 'key generation'
    const cases: BenchCase[] = [
      { workload, contender: '100 B, repeated', concurrency: 1, batch: 64, op: { sync: () => keys.generateCacheKey(texts['100 B'], 'summarize', options()) } },
      {
        workload,
        contender: '100 B, new text each call',
        concurrency: 1,
        batch: 64,
        note: 'a text never seen before on every call (includes building it)',
        op: { sync: (i) => keys.generateCacheKey(`${prefix}${String(i).padStart(8, '0')}`, 'summarize', options()) },
      },
      { workload, contender: '10 KB', concurrency: 1, batch: 8, note: 'two texts alternate: every call hashes', op: { sync: alternate('10 KB') } },
      { workload, contender: '1 MB', concurrency: 1, note: 'two texts alternate: every call hashes', op: { sync: alternate('1 MB') } },
    ]
    const results = await runCases(this.name, cases, config)
    const key1mb = keys.generateCacheKey(texts['1 MB'], 'summarize', options())
    const notes = results.map((r) => `${r.contender}: ${fmtUs(1e6 / r.opsPerSec)} µs per key`)
    notes.push(`a 1 MB text gives a ${key1mb.length}-character key: ${key1mb}`)
    notes.push(`generator's own average (1 in 16 calls timed): ${(keys.getStats().averageMs * 1000).toFixed(2)} µs over ${keys.getStats().generated} keys`)
    return { cases: results, checks: [], notes }
  },
}
