export { InMemoryCache } from './core/in-memory-cache.js'
export { GenericRedisCache } from './core/generic-redis-cache.js'
export type {
  CacheInterface,
  CacheStats,
  GetOrSetOptions,
  Loader,
  LoaderContext,
  ManyLoader,
  SetManyEntry,
  SetOptions,
  TierStats,
} from './core/cache-interface.js'
export type { BreakerState } from './shared/breaker-state.js'
export type { Clock } from './shared/clock.js'
export type {
  BaseCacheOptions,
  CircuitBreakerOptions,
  CompressionOptions,
  GenericRedisCacheOptions,
  InMemoryCacheOptions,
  L1Options,
} from './options/cache-options.js'
export type { Duration } from './shared/duration.js'
export type { EncryptionKey, EncryptionOptions, EncryptionSecret } from './options/encryption-options.js'
export type { RekeyOptions, RekeyResult } from './core/rekey.js'
export type { ClusterOptions, RedisConnectionOptions, RedisSocketParts, SentinelOptions } from './options/redis-options.js'
export type { SecurityConfig, SecurityFinding, SecurityLevel } from './security/security-config.js'
export { RedisCacheSecurityManager } from './security/security-manager.js'
export type { SecurityManagerOptions, SecurityStatus, SecurityValidation } from './security/security-manager.js'
export type { SecureRedisClient, ServerAddress, TlsSession } from './security/secure-connection.js'
export { checkPermissions, leastPrivilegeRules, requiredPermissions } from './security/required-permissions.js'
export type {
  CommandClient,
  MissingPermission,
  PermissionFeature,
  PermissionReport,
  PermissionScope,
  RequiredPermission,
} from './security/required-permissions.js'
export type { CoherenceOptions, ExternalRedisClient } from './options/cache-options.js'
export type { CoherenceStats } from './coherence/coherence.js'
export type { Serializer, Compressor } from './codecs/codec.js'
export { msgpackSerializer } from './codecs/msgpack-serializer.js'
export { jsonSerializer } from './codecs/json-serializer.js'
export type { CacheEventName, CacheEvents, CacheListener, CoherenceState, Tier } from './monitoring/events.js'
export { CachePerformanceMonitor } from './monitoring/performance-monitor.js'
export type { CachePerformanceMonitorOptions } from './monitoring/performance-monitor.js'
export type {
  CacheCountsSummary,
  CacheMemorySummary,
  CircuitSummary,
  CircuitTransition,
  CompressionSummary,
  ErrorSummary,
  InvalidationSummary,
  LookupSummary,
  OperationSummary,
  OperationsSummary,
  PerformanceSummary,
  SourceSummary,
  TierSummary,
} from './monitoring/performance-summary.js'
export type { LatencySummary } from './monitoring/latency-histogram.js'
export type {
  AnswerSource,
  CacheOperation,
  ErrorReason,
  InvalidationKind,
  LookupTier,
  MonitoredCache,
  MonitorSink,
} from './monitoring/monitor-sink.js'
export type { TraceContext } from './core/instrumentation.js'
export type { CacheMonitor } from './monitoring/monitor-sink.js'
export type { GetOrSetPolicy, LoaderTimeouts, LockOptions } from './options/get-or-set-options.js'
export {
  CacheError,
  CodecDecodeError,
  CodecEncodeError,
  CoherenceUnavailableError,
  DecryptFailedError,
  FactoryError,
  FactoryTimeoutError,
  InvalidKeyError,
  LockTimeoutError,
  InvalidOptionsError,
  L2UnavailableError,
  PeerMissingError,
  UndefinedValueError,
  UnknownKeyIdError,
  ValueTooLargeError,
  errors,
} from './errors.js'
export type { OptionIssue } from './errors.js'
export {
  AIResponseCache,
  AI_KEY_VERSION,
  CacheKeyGenerator,
  DEFAULT_OPERATION_TTLS,
  DEFAULT_SAMPLED_OPERATIONS,
  DEFAULT_TEXT_SIZE_TIERS,
  NORMAL_FINISH_REASONS,
  createAICacheMiddleware,
  defaultShouldCache,
  finishReasonOf,
  usageOf,
} from './ai/index.js'
export type {
  AICacheMiddleware,
  AICacheMiddlewareOptions,
  AIEntry,
  AIKeyParts,
  AILoadPolicy,
  AIOperationSummary,
  AIPerformanceSummary,
  AIRequest,
  AIRequestOptions,
  AIResponseCacheOptions,
  AIResponseShape,
  AISavings,
  CachedStream,
  CacheKeyGeneratorOptions,
  CallOptionsLike,
  GenerateControls,
  HashAlgorithm,
  KeyGeneratorStats,
  LanguageModelLike,
  ModelPrice,
  PriceTable,
  ShouldCache,
  StreamControls,
  StreamGenerator,
  TextSizeTier,
  TextSizeTiers,
} from './ai/index.js'
export { POSTURE_CHECK_IDS, reviewRedisPosture, worstPostureStatus } from './security/posture-review.js'
export type { PostureCheck, PostureProbe, PostureStatus, ProbeReply, ProbeRunner } from './security/posture-check.js'
