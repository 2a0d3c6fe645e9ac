/**
 * The request flow of the AI cache, written once for every entry point (the positional
 * `AIResponseCache` methods, `getOrGenerate`, streams and the AI SDK middleware):
 * 1. validate the request and build its key (tenant, operation, text, options, question);
 * 2. decide whether the cache applies (`bypass`, or a sampled request its operation refuses);
 * 3. read, or join the key's single flight through `getOrSet` (so concurrent identical misses,
 *    and with `lock` other processes too, share one model call);
 * 4. on a miss, time `generate`, ask `shouldCache`, and store the response wrapped in an
 *    {@link AIEntry} with what the savings counters need, tagged for invalidation.
 */
import { errors } from '../errors.js'
import type { CacheInterface, Duration, OptionIssue } from '../index.js'
import { type ResolvedAIOptions, checkDuration, tierOf } from './ai-options.js'
import { AIStats } from './ai-stats.js'
import type { AIEntry, AILoadPolicy, AIRequest, GenerateControls, StreamControls } from './ai-types.js'
import { usageOf } from './should-cache.js'

/** A request after validation. */
export interface PreparedRequest {
  readonly request: AIRequest
  readonly key: string
  readonly counters: ReturnType<AIStats['operation']>
  /** Temperature above 0 on an operation that does not allow sampled answers to be cached. */
  readonly refusedSample: boolean
}

/** Shared state and flow of one AI cache and all its tenant views. */
export class AIEngine {
  readonly cache: CacheInterface
  readonly options: ResolvedAIOptions
  readonly policy: AILoadPolicy
  readonly stats = new AIStats()
  /** `getOrGenerate` calls in progress per key, to tell answers shared with a concurrent call from cache hits. */
  readonly #inflight = new Map<string, number>()

  constructor(cache: CacheInterface, options: ResolvedAIOptions) {
    this.cache = cache
    this.options = options
    this.policy = options.loadPolicy
  }

  /**
   * Step 1 and 2: validates and builds the key. `store` requests (answers the caller already
   * has) are not counted in the text tier distribution, which counts lookups.
   */
  prepare(request: AIRequest, kind: 'lookup' | 'store' | 'stream'): PreparedRequest {
    const stream = kind === 'stream'
    assertRequest(request)
    const { options } = request
    if (options !== undefined && (typeof options !== 'object' || options === null)) {
      throw invalid('options', 'expected an object of everything that changes the answer, such as { model, temperature }')
    }
    if (this.options.requireModel && typeof options?.model !== 'string') {
      throw invalid('options.model', 'expected the model id: answers of different models must never share a key (or set requireModel: false)')
    }
    const key = this.options.keyGenerator.keyFor(stream ? { ...request, stream } : request)
    if (kind !== 'store') this.stats.tier(tierOf(request.text.length, this.options.tiers))
    const temperature = options?.temperature
    const refusedSample = typeof temperature === 'number' && temperature > 0 && !this.options.sampledOperations.has(request.operation)
    return { request, key, counters: this.stats.operation(request.operation), refusedSample }
  }

  /** A cached response, or `undefined` (also for requests the cache does not apply to). */
  lookup<T>(prepared: PreparedRequest): Promise<T | undefined> {
    const { counters } = prepared
    if (prepared.refusedSample) {
      counters.bypassed++
      return Promise.resolve(undefined)
    }
    return this.cache.get<AIEntry>(prepared.key).then((entry) => {
      if (!isEntry(entry, 'response')) {
        counters.misses++
        return undefined
      }
      this.stats.hit(counters, entry, this.options.prices, false)
      return entry.value as T
    })
  }

  /** Stores a response the caller already has; resolves whether it was stored. */
  async store(prepared: PreparedRequest, response: unknown): Promise<boolean> {
    if (prepared.refusedSample) {
      prepared.counters.bypassed++
      return false
    }
    const entry = this.accept(prepared, 'response', response, 0)
    if (entry === undefined) return false
    await this.cache.set(prepared.key, entry, { ttl: this.ttlOf(prepared.request), tags: this.tagsOf(prepared.request) })
    return true
  }

