import { errors } from '../errors.js'
import type { CacheInterface } from '../index.js'
import { AIEngine, assertCall, assertRequest } from './ai-engine.js'
import { type AIResponseCacheOptions, resolveAIOptions } from './ai-options.js'
import type { AIPerformanceSummary } from './ai-stats.js'
import { AIStreams, type StreamGenerator } from './ai-streams.js'
import type { AIRequest, AIRequestOptions, CachedStream, GenerateControls, StreamControls } from './ai-types.js'
import { type CacheKeyGenerator, assertName } from './cache-key-generator.js'

/** State shared by an AI cache and its tenant views. */
interface Shared {
  readonly engine: AIEngine
  readonly streams: AIStreams
}

/**
 * What `forTenant` hands the constructor in place of a cache, so the view shares its parent's
 * state. Not exported: no caller can build one, and nothing is kept between calls.
 */
class TenantSeed {
  constructor(
    readonly shared: Shared,
    readonly tenant: string,
  ) {}
}

/**
 * Caches LLM responses on any `CacheInterface` (memory alone, or Redis with L1), keyed on
 * everything that changes the answer, with per-operation TTLs, a rule that keeps failures out
 * of the cache, one model call for concurrent identical misses, stream recording and replay,
 * tenant isolation, and savings counters.
 *
 * Every method that returns a promise reports invalid input (a request that is not an object,
 * an invalid text, operation, tenant or option, a bad `generate` or control) by rejecting with
 * `E_INVALID_OPTIONS`, never by a synchronous throw; only the constructor and `forTenant` throw.
 *
 * @example
 * const ai = new AIResponseCache(cache, { prices: { 'gpt-4o-mini': { inputPerMillion: 0.15, outputPerMillion: 0.6 } } })
 * const summary = await ai.getOrGenerate(
 *   { text: article, operation: 'summarize', options: { model: 'gpt-4o-mini', temperature: 0 } },
 *   () => llm.summarize(article),
 * )
 */
export class AIResponseCache {
  readonly #shared: Shared
  readonly #tenant: string | undefined

  constructor(cache: CacheInterface, options: AIResponseCacheOptions = {}) {
    if (cache instanceof TenantSeed) {
      this.#shared = cache.shared
      this.#tenant = cache.tenant
      return
    }
    if (typeof cache?.getOrSet !== 'function') {
      throw new errors.E_INVALID_OPTIONS([{ path: 'cache', message: 'expected a CacheInterface such as new InMemoryCache()' }])
    }
    const resolved = resolveAIOptions(options)
    const engine = new AIEngine(cache, resolved)
    this.#shared = { engine, streams: new AIStreams(engine) }
    this.#tenant = resolved.tenant
  }

  /** The tenant of this instance, if it is bound to one. */
  get tenant(): string | undefined {
    return this.#tenant
  }

  /** The key generator (for keys of your own, or its stats). */
  get keyGenerator(): CacheKeyGenerator {
    return this.#shared.engine.options.keyGenerator
  }

