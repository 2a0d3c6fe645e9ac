/**
 * A Vercel AI SDK language-model middleware (`wrapLanguageModel({ model, middleware })`,
 * specification v3, AI SDK 6) that answers `generateText`/`streamText` calls from an
 * `AIResponseCache`. Typed structurally: strata-cache does not depend on the `ai` package.
 */
import type { AIResponseCache } from './ai-response-cache.js'
import type { AIRequestOptions, GenerateControls } from './ai-types.js'

/** What the middleware reads from the wrapped model. */
export interface LanguageModelLike {
  /** Provider id, for example `openai.chat`; part of the key. */
  readonly provider: string
  /** Model id, for example `gpt-4o-mini`; part of the key and the price table key. */
  readonly modelId: string
}

/** What the middleware reads from the call options (`LanguageModelV3CallOptions`). */
export interface CallOptionsLike {
  /** The messages; hashed into the key, and the last user message is the key's readable text. */
  readonly prompt: unknown
  /** Above 0, the call bypasses the cache unless the operation is in `sampledOperations`. */
  readonly temperature?: number | undefined
  /** Left out of the key by default. */
  readonly abortSignal?: unknown
  /** Left out of the key by default. */
  readonly headers?: unknown
}

/** Options of {@link createAICacheMiddleware}. */
export interface AICacheMiddlewareOptions {
  /** Operation name of the calls (ttl, tags, stats). @default 'chat' */
  operation?: string
  /** Tenant of every call, or a function of the call options. @default the cache's tenant, if any */
  tenant?: string | ((params: CallOptionsLike) => string | undefined)
  /**
   * The options that go into the key. The default is every call option except `abortSignal`
   * and `headers` (tracing ids would make every key unique), plus `provider` and `model`.
   * @default ({ abortSignal, headers, ...rest }, model) => ({ ...rest, provider: model.provider, model: model.modelId })
   */
  keyOptions?: (params: CallOptionsLike, model: LanguageModelLike) => AIRequestOptions
  /** Per-call controls (`bypass`, `forceRefresh`, `noStore`, `ttl`). @default none */
  controls?: (params: CallOptionsLike) => GenerateControls | undefined
}

/** The middleware object; pass it to `wrapLanguageModel`. */
export interface AICacheMiddleware {
  /** The AI SDK middleware specification implemented. */
  readonly specificationVersion: 'v3'
  /** Answers `generateText` from the cache, or calls the model once for concurrent identical calls. */
  wrapGenerate<R extends object>(options: { doGenerate: () => PromiseLike<R>; params: CallOptionsLike; model: LanguageModelLike }): Promise<R>
  /** Replays a cached `streamText` part by part, or records the model's stream. */
  wrapStream<S extends { stream: ReadableStream<unknown> }>(options: {
    doStream: () => PromiseLike<S>
    params: CallOptionsLike
    model: LanguageModelLike
  }): Promise<S>
}

/**
 * Caches a language model's answers. Generate results are stored without request/response
 * bodies and headers; streams are stored as their parts and replayed part by part. A stream is
 * stored only with a `finish` part whose reason is a normal finish, no `error` part, and some
 * output.
 *
 * Calls that share one model call share its fate: if the first caller aborts, the others get
 * the abort error (nothing is stored).
 *
 * @example
 * const model = wrapLanguageModel({ model: openai('gpt-4o-mini'), middleware: createAICacheMiddleware(aiCache) })
 * const { text } = await generateText({ model, prompt: 'Summarize: …', temperature: 0 })
 */
export function createAICacheMiddleware(aiCache: AIResponseCache, options: AICacheMiddlewareOptions = {}): AICacheMiddleware {
  const request = (params: CallOptionsLike, model: LanguageModelLike) => {
    const tenant = typeof options.tenant === 'function' ? options.tenant(params) : options.tenant
    return {
      text: lastUserText(params.prompt),
      operation: options.operation ?? 'chat',
      options: (options.keyOptions ?? defaultKeyOptions)(params, model),
      ...(tenant === undefined ? {} : { tenant }),
    }
  }
  return {
    specificationVersion: 'v3',
    async wrapGenerate<R extends object>({ doGenerate, params, model }: { doGenerate: () => PromiseLike<R>; params: CallOptionsLike; model: LanguageModelLike }) {
      const result = await aiCache.getOrGenerate(request(params, model), async () => storable(await doGenerate()), options.controls?.(params))
      return reviveTimestamp(result)
    },
    async wrapStream<S extends { stream: ReadableStream<unknown> }>({ doStream, params, model }: { doStream: () => PromiseLike<S>; params: CallOptionsLike; model: LanguageModelLike }) {
      let live: S | undefined
      const parts = await aiCache.getOrGenerateStream(
        request(params, model),
        async () => {
          live = await doStream()
          return live.stream
        },
        { ...options.controls?.(params), assemble: assembleParts },
      )
      return { ...live, stream: toReadableStream(parts) } as S
    },
  }
}