  /** Step 3 and 4 for whole responses. */
  async getOrGenerate<T>(prepared: PreparedRequest, generate: () => T | Promise<T>, controls: GenerateControls): Promise<T> {
    const { key, counters, request } = prepared
    if (controls.bypass === true || prepared.refusedSample) {
      counters.bypassed++
      return (await this.#timed(prepared, generate)).response
    }
    if (controls.noStore === true) {
      const cached = await this.lookup<T>(prepared)
      return cached !== undefined ? cached : (await this.#timed(prepared, generate)).response
    }
    const inflight = this.#inflight.get(key) ?? 0
    this.#inflight.set(key, inflight + 1)
    let ran = false
    let entry: AIEntry | undefined
    try {
      entry = await this.cache.getOrSet<AIEntry>(
        key,
        async (ctx) => {
          ran = true
          const made = await this.#generateEntry(prepared, generate)
          if (!made.stored) ctx.skipCache()
          return made.entry
        },
        { ...this.policy, ttl: controls.ttl ?? this.ttlOf(request), tags: this.tagsOf(request), forceFresh: controls.forceRefresh === true },
      )
    } catch (error) {
      // Callers see what their model SDK threw, so its error types and retry logic keep working.
      throw error instanceof errors.E_FACTORY_ERROR ? error.cause : error
    } finally {
      const left = (this.#inflight.get(key) ?? 1) - 1
      if (left === 0) this.#inflight.delete(key)
      else this.#inflight.set(key, left)
    }
    if (ran) counters.misses++
    else if (isEntry(entry, 'response')) this.stats.hit(counters, entry, this.options.prices, inflight > 0)
    else return this.#replaceForeign(prepared, generate, controls)
    return entry?.value as T
  }

  /** Times `generate`, counting a throw as an error of the operation. */
  async #timed<T>(prepared: PreparedRequest, generate: () => T | Promise<T>): Promise<{ response: T; latencyMs: number }> {
    const started = this.options.clock.now()
    try {
      return { response: await generate(), latencyMs: this.options.clock.now() - started }
    } catch (error) {
      prepared.counters.errors++
      throw error
    }
  }

  /** The loader of `getOrGenerate`: one model call, judged by `shouldCache`. */
  async #generateEntry<T>(prepared: PreparedRequest, generate: () => T | Promise<T>): Promise<{ entry: AIEntry; stored: boolean }> {
    const { response, latencyMs } = await this.#timed(prepared, generate)
    const entry = this.accept(prepared, 'response', response, latencyMs)
    return { entry: entry ?? makeEntry(prepared, 'response', response, latencyMs), stored: entry !== undefined }
  }

  /** Something that is not an AI entry sits under the key (written by other code): answer anew and overwrite it. */
  async #replaceForeign<T>(prepared: PreparedRequest, generate: () => T | Promise<T>, controls: GenerateControls): Promise<T> {
    prepared.counters.misses++
    const { response, latencyMs } = await this.#timed(prepared, generate)
    const entry = this.accept(prepared, 'response', response, latencyMs)
    if (entry !== undefined) {
      await this.cache.set(prepared.key, entry, { ttl: controls.ttl ?? this.ttlOf(prepared.request), tags: this.tagsOf(prepared.request) })
    }
    return response
  }

  /**
   * The entry to store, or `undefined` (counted as rejected) when `shouldCache` refuses. For a
   * stream, `value` is the chunk array and `judged` the response assembled from it.
   */
  accept(prepared: PreparedRequest, kind: AIEntry['kind'], value: unknown, latencyMs: number, judged: unknown = value): AIEntry | undefined {
    // `undefined` would read back as a miss, whatever a custom rule says.
    if (value === undefined || !this.options.shouldCache(judged, prepared.request)) {
      prepared.counters.rejected++
      return undefined
    }
    prepared.counters.stored++
    return makeEntry(prepared, kind, value, latencyMs, judged)
  }

