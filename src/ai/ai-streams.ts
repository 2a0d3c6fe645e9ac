import { type AIEngine, type PreparedRequest, isEntry } from './ai-engine.js'
import type { AIEntry, CachedStream, StreamControls } from './ai-types.js'
import { assembleText } from './should-cache.js'
import { StreamFlight, type StreamOutcome } from './stream-flight.js'

/** Default bound on stored chunks. */
const MAX_CHUNKS = 10_000

/** A stream being generated, joinable by identical requests. */
interface Registration {
  /** Resolves once `generate` returned the upstream. */
  flight: Promise<StreamFlight<unknown>>
  /** The flight, once opened. */
  opened: StreamFlight<unknown> | undefined
  /** Requests that joined it (their savings are counted when it is stored). */
  followers: number
}

/** Produces the upstream stream of one model call. */
export type StreamGenerator<C> = () => AsyncIterable<C> | Promise<AsyncIterable<C>>

/**
 * Streams through the AI cache: a hit replays the stored chunks in order with their boundaries;
 * a miss records the upstream while passing it on, and stores it only once it ended normally
 * and `shouldCache` accepts the assembled response. Concurrent identical misses in this process
 * share one upstream ({@link StreamFlight}).
 */
export class AIStreams {
  readonly #engine: AIEngine
  readonly #flights = new Map<string, Registration>()

  constructor(engine: AIEngine) {
    this.#engine = engine
  }

  async getOrGenerateStream<C>(prepared: PreparedRequest, generate: StreamGenerator<C>, controls: StreamControls<C>): Promise<CachedStream<C>> {
    const { key, counters } = prepared
    if (controls.bypass === true || prepared.refusedSample) {
      counters.bypassed++
      const source = await this.#open(prepared, generate)
      return { source: 'model', [Symbol.asyncIterator]: () => source[Symbol.asyncIterator]() }
    }
    if (controls.forceRefresh !== true) {
      const running = this.#join<C>(prepared)
      if (running !== undefined) return running
      const entry = await this.#engine.cache.get<AIEntry>(key)
      if (isEntry(entry, 'stream') && Array.isArray(entry.value)) {
        this.#engine.stats.hit(counters, entry, this.#engine.options.prices, false)
        return replay(entry.value as C[])
      }
      // Re-check: an identical request may have started its stream while this one read the cache.
      const started = this.#join<C>(prepared)
      if (started !== undefined) return started
    }
    return this.#start(prepared, generate, controls)
  }

