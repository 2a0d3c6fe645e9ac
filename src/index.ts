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
export type { EntryCodec, ExportedEntry, ExportOptions } from './core/entry-export.js'
export type { ImportEntry, ImportOptions, ImportResult } from './core/entry-import.js'
export type { EntryHeaderFacts, EntryInspection, EntryMetadata, EntryState } from './core/entry-inspection.js'
export type { ScanKeysOptions } from './core/key-scan.js'
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
  BackupFormatError,
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
export type { BackupDamage, OptionIssue } from './errors.js'
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
export { CacheMigrationManager } from './tools/migration-manager.js'
export type { BackupOptions, BackupProgress, RestoreOptions, RestoreProgress } from './tools/backup-options.js'
export type { BackupResult } from './tools/backup.js'
export type { RestoreResult } from './tools/restore.js'
export type { BackupHeader } from './tools/backup-format.js'
export { CacheCompatibilityWrapper } from './tools/cache-compatibility-wrapper.js'
export { KeyvStrataStore, KEYV_SERIALIZED } from './tools/keyv-store.js'
export type { KeyvStoredData, KeyvStoreResult } from './tools/keyv-store.js'
export { CacheManagerAdapter } from './tools/cache-manager-adapter.js'
export type { CacheManagerAdapterOptions, CacheManagerEntry, CacheManagerEvents, WrapOptions, WrapTtl } from './tools/cache-manager-adapter.js'
export { CacheManagerV5Store } from './tools/cache-manager-v5-store.js'
export { DEPRECATIONS } from './tools/deprecation-warnings.js'
export type { DeprecationCode } from './tools/deprecation-warnings.js'
export { migrate } from './tools/migrate.js'
export { validateDataConsistency } from './tools/validate-consistency.js'
export { strataSource } from './tools/strata-reader.js'
export { keyvSource } from './tools/importers/keyv-source.js'
export type { KeyvSourceOptions } from './tools/importers/keyv-source.js'
export { cacheManagerSource } from './tools/importers/cache-manager-source.js'
export type { CacheManagerSourceOptions } from './tools/importers/cache-manager-source.js'
export { bentocacheSource } from './tools/importers/bentocache-source.js'
export type { BentocacheSourceOptions } from './tools/importers/bentocache-source.js'
export type { RawRedisClient, RedisSourceOptions } from './tools/importers/redis-key-reader.js'
export type {
  DetailedValidationResult,
  EntryCodecIds,
  MetadataMismatch,
  MigrationEntry,
  MigrationOptions,
  MigrationProgress,
  MigrationResult,
  MigrationSource,
  SourceItem,
  SourceLike,
  TtlMismatch,
  ValidationOptions,
  ValueMismatch,
} from './tools/migration-types.js'