  /** `ai:op:<operation>`, plus `ai:tenant:<id>` and `ai:tenant:<id>:op:<operation>` for a tenant. */
  tagsOf(request: AIRequest): string[] {
    const op = `ai:op:${request.operation}`
    if (request.tenant === undefined) return [op]
    return [op, `ai:tenant:${request.tenant}`, `ai:tenant:${request.tenant}:op:${request.operation}`]
  }

  /** The operation's ttl, else the default. */
  ttlOf(request: AIRequest): Duration {
    return this.options.operationTtls.get(request.operation) ?? this.options.defaultTtl
  }
}

/** Wraps a response with what savings need; `value` is the chunk array for streams. */
export function makeEntry(prepared: PreparedRequest, kind: AIEntry['kind'], value: unknown, latencyMs: number, usageSource: unknown = value): AIEntry {
  const { inputTokens, outputTokens } = usageOf(usageSource)
  const model = prepared.request.options?.model
  return { format: 1, kind, value, latencyMs: Math.round(latencyMs), model: typeof model === 'string' ? model : undefined, inputTokens, outputTokens }
}

/** Whether a cached value is an AI entry of `kind` (anything else under an AI key is ignored). */
export function isEntry(value: unknown, kind: AIEntry['kind']): value is AIEntry {
  return typeof value === 'object' && value !== null && (value as AIEntry).format === 1 && (value as AIEntry).kind === kind
}

/** Throws `E_INVALID_OPTIONS` unless `request` is an object (its fields are checked when its key is built). */
export function assertRequest(request: unknown): asserts request is AIRequest {
  if (typeof request !== 'object' || request === null) {
    throw invalid('request', 'expected { text, operation, options?, question?, tenant? }')
  }
}

const FLAGS = ['bypass', 'forceRefresh', 'noStore'] as const

/**
 * Throws one `E_INVALID_OPTIONS` listing every problem of `generate` and the per-call controls
 * of `getOrGenerate` (or, with `stream`, of `getOrGenerateStream`). Checked before anything
 * runs, so a typo never turns into a silent default (a stream's ttl is only used once it ends).
 */
export function assertCall(generate: unknown, controls: unknown, stream: boolean): asserts controls is StreamControls<unknown> {
  const issues: OptionIssue[] = []
  if (typeof generate !== 'function') issues.push({ path: 'generate', message: 'expected a function that calls the model' })
  if (typeof controls !== 'object' || controls === null) {
    issues.push({ path: 'controls', message: 'expected an object such as { forceRefresh: true, ttl: "1h" }, or nothing' })
    throw new errors.E_INVALID_OPTIONS(issues)
  }
  const given = controls as Record<string, unknown>
  for (const flag of FLAGS) {
    if (given[flag] !== undefined && typeof given[flag] !== 'boolean') issues.push({ path: `controls.${flag}`, message: 'expected true or false' })
  }
  if (given.ttl !== undefined) checkDuration(given.ttl, 'controls.ttl', issues)
  if (stream) {
    if (given.assemble !== undefined && typeof given.assemble !== 'function') {
      issues.push({ path: 'controls.assemble', message: 'expected a function (chunks) => response' })
    }
    const max = given.maxChunks
    if (max !== undefined && !(typeof max === 'number' && Number.isInteger(max) && max >= 0)) {
      issues.push({ path: 'controls.maxChunks', message: 'expected an integer >= 0' })
    }
  }
  if (issues.length > 0) throw new errors.E_INVALID_OPTIONS(issues)
}

function invalid(path: string, message: string): Error {
  return new errors.E_INVALID_OPTIONS([{ path, message }])
}