  /**
   * A view bound to `tenant`: every key and tag carries the tenant, and its invalidations touch
   * only that tenant's entries. Views share this cache's counters and in-flight calls.
   */
  forTenant(tenant: string): AIResponseCache {
    assertName(tenant, 'tenant')
    if (this.#tenant !== undefined && this.#tenant !== tenant) throw crossTenant(this.#tenant)
    // The seed stands in for the cache argument: the public signature stays `(cache, options)`.
    return new AIResponseCache(new TenantSeed(this.#shared, tenant) as unknown as CacheInterface)
  }

  /**
   * Stores `response` for this text, operation, options and question, unless `shouldCache`
   * refuses it (or the request is sampled and its operation does not allow that). Resolves
   * whether it was stored.
   */
  cacheResponse(text: string, operation: string, options: AIRequestOptions, response: unknown, question?: string): Promise<boolean> {
    try {
      const { engine } = this.#shared
      return engine.store(engine.prepare({ text, operation, options, question, tenant: this.#tenant }, 'store'), response)
    } catch (error) {
      return rejection(error)
    }
  }

  /** The stored response for this text, operation, options and question, or `undefined`. */
  getCachedResponse<T = unknown>(text: string, operation: string, options: AIRequestOptions, question?: string): Promise<T | undefined> {
    try {
      const { engine } = this.#shared
      return engine.lookup<T>(engine.prepare({ text, operation, options, question, tenant: this.#tenant }, 'lookup'))
    } catch (error) {
      return rejection(error)
    }
  }

  /**
   * The cached response, or the result of `generate`, stored when `shouldCache` accepts it.
   * Concurrent identical misses share one `generate` call. A throw from `generate` reaches
   * every waiting caller unchanged (not wrapped), and nothing is stored.
   */
  getOrGenerate<T>(request: AIRequest, generate: () => T | Promise<T>, controls: GenerateControls = {}): Promise<T> {
    try {
      const { engine } = this.#shared
      assertCall(generate, controls, false)
      return engine.getOrGenerate(engine.prepare(this.#scoped(request), 'lookup'), generate, controls)
    } catch (error) {
      return rejection(error)
    }
  }

  /**
   * A stream of chunks: replayed from the cache on a hit (same chunks, same order, same
   * boundaries), else the stream of `generate`, recorded and stored once it ends normally.
   * A stream that throws or that every reader abandons stores nothing.
   */
  getOrGenerateStream<C>(request: AIRequest, generate: StreamGenerator<C>, controls: StreamControls<C> = {}): Promise<CachedStream<C>> {
    try {
      const { engine, streams } = this.#shared
      assertCall(generate, controls, true)
      return streams.getOrGenerateStream(engine.prepare(this.#scoped(request), 'stream'), generate, controls)
    } catch (error) {
      return rejection(error)
    }
  }

  /**
   * Deletes the entries of `operation` through its tag (no keyspace scan). On a tenant view,
   * or with `tenant`, only that tenant's entries; otherwise every tenant's. Resolves how many.
   */
  invalidateByOperation(operation: string, tenant?: string): Promise<number> {
    try {
      assertName(operation, 'operation')
      const scope = this.#tenantOf(tenant)
      return this.#shared.engine.cache.invalidateTags([scope === undefined ? `ai:op:${operation}` : `ai:tenant:${scope}:op:${operation}`])
    } catch (error) {
      return rejection(error)
    }
  }

  /** Deletes every entry of a tenant (this view's, or `tenant`); resolves how many. */
  invalidateTenant(tenant?: string): Promise<number> {
    try {
      const scope = this.#tenantOf(tenant)
      if (scope === undefined) throw new errors.E_INVALID_OPTIONS([{ path: 'tenant', message: 'name the tenant to invalidate' }])
      return this.#shared.engine.cache.invalidateTags([`ai:tenant:${scope}`])
    } catch (error) {
      return rejection(error)
    }
  }

  /**
   * Hit ratio per operation, operation and text tier distributions, key generation time and
   * what hits saved (model calls, tokens, cost, latency), over this cache and all its views.
   */
  getAIPerformanceSummary(): AIPerformanceSummary {
    const { engine } = this.#shared
    return engine.stats.summary(engine.options.keyGenerator.getStats())
  }

  /** Zeroes the counters of `getAIPerformanceSummary` (not the key generator's). */
  resetAIStats(): void {
    this.#shared.engine.stats.reset()
  }

  /** The request with this view's tenant; a view cannot act for another tenant. */
  #scoped(request: AIRequest): AIRequest {
    assertRequest(request)
    if (this.#tenant === undefined || request.tenant === this.#tenant) return request
    if (request.tenant !== undefined) throw crossTenant(this.#tenant)
    return { ...request, tenant: this.#tenant }
  }

  #tenantOf(tenant: string | undefined): string | undefined {
    if (tenant !== undefined) assertName(tenant, 'tenant')
    if (this.#tenant !== undefined && tenant !== undefined && tenant !== this.#tenant) throw crossTenant(this.#tenant)
    return this.#tenant ?? tenant
  }
}

function crossTenant(tenant: string): Error {
  return new errors.E_INVALID_OPTIONS([{ path: 'tenant', message: `this view is bound to tenant "${tenant}" and cannot act for another` }])
}

/** A promise rejected with what a validation threw: methods that return a promise never throw. */
function rejection<T>(error: unknown): Promise<T> {
  return Promise.reject(error instanceof Error ? error : new Error(String(error)))
}