  /** A miss: opens the upstream and registers it, so identical requests arriving now share it. */
  async #start<C>(prepared: PreparedRequest, generate: StreamGenerator<C>, controls: StreamControls<C>): Promise<CachedStream<C>> {
    const { key } = prepared
    prepared.counters.misses++
    const startedAt = this.#engine.options.clock.now()
    const store = controls.noStore !== true
    // Registered before `generate` resolves, so requests arriving together share the upstream.
    // A joiner reads it under the controls (assemble, ttl) of the request that started it.
    const registration: Registration = {
      opened: undefined,
      followers: 0,
      flight: this.#open(prepared, generate).then((source) => {
        const flight: StreamFlight<C> = new StreamFlight(source, (outcome, chunks) =>
          this.#end({ prepared, controls, outcome, chunks, latencyMs: this.#engine.options.clock.now() - startedAt, flight: flight as StreamFlight<unknown>, store }),
        )
        registration.opened = flight as StreamFlight<unknown>
        return registration.opened
      }),
    }
    if (store) this.#flights.set(key, registration)
    try {
      return once('model', ((await registration.flight) as StreamFlight<C>).consume())
    } catch (error) {
      if (this.#flights.get(key) === registration) this.#flights.delete(key)
      throw error
    }
  }

  /** Joins the stream of an identical request running in this process; shares its fate if `generate` failed. */
  #join<C>(prepared: PreparedRequest): Promise<CachedStream<C>> | undefined {
    const running = this.#flights.get(prepared.key)
    if (running === undefined) return undefined
    prepared.counters.hits++
    prepared.counters.shared++
    running.followers++
    return running.flight.then((flight) => once('shared', (flight as StreamFlight<C>).consume()))
  }

  /** Calls `generate`, counting a throw as an error of the operation. */
  async #open<C>(prepared: PreparedRequest, generate: StreamGenerator<C>): Promise<AsyncIterable<C>> {
    try {
      return await generate()
    } catch (error) {
      prepared.counters.errors++
      throw error
    }
  }

  /** Runs once per flight, before its consumers see the end. Never rejects. */
  async #end<C>(params: EndParams<C>): Promise<void> {
    const { prepared, outcome } = params
    const registered = this.#flights.get(prepared.key)
    const mine = registered?.opened === params.flight ? registered : undefined
    try {
      if (outcome === 'failed') prepared.counters.errors++
      if (!params.store) return
      if (outcome !== 'done') prepared.counters.rejected++
      else await this.#store(params, mine?.followers ?? 0)
    } finally {
      // Joinable until stored, so a request arriving meanwhile reads these chunks instead of calling the model.
      if (mine !== undefined && this.#flights.get(prepared.key) === mine) this.#flights.delete(prepared.key)
    }
  }

  async #store<C>(params: EndParams<C>, followers: number): Promise<void> {
    const { prepared, controls } = params
    const entry = this.#entryOf(prepared, controls, params.chunks, params.latencyMs)
    if (entry === undefined) return
    for (let i = 0; i < followers; i++) this.#engine.stats.save(entry, this.#engine.options.prices, true)
    try {
      await this.#engine.cache.set(prepared.key, entry, {
        ttl: controls.ttl ?? this.#engine.ttlOf(prepared.request),
        tags: this.#engine.tagsOf(prepared.request),
      })
    } catch {
      // The stream already reached its readers; a failed write (value too large, Redis down
      // with suppressL2Errors off) only means the next request calls the model again.
      prepared.counters.stored--
      prepared.counters.rejected++
    }
  }

  /** The entry of a complete stream, or `undefined` when it is too long or `shouldCache` refuses it. */
  #entryOf<C>(prepared: PreparedRequest, controls: StreamControls<C>, chunks: readonly C[], latencyMs: number): AIEntry | undefined {
    if (chunks.length > (controls.maxChunks ?? MAX_CHUNKS)) {
      prepared.counters.rejected++
      return undefined
    }
    let assembled: unknown
    try {
      assembled = (controls.assemble ?? assembleText)(chunks)
    } catch {
      prepared.counters.rejected++
      return undefined
    }
    return this.#engine.accept(prepared, 'stream', chunks, latencyMs, assembled)
  }
}

/** What {@link AIStreams} needs when a flight ends. */
interface EndParams<C> {
  readonly prepared: PreparedRequest
  readonly controls: StreamControls<C>
  readonly outcome: StreamOutcome
  readonly chunks: readonly C[]
  readonly latencyMs: number
  readonly flight: StreamFlight<unknown>
  readonly store: boolean
}

/** A cached stream: the stored chunks, in order, one per `next()`. Can be iterated more than once. */
function replay<C>(chunks: readonly C[]): CachedStream<C> {
  return {
    source: 'cache',
    [Symbol.asyncIterator]: () => {
      let index = 0
      const iterator: AsyncIterableIterator<C> = {
        next: () => Promise.resolve(index < chunks.length ? { done: false, value: chunks[index++] as C } : { done: true, value: undefined }),
        return: () => {
          index = chunks.length
          return Promise.resolve({ done: true, value: undefined })
        },
        [Symbol.asyncIterator]: () => iterator,
      }
      return iterator
    },
  }
}

/** A live stream. Its consumer is registered now, so the upstream is not cancelled before it reads. */
function once<C>(source: 'model' | 'shared', iterator: AsyncIterableIterator<C>): CachedStream<C> {
  return { source, [Symbol.asyncIterator]: () => iterator }
}
