import type { Duration, GetOrSetOptions } from '../index.js'

/**
 * Parameters that change a model's answer. Put every one of them here (model, temperature,
 * system prompt, tools, response format, images…): all of them are hashed into the key.
 * Parameters that do not change the answer (abort signals, tracing headers) do not belong here.
 */
export interface AIRequestOptions {
  /** Model id. Required by `AIResponseCache` unless `requireModel: false`; also the price table key. */
  readonly model?: string | undefined
  /** Sampling temperature; above 0 the request is cached only for operations in `sampledOperations`. */
  readonly temperature?: number | undefined
  readonly [name: string]: unknown
}

/** One AI request, as `getOrGenerate` and `getOrGenerateStream` take it. */
export interface AIRequest {
  /** The input text. */
  readonly text: string
  /** What is done with it: `summarize`, `sentiment`, `key_points`, `questions`, `qa`, or your own name. */
  readonly operation: string
  /** Every parameter that changes the answer, model first. */
  readonly options?: AIRequestOptions | undefined
  /** A question about the text (`qa`). */
  readonly question?: string | undefined
  /** Tenant id: part of the key and of the tags, so tenants never share or invalidate each other's entries. */
  readonly tenant?: string | undefined
}

/**
 * The response fields the default `shouldCache` rule and the savings counters understand. Any
 * other value can be cached too; it is then judged by `error` and finish reason only.
 * - `usage`: `{ inputTokens, outputTokens }` (AI SDK), also `{ inputTokens: { total } }` (AI SDK
 *   provider v3), `{ promptTokens, completionTokens }` and `{ prompt_tokens, completion_tokens }`.
 * - `finishReason`: a string (`'stop'`, `'length'`…) or `{ unified }` (AI SDK provider v3);
 *   `finish_reason` and `stop_reason` are read too.
 */
export interface AIResponseShape {
  /** The answer text; blank means empty output. */
  readonly text?: string
  /** Content parts (AI SDK, Anthropic) or a string; text parts must hold text. */
  readonly content?: unknown
  /** Tool calls count as output. */
  readonly toolCalls?: readonly unknown[]
  /** How the answer ended; anything but a normal finish is not stored. */
  readonly finishReason?: string | { readonly unified: string }
  /** Set when the answer is a failure: never stored. */
  readonly error?: unknown
  /** Token counts, for the savings counters. */
  readonly usage?: Readonly<Record<string, unknown>>
}

/** Price of one model, in your currency (USD by convention) per million tokens, as vendors publish it. */
export interface ModelPrice {
  /** Price of one million input (prompt) tokens. */
  readonly inputPerMillion: number
  /** Price of one million output (completion) tokens. */
  readonly outputPerMillion: number
}

/** Prices by model id (the `model` option, or the model id of the AI SDK middleware). */
export type PriceTable = Readonly<Record<string, ModelPrice>>

/** Per-call controls of `getOrGenerate`. */
export interface GenerateControls {
  /** Neither read nor write the cache, and do not share the call with concurrent ones. @default false */
  readonly bypass?: boolean | undefined
  /** Skip the read, call the model, and store the new answer (if `shouldCache` accepts it). @default false */
  readonly forceRefresh?: boolean | undefined
  /** Read the cache, but do not store a newly generated answer. @default false */
  readonly noStore?: boolean | undefined
  /** Time to live of the stored answer. @default the operation's ttl */
  readonly ttl?: Duration | undefined
}

/** Per-call controls of `getOrGenerateStream`. */
export interface StreamControls<C> extends GenerateControls {
  /**
   * Builds the response that `shouldCache` judges from the complete chunk list.
   * @default string chunks (or `text`/`delta`/`textDelta` fields) joined into `{ text }`
   */
  readonly assemble?: ((chunks: readonly C[]) => unknown) | undefined
  /** A stream with more chunks than this is passed through but not stored. @default 10_000 */
  readonly maxChunks?: number | undefined
}

/**
 * A stream returned by `getOrGenerateStream`. Iterate it (or call `return()` on its iterator):
 * a live stream's model call is cancelled only when every reader has left.
 */
export interface CachedStream<C> extends AsyncIterable<C> {
  /**
   * `cache`: stored chunks replayed, no model call; `model`: this request's own model call;
   * `shared`: the chunks of an identical request's model call already running in this process.
   */
  readonly source: 'cache' | 'model' | 'shared'
}

/**
 * Decides whether a freshly generated response is stored. It is never asked about errors
 * thrown by `generate`: those are never stored.
 */
export type ShouldCache = (response: unknown, request: AIRequest) => boolean

/**
 * What an AI entry holds in the cache, format 1: the response (or the chunk list of a stream)
 * with what is needed to count savings on a hit without inspecting the response again.
 */
export interface AIEntry {
  /** Layout version of the entry. */
  readonly format: 1
  /** `response`: `value` is the response; `stream`: `value` is the array of chunks. */
  readonly kind: 'response' | 'stream'
  readonly value: unknown
  /** How long the model took to answer, in ms (0 when stored with `cacheResponse`). */
  readonly latencyMs: number
  /** Model id, for the price table. */
  readonly model: string | undefined
  /** Input (prompt) tokens the model reported, 0 when unknown. */
  readonly inputTokens: number
  /** Output (completion) tokens the model reported, 0 when unknown. */
  readonly outputTokens: number
}

/**
 * The `getOrSet` policy an AI cache passes through on every load: `grace` (serve an expired
 * answer when the model fails), `timeout`, `lock` (one model call across processes),
 * `ttlJitter`, `eagerRefresh`. Ttl and tags come from the AI cache.
 */
export type AILoadPolicy = Omit<GetOrSetOptions, 'ttl' | 'tags' | 'forceFresh'>
