/**
 * The AI response cache: `CacheKeyGenerator`, `AIResponseCache` and the AI SDK middleware.
 * Built on the public API only, so it runs on any `CacheInterface`.
 */
export { AIResponseCache } from './ai-response-cache.js'
export {
  type AIResponseCacheOptions,
  DEFAULT_OPERATION_TTLS,
  DEFAULT_SAMPLED_OPERATIONS,
  DEFAULT_TEXT_SIZE_TIERS,
  type TextSizeTier,
  type TextSizeTiers,
} from './ai-options.js'
export type { AIOperationSummary, AIPerformanceSummary, AISavings } from './ai-stats.js'
export type { StreamGenerator } from './ai-streams.js'
export type {
  AIEntry,
  AILoadPolicy,
  AIRequest,
  AIRequestOptions,
  AIResponseShape,
  CachedStream,
  GenerateControls,
  ModelPrice,
  PriceTable,
  ShouldCache,
  StreamControls,
} from './ai-types.js'
export {
  AI_KEY_VERSION,
  type AIKeyParts,
  CacheKeyGenerator,
  type CacheKeyGeneratorOptions,
  type KeyGeneratorStats,
} from './cache-key-generator.js'
export type { HashAlgorithm } from './canonical-hash.js'
export {
  type AICacheMiddleware,
  type AICacheMiddlewareOptions,
  type CallOptionsLike,
  type LanguageModelLike,
  createAICacheMiddleware,
} from './ai-sdk-middleware.js'
export { NORMAL_FINISH_REASONS, defaultShouldCache, finishReasonOf, usageOf } from './should-cache.js'