function defaultKeyOptions(params: CallOptionsLike, model: LanguageModelLike): AIRequestOptions {
  return { ...without(params, ['abortSignal', 'headers']), provider: model.provider, model: model.modelId }
}

/** A shallow copy of `value` without `keys`. */
function without(value: object, keys: readonly string[]): Record<string, unknown> {
  const copy: Record<string, unknown> = { ...value }
  for (const key of keys) delete copy[key]
  return copy
}

/** Text of the last user message: the readable part of the key (the whole prompt is hashed in the options). */
function lastUserText(prompt: unknown): string {
  if (!Array.isArray(prompt)) return typeof prompt === 'string' ? prompt : ''
  for (let i = prompt.length - 1; i >= 0; i--) {
    const message = prompt[i] as { role?: unknown; content?: unknown } | undefined
    if (message?.role !== 'user') continue
    if (typeof message.content === 'string') return message.content
    if (!Array.isArray(message.content)) return ''
    return message.content.map((part: { type?: unknown; text?: unknown }) => (part.type === 'text' && typeof part.text === 'string' ? part.text : '')).join('')
  }
  return ''
}

/** A generate result without what must not be replayed: request body, response body and headers (stale rate limits, request ids). */
function storable<R extends object>(result: R): R {
  const rest = without(result, ['request', 'response'])
  const response = (result as { response?: object }).response
  return (response === undefined ? rest : { ...rest, response: without(response, ['headers', 'body']) }) as R
}

/** The JSON serializer turns `Date` into a string; the AI SDK expects a `Date`. */
function reviveTimestamp<R>(value: R): R {
  const meta = (value as { response?: { timestamp?: unknown } }).response
  if (typeof meta?.timestamp !== 'string') return value
  return { ...value, response: { ...meta, timestamp: new Date(meta.timestamp) } }
}

/** A `response-metadata` part whose timestamp came back from the JSON serializer as a string. */
function revivePart<P>(part: P): P {
  const p = part as { type?: unknown; timestamp?: unknown }
  if (p.type !== 'response-metadata' || typeof p.timestamp !== 'string') return part
  return { ...p, timestamp: new Date(p.timestamp) } as P
}

/** The response a stream's parts amount to, for `shouldCache`. */
export function assembleParts(parts: readonly unknown[]): unknown {
  let text = ''
  let error: unknown
  let finishReason: unknown = 'missing'
  let usage: unknown
  const calls: unknown[] = []
  for (const part of parts as ReadonlyArray<Record<string, unknown>>) {
    if (part.type === 'text-delta' && typeof part.delta === 'string') text += part.delta
    else if (part.type === 'tool-call' || part.type === 'file') calls.push(part)
    else if (part.type === 'error') error = part.error ?? 'error part'
    else if (part.type === 'finish') {
      finishReason = part.finishReason
      usage = part.usage
    }
  }
  // Without a `finish` part the stream was cut short: 'missing' is not a normal finish.
  return { content: [{ type: 'text', text }, ...calls], finishReason, usage, error }
}

/** A web stream over an async iterable; cancelling it returns the iterator (which cancels the upstream). */
function toReadableStream<P>(chunks: AsyncIterable<P>): ReadableStream<P> {
  const iterator = chunks[Symbol.asyncIterator]()
  return new ReadableStream<P>({
    async pull(controller) {
      try {
        const next = await iterator.next()
        if (next.done === true) controller.close()
        else controller.enqueue(revivePart(next.value))
      } catch (error) {
        controller.error(error)
      }
    },
    async cancel() {
      await iterator.return?.()
    },
  })
}
