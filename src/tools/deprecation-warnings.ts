/**
 * Names the compatibility adapters keep from older cache-manager releases, each with its
 * `DeprecationWarning` code. A code names one deprecation forever: a retired code is never
 * reused (as fastify's warnings), so a code found in a log always means the same thing.
 */
export const DEPRECATIONS = Object.freeze({
  STRATA_DEP_001: 'cache-manager 5 `reset()` is deprecated on CacheCompatibilityWrapper.cacheManager(): call `clear()`, as cache-manager 6 and 7 do.',
  STRATA_DEP_002:
    'cache-manager 5 `store` is deprecated on CacheCompatibilityWrapper.cacheManager(): call the cache-manager 7 methods on the cache itself (`mget`, `mdel`, `ttl`, `clear`), or use the strata cache for `getKeys()`.',
  STRATA_DEP_003: 'cache-manager 5 `removeListener()` is deprecated on CacheCompatibilityWrapper.cacheManager(): call `off()`, as cache-manager 7 does.',
})

/** A deprecation warning code (`STRATA_DEP_001`, …). */
export type DeprecationCode = keyof typeof DEPRECATIONS

const warned = new Set<DeprecationCode>()

/**
 * Emits the `DeprecationWarning` of `code` the first time it is called in this process, and never
 * again: an alias called in a hot path must not flood the log. `node --no-deprecation` silences
 * it and `--throw-deprecation` turns it into a throw, as for Node's own deprecations.
 */
export function warnDeprecated(code: DeprecationCode): void {
  if (warned.has(code)) return
  warned.add(code)
  process.emitWarning(DEPRECATIONS[code], { type: 'DeprecationWarning', code })
}
