import type { AIEntry, PriceTable } from './ai-types.js'
import type { TextSizeTier } from './ai-options.js'
import type { KeyGeneratorStats } from './cache-key-generator.js'

/** Counters of one operation (or of all of them). */
export interface AIOperationSummary {
  /** Lookups that could be answered from the cache: `hits + misses`. */
  readonly requests: number
  /** Answered without a model call of their own: from the cache, or by sharing a concurrent call. */
  readonly hits: number
  /** Of the hits, those that shared a model call already running in this process. */
  readonly shared: number
  /** Lookups that found nothing (a model call, for `getOrGenerate`). */
  readonly misses: number
  /** `hits / requests`; 0 before any request. */
  readonly hitRatio: number
  /** Responses written to the cache. */
  readonly stored: number
  /** Generated responses that `shouldCache` refused (or streams that errored, were abandoned or too long). */
  readonly rejected: number
  /** Requests that skipped the cache: `bypass`, or sampled for an operation that does not allow it. */
  readonly bypassed: number
  /** `generate` calls that threw. */
  readonly errors: number
}

/** What the AI cache saved by answering from the cache. */
export interface AISavings {
  /** Model calls not made. */
  readonly modelCalls: number
  readonly inputTokens: number
  readonly outputTokens: number
  /** In the price table's currency; hits on models missing from the table add nothing. */
  readonly cost: number
  /** Sum of the original generation times of cache hits, in ms (shared calls save none). */
  readonly latencyMs: number
  /** Hits whose model has no price in the table. */
  readonly unpricedHits: number
}

/** `AIResponseCache.getAIPerformanceSummary()`. */
export interface AIPerformanceSummary {
  readonly totals: AIOperationSummary
  readonly operations: Readonly<Record<string, AIOperationSummary>>
  /** Share of all requests (`requests + bypassed`) per operation, from 0 to 1. */
  readonly operationDistribution: Readonly<Record<string, number>>
  /** Requests per text size tier. */
  readonly textTierDistribution: Readonly<Record<TextSizeTier, number>>
  /** Keys generated and their mean generation time, from the key generator. */
  readonly keyGeneration: KeyGeneratorStats
  readonly saved: AISavings
}

type Counters = { -readonly [K in keyof Omit<AIOperationSummary, 'requests' | 'hitRatio'>]: number }
type Savings = { -readonly [K in keyof AISavings]: number }

/** Mutable counters behind {@link AIPerformanceSummary}; one instance per AI cache (shared by its tenant views). */
export class AIStats {
  readonly #operations = new Map<string, Counters>()
  readonly #tiers: Record<TextSizeTier, number> = { small: 0, medium: 0, large: 0, xlarge: 0 }
  #saved: Savings = emptySavings()

  /** The counters of `operation`, created on first use. */
  operation(operation: string): Counters {
    let counters = this.#operations.get(operation)
    if (counters === undefined) {
      counters = { hits: 0, shared: 0, misses: 0, stored: 0, rejected: 0, bypassed: 0, errors: 0 }
      this.#operations.set(operation, counters)
    }
    return counters
  }

  /** Counts one lookup of a text of this tier. */
  tier(tier: TextSizeTier): void {
    this.#tiers[tier]++
  }

  /** Counts a request answered without a model call of its own, and what that saved. */
  hit(counters: Counters, entry: AIEntry, prices: PriceTable, shared: boolean): void {
    counters.hits++
    if (shared) counters.shared++
    this.save(entry, prices, shared)
  }

  /** Adds what one avoided model call saved; a shared call saves no latency (the caller waited for it). */
  save(entry: AIEntry, prices: PriceTable, shared: boolean): void {
    const saved = this.#saved
    saved.modelCalls++
    saved.inputTokens += entry.inputTokens
    saved.outputTokens += entry.outputTokens
    if (!shared) saved.latencyMs += entry.latencyMs
    const price = entry.model === undefined ? undefined : prices[entry.model]
    if (price === undefined) saved.unpricedHits++
    else saved.cost += (entry.inputTokens * price.inputPerMillion + entry.outputTokens * price.outputPerMillion) / 1e6
  }

  /** A snapshot of every counter, with the key generator's. */
  summary(keyGeneration: KeyGeneratorStats): AIPerformanceSummary {
    const operations: Record<string, AIOperationSummary> = {}
    const total: Counters = { hits: 0, shared: 0, misses: 0, stored: 0, rejected: 0, bypassed: 0, errors: 0 }
    for (const [name, counters] of this.#operations) {
      operations[name] = withRatio(counters)
      for (const field of Object.keys(total) as Array<keyof Counters>) total[field] += counters[field]
    }
    const all = total.hits + total.misses + total.bypassed
    const operationDistribution: Record<string, number> = {}
    for (const [name, c] of this.#operations) operationDistribution[name] = all === 0 ? 0 : (c.hits + c.misses + c.bypassed) / all
    return {
      totals: withRatio(total),
      operations,
      operationDistribution,
      textTierDistribution: { ...this.#tiers },
      keyGeneration,
      saved: { ...this.#saved },
    }
  }

  /** Zeroes every counter. */
  reset(): void {
    this.#operations.clear()
    for (const tier of Object.keys(this.#tiers) as TextSizeTier[]) this.#tiers[tier] = 0
    this.#saved = emptySavings()
  }
}

function withRatio(c: Counters): AIOperationSummary {
  const requests = c.hits + c.misses
  return { ...c, requests, hitRatio: requests === 0 ? 0 : c.hits / requests }
}

function emptySavings(): Savings {
  return { modelCalls: 0, inputTokens: 0, outputTokens: 0, cost: 0, latencyMs: 0, unpricedHits: 0 }
}
